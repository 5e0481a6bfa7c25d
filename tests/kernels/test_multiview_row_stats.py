"""SupContrast's row statistics (kernels/tiles.multiview_row_stats): with the row's largest
similarity and its first column given (numpy's max and argmax), one pass of exponentials in
blocks of SHIFT_BLOCK columns equals the exact passes (what a NaN shift asks for): the same
logits_max and its column, the same log-denominator and positives' mean. Across block
edges, ties for the largest, -inf similarities, and the view's own column at either end."""

from __future__ import annotations

import numpy as np
import pytest

from losscli.kernels import tiles as tk
from tests.helpers import assert_close

B, V = 3 * tk.SHIFT_BLOCK // 2 + 5, 2  # N = 2B views: three column blocks, the last short


def gram(dtype) -> np.ndarray:
    rng = np.random.default_rng(8)
    N = B * V
    S = rng.uniform(-1, 1, size=(N, N))
    S[np.arange(N), np.arange(N)] = 1.0  # cosine: each view its own largest
    S[300, 40] = S[300, 700] = 1.0  # ties with the view itself, before and after it
    S[9, tk.SHIFT_BLOCK - 1] = S[9, tk.SHIFT_BLOCK] = 2.0  # a tie across a block edge
    S[12, 100] = -np.inf
    S[0, :] *= 0.5  # view 0's own column the first
    S[N - 1, :] *= 0.5  # view N - 1's the last
    return S.astype(dtype)


def stats(S, scale, eps, shift, at):
    N = S.shape[0]
    big, log_den, pos_mean = np.zeros(N), np.zeros(N), np.zeros(N)
    top = np.zeros(N, dtype=np.int64)
    tk.multiview_row_stats.jit(S, 0, B, V, scale, eps, shift, at, big, top, log_den, pos_mean)
    return big, top, log_den, pos_mean


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale,eps", [(1.0, 0.0), (14.0, 1e-12), (400.0, 0.0)])
def test_one_vectorised_pass_equals_the_exact_passes(dtype, scale, eps):
    S = gram(dtype)
    N = S.shape[0]
    fast = stats(S, scale, eps, S.max(axis=1), S.argmax(axis=1))
    exact = stats(S, scale, eps, np.full(N, np.nan), np.zeros(N, dtype=np.int64))
    assert np.array_equal(fast[0], exact[0])
    assert np.array_equal(fast[1], exact[1])
    assert (exact[1][300], exact[1][9]) == (40, tk.SHIFT_BLOCK - 1)
    assert_close(fast[2], exact[2], scale=scale)
    assert np.array_equal(fast[3], exact[3])
