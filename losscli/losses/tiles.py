"""An in-batch similarity matrix S = Q C^T a tile of rows at a time, never whole.

The in-batch losses (LOSSES-MORE.md's paired, two-view and multi-view batches) score every
example against every other: a B x B (or 2B x 2B) matrix that at training batch sizes does
not fit in memory, and whose exponentials should be taken while it is in cache. So BLAS
writes one tile of rows into a reused buffer, the loss's kernel (kernels/tiles.py) turns it
into row statistics (and column statistics merged across tiles) while it is hot, and the
next tile overwrites it: memory O(tile + B D) at any B. A gradient pass walks the same
tiles again, each turned into d(sum of losses)/dS in place and carried back to the vectors
by two more products.

The tiles are of Q's and C's dtype: batch hands float64 vectors even under --dtype float32
(CONTRACT.md's float64 accumulation covers the products' dot products; sgemm's float32
tiles put the losses ~1e-6 relative off compute); the kernels accumulate in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import tiles as tk

# A tile of logits holds about this many bytes: big enough for BLAS to run at full speed,
# small enough to stay in the 32 MiB L3 cache between the product and the kernel.
TILE_BYTES = 32 * 2**20
# Fewer rows than this and OpenBLAS splits the product poorly over its threads (measured:
# 64-row tiles took 1.5-2x the time of the whole product, 128 and more ~1x).
MIN_TILE_ROWS = 128
# What an element of a tile costs interpreted, in multiply-adds (kernels/_jit's unit): an
# exponential and a few comparisons in Python, ~4 us. Decides compiled or interpreted.
ELEMENT_WORK = 20

Tile = tuple[int, np.ndarray]


def tile_rows(rows: int, cols: int, itemsize: int, tile_bytes: int | None = None) -> int:
    """Rows per tile: about `tile_bytes` (TILE_BYTES) of the tile's dtype, at least
    MIN_TILE_ROWS."""
    by_bytes = (TILE_BYTES if tile_bytes is None else tile_bytes) // max(1, cols * itemsize)
    return max(1, min(rows, max(MIN_TILE_ROWS, by_bytes)))


def work(rows: int, cols: int, dim: int) -> int:
    """The multiply-adds of one pass over the matrix (its product and its kernel)."""
    return rows * cols * (dim + ELEMENT_WORK)


def tiles(Q: np.ndarray, C: np.ndarray, cosine: bool, tile_bytes: int | None = None,
          ) -> Iterator[Tile]:
    """(r0, S[r0:r1]) for S = Q C^T, each tile a view of one reused buffer (valid until the
    next) of about `tile_bytes` (TILE_BYTES); cosine similarities (unit rows) clamped to
    [-1, 1]."""
    R, M = Q.shape[0], C.shape[0]
    n = tile_rows(R, M, Q.dtype.itemsize, tile_bytes)
    buffer = np.empty((n, M), dtype=np.result_type(Q.dtype, C.dtype))
    CT = C.T
    for r0 in range(0, R, n):
        r1 = min(R, r0 + n)
        tile = buffer[:r1 - r0]
        np.matmul(Q[r0:r1], CT, out=tile)
        if cosine:
            np.clip(tile, -1.0, 1.0, out=tile)
        yield r0, tile


def rows(Q: np.ndarray, C: np.ndarray, r0: int, r1: int, cosine: bool) -> np.ndarray:
    """S[r0:r1] = Q[r0:r1] C^T in float64 (a few rows: compute's breakdown)."""
    out = np.asarray(Q[r0:r1], dtype=np.float64) @ np.asarray(C, dtype=np.float64).T
    if cosine:
        np.clip(out, -1.0, 1.0, out=out)
    return np.ascontiguousarray(out)


class RowReader:
    """S[r0:r1] = Q C^T in float64 for a breakdown that asks for a few rows at a time, in
    order (compute's examples, a block of about BLOCK_TERMS terms at a time): a tile of rows
    ahead is computed and served from, so that each pass over C serves a tile's examples,
    not a block's two or three (a pass per block made `compute --terms top` of an in-batch
    loss cubic in B: 207 s at B = 16,384). Asked out of order (--worst), only those rows.
    What it returns is a view, valid until the next call."""

    def __init__(self, Q: np.ndarray, C: np.ndarray, cosine: bool) -> None:
        self.Q, self.C, self.cosine = Q, C, cosine
        self.start, self.next = 0, 0
        self.S = np.empty((0, C.shape[0]))

    def __call__(self, r0: int, r1: int) -> np.ndarray:
        """S[r0:r1]."""
        s0, s1 = self.start, self.start + self.S.shape[0]
        if not s0 <= r0 <= r1 <= s1:
            stop = r1
            if r0 == self.next:  # in order: a tile ahead
                R = self.Q.shape[0]
                stop = max(r1, min(R, r0 + tile_rows(R, self.C.shape[0], 8)))
            self.start, self.S = r0, rows(self.Q, self.C, r0, stop, self.cosine)
        self.next = r1
        return self.S[r0 - self.start:r1 - self.start]


def backward(Q: np.ndarray, C: np.ndarray, cosine: bool,
             to_grad: Callable[[int, np.ndarray], None]) -> tuple[np.ndarray, np.ndarray]:
    """(dQ, dC) = (G C, G^T Q) for G = d(sum of losses)/dS, built a tile at a time:
    `to_grad(r0, tile)` turns the tile of S into its rows of G in place."""
    dQ = np.empty(Q.shape, dtype=np.float64)
    dC = np.zeros(C.shape, dtype=np.float64)
    Cd = np.asarray(C, dtype=np.float64)
    for r0, tile in tiles(Q, C, cosine):
        to_grad(r0, tile)
        G = np.asarray(tile, dtype=np.float64)
        r1 = r0 + G.shape[0]
        np.matmul(G, Cd, out=dQ[r0:r1])
        dC += G.T @ np.asarray(Q[r0:r1], dtype=np.float64)
    return dQ, dC


def on_demand(compute: Callable[[int, int], dict[str, np.ndarray]], work: int,
              ) -> Callable[[int, int], dict[str, np.ndarray]]:
    """A breakdown's block function whose kernels take the path of the whole breakdown
    (`work`), not of one small block (compiled for a large batch, read a block at a time)."""
    def block(start: int, stop: int) -> dict[str, np.ndarray]:
        with _jit.job(work):
            return compute(start, stop)

    return block


def negative_power_sums(tile_list: Iterable[tuple[int, np.ndarray]], pos: np.ndarray,
                        skip: np.ndarray, scale: float, factors: list[float], work: int,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(top, sums): sums[g, f] = sum_j e^{factors[f] (S_gj - top_g) scale} over row g's
    negatives (every column but pos[g] and skip[g]); top_g a value at or above them all, the
    row's largest similarity (numpy's vectorised max, so the kernel takes one pass of
    exponentials) or, where that cannot serve, its negatives' largest. NaN for a row with
    a NaN or +inf among its negatives (kernels/tiles.negative_power_sums)."""
    coefficients = np.asarray(factors, dtype=np.float64)
    top = np.empty(pos.shape[0])
    sums = np.empty((pos.shape[0], coefficients.shape[0]))
    for r0, tile in tile_list:
        with np.errstate(invalid="ignore"):
            shift = tile.max(axis=1)
        _jit.run(tk.negative_power_sums, work, tile, r0, pos, skip, scale, coefficients, shift,
                 top, sums)
    return top, sums
