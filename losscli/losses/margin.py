"""The margin-based loss (Wu et al. 2017, as PML implements it), one divisor per example.

    pos = [d(a, p) - beta + m]+,  neg_k = [beta - d(a, n_k) + m]+
    loss = (K pos + sum_k neg_k) / (K [pos > 0] + sum_k [neg_k > 0]) + nu beta

`--like pytorch-metric-learning`: normalized embeddings, beta as the float32 PML stores, and
its DivisorReducer over the batch (reduction "divisor": every example's summed terms over the
batch's count of active pair terms).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import margins as kern
from losscli.losses.explicit_terms import by_rows, example_rows, is_lazy
from losscli.losses.results import check_embedding_breakdown, result, shape_dict
from losscli.losses.roles import check_huge, embedding_batch
from losscli.losses.spec import Convention
from losscli.losses.specs.pairs import MARGIN
from losscli.losses.variants import float32_params, unit_if
from losscli.losses.vectors import distance_backward, distance_rows, vectors
from losscli.model import Inputs, Result, Threshold


def divisor_value(examples: dict[str, np.ndarray], K: int) -> float:
    """PML's DivisorReducer: the batch's summed pair terms over its count of active ones
    (the positive term counts once per negative, as PML makes one triplet per negative);
    0 when none is active. The negatives' terms come summed and counted per example (the
    same bits whole or by blocks of examples)."""
    pos_term = examples["pos_term"]
    total = K * float(np.sum(pos_term)) + float(np.sum(examples["neg_sum"]))
    count = K * int(np.sum(pos_term > 0.0)) + int(np.sum(examples["neg_count"]))
    return total / count if count else 0.0


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """margin per example: (K pos + sum_k neg_k) / (K [pos > 0] + sum_k [neg_k > 0]) + nu beta,
    with pos = [d(a, p) - beta + m]+ and neg_k = [beta - d(a, n_k) + m]+ (nu beta alone when no
    term is active; Wu et al. 2017).
    """
    params = float32_params(convention, params)
    batch = embedding_batch(inputs)
    B, K, D = batch.batch, batch.k, batch.dim
    if not is_lazy(B, K, grad):  # by blocks nothing B x K is held
        check_embedding_breakdown(batch, K, MARGIN.name, grad)
    warnings: list[str] = []
    check_huge({"anchor": batch.anchor, "positive": batch.positive,
                "negatives": batch.negatives}, warnings)
    kind = params["distance"]
    unit = unit_if(convention, kind == "cosine")
    a = vectors(batch.anchor, unit, warnings, "anchor", "distance")
    p = vectors(batch.positive[:, None, :], unit, warnings, "positive", "distance")
    n = vectors(batch.negatives, unit, warnings, "negatives", "distance")
    margin, beta, nu = float(params["margin"]), float(params["beta"]), float(params["nu"])
    divisor = reduction == "divisor"

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        count = stop - start
        anchor = a.used[start:stop]
        # the kernels' paths are the whole batch's (its work), so are their bits
        d_ap = distance_rows(anchor, p.used[start:stop], kind, B * D)[:, 0]
        d_an = distance_rows(anchor, example_rows(n.used, start, stop), kind, B * K * D)
        pos_term = np.empty(count)
        neg_term = np.empty((count, K))
        grad_ap = np.empty(count)
        grad_an = np.empty((count, K))
        loss = np.empty(count)
        _jit.run(kern.margin_rows, B * K * 4, d_ap, d_an, margin, beta, nu, pos_term,
                 neg_term, grad_ap, grad_an, loss)
        examples = {"loss": loss, "pos_term": pos_term}
        if divisor:
            examples.update(neg_sum=neg_term.sum(axis=1), neg_count=(neg_term > 0.0).sum(axis=1))
        if grad:  # the breakdown is whole (rows runs once): d_an's gradients ride along
            examples.update(d_ap=d_ap, grad_ap=grad_ap, grad_an=grad_an)
        pos_terms = np.repeat(pos_term[:, None], K, axis=1)
        return examples, {"d_ap": np.repeat(d_ap[:, None], K, axis=1), "d_an": d_an,
                          "pos_term": pos_terms, "neg_term": neg_term,
                          "pos_active": pos_terms > 0, "neg_active": neg_term > 0}

    examples, terms = by_rows(B, ("negative",) * K, tuple(range(K)), rows, grad)
    gradients = None
    if grad:
        d_ap = examples["d_ap"][:, None]
        ga_p, gp = distance_backward(examples["grad_ap"][:, None], a, p, d_ap, kind)
        ga_n, gn = distance_backward(examples["grad_an"], a, n, terms.columns["d_an"], kind)
        gradients = {"anchor": ga_p + ga_n, "positive": gp[:, 0, :], "negatives": gn}
    value = divisor_value(examples, K) if divisor else None
    return result(MARGIN.name, params, reduction, examples["loss"], shape_dict(B, K, D), terms,
                  warnings, gradients, value)


def active_thresholds(params: dict[str, Any], records: list[dict[str, Any]],
                      ) -> list[Threshold]:
    """[beta - d_an + m]+ is active below beta + m, [d_ap - beta + m]+ above beta - m."""
    beta, m = params["beta"], params["margin"]
    return [Threshold(beta + m, "beta + m", "negative"),
            Threshold(beta - m, "beta - m", "positive")]
