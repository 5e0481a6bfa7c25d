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
from losscli.losses.explicit_terms import by_rows
from losscli.losses.forms import (
    TwoViewBatch,
    explicit_form,
    explicit_layout,
    two_view_batch,
)
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import HARD_INFONCE
from losscli.losses.term_columns import Column, Joined, PerRow
from losscli.model import Inputs, LazyTerms, Result

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
        self.top = self.sum_b = self.sum_1b = np.empty(0)  # gather's
        self.r, self.ng_raw, self.floor, self.loss = (np.empty(n), np.empty(n), np.empty(n),
                                                      np.empty(n))
        self.floor_binds = np.empty(n, dtype=np.bool_)
        self.c_neg, self.g_pos = np.empty(n), np.empty(n)

    def gather(self, tile_list, pos: np.ndarray, skip: np.ndarray, v0: np.ndarray, count: int,
               params: dict[str, Any], work: int, rows_work: int | None = None) -> None:
        """The rows' statistics from `tile_list` (tiles.negative_power_sums), then each row's
        loss; `rows_work` chooses the finishing kernel's path (these rows' own by default; a
        block of the explicit form passes the batch's)."""
        scale = 1.0 / params["temperature"]
        beta = float(params["beta"])
        self.top, sums = tiles.negative_power_sums(tile_list, pos, skip, scale,
                                                   [beta, 1.0 + beta], work)
        self.sum_b, self.sum_1b = sums[:, 0].copy(), sums[:, 1].copy()
        _jit.run(tk.hard_rows_finish, v0.size * 64 if rows_work is None else rows_work, v0,
                 self.top, self.sum_b, self.sum_1b, count, scale, beta,
                 float(params["tau_plus"]), bool(params["clamp"]), self.r, self.ng_raw,
                 self.floor, self.floor_binds, self.loss, self.c_neg, self.g_pos)

    def terms(self, S: np.ndarray, start: int, pos: np.ndarray, skip: np.ndarray,
              params: dict[str, Any], weight: np.ndarray, work: int | None = None,
              ) -> dict[str, np.ndarray]:
        """logit, importance, share and gradient (times weight) of rows start.. of S; `work`
        chooses the kernel's path (S's own by default)."""
        out = {name: np.empty_like(S) for name in ("logit", "importance", "share",
                                                   "gradient")}
        _jit.run(tk.hard_row_terms, S.size * 16 if work is None else work, S, start, pos, skip,
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


def _nonpositive_warning(loss: np.ndarray, ng_raw: np.ndarray, warnings: list[str]) -> None:
    """Rows whose Ng <= 0 under --no-clamp (their loss null), counted over the whole batch."""
    negative = ~np.isfinite(loss) & (ng_raw <= 0.0)
    if negative.any():
        warnings.append(f"{int(negative.sum())} row(s) with Ng <= 0 (the positive dominates "
                        "the debiased negatives) and --no-clamp: their loss is null")


def _positive_cells(columns: dict[str, np.ndarray], cells: list[int]) -> None:
    for name in ("importance", "share"):
        for c in cells:
            columns[name][:, c] = np.nan


def _explicit(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool) -> Result:
    """HCL's debiased loss over explicit negatives (N = K) per example, a block of examples
    at a time above explicit_terms.EAGER_TERMS (forms.Explicit)."""
    warnings: list[str] = []
    ex = explicit_form(inputs, params, HARD_INFONCE.name, grad, warnings)
    B, K, D = ex.batch.batch, ex.batch.k, ex.batch.dim
    t = params["temperature"]
    work = B * (K + 1) * 16

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        sim = ex.similarities(start, stop)
        n = stop - start
        pos, skip = explicit_layout(n)
        stats = _Rows(n)
        stats.gather([(0, sim)], pos, skip, sim[:, 0] * (1.0 / t), K, params, work, B * 64)
        columns = {"similarity": sim,
                   **stats.terms(sim, 0, pos, skip, params, np.ones(n), work)}
        _positive_cells(columns, [0])
        for name in PER_ROW:
            columns[name] = np.repeat(getattr(stats, name)[:, None], K + 1, axis=1)
        return {"loss": stats.loss, "ng_raw": stats.ng_raw}, columns

    examples, terms = by_rows(B, *ex.roles(), rows, grad)
    _nonpositive_warning(examples["loss"], examples["ng_raw"], warnings)
    gradients = ex.gradients(terms.columns["gradient"] / t) if grad else None
    return result(HARD_INFONCE.name, {**params, "form": "explicit"}, reduction,
                  examples["loss"], shape_dict(B, K, D), terms, warnings, gradients)


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
                    n - 2, params, views.work)
    _nonpositive_warning(rows.loss, rows.ng_raw, warnings)
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

    def block(self, start: int, stop: int) -> dict[str, Column]:
        views = self.views
        B, width = views.batch, views.views - 1
        pos, skip = views.layout()
        half = np.full(views.views, 0.5)
        n = stop - start
        parts = []
        for S, r0 in zip(views.view_rows(start, stop), (start, B + start), strict=True):
            terms = self.rows.terms(S, r0, pos, skip, self.params, half)
            partner = pos[r0:r0 + n]  # the view's first term, its positive
            for name in ("importance", "share"):
                terms[name][np.arange(n), partner] = np.nan
            parts.append({"similarity": S, **terms})
        columns = views.term_labels(start, stop)
        for name in ("similarity", "logit", "importance", "share", "gradient"):
            columns[name] = views.per_example(parts[0][name], parts[1][name], start)
        for name in PER_ROW:
            values = getattr(self.rows, name)
            columns[name] = Joined([PerRow(values[start:stop], width),
                                    PerRow(values[B + start:B + stop], width)], [width, width])
        return {name: columns[name] for name in NAMES}
