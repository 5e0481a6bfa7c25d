"""The sums over a row's negatives that dcl and hard-infonce read (kernels/tiles.py's
negative_power_sums): one pass of exponentials shifted by the row's largest similarity over
all its columns equals the exact two passes against its negatives' own largest (what a NaN
shift asks for), in what every later use reads, log sum_j e^{c (S_j - top) scale} + c top
scale for each factor c. Across SHIFT_BLOCK column blocks, with the positive and the skipped
column left out, -inf similarities, a NaN or +inf where only the positive or the skipped
column holds it, rows with no finite negative, and rows whose negatives sit so far below
their positive that the shifted sums underflow (the exact passes take them)."""

from __future__ import annotations

import numpy as np
import pytest

from losscli.kernels import tiles as tk
from tests.helpers import assert_close


def tile(dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    R, C = 40, 2 * tk.SHIFT_BLOCK + 37
    S = rng.uniform(-1, 1, size=(R, C))
    pos = rng.integers(0, C, size=R).astype(np.int64)
    skip = rng.integers(-1, C, size=R).astype(np.int64)
    skip[:5] = -1
    S[3, 10] = S[4, :] = -np.inf
    S[5, pos[5]] = np.nan
    S[6, skip[6] if skip[6] >= 0 else 0] = np.inf
    S[7, pos[7]] = 1e4  # its negatives' shifted exponentials underflow
    S[8, pos[8]] = 300.0  # theirs are small, their sums still well above SUM_FLOOR
    S[9, tk.SHIFT_BLOCK - 1] = S[9, tk.SHIFT_BLOCK] = 0.99  # the largest across a block edge
    S[10, :] = -1.0
    S[10, pos[10]] = np.nan  # a NaN shift over finite negatives: the exact passes
    return S.astype(dtype), pos, skip


def log_sums(S, pos, skip, scale, factors, shift) -> np.ndarray:
    R = S.shape[0]
    top, sums = np.zeros(R), np.zeros((R, factors.shape[0]))
    tk.negative_power_sums.jit(S, 0, pos, skip, scale, factors, shift, top, sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(sums) + factors[None, :] * (top * scale)[:, None]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1.0, 14.0, 400.0])
@pytest.mark.parametrize("factors", [[1.0], [0.0, 1.0], [3.5, 4.5]])
def test_one_shifted_pass_equals_the_exact_passes(dtype, scale, factors):
    S, pos, skip = tile(dtype)
    factors = np.array(factors)
    with np.errstate(invalid="ignore"):
        shift = S.max(axis=1)
    fast = log_sums(S, pos, skip, scale, factors, shift)
    exact = log_sums(S, pos, skip, scale, factors, np.full(S.shape[0], np.nan))
    assert np.array_equal(np.isnan(fast), np.isnan(exact))
    assert np.isnan(exact[4]).all() and not np.isnan(exact[[5, 10]]).any()
    ok = ~np.isnan(exact)
    assert np.all(np.isfinite(fast[ok]))
    assert_close(fast[ok], exact[ok], scale=scale * factors.max())
