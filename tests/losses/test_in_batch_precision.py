"""The in-batch softmax rows (clip, ntxent-batch, npair) against 50-digit references, where
the kernels split their work: across the column blocks of the one-exponential kernels
(kernels/tiles.py, SHIFT_BLOCK = 256 columns) and tile boundaries, and where they hand rows
and columns to the exact two passes: similarities so far below the tile's largest that
their exponentials would underflow, and non-finite similarities.

The references take each similarity in float64 (math.fsum of the products) and everything
after it in Python's decimal at 50 digits: every row's LSE_j L_j - L_pos as log(1 + sum_j
e^{L_j - L_pos}) over the others, by rows and by columns, so that tiny losses are exact too.
"""

from __future__ import annotations

import decimal
import math

import numpy as np
import pytest

import losscli
from losscli.kernels import tiles as tk
from losscli.losses import tiles
from tests.helpers import assert_close

DIGITS = decimal.Context(prec=50)


@pytest.fixture(params=[7, 10**6], ids=["tiles-of-7", "one-tile"])
def tile(request, monkeypatch):
    """Tiles of 7 rows (clip's columns merge across them) or the whole matrix in one."""
    monkeypatch.setattr(tiles, "TILE_BYTES", 1)
    monkeypatch.setattr(tiles, "MIN_TILE_ROWS", request.param)
    return request.param


def similarity(x: list[float], y: list[float], kind: str) -> float:
    dot = math.fsum(a * b for a, b in zip(x, y, strict=True))
    if kind == "dot":
        return dot
    norms = math.sqrt(math.fsum(a * a for a in x)) * math.sqrt(math.fsum(b * b for b in y))
    return max(-1.0, min(1.0, dot / norms))


def row_loss(logits: list[float], pos: int, skip: int = -1) -> float:
    """LSE_j L_j - L_pos over j != skip, in 50 digits from float64 logits."""
    base = DIGITS.create_decimal(logits[pos])
    others = DIGITS.create_decimal(0)
    for j, v in enumerate(logits):
        if j not in (pos, skip):
            others = DIGITS.add(others, DIGITS.exp(DIGITS.subtract(
                DIGITS.create_decimal(v), base)))
    return float(log1p50(others))


def log1p50(x: decimal.Decimal) -> decimal.Decimal:
    """log(1 + x) to 50 digits, by its series where 1 + x would drop x's digits."""
    if x >= decimal.Decimal("1e-4"):
        return DIGITS.ln(DIGITS.add(1, x))
    total, power, k = decimal.Decimal(0), x, 1
    while abs(power) > x * decimal.Decimal("1e-55"):
        total = DIGITS.add(total, DIGITS.divide(power, k) * (1 if k % 2 else -1))
        power, k = DIGITS.multiply(power, x), k + 1
    return total


def clip50(A: np.ndarray, P: np.ndarray, scale: float, kind: str, rows: list[int],
           ) -> list[float]:
    """clip's loss of examples `rows`: the mean of row i's and column i's cross entropy."""
    a, p = A.tolist(), P.tolist()
    out = []
    for i in rows:
        row = [scale * similarity(a[i], p[j], kind) for j in range(len(p))]
        col = [scale * similarity(a[j], p[i], kind) for j in range(len(a))]
        out.append((row_loss(row, i) + row_loss(col, i)) / 2)
    return out


def ntxent50(A: np.ndarray, P: np.ndarray, scale: float, kind: str, rows: list[int],
             ) -> list[float]:
    """ntxent-batch's loss of examples `rows`: the mean of its two views' rows."""
    B = len(A)
    z = A.tolist() + P.tolist()
    out = []
    for i in rows:
        views = []
        for v in (i, B + i):
            logits = [scale * similarity(z[v], z[u], kind) for u in range(2 * B)]
            views.append(row_loss(logits, (v + B) % (2 * B), skip=v))
        out.append(sum(views) / 2)
    return out


def npair50(A: np.ndarray, P: np.ndarray, rows: list[int]) -> list[float]:
    """npair's in-batch loss (dot): row i of A P^T with its positive p_i."""
    a, p = A.tolist(), P.tolist()
    return [row_loss([similarity(a[i], p[j], "dot") for j in range(len(p))], i) for i in rows]


# Rows on both sides of the column blocks' and the 7-row tiles' edges.
EDGES = [0, 1, 6, 7, 254, 255, 256, 257, 298, 299]


def batch(B: int, D: int, seed: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, B, D])
    A = rng.normal(size=(B, D))
    return A, A + spread * rng.normal(size=(B, D))


@pytest.mark.parametrize("kind", ["cosine", "dot"])
def test_across_column_blocks_and_tiles(path, tile, kind):
    A, P = batch(300, 8, 1, 0.7)
    inputs = {"anchor": A, "positive": P}
    t = 0.1 if kind == "cosine" else 2.0
    got = losscli.evaluate("clip", inputs, temperature=t, similarity=kind).per_example
    assert_close(got[EDGES], clip50(A, P, 1 / t, kind, EDGES), scale=1 / t)
    got = losscli.evaluate("npair", inputs, similarity="dot").per_example
    assert_close(got[EDGES], npair50(A, P, EDGES), scale=10)
    A2, P2 = A[:150], P[:150]  # 300 views
    got = losscli.evaluate("ntxent-batch", {"anchor": A2, "positive": P2}, temperature=t,
                           similarity=kind).per_example
    some = [0, 1, 6, 7, 127, 128, 149]
    assert_close(got[some], ntxent50(A2, P2, 1 / t, kind, some), scale=1 / t)


def test_tiny_losses_across_column_blocks(path, tile):
    """Every positive far ahead of its row and column (losses ~1e-30 and below): log1p's
    relative precision, through the shifted sums."""
    rng = np.random.default_rng(4)
    A = np.linalg.qr(rng.normal(size=(300, 300)))[0][:, :260].T  # 260 orthonormal rows
    P = A + 1e-3 * rng.normal(size=A.shape)
    got = losscli.evaluate("clip", {"anchor": A, "positive": P}, temperature=0.01)
    rows = [0, 1, 255, 256, 259]
    expected = clip50(A, P, 100.0, "cosine", rows)
    assert max(expected) < 1e-30
    assert_close(got.per_example[rows], expected, floor=0.0)


def test_similarities_far_below_the_tiles_largest_take_the_exact_passes(path, tile):
    """Dot similarities: example 0's pair scores 1e4, every other similarity is ~1, and
    scale 1: the other rows' and columns' exponentials shifted by the tile's largest
    underflow to 0 (e^{-1e4}), so they must be summed by the exact passes."""
    A, P = batch(300, 8, 2, 0.5)
    A[0] *= 0.0
    P[0] *= 0.0
    A[0, 0] = P[0, 0] = 100.0
    inputs = {"anchor": A, "positive": P}
    got = losscli.evaluate("clip", inputs, temperature=1.0, similarity="dot").per_example
    assert_close(got[EDGES], clip50(A, P, 1.0, "dot", EDGES), scale=1e4)
    assert got[5] > 0.1  # not the e^{-1e4} everyone else would get after an underflow


def test_one_exponential_rows_equal_the_exact_passes_with_infinities():
    """Kernel level: random tiles with -inf similarities (e^{-inf} = 0 in both), a NaN or
    +inf in a row's positive or skipped column (ignored by both), rows with no negatives:
    the shifted kernel's losses equal the exact two passes' (or the exact pass's NaN)."""
    rng = np.random.default_rng(11)
    R, C = 40, 700
    S = rng.uniform(-1, 1, size=(R, C))
    pos = rng.integers(0, C, size=R).astype(np.int64)
    skip = rng.integers(-1, C, size=R).astype(np.int64)
    S[3, 10] = S[4, :] = -np.inf
    S[5, pos[5]] = np.nan
    S[6, pos[6]] = np.inf
    ref = S[np.arange(R), pos].copy()
    ref[5] = ref[6] = 0.3
    for scale in (1.0, 14.0, 400.0):
        shift = float(np.max(np.where(np.isfinite(S), S, -np.inf)))
        fast = np.zeros((2, R))
        exact = np.zeros((2, R))
        tk.shifted_row_stats.jit(S, 0, pos, skip, ref, scale, shift, fast[0], fast[1])
        tk.relative_row_stats.jit(S, 0, pos, skip, ref, scale, exact[0], exact[1])

        def losses(ms):
            m, s = ms
            return np.where(m > 0, m + np.log(np.exp(-m) + s), np.log1p(s))

        assert_close(losses(fast), losses(exact), scale=scale)
