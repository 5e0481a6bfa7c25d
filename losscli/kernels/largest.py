"""Each row's largest entries, a row at a time in one pass: compute's `--terms top`.

numpy's way (np.partition for the keep-th largest, then a sort of what is kept) walks every
row several times and took 2 of the 9.5 s of `compute clip --terms top` at B = 8,192; here an
entry not above the smallest kept one costs one comparison.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel


@kernel
def largest_first(rank, keep, out):
    """out[r] = the indices of row r's `keep` largest entries, largest first, ties by index:
    np.argsort(-rank[r], kind="stable")[:keep] for rows without NaN (keep <= row length)."""
    T = rank.shape[1]
    for r in range(rank.shape[0]):
        count = 0
        for j in range(T):
            v = rank[r, j]
            if count == keep and not v > rank[r, out[r, keep - 1]]:
                continue
            # an entry ranks after the kept entries it does not exceed (ties: the earlier first)
            p = count if count < keep else keep - 1
            while p > 0 and rank[r, out[r, p - 1]] < v:
                out[r, p] = out[r, p - 1]
                p -= 1
            out[r, p] = j
            if count < keep:
                count += 1


@kernel
def term_rank(value, positive):
    """A term's rank in `--terms top`: a positive term above all, then |value|, NaN last."""
    if positive:
        return np.inf
    if value != value:
        return -1.0
    return abs(np.float64(value))


@kernel
def strongest_first(strength, positive, keep, kept_rank, out):
    """largest_first over rank[r, j] = term_rank(strength[r, j], positive[j]), each rank taken
    as the row is read (kept_rank: scratch of `keep`), not from a rank array built first."""
    T = strength.shape[1]
    for r in range(strength.shape[0]):
        count = 0
        for j in range(T):
            v = term_rank(strength[r, j], positive[j])
            if count == keep and not v > kept_rank[keep - 1]:
                continue
            p = count if count < keep else keep - 1
            while p > 0 and kept_rank[p - 1] < v:
                out[r, p] = out[r, p - 1]
                kept_rank[p] = kept_rank[p - 1]
                p -= 1
            out[r, p] = j
            kept_rank[p] = v
            if count < keep:
                count += 1
