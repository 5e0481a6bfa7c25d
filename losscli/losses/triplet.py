"""The triplet margin loss: [d(a, p) - d(a, n_k) + m]+ per negative, reduced over K.

Library conventions (`--like`) change the eps in the distance, the normalization, the soft
term's margin (PML) and the reduction (triplet_variant).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.conventions import term_reduction
from losscli.kernels import _jit
from losscli.kernels import margins as kern
from losscli.losses import TRIPLET
from losscli.losses._common import (
    DISTANCE_KINDS,
    REGIME_NAMES,
    check_embedding_breakdown,
    check_magnitudes,
    embedding_batch,
    nonfinite_warning,
    reduce,
    shape_dict,
    to_unit,
)
from losscli.losses._grad import embedding_gradients, eps_args, mean_over_active
from losscli.losses.spec import Convention
from losscli.model import Inputs, Result, Terms

NEGATIVES_REDUCTIONS = {"mean": 0, "sum": 1, "max": 2, "mean-active": 3}


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, *, grad: bool = False,
             convention: Convention | None = None) -> Result:
    batch = embedding_batch(inputs)
    check_embedding_breakdown(batch, batch.k, TRIPLET.name, grad)
    warnings: list[str] = []
    check_magnitudes(batch, warnings)
    params = dict(params)
    unit = params["distance"] == "cosine" or (convention is not None and convention.normalize)
    original = batch
    if unit:
        batch = to_unit(batch, warnings, "distance")
    if convention is not None:
        params["negatives_reduction"] = term_reduction(convention, reduction)
    B, K = batch.batch, batch.k
    kind = DISTANCE_KINDS[params["distance"]]
    margin = float(params["margin"])
    swap, soft = bool(params["swap"]), bool(params["soft"])
    soft_margin = soft and convention is not None and convention.soft_margin
    reduce_by = NEGATIVES_REDUCTIONS[params["negatives_reduction"]]
    eps, eps_mode = eps_args(convention)
    d_ap = np.empty(B)
    d_an = np.empty((B, K))
    violation = np.empty_like(d_an)
    term = np.empty_like(d_an)
    regimes = np.empty((B, K), dtype=np.int64)
    loss = np.empty(B)
    work = batch.work() * (2 if swap else 1)
    if convention is None:
        _jit.run(kern.triplet, work, batch.anchor, batch.positive, batch.negatives, margin,
                 kind, swap, soft, reduce_by, d_ap, d_an, violation, term, regimes, loss)
    else:
        _jit.run(kern.triplet_variant, work, batch.anchor, batch.positive, batch.negatives,
                 margin, kind, swap, soft, soft_margin, reduce_by, eps, eps_mode, d_ap, d_an,
                 violation, term, regimes, loss)
    nonfinite_warning(loss, warnings)
    terms = Terms(
        role=("negative",) * K,
        index=tuple(range(K)),
        columns={"d_ap": np.repeat(d_ap[:, None], K, axis=1), "d_an": d_an,
                 "violation": violation, "term": term, "regime": REGIME_NAMES[regimes]},
    )
    if reduction == "mean-nonzero":
        value: float | list[float] = mean_over_active(term)
    else:
        value = reduce(loss, reduction)
    gradients = None
    if grad:
        ga = np.empty((B, batch.dim))
        gp = np.empty_like(ga)
        gn = np.empty((B, K, batch.dim))
        _jit.run(kern.triplet_grad, work, batch.anchor, batch.positive, batch.negatives,
                 margin, kind, swap, soft, soft_margin, reduce_by, eps, eps_mode, d_ap,
                 violation, term, ga, gp, gn)
        gradients = embedding_gradients(original, unit, ga, gp, gn)
    return Result(
        loss=TRIPLET.name, params=params, reduction=reduction, per_example=loss,
        value=value, shape=shape_dict(B, K, batch.dim), terms=terms,
        warnings=tuple(warnings), gradients=gradients,
    )
