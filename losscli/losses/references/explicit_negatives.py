"""Reference values of infonce, contrastive, triplet and quadruplet (explicit negatives)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from losscli.losses.references import ReferenceValue, Sizes, log1p_exp, log_one_plus, need


def infonce(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """All K + 1 logits equal: log(K + 1). Under cosine the positive at 1 and every negative
    at -1 is reachable (the negatives at the anchor's antipode): log(1 + K e^{-2/t})."""
    K = need(sizes, "negatives", "infonce")
    t = float(params["temperature"])
    values = [
        ReferenceValue("collapse", math.log(K + 1), "log(K + 1)", "every similarity equal"),
        ReferenceValue("chance", math.log(K + 1), "log(K + 1)",
                       "the positive no more likely than any of the K negatives"),
    ]
    if params.get("similarity") == "cosine":
        values += [
            ReferenceValue("minimum", log_one_plus(K, -2 / t), "log(1 + K e^{-2/t})",
                           "cosine: the positive at 1, every negative at -1"),
            ReferenceValue("maximum", log_one_plus(K, 2 / t), "log(1 + K e^{2/t})",
                           "cosine: the positive at -1, every negative at 1"),
        ]
    else:
        values.append(ReferenceValue("minimum", 0.0, "0", "dot: as s_ap - s_an grows without "
                                     "bound (approached, never reached)"))
    return values


def contrastive(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """Identical embeddings (d = 0): the similar pair costs 0, each dissimilar 1/2 m^2."""
    K = need(sizes, "negatives", "contrastive")
    m = float(params["margin"])
    values = [
        ReferenceValue("collapse", K * 0.5 * m * m / (K + 1), "K m^2 / (2 (K + 1))",
                       "every distance 0 (identical embeddings)"),
        ReferenceValue("minimum", 0.0, "0", "the positive at distance 0, every negative at "
                       "distance >= m"),
    ]
    if params.get("distance") == "cosine":
        values.append(ReferenceValue("maximum", (2 + K * 0.5 * m * m) / (K + 1),
                                     "(2 + K m^2 / 2) / (K + 1)",
                                     "cosine distance: the positive at 2, every negative at 0"))
    return values


def _triplet_scale(params: Mapping[str, Any], K: int) -> tuple[float, str]:
    """What one term becomes for the example: K for a sum, 1 for a mean, a max, mean-active."""
    return (float(K), "K ") if params.get("negatives_reduction") == "sum" else (1.0, "")


def triplet(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """Every distance equal: each term is [m]+ (softplus(0) = log 2 when soft)."""
    K = need(sizes, "negatives", "triplet")
    scale, times = _triplet_scale(params, K)
    m = float(params["margin"])
    cosine = params.get("distance") == "cosine"
    if params.get("soft"):
        values = [ReferenceValue("collapse", scale * math.log(2), f"{times}log 2",
                                 "every distance equal")]
        if cosine:
            values += [
                ReferenceValue("minimum", scale * log1p_exp(-2.0), f"{times}softplus(-2)",
                               "cosine distance: the positive at 0, every negative at 2"),
                ReferenceValue("maximum", scale * log1p_exp(2.0), f"{times}softplus(2)",
                               "cosine distance: the positive at 2, every negative at 0")]
        else:
            values.append(ReferenceValue("minimum", 0.0, "0", "d_an - d_ap growing without "
                                         "bound (approached, never reached)"))
        return values
    hinge = max(m, 0.0)
    if params.get("negatives_reduction") == "mean-active" and hinge == 0:
        scale = 0.0
    values = [
        ReferenceValue("collapse", scale * hinge, f"{times}[m]+", "every distance equal"),
        ReferenceValue("minimum", 0.0, "0", "every negative at least m farther than the "
                       "positive"),
    ]
    if cosine:
        values.append(ReferenceValue("maximum", scale * (2 + hinge), f"{times}(2 + m)",
                                     "cosine distance: the positive at 2, every negative at 0"))
    return values


def quadruplet(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """Every distance 0: each triplet term is [m1]+ and each pair term [m2]+."""
    m1, m2 = max(float(params["margin"]), 0.0), max(float(params["margin2"]), 0.0)
    return [
        ReferenceValue("collapse", m1 + m2, "[m1]+ + [m2]+", "every distance equal"),
        ReferenceValue("minimum", 0.0, "0", "every negative at least m1 farther from the "
                       "anchor, and every n2 m2 farther from its n, than the positive"),
    ]


VALUES = {"infonce": infonce, "contrastive": contrastive, "triplet": triplet,
          "quadruplet": quadruplet}
