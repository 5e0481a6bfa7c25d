"""The in-batch breakdowns' columns laid out on demand (model.DeferredColumn).

An in-batch example has T ~ 2B terms and `compute --terms top` shows ~10 of them. Each
column is kept as the loss computed it (a row of similarities, logits, gradients in
candidate order) with the rule that puts it in output order; `take(kept)` reads only the
kept cells, `full()` lays out the whole column as before. Either way a cell holds the same
value, bit for bit, as the whole column laid out: the rules below only move values.

- Reordered: each row's positive column first, then the others in order, one left out
  (`reordered`);
- Joined: columns side by side (clip's two directions, a two-view example's two views);
- Mapped: an elementwise function of another column (a candidate's role from its index),
  Shared: a column several are Mapped from, laid out once; Gathered: each row's cells at
  the columns an index column gives;
- Filled, PerRow, Cells: a constant, a value per row, a fill with a few positions set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import tiles as tk
from losscli.model import DeferredColumn, laid_out, taken

Column = np.ndarray | DeferredColumn


def reordered(values: np.ndarray, first: np.ndarray, left_out: np.ndarray | None = None,
              out: np.ndarray | None = None, compiled: bool | None = None) -> np.ndarray:
    """Each row's columns as a breakdown lists them: column first[r] first, then the others
    in order, without column left_out[r] (when given); written into `out` when given, by the
    compiled copy where `compiled` (None: by the size of the values, or of the job)."""
    n, C = values.shape
    width = C - 1 if left_out is None else C - 2
    if compiled is None:
        compiled = _jit.path_for(values.size) != "py"
    if values.dtype.kind in "fiu" and compiled:
        if out is None:
            out = np.empty((n, width + 1), dtype=values.dtype)
        skip = np.full(n, -1, dtype=np.int64) if left_out is None else \
            np.ascontiguousarray(left_out, dtype=np.int64)
        # serial: a block is a few rows, and a parallel call's thread-pool setup costs more;
        # the work passed keeps the path decided (maybe under a job this call is outside
        # of) compiled, bar LOSSCLI_JIT=never
        _jit.run(tk.first_then_rest, max(values.size, _jit.JIT_THRESHOLD), values,
                 np.ascontiguousarray(first, dtype=np.int64), skip, out, parallel=False)
        return out
    laid = np.take_along_axis(values, _source_columns(np.arange(width + 1)[None, :], first,
                                                      left_out), axis=1)
    if out is None:
        return laid
    out[...] = laid
    return out


def _source_columns(positions: np.ndarray, first: np.ndarray, left_out: np.ndarray | None,
                    ) -> np.ndarray:
    """The columns of `values` that output positions (n, k) or (1, k) read under
    `reordered`'s rule: position 0 is first[r], position p > 0 the p-th of the others."""
    k = positions - 1
    if left_out is None:
        others = k + (k >= first[:, None])
    else:
        lo = np.minimum(first, left_out)[:, None]
        hi = np.maximum(first, left_out)[:, None]
        others = k + (k >= lo)
        others = others + (others >= hi)
    return np.where(positions == 0, first[:, None], others)


class Reordered(DeferredColumn):
    """reordered(values, first, left_out), laid out on demand."""

    def __init__(self, values: np.ndarray, first: np.ndarray,
                 left_out: np.ndarray | None = None) -> None:
        self.values, self.first, self.left_out = values, first, left_out
        # the path chosen where the loss makes its block, under the breakdown's job
        # (tiles.on_demand): laid out later, a block's few rows would take numpy's gather
        self.compiled = _jit.path_for(values.size) != "py"

    def full(self, out: np.ndarray | None = None) -> np.ndarray:
        """The whole column (model.DeferredColumn), written into `out` when given."""
        return reordered(self.values, self.first, self.left_out, out, self.compiled)

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        return np.take_along_axis(self.values, _source_columns(kept, self.first,
                                                               self.left_out), axis=1)


class Joined(DeferredColumn):
    """Columns side by side: np.concatenate(parts, axis=1), `widths` the parts' widths."""

    def __init__(self, parts: Sequence[Column], widths: Sequence[int]) -> None:
        self.parts, self.widths = list(parts), list(widths)

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        if not all(isinstance(part, Reordered) for part in self.parts):
            return np.concatenate([laid_out(part) for part in self.parts], axis=1)
        # each part reordered into its place: no copy of each, then of all of them
        n = self.parts[0].values.shape[0]
        dtype = np.result_type(*(part.values.dtype for part in self.parts))
        out = np.empty((n, sum(self.widths)), dtype=dtype)
        offset = 0
        for part, width in zip(self.parts, self.widths, strict=True):
            part.full(out[:, offset:offset + width])
            offset += width
        return out

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        values = []
        masks = []
        offset = 0
        for part, width in zip(self.parts, self.widths, strict=True):
            if width:
                inside = (kept >= offset) & (kept < offset + width)
                # positions outside the part read its column 0, then are overwritten
                values.append(taken(part, np.where(inside, kept - offset, 0)))
                masks.append(inside)
            offset += width
        dtype = np.result_type(*values) if values else laid_out(self.parts[0]).dtype
        out = np.empty(kept.shape, dtype=dtype)
        for part_values, inside in zip(values, masks, strict=True):
            out[inside] = part_values[inside]
        return out


class Mapped(DeferredColumn):
    """function(column), for an elementwise function."""

    def __init__(self, column: Column, function: Callable[[np.ndarray], np.ndarray]) -> None:
        self.column, self.function = column, function

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        return self.function(laid_out(self.column))

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        return self.function(taken(self.column, kept))


class Gathered(DeferredColumn):
    """np.take_along_axis(values, index, axis=1): row r's cells at the columns index[r]."""

    def __init__(self, values: np.ndarray, index: Column) -> None:
        self.values, self.index = values, index

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        return np.take_along_axis(self.values, laid_out(self.index), axis=1)

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        return np.take_along_axis(self.values, taken(self.index, kept), axis=1)


class Shared(DeferredColumn):
    """A column that several others are Mapped from: laid out or taken once for them all
    (the same `kept` array: an output takes every column of a block with one)."""

    def __init__(self, column: Column) -> None:
        self.column = column
        self._full: np.ndarray | None = None
        self._kept: np.ndarray | None = None
        self._taken: np.ndarray | None = None

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        if self._full is None:
            self._full = laid_out(self.column)
        return self._full

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        if self._kept is not kept or self._taken is None:
            self._kept, self._taken = kept, taken(self.column, kept)
        return self._taken


class Filled(DeferredColumn):
    """One value in every cell of an (n, width) column."""

    def __init__(self, n: int, width: int, value: object, dtype: type | np.dtype) -> None:
        self.shape, self.value, self.dtype = (n, width), value, dtype

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        return self._filled(self.shape)

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        return self._filled(kept.shape)

    def _filled(self, shape: tuple[int, ...]) -> np.ndarray:
        out = np.empty(shape, dtype=self.dtype)
        out.fill(self.value)  # one object shared by every cell (results.text_where)
        return out


class PerRow(DeferredColumn):
    """values[r] in every cell of row r, `width` cells a row."""

    def __init__(self, values: np.ndarray, width: int) -> None:
        self.values, self.width = values, width

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        return np.repeat(self.values[:, None], self.width, axis=1)

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        return np.repeat(self.values[:, None], kept.shape[1], axis=1)


class Cells(DeferredColumn):
    """`fill` in every cell of an (n, width) float64 column but the positions given, each
    with its own value per row."""

    def __init__(self, n: int, width: int, fill: float,
                 cells: dict[int, np.ndarray]) -> None:
        self.shape, self.fill, self.cells = (n, width), fill, cells

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        out = np.full(self.shape, self.fill)
        for position, values in self.cells.items():
            out[:, position] = values
        return out

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        out = np.full(kept.shape, self.fill)
        for position, values in self.cells.items():
            at = kept == position
            out[at] = np.broadcast_to(values[:, None], kept.shape)[at]
        return out


__all__ = ["Cells", "Column", "Filled", "Gathered", "Joined", "Mapped", "PerRow", "Reordered",
           "Shared", "reordered"]
