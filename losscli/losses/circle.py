"""Circle loss (Sun et al. 2020, as PML implements it), cosine similarity only.

    alpha_p = [1 + m - s_p]+,  alpha_n = [s_n + m]+,  Delta_p = 1 - m,  Delta_n = m
    loss = softplus( LSE_k(gamma alpha_n (s_n - Delta_n)) + LSE_p(-gamma alpha_p (s_p - Delta_p)) )
alpha is held constant in the gradient (detached), as in the paper and PML.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import pairs_more as kern
from losscli.losses._candidates import candidates
from losscli.losses._more_common import result, shape_dict
from losscli.losses._more_specs import CIRCLE
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str,
             grad: bool = False) -> Result:
    warnings: list[str] = []
    c = candidates(inputs, True, warnings, negatives_required=True)
    B, P, K = c.batch, c.p, c.k
    sim = c.similarities(True)
    alpha = np.empty((B, P + K))
    logit = np.empty_like(alpha)
    share = np.empty_like(alpha)
    dsim = np.empty_like(alpha)
    lse_pos = np.empty(B)
    lse_neg = np.empty(B)
    loss = np.empty(B)
    _jit.run(kern.circle_rows, B * (P + K) * 4, sim, P, float(params["margin"]),
             float(params["gamma"]), alpha, logit, share, dsim, lse_pos, lse_neg, loss)
    role, index = c.role_index()
    terms = Terms(role, index, {
        "kind": c.kinds(), "similarity": sim, "alpha": alpha, "logit": logit, "share": share,
        "gradient": dsim, "lse_pos": np.repeat(lse_pos[:, None], P + K, axis=1),
        "lse_neg": np.repeat(lse_neg[:, None], P + K, axis=1)})
    gradients = c.similarity_gradients(dsim) if grad else None
    return result(CIRCLE.name, params, reduction, loss, shape_dict(B, K, c.dim, positives=P),
                  terms, warnings, gradients)
