"""SigLIP's terms by plain arithmetic (kernels/stream.py's log1p_unit and softplus_unrolled,
which vectorise where libm's log1p and exp are scalar calls), and the row kernel that takes
them in blocks (kernels/tiles.sigmoid_row_losses): within a few ulp of libm's, NaN kept,
the positive's term exact."""

from __future__ import annotations

import math

import numpy as np
import pytest

from losscli.kernels import stream
from losscli.kernels import tiles as tk
from tests.helpers import assert_close

TINY = 2.2250738585072014e-308  # below it results are subnormal: absolute error only


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want))


@pytest.mark.parametrize("mode", ["jit", "py"])
def test_log1p_unit_is_within_a_few_ulp_of_libm(mode):
    y = np.concatenate([np.linspace(0.0, 1.0, 4001), np.logspace(-300, 0, 2001),
                        [5e-324, 1e-17, 2.0**-52, 0.5 - 2.0**-54]])
    f = getattr(stream.log1p_unit, mode)
    got = np.array([f(v) for v in y])
    want = np.log1p(y)
    positive = want > 0.0
    assert got[~positive].tolist() == [0.0] * int((~positive).sum())
    assert ulps(got[positive], want[positive]).max() <= 4.0


@pytest.mark.parametrize("mode", ["jit", "py"])
def test_softplus_unrolled_is_libms_softplus(mode):
    x = np.concatenate([np.linspace(-750.0, 750.0, 3001), np.linspace(-40.0, 40.0, 4001),
                        [0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300]])
    f = getattr(stream.softplus_unrolled, mode)
    with np.errstate(all="ignore"):
        got = np.array([f(v) for v in x])
        want = np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))
    normal = want >= TINY
    assert ulps(got[normal], want[normal]).max() <= 4.0
    assert np.all(np.abs(got[~normal] - want[~normal]) <= 1e-300)
    assert math.isnan(f(math.nan))
    assert f(math.inf) == math.inf and f(-math.inf) == 0.0


def plain_rows(S: np.ndarray, r0: int, scale: float, bias: float) -> np.ndarray:
    out = []
    for r in range(S.shape[0]):
        total = 0.0
        for j in range(S.shape[1]):
            v = float(S[r, j]) * scale + bias
            z = -v if j == r0 + r else v
            total += max(z, 0.0) + math.log1p(math.exp(-abs(z))) if z == z else math.nan
        out.append(total)
    return np.array(out)


def _paired_tile(dtype, columns: int = 300, seed: int = 4) -> tuple[int, np.ndarray]:
    """Rows 5.. of a paired tile (the positive at column r0 + r) with a NaN among a row's
    negatives and at a positive, and +-inf similarities among the negatives and at a
    positive."""
    rng = np.random.default_rng(seed)
    r0, R = 5, 40
    S = rng.uniform(-1, 1, size=(R, columns))
    S[0, 30] = np.nan
    S[1, r0 + 1] = np.nan
    S[2, 3] = np.inf
    S[3, 7] = -np.inf
    S[4, r0 + 4] = -np.inf
    S[5, r0 + 5] = np.inf
    return r0, S.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_siglip_rows_in_blocks_equal_the_plain_sums(dtype):
    """Rows 5.. of a 600-column paired tile (three blocks, the last short): a NaN among a
    row's negatives or at its positive gives NaN, +-inf similarities their limits."""
    r0, S = _paired_tile(dtype, 2 * tk.SHIFT_BLOCK + 88, seed=3)
    S[6, tk.SHIFT_BLOCK] = 0.9
    for scale, bias in ((10.0, -10.0), (1.0, 0.0), (100.0, -5.0)):
        loss = np.zeros(r0 + len(S))
        tk.sigmoid_row_losses.jit(S, r0, scale, bias, loss)
        want = plain_rows(S, r0, scale, bias)
        assert np.array_equal(np.isnan(loss[r0:]), np.isnan(want))
        assert np.isnan(want[[0, 1]]).all() and np.isinf(want[[2, 4]]).all()
        finite = np.isfinite(want)
        assert np.array_equal(loss[r0:][~finite], want[~finite], equal_nan=True)
        assert_close(loss[r0:][finite], want[finite])


def libm_sigmoid(x: float) -> float:
    if x != x:
        return math.nan
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@pytest.mark.parametrize("mode", ["jit", "py"])
def test_sigmoid_unrolled_is_libms_sigmoid(mode):
    x = np.concatenate([np.linspace(-750.0, 750.0, 3001), np.linspace(-40.0, 40.0, 4001),
                        [0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300]])
    f = getattr(stream.sigmoid_unrolled, mode)
    got = np.array([f(v) for v in x])
    want = np.array([libm_sigmoid(v) for v in x])
    normal = want >= TINY
    assert ulps(got[normal], want[normal]).max() <= 4.0
    assert np.all(np.abs(got[~normal] - want[~normal]) <= 1e-300)
    assert math.isnan(f(math.nan))
    assert f(math.inf) == 1.0 and f(-math.inf) == 0.0 and f(0.0) == 0.5


@pytest.mark.parametrize("mode", ["jit", "py"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_siglip_breakdown_rows_are_the_plain_cells(mode, dtype):
    """sigmoid_row_terms: x, sigma(x), softplus(-z x), sigma(x) - [z = +1] cell by cell, the
    positive at column r0 + r; NaN cells NaN in every output, +-inf cells their limits."""
    r0, S = _paired_tile(dtype)
    R, C = S.shape
    for scale, bias in ((10.0, -10.0), (1.0, 0.0), (100.0, -5.0)):
        logit, sig, term, grad = (np.full((R, C), 7.0) for _ in range(4))
        getattr(tk.sigmoid_row_terms, mode)(S, r0, scale, bias, logit, sig, term, grad)
        x = S.astype(np.float64) * scale + bias
        want_sig = np.array([[libm_sigmoid(v) for v in row] for row in x])
        z = np.where(np.arange(C)[None, :] == r0 + np.arange(R)[:, None], -x, x)
        with np.errstate(all="ignore"):
            want_term = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
        want_term[np.isnan(z)] = np.nan
        want_grad = want_sig.copy()
        for r in range(R):
            want_grad[r, r0 + r] = -libm_sigmoid(-x[r, r0 + r])
        for got, want in ((logit, x), (sig, want_sig), (term, want_term), (grad, want_grad)):
            assert np.array_equal(np.isnan(got), np.isnan(want))
            assert np.array_equal(got[~np.isfinite(want)], want[~np.isfinite(want)],
                                  equal_nan=True)
            finite = np.isfinite(want)
            assert ulps(got[finite & (np.abs(want) >= TINY)],
                        want[finite & (np.abs(want) >= TINY)]).max() <= 8.0
            assert np.all(np.abs(got[finite] - want[finite]) <= 1e-300 + 8 * np.spacing(
                np.abs(want[finite])))


@pytest.mark.parametrize("mode", ["jit", "py"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_siglip_tile_gradient_is_the_plain_cells(mode, dtype):
    """sigmoid_tile_grad: weight (sigma(x) - [j = g]) in place, the positive's as
    -weight sigma(-x), exact where sigma(x) is near 1; NaN stays NaN, +-inf give their
    limits."""
    r0, S = _paired_tile(dtype)
    S[7:, :] = np.abs(S[7:, :])  # positives up to x = 40: 1 - sigma(x) would cancel there
    R, C = S.shape
    x = S.astype(np.float64) * 40.0
    want = 0.5 * np.array([[libm_sigmoid(v) for v in row] for row in x])
    for r in range(R):
        want[r, r0 + r] = -0.5 * libm_sigmoid(-x[r, r0 + r])
    got = S.astype(np.float64)
    getattr(tk.sigmoid_tile_grad, mode)(got, r0, 40.0, 0.0, 0.5)
    assert np.array_equal(got[~np.isfinite(want)], want[~np.isfinite(want)], equal_nan=True)
    finite = np.isfinite(want) & (np.abs(want) >= TINY)
    assert ulps(got[finite], want[finite]).max() <= 8.0
