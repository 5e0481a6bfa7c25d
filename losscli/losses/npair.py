"""The N-pair loss (Sohn 2016): infonce with t = 1 on raw (not normalized) vectors.

    loss = log(1 + sum_k exp(s(a, n_k) - s(a, p))) = LSE([s_ap, s_an_1, ...]) - s_ap
    without negatives (paired batch, N-pair-mc): anchor i's negatives are p_j, j != i
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import inbatch as kern
from losscli.losses.forms import paired_batch
from losscli.losses.results import check_embedding_breakdown, result, shape_dict
from losscli.losses.roles import check_huge, embedding_batch
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import NPAIR
from losscli.losses.vectors import similarity_backward, similarity_rows, vectors
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """PML's NPairsLoss and TF Addons' npairs_loss are the paired batch (their similarity
    through `params`, explicit negatives refused by the convention): nothing else changes."""
    cosine = params["similarity"] == "cosine"
    if "negatives" in inputs:
        return _explicit(inputs, params, reduction, grad, cosine)
    return _paired(inputs, params, reduction, grad, cosine)


def _softmax(sim: np.ndarray, pos: np.ndarray, skip: np.ndarray):
    R, C = sim.shape
    logit = np.empty((R, C))
    prob = np.empty_like(logit)
    dlogit = np.empty_like(logit)
    loss = np.empty(R)
    _jit.run(kern.softmax_rows, R * C * 4, sim, 1.0, pos, skip, logit, prob, dlogit, loss)
    return logit, prob, dlogit, loss


def _explicit(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool,
              cosine: bool) -> Result:
    batch = embedding_batch(inputs, negatives="optional")
    check_embedding_breakdown(batch, batch.k + 1, NPAIR.name, grad)
    B, K, D = batch.batch, batch.k, batch.dim
    warnings: list[str] = []
    check_huge({"anchor": batch.anchor, "positive": batch.positive,
                "negatives": batch.negatives}, warnings)
    if K == 0:
        warnings.append("no negatives (K = 0): the loss is 0")
    a = vectors(batch.anchor, cosine, warnings, "anchor")
    p = vectors(batch.positive[:, None, :], cosine, warnings, "positive")
    n = vectors(batch.negatives, cosine, warnings, "negatives")
    sim = np.ascontiguousarray(np.concatenate(
        [similarity_rows(a.used, p.used, cosine), similarity_rows(a.used, n.used, cosine)],
        axis=1))
    logit, prob, dlogit, loss = _softmax(sim, np.zeros(B, dtype=np.int64),
                                         np.full(B, -1, dtype=np.int64))
    terms = Terms(
        role=("positive",) + ("negative",) * K,
        index=(0,) + tuple(range(K)),
        columns={"similarity": sim, "logit": logit, "probability": prob, "gradient": dlogit},
    )
    gradients = None
    if grad:
        grad_a, grad_p = similarity_backward(dlogit[:, :1], a, p)
        grad_a_n, grad_n = similarity_backward(dlogit[:, 1:], a, n)
        gradients = {"anchor": grad_a + grad_a_n, "positive": grad_p[:, 0, :],
                     "negatives": grad_n}
    return result(NPAIR.name, {**params, "form": "explicit"}, reduction, loss,
                  shape_dict(B, K, D), terms, warnings, gradients)


def _paired(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool,
            cosine: bool) -> Result:
    warnings: list[str] = []
    pairs = paired_batch(inputs, NPAIR.name, cosine, warnings)  # checks the breakdown
    B = pairs.batch
    pos, skip = pairs.layout()
    logit, prob, dlogit, loss = _softmax(pairs.sim, pos, skip)
    # Each row as the breakdown lists it: the positive p_i, then the other examples' p_j.
    order = np.array([[i] + [j for j in range(B) if j != i] for i in range(B)])
    terms = Terms(
        role=("positive",) + ("negative",) * (B - 1),
        index=(0,) + tuple(range(B - 1)),
        columns={name: np.take_along_axis(col, order, axis=1) for name, col in
                 (("similarity", pairs.sim), ("logit", logit), ("probability", prob),
                  ("gradient", dlogit))},
    )
    terms.columns["candidate_index"] = order
    gradients = pairs.backward(dlogit) if grad else None
    return result(NPAIR.name, {**params, "form": "paired batch"}, reduction, loss,
                  shape_dict(B, B - 1, pairs.dim), terms, warnings, gradients)
