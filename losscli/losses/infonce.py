"""InfoNCE: -log softmax(v)_0 with v_0 = s(a, p) / t and v_k = s(a, n_k) / t (LOSSES.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import embedding as kern
from losscli.losses import INFONCE
from losscli.losses._common import (
    check_magnitudes,
    embedding_batch,
    nonfinite_warning,
    reduce,
    shape_dict,
    to_unit,
)
from losscli.model import Inputs, Result, Terms

TINY_TEMPERATURE = 1e-3


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str) -> Result:
    batch = embedding_batch(inputs, negatives="optional")
    warnings: list[str] = []
    check_magnitudes(batch, warnings)
    t = params["temperature"]
    if t < TINY_TEMPERATURE:
        warnings.append(f"temperature {t:g} is below {TINY_TEMPERATURE:g}: the softmax is "
                        "nearly a max and the loss nearly (max s_n - s_p)+ / t")
    cosine = params["similarity"] == "cosine"
    if cosine:
        batch = to_unit(batch, warnings, "similarity")
    B, K = batch.batch, batch.k
    if K == 0:
        warnings.append("no negatives (K = 0): the loss is 0")
    sim = np.empty((B, K + 1))
    logit = np.empty_like(sim)
    prob = np.empty_like(sim)
    grad = np.empty_like(sim)
    loss = np.empty(B)
    _jit.run(kern.infonce, batch.work(), batch.anchor, batch.positive, batch.negatives,
             float(t), cosine, sim, logit, prob, grad, loss)
    nonfinite_warning(loss, warnings)
    terms = Terms(
        role=("positive",) + ("negative",) * K,
        index=(0,) + tuple(range(K)),
        columns={"similarity": sim, "logit": logit, "probability": prob, "gradient": grad},
    )
    return Result(
        loss=INFONCE.name, params=dict(params), reduction=reduction, per_example=loss,
        value=reduce(loss, reduction), shape=shape_dict(B, K, batch.dim), terms=terms,
        warnings=tuple(warnings),
    )
