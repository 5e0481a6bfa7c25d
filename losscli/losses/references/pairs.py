"""Reference values of multi-similarity, circle, lifted-structure and margin."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from losscli.losses.references import ReferenceValue, Sizes, log1p_exp, log_one_plus, need


def multi_similarity(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """(1/α) log(1 + sum_p e^{-α(s_p - λ)}) + (1/β) log(1 + sum_k e^{β(s_k - λ)}) with
    every s_p and every s_k at the same value."""
    P = int(sizes.get("positives") or 1)
    K = int(sizes.get("negatives") or 0)
    a, b, lam = float(params["alpha"]), float(params["beta"]), float(params["base"])

    def at(sp: float, sn: float) -> float:
        return log_one_plus(P, -a * (sp - lam)) / a + log_one_plus(K, b * (sn - lam)) / b

    form = "(1/α) log(1 + P e^{{-α({sp} - λ)}}) + (1/β) log(1 + K e^{{β({sn} - λ)}})"
    values = [ReferenceValue("chance", at(0, 0), form.format(sp="0", sn="0"),
                             "every similarity 0 (random embeddings)")]
    if params.get("similarity", "cosine") == "cosine":
        values = [ReferenceValue("collapse", at(1, 1), form.format(sp="1", sn="1"),
                                 "every cosine 1 (identical embeddings)")] + values + [
            ReferenceValue("minimum", at(1, -1), form.format(sp="1", sn="-1"),
                           "cosine: every positive at 1, every negative at -1"),
            ReferenceValue("maximum", at(-1, 1), form.format(sp="-1", sn="1"),
                           "cosine: every positive at -1, every negative at 1")]
    return values


def circle(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """softplus(LSE_k(γ α_n (s_n - m)) + LSE_p(-γ α_p (s_p - 1 + m))). Each positive's
    logit is least at s_p = 1 (-γ m^2) and each negative's at s_n = 0 (-γ m^2): circle
    wants negatives orthogonal, not opposite."""
    P = int(sizes.get("positives") or 1)
    K = need(sizes, "negatives", "circle")
    m, g = float(params["margin"]), float(params["gamma"])
    if P * K == 0:
        return []
    both = math.log(P * K)
    values = [
        ReferenceValue("collapse", log1p_exp(both + g * (1 - 2 * m * m)),
                       "softplus(log(P K) + γ (1 - 2 m^2))",
                       "every cosine 1 (identical embeddings)"),
        ReferenceValue("chance", log1p_exp(both + g * (1 - 2 * m * m)),
                       "softplus(log(P K) + γ (1 - 2 m^2))", "every cosine 0"),
    ]
    if m >= 0:
        values.append(ReferenceValue("minimum", log1p_exp(both - 2 * g * m * m),
                                     "softplus(log(P K) - 2 γ m^2)",
                                     "every positive at cosine 1, every negative at cosine 0"))
    return values


def lifted_structure(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """Every distance 0 (identical embeddings): song J = log(2K) + m - m_pos."""
    K = need(sizes, "negatives", "lifted-structure")
    m, mp = float(params["margin"]), float(params["pos_margin"])
    cosine = params.get("distance") == "cosine"
    if params.get("variant") == "generalized":
        P = int(sizes.get("positives") or 1)
        at0 = max(math.log(P * K) + m - mp, 0.0)
        values = [ReferenceValue("collapse", at0, "[log(P K) + m - m_pos]+",
                                 "every distance 0 (identical embeddings)")]
        if cosine:
            values.append(ReferenceValue("minimum", max(math.log(P * K) + m - mp - 2, 0.0),
                                         "[log(P K) + m - m_pos - 2]+",
                                         "cosine distance: positives at 0, negatives at 2"))
        else:
            values.append(ReferenceValue("minimum", 0.0, "0", "negatives far enough"))
        return values
    J = math.log(2 * K) + m - mp
    values = [ReferenceValue("collapse", 0.5 * max(J, 0.0) ** 2,
                             "1/2 [log(2K) + m - m_pos]+^2",
                             "every distance 0 (identical embeddings)")]
    if cosine:
        values.append(ReferenceValue("minimum", 0.5 * max(J - 2, 0.0) ** 2,
                                     "1/2 [log(2K) + m - m_pos - 2]+^2",
                                     "cosine distance: the positive at 0, negatives at 2"))
    else:
        values.append(ReferenceValue("minimum", 0.0, "0", "negatives far enough"))
    return values


def margin(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """Every distance 0: pos = [m - β]+, neg = [β + m]+, the mean of the active ones, + ν β."""
    m, beta, nu = float(params["margin"]), float(params["beta"]), float(params["nu"])
    pos, neg = max(m - beta, 0.0), max(beta + m, 0.0)
    active = (pos > 0) + (neg > 0)
    at0 = (pos + neg) / active + nu * beta if active else nu * beta
    return [
        ReferenceValue("collapse", at0, "mean of the active [m - β]+, [β + m]+ (+ ν β)",
                       "every distance 0 (identical embeddings)"),
        ReferenceValue("minimum", nu * beta, "ν β", "the positive within β - m, every "
                       "negative beyond β + m"),
    ]


VALUES = {"multi-similarity": multi_similarity, "circle": circle,
          "lifted-structure": lifted_structure, "margin": margin}
