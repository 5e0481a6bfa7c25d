"""SigLIP's pairwise sigmoid loss over the paired batch (Zhai et al. 2023).

    x_ij = scale * s(a_i, p_j) + bias;  z_ii = +1, z_ij = -1 (j != i)
    l_ij = softplus(-z_ij x_ij);  example i: sum_j l_ij;  mean = (1/B) sum_ij l_ij
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import inbatch as kern
from losscli.losses.forms import paired_batch
from losscli.losses.results import result, shape_dict
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import SIGLIP
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """torch's BCE-with-logits and open_clip's SigLipLoss are this definition: `convention`
    changes nothing here."""
    warnings: list[str] = []
    scale = params["scale"]
    pairs = paired_batch(inputs, SIGLIP.name, params["similarity"] == "cosine", warnings,
                         minimum=1)  # checks the breakdown against compute's limit
    B = pairs.batch
    logit = np.empty((B, B))
    sig = np.empty_like(logit)
    term = np.empty_like(logit)
    dlogit = np.empty_like(logit)
    loss = np.empty(B)
    _jit.run(kern.sigmoid_pairs, B * B * 8, pairs.sim, float(scale), float(params["bias"]),
             logit, sig, term, dlogit, loss)
    label = np.where(np.eye(B, dtype=bool), 1.0, -1.0)
    terms = Terms(
        role=("positive",) * B,
        index=tuple(range(B)),
        columns={"label": label, "similarity": pairs.sim, "logit": logit, "sigmoid": sig,
                 "term": term, "gradient": dlogit,
                 "candidate_index": np.broadcast_to(np.arange(B), (B, B)).copy()},
    )
    gradients = pairs.backward(scale * dlogit) if grad else None
    return result(SIGLIP.name, params, reduction, loss, shape_dict(B, B - 1, pairs.dim),
                  terms, warnings, gradients)
