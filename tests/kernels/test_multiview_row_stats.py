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


def plain_rows(S, r0, scale, factor, eps, big, top, log_den, one_shift=False):
    """multiview_row_terms' outputs cell by cell with libm's exp; with `one_shift`, the
    exponent as multiview_tile_grad rounds it: logit - (big + log_den)."""
    R, C = S.shape
    logit = S.astype(np.float64) * scale
    prob = np.zeros((R, C))
    grad = np.zeros((R, C))
    for r in range(R):
        v = r0 + r
        for u in range(C):
            if u == v:
                continue
            with np.errstate(all="ignore"):
                a = (logit[r, u] - (big[v] + log_den[v]) if one_shift
                     else logit[r, u] - big[v] - log_den[v])
                p = np.exp(a)
            prob[r, u] = p
            grad[r, u] = factor * (p - 1.0 / (V - 1) if u % B == v % B else p)
        with np.errstate(invalid="ignore"):  # eps = 0 and a log-denominator of -inf: NaN
            grad[r, top[v]] += factor * eps * np.exp(-log_den[v])
    return logit, prob, grad


def odd_rows(dtype):
    """A Gram block of rows 4.. with a NaN, a +inf, a -inf among them, and (scale 400, eps 0)
    a row whose other views' exponentials all underflow: its log-denominator is -inf."""
    S = gram(np.float64)[4:60].copy()
    S[1, 17] = np.nan
    S[2, 30] = np.inf
    S[3, 31] = -np.inf
    S[5, :] = -1.0
    S[5, 9] = 1.0  # row 5 is view 9: itself far above the rest
    return S.astype(dtype)


@pytest.mark.parametrize("mode", ["jit", "py"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale,eps", [(14.0, 1e-9), (400.0, 0.0)])
def test_breakdown_rows_and_tile_gradient_are_the_plain_cells(mode, dtype, scale, eps):
    """multiview_row_terms and multiview_tile_grad, vectorised where a row's statistics are
    finite, give libm's cells within a few ulp of the row's largest, and the same NaN and
    inf where they are not."""
    S = odd_rows(dtype)
    R, C = S.shape
    r0 = 4
    N = B * V
    big, log_den, pos_mean = np.zeros(N), np.zeros(N), np.zeros(N)
    top = np.zeros(N, dtype=np.int64)
    tk.multiview_row_stats.jit(S, r0, B, V, scale, eps, np.full(R, np.nan),
                               np.zeros(R, dtype=np.int64), big, top, log_den, pos_mean)
    assert np.isnan(big[[r0 + 1, r0 + 2]]).all() and np.isfinite(big[r0 + 3])
    if eps == 0.0:
        assert log_den[r0 + 5] == -np.inf
    factor = 0.7
    want = plain_rows(S, r0, scale, factor, eps, big, top, log_den)
    logit, prob, grad = (np.full((R, C), 5.0) for _ in range(3))
    tile = S.astype(np.float64)
    with np.errstate(all="ignore"):  # as _jit.run calls interpreted kernels
        getattr(tk.multiview_row_terms, mode)(S, r0, B, V, scale, factor, eps, big, top,
                                              log_den, logit, prob, grad)
        getattr(tk.multiview_tile_grad, mode)(tile, r0, B, V, scale, eps, big, top, log_den,
                                              factor)
    tile_want = plain_rows(S, r0, scale, factor, eps, big, top, log_den, one_shift=True)[2]
    for got, expected in ((logit, want[0]), (prob, want[1]), (grad, want[2]), (tile, tile_want)):
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        odd = ~np.isfinite(expected)
        assert np.array_equal(got[odd], expected[odd], equal_nan=True)
        for r in range(R):
            fine = np.isfinite(expected[r])
            if fine.any():
                size = np.abs(expected[r][fine]).max()
                assert np.abs(got[r][fine] - expected[r][fine]).max() <= 4 * np.spacing(size), r
