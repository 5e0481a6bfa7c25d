"""Where a margin loss's terms switch on, for `stats --png`'s lines: each loss module that
has such a distance says it (`active_thresholds(params, records)`), from its parameters and
the stats records (the triplet's is relative to each anchor's d_ap: the median stands in)."""

from __future__ import annotations

from typing import Any

from losscli.model import Threshold


def median_of(records: list[dict[str, Any]], stat: str) -> float | None:
    """The p50 of the stats record `stat` (None when it is absent or empty)."""
    found = next((r for r in records if r["stat"] == stat), None)
    return None if found is None or not found.get("count") else float(found["p50"])


def relative_to_d_ap(records: list[dict[str, Any]], margin: float,
                     label: str = "median d_ap + m") -> list[Threshold]:
    """Negatives active below d_ap + margin, d_ap at its median."""
    mid = median_of(records, "d_ap")
    return [] if mid is None else [Threshold(mid + margin, label, "negative")]


__all__ = ["median_of", "relative_to_d_ap"]
