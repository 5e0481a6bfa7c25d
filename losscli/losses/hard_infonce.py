"""Debiased hard-negative InfoNCE (Robinson et al. 2021, HCL), computed in log space.

    q_k = softmax_k(beta v_k);  R = N sum_k q_k e^{v_k}
    Ng = max( (R - tau+ N e^{v_0}) / (1 - tau+),  N e^{-1/t} )
    loss = log(1 + Ng e^{-v_0})
Explicit negatives (N = K), or HCL's two-view batch (N = 2B - 2).

`--like hcl` computes the two-view loss in linear space, as HCL's code does (e^{s/t}
overflows where HCL's does); the breakdown columns stay the log-space ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import tiles as tk
from losscli.losses import tiles
from losscli.losses.forms import (
    TwoViewBatch,
    explicit_layout,
    explicit_similarities,
    two_view_batch,
)
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import HARD_INFONCE
from losscli.losses.vectors import similarity_backward
from losscli.model import Inputs, LazyTerms, Result, Terms

NAMES = ("view", "candidate_role", "candidate_index", "similarity", "logit", "importance",
         "share", "gradient", "r", "ng_raw", "floor", "floor_binds")
PER_ROW = ("r", "ng_raw", "floor", "floor_binds")


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """hard-infonce per example (Robinson et al. 2021), in log space:

        R = N sum_k softmax_k(beta v_k) e^{v_k}
        Ng = max((R - tau+ N e^{v_0}) / (1 - tau+), N e^{-1/t})
        loss = log(1 + Ng e^{-v_0})

    Explicit negatives (N = K), or without them the two-view batch (N = 2B - 2).
    """
    if "negatives" in inputs:
        return _explicit(inputs, params, reduction, grad)
    return _two_view(inputs, params, reduction, grad, convention)


class _Rows:
    """Each row's statistics over its negatives and what follows from them (per row)."""

    def __init__(self, n: int) -> None:
        self.top, self.sum_b, self.sum_1b = np.empty(n), np.empty(n), np.empty(n)
        self.r, self.ng_raw, self.floor, self.loss = (np.empty(n), np.empty(n), np.empty(n),
                                                      np.empty(n))
        self.floor_binds = np.empty(n, dtype=np.bool_)
        self.c_neg, self.g_pos = np.empty(n), np.empty(n)

    def gather(self, tiles, pos: np.ndarray, skip: np.ndarray, v0: np.ndarray, count: int,
               params: dict[str, Any], work: int, warnings: list[str]) -> None:
        scale = 1.0 / params["temperature"]
        beta = float(params["beta"])
        for r0, tile in tiles:
            _jit.run(tk.hard_row_stats, work, tile, r0, pos, skip, scale, beta, self.top,
                     self.sum_b, self.sum_1b)
        _jit.run(tk.hard_rows_finish, v0.size * 64, v0, self.top, self.sum_b, self.sum_1b,
                 count, scale, beta, float(params["tau_plus"]), bool(params["clamp"]),
                 self.r, self.ng_raw, self.floor, self.floor_binds, self.loss, self.c_neg,
                 self.g_pos)
        negative = ~np.isfinite(self.loss) & (self.ng_raw <= 0.0)
        if negative.any():
            warnings.append(f"{int(negative.sum())} row(s) with Ng <= 0 (the positive "
                            "dominates the debiased negatives) and --no-clamp: their loss is "
                            "null")

    def terms(self, S: np.ndarray, start: int, pos: np.ndarray, skip: np.ndarray,
              params: dict[str, Any], weight: np.ndarray) -> dict[str, np.ndarray]:
        """logit, importance, share and gradient (times weight) of rows start.. of S."""
        out = {name: np.empty_like(S) for name in ("logit", "importance", "share",
                                                   "gradient")}
        _jit.run(tk.hard_row_terms, S.size * 16, S, start, pos, skip,
                 1.0 / params["temperature"], float(params["beta"]), self.top, self.sum_b,
                 self.sum_1b, self.c_neg, self.g_pos, weight, out["logit"],
                 out["importance"], out["share"], out["gradient"])
        return out

    def tile_gradient(self, pos: np.ndarray, skip: np.ndarray, params: dict[str, Any],
                      weight: float, work: int):
        scale = 1.0 / params["temperature"]
        beta = float(params["beta"])

        def to_grad(r0: int, tile: np.ndarray) -> None:
            _jit.run(tk.hard_tile_grad, work, tile, r0, pos, skip, scale, beta, self.top,
                     self.sum_b, self.sum_1b, self.c_neg, self.g_pos, weight)

        return to_grad


def _positive_cells(columns: dict[str, np.ndarray], cells: list[int]) -> None:
    for name in ("importance", "share"):
        for c in cells:
            columns[name][:, c] = np.nan


def _explicit(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool) -> Result:
    warnings: list[str] = []
    ex = explicit_similarities(inputs, params, HARD_INFONCE.name, grad, warnings)
    B, K, D = ex.batch.batch, ex.batch.k, ex.batch.dim
    a, p, n, sim = ex.anchor, ex.positive, ex.negatives, ex.sim
    t = params["temperature"]
    pos, skip = explicit_layout(B)
    rows = _Rows(B)
    rows.gather([(0, sim)], pos, skip, sim[:, 0] * (1.0 / t), K, params, sim.size * 16,
                warnings)
    columns = {"similarity": sim, **rows.terms(sim, 0, pos, skip, params, np.ones(B))}
    _positive_cells(columns, [0])
    for name in PER_ROW:
        columns[name] = np.repeat(getattr(rows, name)[:, None], K + 1, axis=1)
    terms = Terms(role=("positive",) + ("negative",) * K, index=(0,) + tuple(range(K)),
                  columns=columns)
    gradients = None
    if grad:
        dsim = columns["gradient"] / t
        grad_a, grad_p = similarity_backward(dsim[:, :1], a, p)
        grad_a_n, grad_n = similarity_backward(dsim[:, 1:], a, n)
        gradients = {"anchor": grad_a + grad_a_n, "positive": grad_p[:, 0, :],
                     "negatives": grad_n}
    return result(HARD_INFONCE.name, {**params, "form": "explicit"}, reduction, rows.loss,
                  shape_dict(B, K, D), terms, warnings, gradients)


def _two_view(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool,
              convention: Convention | None = None) -> Result:
    warnings: list[str] = []
    t = params["temperature"]
    check_temperature(t, warnings)
    views = two_view_batch(inputs, HARD_INFONCE.name, params["similarity"] == "cosine",
                           warnings, minimum=HARD_INFONCE.min_batch, grad=grad)
    B, n = views.batch, views.views
    pos, skip = views.layout()
    s_pos = views.partners()
    rows = _Rows(n)
    with _jit.job(views.work):
        rows.gather(views.tiles(), pos, skip, np.concatenate([s_pos, s_pos]) * (1.0 / t),
                    n - 2, params, views.work, warnings)
    view_loss = rows.loss
    if convention is not None and convention.linear_space:
        linear = np.empty(n)
        with _jit.job(views.work):
            for r0, tile in views.tiles():
                _jit.run(tk.hard_linear_rows, views.work, tile, r0, pos, skip, 1.0 / t,
                         float(params["beta"]), float(params["tau_plus"]), linear)
        bad = ~np.isfinite(linear) & np.isfinite(view_loss)
        if bad.any():
            warnings.append(f"{int(bad.sum())} view(s) overflow in {convention.library}'s "
                            "linear-space arithmetic (e^{s/t} beyond float64): their loss is "
                            "null, where the log-space loss is finite")
        view_loss = linear
    loss = 0.5 * (view_loss[:B] + view_loss[B:])
    role, index = views.roles()
    terms = LazyTerms(role, index, NAMES, B,
                      tiles.on_demand(_Breakdown(views, rows, params).block, views.work),
                      views.pairs)
    gradients = None
    if grad:
        with _jit.job(views.work):
            gradients = views.gradients(rows.tile_gradient(pos, skip, params, 0.5 / t,
                                                           views.work))
    return result(HARD_INFONCE.name, {**params, "form": "two-view batch"}, reduction, loss,
                  shape_dict(B, n - 2, views.dim), terms, warnings, gradients)


class _Breakdown:
    """Examples' terms on demand: the rows of views i and B + i, partner first."""

    def __init__(self, views: TwoViewBatch, rows: _Rows, params: dict[str, Any]) -> None:
        self.views, self.rows, self.params = views, rows, params

    def block(self, start: int, stop: int) -> dict[str, np.ndarray]:
        views = self.views
        B, width = views.batch, views.views - 1
        pos, skip = views.layout()
        half = np.full(views.views, 0.5)
        parts = []
        for S, r0 in zip(views.view_rows(start, stop), (start, B + start), strict=True):
            parts.append({"similarity": S,
                          **self.rows.terms(S, r0, pos, skip, self.params, half)})
        columns = views.term_labels(start, stop)
        for name in ("similarity", "logit", "importance", "share", "gradient"):
            columns[name] = views.per_example(parts[0][name], parts[1][name], start)
        _positive_cells(columns, [0, width])
        for name in PER_ROW:
            values = getattr(self.rows, name)
            columns[name] = np.concatenate(
                [np.repeat(values[start:stop, None], width, axis=1),
                 np.repeat(values[B + start:B + stop, None], width, axis=1)], axis=1)
        return {name: columns[name] for name in NAMES}
