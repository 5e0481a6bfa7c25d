"""The similarity map of compute --png: block means computed tile by tile equal the block
means of the whole matrix; positives where each form puts them."""

from __future__ import annotations

import numpy as np

from losscli.losses.similarity_map import block_means, similarity_map
from losscli.model import Inputs
from tests.helpers import assert_close


def direct_means(S, block, skip_diagonal=False):
    n, m = S.shape
    gr, gc = -(-n // block), -(-m // block)
    out = np.full((gr, gc), np.nan)
    for i in range(gr):
        for j in range(gc):
            cell = S[i * block:(i + 1) * block, j * block:(j + 1) * block].copy()
            keep = np.ones_like(cell, dtype=bool)
            if skip_diagonal:
                for r in range(cell.shape[0]):
                    c = i * block + r - j * block
                    if 0 <= c < cell.shape[1]:
                        keep[r, c] = False
            if keep.any():
                out[i, j] = cell[keep].mean()
    return out


def test_tiled_block_means_equal_the_whole_matrix():
    rng = np.random.default_rng(2)
    rows, cols = rng.normal(size=(301, 5)), rng.normal(size=(290, 5))
    grid, block = block_means(rows, cols, cells=40, tile=64)
    assert block == 8 and grid.shape == (38, 37)
    assert_close(grid, direct_means(rows @ cols.T, block), scale=10.0)
    z = rng.normal(size=(130, 4))
    grid, block = block_means(z, z, cells=16, tile=32, skip_diagonal=True)
    expected = direct_means(z @ z.T, block, skip_diagonal=True)
    assert np.array_equal(np.isnan(grid), np.isnan(expected))
    ok = ~np.isnan(expected)
    assert_close(grid[ok], expected[ok], scale=10.0)


def test_forms_put_positives_on_the_diagonal_or_b_away():
    rng = np.random.default_rng(3)
    a, p = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    inputs = Inputs({"anchor": a, "positive": p})
    paired = similarity_map(inputs, True, negatives=5)
    assert paired.size == (6, 6) and paired.block == 1
    assert paired.positives.tolist() == [[i, i] for i in range(6)]
    au = a / np.linalg.norm(a, axis=1, keepdims=True)
    pu = p / np.linalg.norm(p, axis=1, keepdims=True)
    assert_close(paired.grid, au @ pu.T)
    views = similarity_map(inputs, False, negatives=10)
    assert views.size == (12, 12)
    assert sorted(map(tuple, views.positives.tolist())) == sorted(
        [(i, (i + 6) % 12) for i in range(12)])
    assert np.isnan(np.diag(views.grid)).all()
    assert similarity_map(Inputs({**inputs.arrays, "negatives": p}), True, 1) is None
