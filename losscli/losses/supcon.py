"""Supervised contrastive loss with several positives per anchor (Khosla et al. 2020, L_out).

    v_j = s(a, c_j) / t over the P positives and K negatives
    loss = -(t / t_b) (1/P) sum_p ( v_p - LSE_j(v_j) )
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import pairs_more as kern
from losscli.losses._more_common import (
    anchor_rows,
    check_huge,
    check_temperature,
    negatives_bank,
    positives_bank,
    result,
    shape_dict,
    similarity_backward,
    similarity_rows,
    vectors,
)
from losscli.losses._more_specs import SUPCON
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str,
             grad: bool = False) -> Result:
    anchor, single = anchor_rows(inputs)
    B, D = anchor.shape
    positives, pos_role = positives_bank(inputs, B, D, single)
    negatives = negatives_bank(inputs, B, D, single, required=False, allow_empty=True)
    P, K = positives.shape[1], negatives.shape[1]
    warnings: list[str] = []
    check_huge({"anchor": anchor, pos_role: positives, "negatives": negatives}, warnings)
    params = dict(params)
    t = params["temperature"]
    if params["base_temperature"] is None:
        params["base_temperature"] = t
    factor = t / params["base_temperature"]
    check_temperature(t, warnings)
    cosine = params["similarity"] == "cosine"
    a = vectors(anchor, cosine, warnings, "anchor")
    pos = vectors(positives, cosine, warnings, pos_role)
    neg = vectors(negatives, cosine, warnings, "negatives")
    # The positives' columns first, then the negatives'; each bank stays as given (shared
    # banks are never broadcast to one copy per anchor).
    sim = np.ascontiguousarray(np.concatenate(
        [similarity_rows(a.used, pos.used, cosine), similarity_rows(a.used, neg.used, cosine)],
        axis=1))
    C = P + K
    logit = np.empty((B, C))
    prob = np.empty_like(logit)
    dlogit = np.empty_like(logit)
    loss = np.empty(B)
    _jit.run(kern.supcon_rows, B * C * 4, sim, P, 1.0 / t, factor, logit, prob, dlogit, loss)
    kind = np.empty((B, C), dtype=object)
    kind[:, :P] = "positive"
    kind[:, P:] = "negative"
    terms = Terms(
        role=("positive",) * P + ("negative",) * K,
        index=tuple(range(P)) + tuple(range(K)),
        columns={"kind": kind, "similarity": sim, "logit": logit, "probability": prob,
                 "gradient": dlogit},
    )
    gradients = None
    if grad:
        dsim = dlogit / t
        grad_a, grad_pos = similarity_backward(dsim[:, :P], a, pos)
        grad_a_neg, grad_neg = similarity_backward(dsim[:, P:], a, neg)
        gradients = {"anchor": grad_a + grad_a_neg}
        gradients[pos_role] = grad_pos[:, 0, :] if pos_role == "positive" else grad_pos
        if "negatives" in inputs:
            gradients["negatives"] = grad_neg
    return result(SUPCON.name, params, reduction, loss, shape_dict(B, K, D, positives=P),
                  terms, warnings, gradients)

