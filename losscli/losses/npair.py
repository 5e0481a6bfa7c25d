"""The N-pair loss (Sohn 2016): infonce with t = 1 on raw (not normalized) vectors.

    loss = log(1 + sum_k exp(s(a, n_k) - s(a, p))) = LSE([s_ap, s_an_1, ...]) - s_ap
    without negatives (paired batch, N-pair-mc): anchor i's negatives are p_j, j != i
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.losses import relative_softmax as rs
from losscli.losses import tiles
from losscli.losses.forms import (
    PairedBatch,
    explicit_layout,
    float64_inputs,
    paired_batch,
    reordered,
)
from losscli.losses.results import check_embedding_breakdown, result, shape_dict
from losscli.losses.roles import check_huge, embedding_batch
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import NPAIR
from losscli.losses.vectors import similarity_backward, similarity_rows, vectors
from losscli.model import Inputs, LazyTerms, Result, Terms

NAMES = ("similarity", "logit", "probability", "gradient", "candidate_index")


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """PML's NPairsLoss and TF Addons' npairs_loss are the paired batch (their similarity
    through `params`, explicit negatives refused by the convention): nothing else changes."""
    cosine = params["similarity"] == "cosine"
    if "negatives" in inputs:
        return _explicit(inputs, params, reduction, grad, cosine)
    return _paired(inputs, params, reduction, grad, cosine)


def _explicit(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool,
              cosine: bool) -> Result:
    batch = embedding_batch(float64_inputs(inputs), negatives="optional")
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
    pos, skip = explicit_layout(B)
    ref = np.ascontiguousarray(sim[:, 0])
    work = sim.size * 8
    stats, _ = rs.statistics(lambda: [(0, sim)], pos, skip, ref, 1.0, work)
    loss = stats.losses()
    logit, prob, dlogit = rs.terms(sim, 0, pos, skip, ref, 1.0, stats, np.ones(B))
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
    pairs = paired_batch(inputs, NPAIR.name, cosine, warnings, minimum=NPAIR.min_batch,
                         grad=grad)
    B = pairs.batch
    pos, skip = pairs.layout()
    diag = pairs.diagonal()
    weight = np.ones(B)
    with _jit.job(pairs.work):
        stats, _ = rs.statistics(pairs.tiles, pos, skip, diag, 1.0, pairs.work)
    terms = LazyTerms(("positive",) + ("negative",) * (B - 1), (0,) + tuple(range(B - 1)),
                      NAMES, B, tiles.on_demand(_Breakdown(pairs, diag, stats).block, pairs.work),
                      pairs.pairs)
    gradients = None
    if grad:
        with _jit.job(pairs.work):
            gradients = pairs.gradients(rs.tile_gradient(pos, skip, diag, 1.0, stats, weight,
                                                         pairs.work))
    return result(NPAIR.name, {**params, "form": "paired batch"}, reduction, stats.losses(),
                  shape_dict(B, B - 1, pairs.dim), terms, warnings, gradients)


class _Breakdown:
    """Row i of S on demand: the positive p_i, then the other examples' p_j."""

    def __init__(self, pairs: PairedBatch, diag: np.ndarray, stats: rs.Relative) -> None:
        self.pairs, self.diag, self.stats = pairs, diag, stats

    def block(self, start: int, stop: int) -> dict[str, np.ndarray]:
        B = self.pairs.batch
        pos, skip = self.pairs.layout()
        S = self.pairs.rows(start, stop)
        logit, prob, grad = rs.terms(S, start, pos, skip, self.diag, 1.0, self.stats,
                                     np.ones(B))
        first = np.arange(start, stop)
        every = np.broadcast_to(np.arange(B), S.shape)
        return {name: reordered(values, first) for name, values in
                (("similarity", S), ("logit", logit), ("probability", prob),
                 ("gradient", grad), ("candidate_index", every))}
