"""The pairwise margin loss of Hadsell, Chopra and LeCun (2006), Eq. 4, mean over pairs."""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import embedding as kern
from losscli.losses import CONTRASTIVE
from losscli.losses._common import (
    DISTANCE_KINDS,
    check_magnitudes,
    embedding_batch,
    nonfinite_warning,
    reduce,
    shape_dict,
    to_unit,
)
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str) -> Result:
    batch = embedding_batch(inputs)
    warnings: list[str] = []
    check_magnitudes(batch, warnings)
    if params["distance"] == "cosine":
        batch = to_unit(batch, warnings, "distance")
    B, K = batch.batch, batch.k
    dist = np.empty((B, K + 1))
    hinge = np.empty_like(dist)
    term = np.empty_like(dist)
    loss = np.empty(B)
    _jit.run(kern.contrastive, batch.work(), batch.anchor, batch.positive, batch.negatives,
             float(params["margin"]), DISTANCE_KINDS[params["distance"]], dist, hinge, term,
             loss)
    nonfinite_warning(loss, warnings)
    kind = np.empty((B, K + 1), dtype=object)
    kind[:, 0] = "similar"
    kind[:, 1:] = "dissimilar"
    terms = Terms(
        role=("positive",) + ("negative",) * K,
        index=(0,) + tuple(range(K)),
        columns={"kind": kind, "distance": dist, "hinge": hinge, "term": term,
                 "active": term > 0},
    )
    return Result(
        loss=CONTRASTIVE.name, params=dict(params), reduction=reduction, per_example=loss,
        value=reduce(loss, reduction), shape=shape_dict(B, K, batch.dim), terms=terms,
        warnings=tuple(warnings),
    )
