"""A Parquet column read by rows, one row group at a time: what `NpyFile` is for a .npy.

`batch` cuts a Parquet input into chunks of examples like a .npy: each role's column is
read a row group at a time (`ParquetFile.read_row_group`, that column only), and a chunk's
rows are copied from it into the reader's reused buffers. Memory is one row group of each
role plus the chunk buffers, whatever the file's size; a directory of Parquet shards is one
input per shard, as a directory of .npz files is.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from losscli.errors import BadData
from losscli.io.parquet import column_array, pyarrow
from losscli.io.rows import one_for_the_batch


class ParquetColumn:
    """One column of a Parquet file as rows (B, ...): shape and dtype from its first row
    group, rows read a row group at a time."""

    def __init__(self, path: str, column: str, where: str) -> None:
        pyarrow(where)
        import pyarrow.parquet as pq

        self.path = path
        self.column = column
        self.where = where
        try:
            self._file: pq.ParquetFile | None = pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds
            raise BadData(f"not a readable Parquet file ({' '.join(str(exc).split())[:120]})",
                          "re-write it with pyarrow", where=path) from None
        self._cached: tuple[int, np.ndarray] | None = None
        # A row as the file holds it, which every row group must match (`shape` may read
        # the rows as another shape: as_rows_of).
        self._row: tuple[int, ...] | None = None
        try:
            meta = self._file.metadata
            sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
            self._starts = [0]
            for n in sizes:
                self._starts.append(self._starts[-1] + n)
            first = (self._group(self._first_nonempty()) if self._starts[-1]
                     else np.empty((0,)))
        except BaseException:  # a refused column: its error's traceback must not hold the file
            self.close()
            raise
        self._row = first.shape[1:]
        self.shape: tuple[int, ...] = (self._starts[-1],) + first.shape[1:]
        self.dtype = first.dtype
        self.ndim = len(self.shape)

    def _first_nonempty(self) -> int:
        return next(i for i in range(len(self._starts) - 1)
                    if self._starts[i + 1] > self._starts[i])

    def _group(self, index: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != index:
            if self._file is None:  # closed after an earlier pass: read again
                import pyarrow.parquet as pq

                self._file = pq.ParquetFile(self.path)
            table = self._file.read_row_group(index, columns=[self.column])
            start = self._starts[index]  # rows are named by their place in the file
            arr = column_array(table.column(0), self.where, start)
            if self._row is not None and arr.shape[1:] != self._row:
                raise BadData(f"ragged list column: the rows from row {start} (row group "
                              f"{index}) have shape {arr.shape[1:]}, row 0 {self._row}",
                              "give every row the same length", where=self.where)
            self._cached = (index, arr)
        return self._cached[1]

    def close(self) -> None:
        """Drop the cached row group and close the file (reopened if read again): its
        handle is released when the batch is done with the input, not whenever the
        garbage collector gets to it."""
        self._cached = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def one_for_the_batch(self, role: str) -> np.ndarray:
        """The column's one value, for a role that is one for the whole batch (class
        weights): every row must repeat it (io/rows.py), checked a row group at a time."""
        value = None
        for index in range(len(self._starts) - 1):
            if self._starts[index + 1] > self._starts[index]:
                value = one_for_the_batch(self._group(index), role, self.path, "parquet",
                                          self._starts[index], like=value)
        return value if value is not None else np.empty(self.shape)

    def as_rows_of(self, shape: tuple[int, ...]) -> None:
        """Read the same values as rows of another shape ((B, D) as (B, 1, D))."""
        assert shape[0] == self.shape[0] and math.prod(shape) == math.prod(self.shape)
        self.shape = tuple(shape)
        self.ndim = len(shape)

    @property
    def rows(self) -> int:
        """The examples of the column."""
        return self.shape[0]

    @property
    def row_bytes(self) -> int:
        """Bytes of one row, what the chunk size is measured in."""
        return math.prod(self.shape[1:]) * self.dtype.itemsize

    def read_all(self) -> np.ndarray:
        """The whole column."""
        out = np.empty(math.prod(self.shape), dtype=self.dtype)
        return self.read_rows(0, self.rows, out) if self.rows else out.reshape(self.shape)

    def read_rows(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Rows [start, stop) into the front of `out` (a flat buffer); returns that view."""
        count = stop - start
        view = out[:count * math.prod(self.shape[1:])].reshape((count,) + self.shape[1:])
        done = 0
        while start + done < stop:
            row = start + done
            group = bisect.bisect_right(self._starts, row) - 1
            arr = self._group(group)
            lo = row - self._starts[group]
            n = min(stop - row, arr.shape[0] - lo)
            view[done:done + n] = arr[lo:lo + n].reshape((n,) + self.shape[1:])
            done += n
        return view


__all__ = ["ParquetColumn"]
