"""A .npy file read by rows: header first, then chunks of rows into reused buffers.

Peak memory is the buffers', not the file's: the rows go from the page cache into a buffer
that is overwritten by the next chunk (no whole-file map whose touched pages would stay in
RSS). `RowReader` reads the next chunk on a background thread while the caller computes on
the current one (file reads release the GIL, and so do the kernels).

Why not map the file: mapping a window per chunk (MAP_POPULATE) measured 1.6x slower than
reading it, page-table set-up costing more than the copy; and small buffers (a few MiB)
stay in the L3 cache between the copy and the kernel, so the copy is nearly free.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from losscli.errors import BadData, InputUnavailable
from losscli.io.formats import check_npy_data, human_bytes, open_binary, read_npy_header

# Chunks the kernel is asked to read ahead (posix_fadvise WILLNEED): from a cold disk,
# a deeper queue than the one chunk the reader thread waits for (measured 1.9x faster).
READ_AHEAD_CHUNKS = 8
# A Fortran-order .npy up to this size is read whole (its rows are scattered over the file);
# the bound keeps batch's memory near its promise (twice this during the first read).
FORTRAN_WHOLE_BYTES = 512 * 2**20


def _advise(fd: int, offset: int, length: int, advice: str) -> None:
    """posix_fadvise where the platform has it; a hint only, so errors are ignored."""
    flag = getattr(os, advice, None)
    if flag is None or not hasattr(os, "posix_fadvise"):
        return
    try:
        os.posix_fadvise(fd, offset, length, flag)
    except OSError:
        pass


class NpyFile:
    """The header of a .npy file (shape, dtype, data offset) and row reads from it.

    A Fortran-order array's rows are scattered over the whole file: up to FORTRAN_WHOLE_BYTES
    it is read whole on the first read and its rows copied from memory; a larger one is
    refused with the fix (re-save it in C order).
    """

    def __init__(self, path: str, where: str | None = None) -> None:
        self.path = path
        self._fd: int | None = None  # before anything can raise: __del__ closes it
        where = path if where is None else where  # `FILE:ROLE` for a per-role file
        with open_binary(path) as fh:
            try:
                shape, fortran, dtype = read_npy_header(fh, where)
            except OSError as exc:
                raise BadData(f"bad .npy header ({exc})", "re-save it with numpy.save",
                              where=where) from None
            self.offset = fh.tell()
            size = os.fstat(fh.fileno()).st_size
        self.shape: tuple[int, ...] = shape
        self.dtype = np.dtype(dtype)
        if not self.dtype.isnative:
            self.dtype = self.dtype.newbyteorder("=")
            self.swapped = True
        else:
            self.swapped = False
        check_npy_data(shape, dtype, size - self.offset, where)
        self.fortran = fortran and len(shape) > 1
        if self.fortran and math.prod(shape) * self.dtype.itemsize > FORTRAN_WHOLE_BYTES:
            raise BadData(f"Fortran-order .npy over {human_bytes(FORTRAN_WHOLE_BYTES)} cannot "
                          "be read by rows", "re-save it in C order: numpy.save(f, "
                          "numpy.ascontiguousarray(x))", where=where)
        self._whole: np.ndarray | None = None  # a Fortran-order array, once read
        self.ndim = len(self.shape)
        self._advised = 0

    def close(self) -> None:
        """Close the file descriptor the row reads use (again is harmless)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

    def as_rows_of(self, shape: tuple[int, ...]) -> None:
        """Read the same bytes as rows of another shape with the same rows and row size
        ((B, D) as (B, 1, D): one negative per anchor)."""
        assert shape[0] == self.shape[0] and math.prod(shape) == math.prod(self.shape)
        self.shape = tuple(shape)
        self.ndim = len(shape)

    @property
    def rows(self) -> int:
        """The rows of the array (its first axis; 1 for a 0-d array)."""
        return self.shape[0] if self.shape else 1

    @property
    def row_bytes(self) -> int:
        """Bytes of one row, what the chunk size is measured in."""
        return math.prod(self.shape[1:]) * self.dtype.itemsize

    def read_all(self) -> np.ndarray:
        """The whole array, read through the same bounded reads as the rows."""
        out = np.empty(self.shape, dtype=self.dtype)
        if out.size:
            self.read_rows(0, self.rows if self.shape else 1, out.reshape(-1))
        return out

    def read_rows(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Rows [start, stop) into the front of `out` (a flat buffer); returns that view."""
        count = stop - start
        n_items = count * (self.row_bytes // self.dtype.itemsize if self.ndim > 1 else 1)
        view = out[:n_items]
        if self.fortran:
            rows = view.reshape((count,) + self.shape[1:])
            rows[...] = self._fortran_whole().reshape(self.shape)[start:stop]
            return rows
        self._read_bytes(self.offset + start * (self.row_bytes if self.ndim > 1 else
                                                self.dtype.itemsize), view)
        return view.reshape((count,) + self.shape[1:])

    def _fortran_whole(self) -> np.ndarray:
        """The Fortran-order array, read once: its bytes are the C-order array of the reversed
        shape, so the transpose of that (a view) is the array."""
        if self._whole is None:
            flat = np.empty(math.prod(self.shape), dtype=self.dtype)
            self._read_bytes(self.offset, flat)
            self._whole = flat.reshape(self.shape[::-1]).T
        return self._whole

    def _read_bytes(self, position: int, view: np.ndarray) -> None:
        """Fill `view` (contiguous) from the file at `position`, in native byte order."""
        target = memoryview(view).cast("B")
        done = 0
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY)
                _advise(self._fd, 0, 0, "POSIX_FADV_SEQUENTIAL")
            ahead = position + READ_AHEAD_CHUNKS * len(target)
            if ahead > self._advised:  # ask the disk for the next chunks early
                start = max(self._advised, position)
                _advise(self._fd, start, ahead - start, "POSIX_FADV_WILLNEED")
                self._advised = ahead
            while done < len(target):
                got = os.preadv(self._fd, [target[done:]], position + done)
                if got == 0:
                    raise BadData("file shrank while being read", "do not modify it during "
                                  "the run", where=self.path)
                done += got
        except OSError as exc:
            raise InputUnavailable(f"cannot read: {exc.strerror or exc}", "check the file",
                                   where=self.path) from None
        if self.swapped:
            view.byteswap(inplace=True)


class RowReader:
    """Chunks of rows of several .npy files at once, the next one read ahead.

    Two buffer sets alternate: while the caller works on one chunk, a thread fills the
    other. Reused for the whole file, so memory is two chunks whatever the file's size.
    """

    def __init__(self, files: dict[str, NpyFile], rows: int, chunk: int,
                 start: int = 0) -> None:
        self.files = files
        self.rows = rows  # read rows [start, rows)
        self.start = start
        # never more rows than are read: --chunk 300000000 on a file of 3,000 rows
        # allocated buffers for 300 M rows (9 TiB)
        self.chunk = max(1, min(chunk, rows - start))
        self._buffers = [
            {role: np.empty(self.chunk * max(1, f.row_bytes // f.dtype.itemsize), f.dtype)
             for role, f in files.items()}
            for _ in range(2)
        ]
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="losscli-read")

    def _read(self, start: int, which: int) -> dict[str, np.ndarray]:
        stop = min(self.rows, start + self.chunk)
        return {role: f.read_rows(start, stop, self._buffers[which][role])
                for role, f in self.files.items()}

    def __iter__(self):
        try:
            pending: Future | None = None
            if self.rows > self.start:
                pending = self._pool.submit(self._read, self.start, 0)
            start = self.start
            which = 0
            while pending is not None:
                arrays = pending.result()
                nxt = start + self.chunk
                pending = (self._pool.submit(self._read, nxt, 1 - which)
                           if nxt < self.rows else None)
                yield start, arrays
                start = nxt
                which = 1 - which
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            for f in self.files.values():
                f.close()
