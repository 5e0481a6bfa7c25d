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
    with _jit.job(whole):
        _jit.run(hk.count_in_bins, flat.size, flat, float(first), float(last), counts)
