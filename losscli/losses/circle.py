"""Circle loss (Sun et al. 2020, as PML implements it), cosine similarity only.

    alpha_p = [1 + m - s_p]+,  alpha_n = [s_n + m]+,  Delta_p = 1 - m,  Delta_n = m
    loss = softplus( LSE_k(gamma alpha_n (s_n - Delta_n)) + LSE_p(-gamma alpha_p (s_p - Delta_p)) )
alpha is held constant in the gradient (detached), as in the paper and PML.

`--like pytorch-metric-learning`: torch.nn.Softplus is x itself above 20, an anchor without a
negative has loss 0 (an input error otherwise), and the batch reduces with AvgNonZero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import candidates as kern
from losscli.losses.candidates import Candidates, candidates
from losscli.losses.explicit_terms import by_rows
from losscli.losses.results import result, shape_dict
from losscli.losses.spec import Convention
from losscli.losses.specs.pairs import CIRCLE
from losscli.losses.variants import pml_single_call_zero, zero_rows
from losscli.model import Inputs, Result


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """circle per example (Sun et al. 2020, as PML computes it), on cosine similarities:

        a_p = [1 + m - s_p]+,  a_n = [s_n + m]+   (held constant in the gradient)
        loss = softplus(LSE_k(gamma a_n (s_n - m)) + LSE_p(-gamma a_p (s_p - (1 - m))))
    """
    warnings: list[str] = []
    zero_without = convention is not None and convention.zero_without_pairs
    c = candidates(inputs, True, warnings, negatives_required=not zero_without,
                   loss=CIRCLE.name, grad=grad)
    B, P, K = c.batch, c.p, c.k
    if K == 0:
        return _no_negatives(c, params, reduction, grad, convention, warnings)
    threshold = np.inf
    if convention is not None and convention.softplus_threshold is not None:
        threshold = float(convention.softplus_threshold)
    margin, gamma = float(params["margin"]), float(params["gamma"])

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = stop - start
        sim = c.similarities(True, start, stop)
        alpha = np.empty((n, P + K))
        logit = np.empty_like(alpha)
        share = np.empty_like(alpha)
        dsim = np.empty_like(alpha)
        lse_pos = np.empty(n)
        lse_neg = np.empty(n)
        loss = np.empty(n)
        _jit.run(kern.circle_rows, B * (P + K) * 4, sim, P, margin, gamma, threshold, alpha,
                 logit, share, dsim, lse_pos, lse_neg, loss)
        return {"loss": loss}, {
            "kind": c.kinds(n), "similarity": sim, "alpha": alpha, "logit": logit,
            "share": share, "gradient": dsim,
            "lse_pos": np.repeat(lse_pos[:, None], P + K, axis=1),
            "lse_neg": np.repeat(lse_neg[:, None], P + K, axis=1)}

    examples, terms = by_rows(B, *c.role_index(), rows, grad)
    loss = examples["loss"]
    gradients = c.similarity_gradients(terms.columns["gradient"]) if grad else None
    if pml_single_call_zero(convention, B, c.positives.raw.shape[0] > 1
                            or c.negatives.raw.shape[0] > 1, P, K, warnings):
        zero_rows(loss, gradients)
    return result(CIRCLE.name, params, reduction, loss, shape_dict(B, K, c.dim, positives=P),
                  terms, warnings, gradients)


def _no_negatives(c: Candidates, params: dict[str, Any], reduction: str, grad: bool,
                  convention: Convention, warnings: list[str]) -> Result:
    """K = 0 under a library that gives such an anchor loss 0 (PML's zero rows): the
    positives' rows keep their similarity, alpha and logit; the loss and gradients are 0."""
    B, P = c.batch, c.p
    m, gamma = float(params["margin"]), float(params["gamma"])

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = stop - start
        sim = c.similarities(True, start, stop)
        alpha = np.maximum(1.0 + m - sim, 0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            logit = -gamma * alpha * (sim - (1.0 - m))
            lost = ~np.isfinite(logit)  # gamma alpha overflowed, the logit need not: gamma last
            logit[lost] = (-gamma * (alpha * (sim - (1.0 - m))))[lost]
        nan = np.full((n, P), np.nan)
        return {"loss": np.zeros(n)}, {
            "kind": c.kinds(n), "similarity": sim, "alpha": alpha, "logit": logit,
            "share": nan, "gradient": np.zeros((n, P)), "lse_pos": nan, "lse_neg": nan}

    examples, terms = by_rows(B, *c.role_index(), rows, grad)
    warnings.append(f"no negatives (K = 0): {convention.library} gives 0 to an anchor without "
                    "a negative pair")
    gradients = c.similarity_gradients(np.zeros((B, P))) if grad else None
    return result(CIRCLE.name, params, reduction, examples["loss"],
                  shape_dict(B, 0, c.dim, positives=P), terms, warnings, gradients)
