"""The similarity matrix of an in-batch loss as a picture can hold it: block means on a grid
of at most `cells` x `cells`, computed a tile at a time, so that a batch of 32k examples never
has its B x B (or 2B x 2B) matrix in memory.

The form is read from the evaluated shape, not from the loss's name: K = B - 1 negatives per
row is the paired batch (S_ij = s(a_i, p_j), positives on the diagonal), K = 2B - 2 the
two-view batch (the 2B views [a; p] against each other, each view's partner B away).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from losscli.model import Inputs

TILE = 1024  # rows (and columns) of S computed at once: 8 MiB of float64


@dataclass
class SimilarityMap:
    """Block means of S: `grid` (g_rows, g_cols), `block` examples a cell side; the cells
    holding the positives (`positives`, (n, 2) cell indices); the labels of the axes."""

    grid: np.ndarray
    block: int
    positives: np.ndarray
    rows: str
    cols: str
    size: tuple[int, int]


def _unit(x: np.ndarray) -> np.ndarray:
    scale = np.max(np.abs(x), axis=1, keepdims=True)
    scale[scale == 0] = 1
    y = x / scale
    norm = np.linalg.norm(y, axis=1, keepdims=True)
    norm[norm == 0] = 1
    return y / norm


def block_means(rows: np.ndarray, cols: np.ndarray, cells: int, tile: int = TILE,
                skip_diagonal: bool = False) -> tuple[np.ndarray, int]:
    """Means of rows @ cols.T over square blocks, the block chosen so that the grid has at
    most `cells` cells a side; computed tile by tile (memory: tile^2 + the grid).
    skip_diagonal: leave out s_ii (a view against itself is no candidate); a cell left with
    nothing is NaN."""
    n, m = rows.shape[0], cols.shape[0]
    block = max(1, -(-max(n, m) // cells))
    tile = max(block, tile // block * block)
    gr, gc = -(-n // block), -(-m // block)
    sums = np.zeros((gr, gc))
    counts = np.zeros((gr, gc))
    for i in range(0, n, tile):
        r = rows[i:i + tile]
        for j in range(0, m, tile):
            s = r @ cols[j:j + tile].T
            pr, pc = -(-s.shape[0] // block) * block, -(-s.shape[1] // block) * block
            padded = np.zeros((pr, pc))
            seen = np.zeros((pr, pc))
            padded[:s.shape[0], :s.shape[1]] = s
            seen[:s.shape[0], :s.shape[1]] = 1
            shape = (pr // block, block, pc // block, block)
            bi, bj = i // block, j // block
            sums[bi:bi + shape[0], bj:bj + shape[2]] += padded.reshape(shape).sum(axis=(1, 3))
            counts[bi:bi + shape[0], bj:bj + shape[2]] += seen.reshape(shape).sum(axis=(1, 3))
    if skip_diagonal:
        cell = np.arange(n) // block
        np.subtract.at(sums, (cell, cell), np.einsum("ij,ij->i", rows, cols))
        np.subtract.at(counts, (cell, cell), 1)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), block


def similarity_map(inputs: Inputs, cosine: bool, negatives: int | None,
                   cells: int = 256) -> SimilarityMap | None:
    """The map of an in-batch form (None for explicit negatives: see their strip picture)."""
    if "negatives" in inputs or "anchor" not in inputs or "positive" not in inputs:
        return None
    a = np.atleast_2d(inputs["anchor"])
    p = np.atleast_2d(inputs["positive"])
    B = a.shape[0]
    if cosine:
        a, p = _unit(a), _unit(p)
    if negatives == 2 * B - 2:
        z = np.concatenate([a, p])
        grid, block = block_means(z, z, cells, skip_diagonal=True)
        idx = np.arange(2 * B)
        pos = np.stack([idx, (idx + B) % (2 * B)], axis=1)
        rows = cols = "views [anchor; positive]"
        size = (2 * B, 2 * B)
    elif negatives == B - 1:
        grid, block = block_means(a, p, cells)
        idx = np.arange(B)
        pos = np.stack([idx, idx], axis=1)
        rows, cols, size = "anchor", "positive", (B, B)
    else:
        return None
    cells_hit = np.unique(pos // block, axis=0)
    return SimilarityMap(grid, block, cells_hit, rows, cols, size)
