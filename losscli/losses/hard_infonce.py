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
from losscli.kernels import inbatch as kern
from losscli.losses.forms import explicit_similarities, two_view_batch
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import HARD_INFONCE
from losscli.losses.vectors import similarity_backward
from losscli.model import Inputs, Result, Terms


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


def _run(sim: np.ndarray, params: dict[str, Any], pos: np.ndarray, skip: np.ndarray,
         warnings: list[str]) -> dict[str, np.ndarray]:
    R, C = sim.shape
    out = {name: np.empty((R, C)) for name in ("logit", "importance", "share", "gradient")}
    per_row = {name: np.empty(R) for name in ("r", "ng_raw", "floor", "loss")}
    binds = np.empty(R, dtype=np.bool_)
    _jit.run(kern.hard_rows, R * C * 8, sim, 1.0 / params["temperature"], pos, skip,
             float(params["beta"]), float(params["tau_plus"]), bool(params["clamp"]),
             out["logit"], out["importance"], out["share"], out["gradient"], per_row["r"],
             per_row["ng_raw"], per_row["floor"], binds, per_row["loss"])
    negative = ~np.isfinite(per_row["loss"]) & (per_row["ng_raw"] <= 0.0)
    if negative.any():
        warnings.append(f"{int(negative.sum())} row(s) with Ng <= 0 (the positive dominates "
                        "the debiased negatives) and --no-clamp: their loss is null")
    return {**out, **per_row, "floor_binds": binds}


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
    out = _run(sim, params, np.zeros(B, dtype=np.int64), np.full(B, -1, dtype=np.int64),
               warnings)
    columns = {"similarity": sim, "logit": out["logit"], "importance": out["importance"],
               "share": out["share"], "gradient": out["gradient"]}
    _positive_cells(columns, [0])
    for name in ("r", "ng_raw", "floor", "floor_binds"):
        columns[name] = np.repeat(out[name][:, None], K + 1, axis=1)
    terms = Terms(role=("positive",) + ("negative",) * K, index=(0,) + tuple(range(K)),
                  columns=columns)
    gradients = None
    if grad:
        dsim = out["gradient"] / t
        grad_a, grad_p = similarity_backward(dsim[:, :1], a, p)
        grad_a_n, grad_n = similarity_backward(dsim[:, 1:], a, n)
        gradients = {"anchor": grad_a + grad_a_n, "positive": grad_p[:, 0, :],
                     "negatives": grad_n}
    return result(HARD_INFONCE.name, {**params, "form": "explicit"}, reduction, out["loss"],
                  shape_dict(B, K, D), terms, warnings, gradients)


def _two_view(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool,
              convention: Convention | None = None) -> Result:
    warnings: list[str] = []
    t = params["temperature"]
    check_temperature(t, warnings)
    views = two_view_batch(inputs, HARD_INFONCE.name, params["similarity"] == "cosine",
                           warnings)
    B, n = views.batch, views.views
    pos, skip = views.layout()
    out = _run(views.sim, params, pos, skip, warnings)
    if convention is not None and convention.linear_space:
        linear = np.empty(n)
        _jit.run(kern.hard_rows_linear, n * n * 4, views.sim, 1.0 / t, pos, skip,
                 float(params["beta"]), float(params["tau_plus"]), linear)
        bad = ~np.isfinite(linear) & np.isfinite(out["loss"])
        if bad.any():
            warnings.append(f"{int(bad.sum())} view(s) overflow in {convention.library}'s "
                            "linear-space arithmetic (e^{s/t} beyond float64): their loss is "
                            "null, where the log-space loss is finite")
        out["loss"] = linear
    loss = 0.5 * (out["loss"][:B] + out["loss"][B:])
    order = views.order()
    role, index, columns = views.term_labels(order)
    columns["similarity"] = views.per_example(views.sim, order)
    for name in ("logit", "importance", "share"):
        columns[name] = views.per_example(out[name], order)
    columns["gradient"] = 0.5 * views.per_example(out["gradient"], order)
    _positive_cells(columns, [0, n - 1])
    for name in ("r", "ng_raw", "floor", "floor_binds"):
        columns[name] = views.per_view(out[name])
    gradients = views.backward(0.5 * out["gradient"] / t) if grad else None
    return result(HARD_INFONCE.name, {**params, "form": "two-view batch"}, reduction, loss,
                  shape_dict(B, n - 2, views.dim), Terms(role, index, columns), warnings,
                  gradients)
