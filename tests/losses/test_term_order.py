"""The order of an in-batch example's terms (term_columns.reordered): the positive's column first,
then the others in order, one column left out where asked; numpy's gather for small
breakdowns and kernels/tiles.py's copies for large ones give the same arrays."""

from __future__ import annotations

import numpy as np
import pytest

from losscli.kernels import _jit
from losscli.losses.term_columns import reordered


def _plain(values: np.ndarray, first: np.ndarray, left_out: np.ndarray | None) -> np.ndarray:
    rows = []
    for r in range(values.shape[0]):
        gone = {int(first[r])} | ({int(left_out[r])} if left_out is not None else set())
        rest = [c for c in range(values.shape[1]) if c not in gone]
        rows.append(values[r, [int(first[r])] + rest])
    return np.array(rows).reshape(values.shape[0], -1)


@pytest.mark.parametrize("work", [0, 10**12], ids=["numpy", "kernel"])
def test_the_positive_first_then_the_others_in_order(work):
    rng = np.random.default_rng(5)
    for trial in range(300):
        n, C = int(rng.integers(1, 9)), int(rng.integers(2, 70))
        kind = trial % 3
        values = [rng.standard_normal((n, C)), rng.integers(-9, 9, (n, C)),
                  np.broadcast_to(np.arange(C), (n, C))][kind]
        first = rng.integers(0, C, n)
        left_out = None
        if trial % 2 and C > 2:
            left_out = (first + rng.integers(1, C, n)) % C  # never the first
        with _jit.job(work):
            got = reordered(values, first, left_out)
        want = _plain(np.asarray(values), first, left_out)
        assert got.dtype == np.asarray(values).dtype
        np.testing.assert_array_equal(got, want)
