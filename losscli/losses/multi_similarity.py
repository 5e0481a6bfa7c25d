"""Multi-similarity loss (Wang et al. 2019, as PML implements it, without mining).

    loss = (1/alpha) log(1 + sum_p e^{-alpha (s_p - lambda)})
         + (1/beta)  log(1 + sum_k e^{beta (s_k - lambda)})
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import pairs_more as kern
from losscli.losses._candidates import candidates
from losscli.losses._more_common import result, shape_dict
from losscli.losses._more_specs import MULTI_SIMILARITY
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str,
             grad: bool = False) -> Result:
    warnings: list[str] = []
    cosine = params["similarity"] == "cosine"
    c = candidates(inputs, cosine, warnings, negatives_required=False)
    B, P, K = c.batch, c.p, c.k
    sim = c.similarities(cosine)
    exponent = np.empty((B, P + K))
    weight = np.empty_like(exponent)
    dsim = np.empty_like(exponent)
    pos_loss = np.empty(B)
    neg_loss = np.empty(B)
    loss = np.empty(B)
    _jit.run(kern.multi_similarity_rows, B * (P + K) * 4, sim, P, float(params["alpha"]),
             float(params["beta"]), float(params["base"]), exponent, weight, dsim, pos_loss,
             neg_loss, loss)
    role, index = c.role_index()
    terms = Terms(role, index, {
        "kind": c.kinds(), "similarity": sim, "exponent": exponent, "weight": weight,
        "gradient": dsim, "pos_loss": np.repeat(pos_loss[:, None], P + K, axis=1),
        "neg_loss": np.repeat(neg_loss[:, None], P + K, axis=1)})
    gradients = c.similarity_gradients(dsim) if grad else None
    return result(MULTI_SIMILARITY.name, params, reduction, loss,
                  shape_dict(B, K, c.dim, positives=P), terms, warnings, gradients)
