"""What a loss module's `sweep_limits` works with: a sweep's Results, read for known limits.

A loss module may define

    sweep_limits(param, values, results) -> (columns, limits)

where `results` are the sweep's Results at `values` of `param`; `columns` are per-step
reference columns (bounds, the share of active terms) and `limits` the known limits and
kinks, with a sentence each in `limits["notes"]`. A loss (or parameter) without one gets no
columns and no notes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from losscli.model import Result, scan_blocks

Limits = tuple[dict[str, np.ndarray], dict[str, Any]]


def no_limits() -> Limits:
    """No reference columns and no notes: what a loss or parameter without known limits gets."""
    return {}, {"notes": []}


def reduced(per_example: np.ndarray, reduction: str) -> float:
    """The per-example values reduced as the sweep's losses are (sum, else mean)."""
    return float(per_example.sum() if reduction == "sum" else per_example.mean())


def kinks(candidates: Iterable[np.ndarray], lo: float, hi: float) -> list[float]:
    """The distinct finite candidates within [lo, hi], sorted, from arrays of them (a
    breakdown's blocks: `block_values`)."""
    found = np.empty(0)
    for values in candidates:
        values = np.ravel(values)
        found = np.union1d(found, values[np.isfinite(values) & (values >= lo) & (values <= hi)])
    return [float(v) for v in found]


def block_values(result: Result, of: Callable[[dict[str, np.ndarray]], np.ndarray],
                 ) -> Iterator[np.ndarray]:
    """`of(columns)` for each block of examples of the result's breakdown (a breakdown may
    be too large to hold whole)."""
    for _, _, columns in scan_blocks(result.terms, result.batch):
        yield of(columns)


def listed(values: list[float], shown: int = 8) -> str:
    """The first values for a note, and how many there are in all."""
    if not values:
        return "none"
    text = ", ".join(f"{v:.6g}" for v in values[:shown])
    return text + (f", ... ({len(values)} in all)" if len(values) > shown else "")


def active_share(results: list[Result], column: str, first: int = 0) -> np.ndarray:
    """Per step: the share of the column's entries (from term `first` on) that are > 0,
    read a block of examples at a time (a breakdown may be too large to hold whole)."""
    shares = []
    for r in results:
        active = total = 0
        for _, _, columns in scan_blocks(r.terms, r.batch):
            values = columns[column][:, first:]
            active += int((values > 0).sum())
            total += values.size
        shares.append(active / total if total else math.nan)
    return np.array(shares)


def flag(result: Result, name: str, default: Any = None) -> Any:
    """A formula flag of the convention the results were computed under (None: own)."""
    return default if result.convention is None else result.convention["flags"].get(
        name, default)
