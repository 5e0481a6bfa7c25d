"""Reference values of supcon, ntxent-batch, clip, npair, dcl, hard-infonce and siglip.

In a batch form the negatives are other examples' embeddings, so they cannot all sit at
cosine -1 from every anchor: the B examples are at best the vertices of a regular simplex,
pairwise cosine -1/(B - 1) (reachable when D >= B - 1). By the convexity of log-sum-exp
that is the least the batch loss can be under cosine (Wang and Isola 2020, uniformity).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from losscli.losses.references import ReferenceValue, Sizes, log1p_exp, log_one_plus, need

SIMPLEX = "cosine, D >= B - 1: partners equal, the B examples at a regular simplex's " \
    "vertices (cosine -1/(B - 1))"


def _cosine(params: Mapping[str, Any]) -> bool:
    return params.get("similarity", "cosine") == "cosine"


def _negatives(sizes: Sizes, loss: str, per_batch: int, offset: int) -> tuple[int, bool]:
    """K, and whether the loss uses its batch form: K given is the explicit form; else the
    batch form, K = per_batch B + offset."""
    if sizes.get("negatives") is not None:
        return int(sizes["negatives"]), False  # type: ignore[arg-type]
    B = need(sizes, "batch", loss)
    return per_batch * B + offset, True


def supcon(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """All P + K logits equal: (t / t_b) log(P + K); under cosine the positives at 1 and the
    negatives at -1: (t / t_b) log(P + K e^{-2/t}), never below (t / t_b) log P."""
    P = int(sizes.get("positives") or 1)
    K = int(sizes.get("negatives") or 0)
    t = float(params["temperature"])
    tb = params.get("base_temperature")
    f = 1.0 if tb is None else t / float(tb)
    factor = "" if tb is None else "(t / t_b) "
    values = [
        ReferenceValue("collapse", f * math.log(P + K), f"{factor}log(P + K)",
                       "every similarity equal"),
        ReferenceValue("chance", f * math.log(P + K), f"{factor}log(P + K)",
                       "every candidate equally likely"),
    ]
    if _cosine(params):
        values += [
            ReferenceValue("minimum", f * (math.log(P) + log_one_plus(K / P, -2 / t)),
                           f"{factor}log(P + K e^{{-2/t}})",
                           "cosine: every positive at 1, every negative at -1"),
            ReferenceValue("maximum", f * (math.log(P) + log_one_plus(K / P, 2 / t)),
                           f"{factor}log(P + K e^{{2/t}})",
                           "cosine: every positive at -1, every negative at 1"),
        ]
    else:
        values.append(ReferenceValue("bound", f * math.log(P), f"{factor}log P",
                                     "dot: the positives far above the negatives (the other "
                                     "positives stay in each denominator)"))
    return values


def ntxent_batch(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """2B - 1 candidates per view: log(2B - 1) at collapse; the simplex under cosine."""
    B = need(sizes, "batch", "ntxent-batch")
    t = float(params["temperature"])
    values = [
        ReferenceValue("collapse", math.log(2 * B - 1), "log(2B - 1)",
                       "every similarity equal"),
        ReferenceValue("chance", math.log(2 * B - 1), "log(2B - 1)",
                       "the partner no more likely than the 2B - 2 other views"),
    ]
    if _cosine(params) and B >= 2:
        values.append(ReferenceValue(
            "minimum", log_one_plus(2 * B - 2, -B / ((B - 1) * t)),
            "log(1 + (2B - 2) e^{-B / ((B - 1) t)})", SIMPLEX))
    return values


def clip(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """B candidates per row and column: log B at collapse; the simplex under cosine."""
    B = need(sizes, "batch", "clip")
    scale = params.get("scale")
    s = float(scale) if scale is not None else 1.0 / float(params["temperature"])
    values = [
        ReferenceValue("collapse", math.log(B), "log B", "every similarity equal"),
        ReferenceValue("chance", math.log(B), "log B",
                       "the matching pair no more likely than the B - 1 others"),
    ]
    if _cosine(params) and B >= 2:
        values.append(ReferenceValue(
            "minimum", log_one_plus(B - 1, -s * B / (B - 1)),
            "log(1 + (B - 1) e^{-B / ((B - 1) t)})", SIMPLEX))
    return values


def npair(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """infonce with t = 1: log(K + 1) at collapse (K = B - 1 in the paired batch)."""
    K, in_batch = _negatives(sizes, "npair", 1, -1)
    values = [
        ReferenceValue("collapse", math.log(K + 1), "log(K + 1)", "every similarity equal"),
        ReferenceValue("chance", math.log(K + 1), "log(K + 1)",
                       "the positive no more likely than any negative"),
    ]
    if not _cosine(params):
        values.append(ReferenceValue("minimum", 0.0, "0", "dot: s_ap - s_an growing without "
                                     "bound (approached, never reached)"))
    elif in_batch:
        B = K + 1
        values.append(ReferenceValue("minimum", log_one_plus(K, -B / (B - 1)),
                                     "log(1 + (B - 1) e^{-B / (B - 1)})", SIMPLEX))
    else:
        values.append(ReferenceValue("minimum", log_one_plus(K, -2.0), "log(1 + K e^{-2})",
                                     "cosine: the positive at 1, every negative at -1"))
    return values


def dcl(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """The positive leaves the denominator: log K at collapse (the vmf weight is then 1),
    and the loss goes below 0."""
    K, in_batch = _negatives(sizes, "dcl", 2, -2)
    t = float(params["temperature"])
    values = [ReferenceValue("collapse", math.log(K), "log K", "every similarity equal")]
    if not _cosine(params):
        return values
    if in_batch:
        B = (K + 2) // 2
        values.append(ReferenceValue("minimum", math.log(K) - B / ((B - 1) * t),
                                     "log(2B - 2) - B / ((B - 1) t)",
                                     SIMPLEX + " (weighting none)"))
    else:
        values.append(ReferenceValue("minimum", math.log(K) - 2 / t, "log K - 2 / t",
                                     "cosine: the positive at 1, every negative at -1 "
                                     "(weighting none)"))
    return values


def hard_infonce(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """Every logit equal: q is uniform, Ng = N e^v, log(N + 1). The floor N e^{-1/t} and
    v_0 <= 1/t keep every cosine loss at or above log(1 + N e^{-2/t})."""
    N, in_batch = _negatives(sizes, "hard-infonce", 2, -2)
    t = float(params["temperature"])
    values = [ReferenceValue("collapse", math.log(N + 1), "log(N + 1)",
                             "every similarity equal (and >= -1)")]
    if _cosine(params) and params.get("clamp", True):
        kind = "bound" if in_batch else "minimum"
        how = ("cosine: no batch goes below it" if in_batch else
               "cosine: the positive at 1, every negative at -1 (the floor binds)")
        values.append(ReferenceValue(kind, log_one_plus(N, -2 / t), "log(1 + N e^{-2/t})",
                                     how))
    return values


def siglip(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """Per example (a row of B pairs): one positive pair and B - 1 negative ones, each
    softplus(-z x) with x = scale s + bias."""
    B = need(sizes, "batch", "siglip")
    a, b = float(params["scale"]), float(params["bias"])
    values = []
    if _cosine(params):
        values.append(ReferenceValue(
            "collapse", log1p_exp(-(a + b)) + (B - 1) * log1p_exp(a + b),
            "softplus(-(scale + bias)) + (B - 1) softplus(scale + bias)",
            "every cosine 1 (identical embeddings)"))
    values.append(ReferenceValue(
        "chance", log1p_exp(-b) + (B - 1) * log1p_exp(b),
        "softplus(-bias) + (B - 1) softplus(bias)", "every similarity 0 (random embeddings)"))
    return values


VALUES = {"supcon": supcon, "ntxent-batch": ntxent_batch, "clip": clip, "npair": npair,
          "dcl": dcl, "hard-infonce": hard_infonce, "siglip": siglip}
