"""Reference values of cosine-embedding, hinge-embedding and margin-ranking (per label)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from losscli.losses.references import ReferenceValue, Sizes


def cosine_embedding(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """label +1: 1 - c; label -1: [c - m]+, with c in [-1, 1]."""
    m = float(params["margin"])
    return [
        ReferenceValue("collapse", max(1 - m, 0.0), "[1 - m]+",
                       "a label -1 pair at cosine 1 (a label +1 pair is then 0)"),
        ReferenceValue("minimum", 0.0, "0", "label +1 at cosine 1, label -1 at cosine <= m"),
        ReferenceValue("maximum", 2.0, "2", "a label +1 pair at cosine -1"),
    ]


def hinge_embedding(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """label +1: x; label -1: [m - x]+."""
    m = max(float(params["margin"]), 0.0)
    return [
        ReferenceValue("collapse", m, "[m]+", "a label -1 pair at x = 0 (label +1 gives 0)",
                       "check the distances x (x1 to x2 in the vector form) are not all 0"),
        ReferenceValue("minimum", 0.0, "0", "label +1 at x = 0, label -1 at x >= m"),
    ]


def margin_ranking(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """[-y (x1 - x2) + m]+: equal scores give [m]+ whatever the label."""
    m = max(float(params["margin"]), 0.0)
    return [
        ReferenceValue("collapse", m, "[m]+", "equal scores, x1 = x2",
                       "check the scores x1 and x2 are not all equal"),
        ReferenceValue("minimum", 0.0, "0", "each pair ranked the right way by at least m"),
    ]


VALUES = {"cosine-embedding": cosine_embedding, "hinge-embedding": hinge_embedding,
          "margin-ranking": margin_ranking}
