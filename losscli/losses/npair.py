"""The N-pair loss (Sohn 2016): infonce with t = 1 on raw (not normalized) vectors.

    loss = log(1 + sum_k exp(s(a, n_k) - s(a, p))) = LSE([s_ap, s_an_1, ...]) - s_ap
    without negatives (paired batch, N-pair-mc): anchor i's negatives are p_j, j != i
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import tiles as tk
from losscli.losses import relative_softmax as rs
from losscli.losses import tiles
from losscli.losses.explicit_terms import by_rows
from losscli.losses.forms import (
    PairedBatch,
    explicit_batch,
    explicit_layout,
    explicit_vectors,
    paired_batch,
)
from losscli.losses.results import result, shape_dict
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import NPAIR
from losscli.losses.term_columns import Column, Reordered
from losscli.model import Inputs, LazyTerms, Result

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
    """LSE([s_ap, s_an_1, ...]) - s_ap per example, a block of examples at a time above
    explicit_terms.EAGER_TERMS (forms.Explicit)."""
    warnings: list[str] = []
    batch = explicit_batch(inputs, NPAIR.name, grad, warnings, negatives="optional")
    B, K, D = batch.batch, batch.k, batch.dim
    if K == 0:
        warnings.append("no negatives (K = 0): the loss is 0")
    ex = explicit_vectors(batch, cosine, warnings)
    work = B * (K + 1) * 8

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        sim = ex.similarities(start, stop)
        n = stop - start
        pos, skip = explicit_layout(n)
        ref = np.ascontiguousarray(sim[:, 0])
        stats = rs.Relative.zeros(n)
        # Each row's (m, s) by the exact two passes: rs.statistics' one-exponential kernel
        # shifts a tile by its largest similarity, a number of the whole batch's that a
        # block's rows do not hold
        _jit.run(tk.relative_row_stats, work, sim, 0, pos, skip, ref, 1.0, stats.m, stats.s)
        logit, prob, dlogit = rs.terms(sim, 0, pos, skip, ref, 1.0, stats, np.ones(n), work)
        return {"loss": stats.losses()}, {"similarity": sim, "logit": logit,
                                          "probability": prob, "gradient": dlogit}

    examples, terms = by_rows(B, *ex.roles(), rows, grad)
    gradients = ex.gradients(terms.columns["gradient"]) if grad else None
    return result(NPAIR.name, {**params, "form": "explicit"}, reduction, examples["loss"],
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

    def block(self, start: int, stop: int) -> dict[str, Column]:
        B = self.pairs.batch
        pos, skip = self.pairs.layout()
        S = self.pairs.rows(start, stop)
        logit, prob, grad = rs.terms(S, start, pos, skip, self.diag, 1.0, self.stats,
                                     np.ones(B))
        first = np.arange(start, stop)
        every = np.broadcast_to(np.arange(B), S.shape)
        return {name: Reordered(values, first) for name, values in
                (("similarity", S), ("logit", logit), ("probability", prob),
                 ("gradient", grad), ("candidate_index", every))}
