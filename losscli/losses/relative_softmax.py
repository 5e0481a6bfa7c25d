"""Softmax rows kept relative to their positive, over tiles: clip, ntxent-batch, npair and
infonce's in-batch candidates share them.

A row g with positive logit L_pos and candidates L_j: with x_j = L_j - L_pos over the other
candidates, m = max(0, max x) and s = sum e^{x_j - m},

    loss_g = LSE_j(L_j) - L_pos = m + log(e^{-m} + s)     (log1p(s) when the positive leads)
    p_j    = e^{x_j - m} / (e^{-m} + s),   p_pos - 1 = -s / (e^{-m} + s)

so the statistics (m, s) hold everything, merge across tiles (clip's columns), and keep
tiny losses and gradients to full relative precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import tiles as tk
from losscli.losses.tiles import Tile


@dataclass
class Relative:
    """(m, s) per row (or column)."""

    m: np.ndarray
    s: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> Relative:
        """m = s = 0 for n rows: the empty sum."""
        return cls(np.zeros(n), np.zeros(n))

    def losses(self) -> np.ndarray:
        """m + log(e^{-m} + s), log1p(s) where m = 0."""
        m, s = self.m, self.s
        with np.errstate(invalid="ignore", over="ignore"):
            lead = np.where(m > 0.0, np.log(np.exp(-m) + s) + m, 0.0)
            return np.where(m > 0.0, lead, np.log1p(s))

    def gradient_scales(self, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weight / (e^{-m} + s), -weight s / (e^{-m} + s)): the multiplier of e^{x_j - m}
        off the positive and the gradient on it."""
        den = np.exp(-self.m) + self.s
        return weight / den, -weight * (self.s / den)


def statistics(tiles: Callable[[], Iterable[Tile]], pos: np.ndarray, skip: np.ndarray,
               ref: np.ndarray, scale: float, work: int, column_ref: np.ndarray | None = None,
               ) -> tuple[Relative, Relative | None]:
    """Row statistics of every tile of `tiles()`, and (given column_ref, the paired batch's
    diagonal) column statistics summed across them: one exponential per similarity
    (kernels/tiles.py's shifted kernels), shifted by the tile's largest similarity. A tile
    holding a non-finite similarity takes the exact two passes, and so do the columns, in
    a second sweep, if one did or a column's sum fell under SUM_FLOOR (underflow)."""
    rows = Relative.zeros(pos.shape[0])
    if column_ref is None:
        for r0, tile in tiles():
            shift = float(tile.max())
            if math.isfinite(shift):
                _jit.run(tk.shifted_row_stats, work, tile, r0, pos, skip, ref, scale, shift,
                         rows.m, rows.s)
            else:
                _jit.run(tk.relative_row_stats, work, tile, r0, pos, skip, ref, scale, rows.m,
                         rows.s)
        return rows, None
    cols = Relative.zeros(column_ref.shape[0])
    sums = np.zeros(column_ref.shape[0])
    running = -math.inf  # the shift of `sums`: the largest tile maximum so far
    exact = False
    for r0, tile in tiles():
        shift = float(tile.max())
        if not math.isfinite(shift):
            _jit.run(tk.relative_row_stats, work, tile, r0, pos, skip, ref, scale, rows.m,
                     rows.s)
            exact = True
            continue
        if shift > running:
            if running > -math.inf:
                sums *= math.exp((running - shift) * scale)
            running = shift
        _jit.run(tk.shifted_pair_sums, work, tile, r0, shift, ref, scale, rows.m, rows.s,
                 sums, math.exp((shift - running) * scale))
    if exact or not bool(np.all(sums >= tk.SUM_FLOOR)):
        for r0, tile in tiles():
            _jit.run(tk.relative_column_stats, work, tile, r0, column_ref, scale, cols.m,
                     cols.s)
    else:
        _jit.run(tk.shifted_column_stats, sums.shape[0] * 64, sums, running, column_ref,
                 scale, cols.m, cols.s)
    return rows, cols


def terms(S: np.ndarray, start: int, pos: np.ndarray, skip: np.ndarray, ref: np.ndarray,
          scale: float, stats: Relative, weight: np.ndarray, work: int | None = None,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logit, probability, gradient) of rows start.. of S (float64): gradient = weight_g
    (p - [j = pos]) = weight_g d loss_g / d logit. `work` chooses the kernel's path (S's
    own by default): a block of a larger batch's rows passes the whole batch's."""
    logit = np.empty_like(S)
    prob = np.empty_like(S)
    grad = np.empty_like(S)
    _jit.run(tk.relative_row_terms, S.size * 8 if work is None else work, S, start, pos, skip,
             ref, scale, stats.m, stats.s, weight, logit, prob, grad)
    return logit, prob, grad


def tile_gradient(pos: np.ndarray, skip: np.ndarray, ref: np.ndarray, scale: float,
                  rows: Relative, row_weight: np.ndarray, work: int,
                  cols: Relative | None = None, col_weight: np.ndarray | None = None,
                  ) -> Callable[[int, np.ndarray], None]:
    """What turns a tile into d(sum of losses)/dS: scale (row_weight_g (p_gj - [j = pos]) +
    col_weight_j (q_gj - [g = j])), q column j's softmax over the rows."""
    inv, at_pos = rows.gradient_scales(scale * row_weight)
    columns = cols is not None
    if cols is None:
        cols, cinv, cat_pos = rows, inv, at_pos  # unused by the kernel
    else:
        cinv, cat_pos = cols.gradient_scales(scale * col_weight)

    def to_grad(r0: int, tile: np.ndarray) -> None:
        _jit.run(tk.relative_tile_grad, work, tile, r0, pos, skip, ref, scale, rows.m, inv,
                 at_pos, columns, ref, cols.m, cinv, cat_pos)

    return to_grad
