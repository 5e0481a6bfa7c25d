"""The triplet margin loss: [d(a, p) - d(a, n_k) + m]+ per negative, reduced over K."""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import embedding as kern
from losscli.losses import TRIPLET
from losscli.losses._common import (
    DISTANCE_KINDS,
    REGIME_NAMES,
    check_magnitudes,
    embedding_batch,
    nonfinite_warning,
    reduce,
    shape_dict,
    to_unit,
)
from losscli.model import Inputs, Result, Terms

NEGATIVES_REDUCTIONS = {"mean": 0, "sum": 1, "max": 2, "mean-active": 3}


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str) -> Result:
    batch = embedding_batch(inputs)
    warnings: list[str] = []
    check_magnitudes(batch, warnings)
    if params["distance"] == "cosine":
        batch = to_unit(batch, warnings, "distance")
    B, K = batch.batch, batch.k
    d_ap = np.empty(B)
    d_an = np.empty((B, K))
    violation = np.empty_like(d_an)
    term = np.empty_like(d_an)
    regimes = np.empty((B, K), dtype=np.int64)
    loss = np.empty(B)
    work = batch.work() * (2 if params["swap"] else 1)
    _jit.run(kern.triplet, work, batch.anchor, batch.positive, batch.negatives,
             float(params["margin"]), DISTANCE_KINDS[params["distance"]], bool(params["swap"]),
             bool(params["soft"]), NEGATIVES_REDUCTIONS[params["negatives_reduction"]],
             d_ap, d_an, violation, term, regimes, loss)
    nonfinite_warning(loss, warnings)
    terms = Terms(
        role=("negative",) * K,
        index=tuple(range(K)),
        columns={"d_ap": np.repeat(d_ap[:, None], K, axis=1), "d_an": d_an,
                 "violation": violation, "term": term, "regime": REGIME_NAMES[regimes]},
    )
    return Result(
        loss=TRIPLET.name, params=dict(params), reduction=reduction, per_example=loss,
        value=reduce(loss, reduction), shape=shape_dict(B, K, batch.dim), terms=terms,
        warnings=tuple(warnings),
    )
