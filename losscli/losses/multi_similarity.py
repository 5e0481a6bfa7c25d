"""Multi-similarity loss (Wang et al. 2019, as PML implements it, without mining).

    loss = (1/alpha) log(1 + sum_p e^{-alpha (s_p - lambda)})
         + (1/beta)  log(1 + sum_k e^{beta (s_k - lambda)})

`--like ms-original` mines pairs inside the loss as MalongTech's code does (`mined` column).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import candidates as kern
from losscli.losses.candidates import candidates
from losscli.losses.explicit_terms import by_rows
from losscli.losses.results import result, shape_dict
from losscli.losses.spec import Convention
from losscli.losses.specs.pairs import MULTI_SIMILARITY
from losscli.losses.variants import pml_single_call_zero, zero_rows
from losscli.model import Inputs, Result

# MalongTech's code drops positives this close to 1 (the anchor itself among them).
SELF_EPSILON = 1e-5


def mined_pairs(sim: np.ndarray, P: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """MalongTech's hard mining per anchor row of sim (B, P + K): which pairs it keeps, and
    which anchors it skips (loss 0).

    Positives with s >= 1 - 1e-5 are dropped; then negatives are kept when
    s_n + margin > min s_p and positives when s_p - margin < max s_n (over the negatives
    before mining). An anchor with no positive or no negative left is skipped.
    """
    pos, neg = sim[:, :P], sim[:, P:]
    pos_ok = pos < 1.0 - SELF_EPSILON
    skipped = ~pos_ok.any(axis=1) | (neg.shape[1] == 0)
    min_pos = np.where(pos_ok, pos, np.inf).min(axis=1, initial=np.inf)
    max_neg = neg.max(axis=1, initial=-np.inf)
    keep_neg = neg + margin > min_pos[:, None]
    keep_pos = pos_ok & (pos - margin < max_neg[:, None])
    skipped |= ~keep_neg.any(axis=1) | ~keep_pos.any(axis=1)
    keep = np.concatenate([keep_pos, keep_neg], axis=1) & ~skipped[:, None]
    return np.ascontiguousarray(keep), skipped


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """multi-similarity per example (Wang et al. 2019), without mining:

        (1/alpha) log(1 + sum_p e^{-alpha (s_p - lambda)})
        + (1/beta) log(1 + sum_k e^{beta (s_k - lambda)})

    `--like ms-original` mines the pairs first.
    """
    warnings: list[str] = []
    cosine = params["similarity"] == "cosine"
    c = candidates(inputs, cosine, warnings, negatives_required=False,
                   loss=MULTI_SIMILARITY.name, grad=grad)
    B, P, K = c.batch, c.p, c.k
    mining = convention is not None and convention.mining_margin is not None
    alpha, beta, base = float(params["alpha"]), float(params["beta"]), float(params["base"])

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = stop - start
        sim = c.similarities(cosine, start, stop)
        examples: dict[str, np.ndarray] = {}
        if mining:  # each anchor's pairs mined from its own row alone
            keep, examples["skipped"] = mined_pairs(sim, P, float(convention.mining_margin))
        else:
            keep = np.ones((n, P + K), dtype=np.bool_)
        exponent = np.empty((n, P + K))
        weight = np.empty_like(exponent)
        dsim = np.empty_like(exponent)
        pos_loss = np.empty(n)
        neg_loss = np.empty(n)
        examples["loss"] = np.empty(n)
        _jit.run(kern.multi_similarity_rows, B * (P + K) * 4, sim, P, alpha, beta, base, keep,
                 exponent, weight, dsim, pos_loss, neg_loss, examples["loss"])
        columns = {
            "kind": c.kinds(n), "similarity": sim, "exponent": exponent, "weight": weight,
            "gradient": dsim, "pos_loss": np.repeat(pos_loss[:, None], P + K, axis=1),
            "neg_loss": np.repeat(neg_loss[:, None], P + K, axis=1)}
        if mining:
            columns["mined"] = keep
        return examples, columns

    examples, terms = by_rows(B, *c.role_index(), rows, grad)
    loss = examples["loss"]
    gradients = c.similarity_gradients(terms.columns["gradient"]) if grad else None
    if mining:
        # A skipped anchor keeps no pair: its pos_loss, neg_loss and loss are already 0.
        skipped = examples["skipped"]
        if skipped.any():
            warnings.append(f"{int(skipped.sum())} anchor(s) left without a mined positive or "
                            f"negative: {convention.library} gives them loss 0 (they still "
                            "count in the mean)")
            zero_rows(loss, gradients, skipped)
    elif pml_single_call_zero(convention, B, c.positives.raw.shape[0] > 1
                              or c.negatives.raw.shape[0] > 1, P, K, warnings):
        zero_rows(loss, gradients)
    return result(MULTI_SIMILARITY.name, params, reduction, loss,
                  shape_dict(B, K, c.dim, positives=P), terms, warnings, gradients)
