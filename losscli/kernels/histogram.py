"""Counts of values in equal bins, in one pass: `stats` of an in-batch loss bins each of its
B^2 similarities into a histogram of 2^16 bins per --bins bin (explore.FINE_BINS).

np.histogram(v, bins=n, range=(first, last)) masks, casts and gathers its edges block by
block: ~100 ns a value into 1.3 M bins, 27 of the 35 s of `stats clip` at B = 16,384. Here
each value takes the bin np.histogram gives it, its edges computed as np.linspace computes
them (no gather from an array of edges, three times slower). And where the range is too
narrow for n distinct edges (similarities within a few ulps of each other), np.histogram
refuses ("Too many bins for data range"); here each value keeps a bin beside its place.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel


@kernel
def count_in_bins(values, first, last, counts):
    """counts[i] += the values v with e_i <= v < e_{i+1} (the last bin also holds v = last),
    the n + 1 edges e_i = i * step + first, step = (last - first) / n, and e_n = last:
    np.linspace(first, last, n + 1). The bin is first found by scaling, truncated, then moved
    by one where rounding left it beside the edges. NaN and values outside [first, last]
    (first < last) are not counted."""
    n = counts.shape[0]
    step = (last - first) / n
    scale = n / (last - first)
    for j in range(values.shape[0]):
        v = np.float64(values[j])
        if not (v >= first and v <= last):
            continue
        i = min(int((v - first) * scale), n - 1)
        if v < i * step + first:
            i -= 1
        elif i < n - 1 and v >= (i + 1) * step + first:
            i += 1
        counts[i] += 1
