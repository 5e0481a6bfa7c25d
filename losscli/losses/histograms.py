"""Counts of a loss's similarities or distances in equal bins (stats' distributions)."""

from __future__ import annotations

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import histogram as hk


def add_counts(counts: np.ndarray, values: np.ndarray, first: float, last: float,
               whole: int = 0) -> None:
    """counts += np.histogram(values, bins=counts.size, range=(first, last))[0] (first <
    last), NaN and infinities not counted, and no refusal of a range too narrow for its
    bins. `whole`: the values of every call of the job (the tiles of a batch), by which
    the kernel is compiled or interpreted."""
    flat = np.ascontiguousarray(values).reshape(-1)
    first, last = float(first), float(last)
    if not np.isfinite(last - first):  # values near +-1.7e308: the bins of their halves
        flat, first, last = flat * 0.5, first * 0.5, last * 0.5
    with _jit.job(whole):
        _jit.run(hk.count_in_bins, flat.size, flat, first, last, counts)


def edges(first: float, last: float, bins: int) -> np.ndarray:
    """np.linspace(first, last, bins + 1), the same bits, and finite where last - first
    overflows (similarities near +-1.7e308 made stats end in an internal error): the
    halves' edges doubled (both exact)."""
    return np.linspace(first * 0.5, last * 0.5, bins + 1) * 2.0


def bin_width(first: float, last: float, bins: int) -> float:
    """(last - first) / bins, the same bits, and finite where last - first overflows."""
    return (last * 0.5 - first * 0.5) / bins * 2.0
