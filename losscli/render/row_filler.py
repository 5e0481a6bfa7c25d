"""The Python side of the compiled template filler (kernels/float_text.py), shared by the
outputs that write a breakdown's terms through it: JSON (render/term_rows.py) and CSV
(render/csv_rows.py). With --terms all an in-batch loss has millions of terms, and
float.__repr__ alone costs ~0.5 us a number; the filler writes repr's digits in bulk.

What differs between the formats is a `Layout`: the literal text around a row's cells, the
text between two rows of an example, the text of a non-finite float, and how the values of an
object or string column become text. Everything else (whether an output is large enough,
a column as the filler's cells, the role and index table, the fill, the cut per example) is
here once, so that a fix to one of them reaches both formats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import float_text as ft
from losscli.render.breakdown import Block

# The filler's fixed cost (numba's import and cache load, ~0.3 s) against ~0.5 us a cell in
# Python: below this many cells per output the Python path is faster.
MIN_CELLS = 1_000_000

# In fill_terms' columns: the term's role and index cells, texts from the labels' table.
ROLE = "role"
INDEX = "index"

# The distinct texts of a column's values and each value's position among them, or None
# where a value has no text in the format (the block then takes the Python path).
Objects = Callable[[list[Any]], tuple[list[str], np.ndarray] | None]

# (kind, the values flat, the widest cell in bytes; 0 for strings: the table's longest)
Cell = tuple[int, np.ndarray, int]


@dataclass(frozen=True)
class Layout:
    """A format's row: `pieces` around the cells (one more than the cells), `between` two
    rows of an example, `nonfinite` a float's text where it is not finite, `objects` the
    texts of an object or string column."""

    pieces: Sequence[str]
    between: str
    nonfinite: str
    objects: Objects


def wanted(cells: int) -> bool:
    """Whether an output of `cells` numbers goes through the filler (LOSSCLI_JIT=never: no,
    always: yes)."""
    mode = _jit.jit_mode()
    return mode == "always" or (mode == "auto" and cells >= MIN_CELLS)


def fill_terms(labels: list[str], block: Block, columns: Sequence[np.ndarray | str],
               layout: Layout) -> list[str] | None:
    """Per example of the block, its kept terms' rows in the layout, or None when a column
    is of a kind the filler does not write. `columns`: the row's cells in order, each a
    (n, kept) array or ROLE / INDEX; `labels`: the terms' role texts then their index
    texts, in the format."""
    n, kept = block.order.shape
    rows = n * kept
    T = len(labels) // 2
    order = np.ascontiguousarray(block.order, dtype=np.int64).reshape(-1)
    if rows < T:
        # the kept terms' texts only: the whole table per block (2B of them in-batch, a
        # block of two examples at B = 16,384) made `--terms top` cubic in B
        used, at = np.unique(order, return_inverse=True)
        table = [labels[t] for t in used.tolist()] + [labels[T + t] for t in used.tolist()]
        order, T = at.astype(np.int64).reshape(-1), len(used)
    else:
        table = list(labels)
    cells: list[Cell] = []
    for col in columns:
        if isinstance(col, str):
            cells.append((ft.STRING, order if col == ROLE else order + T, 0))
            continue
        cell = column_cells(col, table, layout.objects)
        if cell is None:
            return None
        cells.append(cell)
    return fill(cells, table, n, kept, layout)


def column_cells(col: np.ndarray, table: list[str], objects: Objects) -> Cell | None:
    """A column as the filler's cells; booleans and strings become codes into `table`
    (extended here). None: a kind the filler does not write (unsigned 64-bit ints above
    int64's range, long doubles, complex, ...)."""
    kind = col.dtype.kind
    flat = col.reshape(-1)
    if kind == "b":
        base = len(table)
        table += ["false", "true"]
        return ft.STRING, flat.astype(np.int64) + base, 0
    if kind in "iu":
        if kind == "u" and col.dtype.itemsize == 8 and flat.size and \
                int(flat.max()) > np.iinfo(np.int64).max:
            return None
        return ft.INT, flat.astype(np.int64), ft.INT_WIDTH
    if kind == "f":
        if col.dtype.itemsize > 8:
            return None
        return ft.FLOAT, flat.astype(np.float64).view(np.uint64), ft.FLOAT_WIDTH
    if kind in "OUS":
        made = objects(flat.tolist())
        if made is None:
            return None
        texts, codes = made
        base = len(table)
        table += texts
        return ft.STRING, codes.astype(np.int64) + base, 0
    return None


def fill(cells: list[Cell], table: list[str], n: int, group: int,
         layout: Layout) -> list[str]:
    """n groups of `group` rows of the layout's template, cell s of row r cells[s][1][r];
    one text per group."""
    encoded = [s.encode() for s in table]
    string_at = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in encoded], out=string_at[1:])
    between = layout.between.encode()
    nonfinite = layout.nonfinite.encode()
    longest = max((len(s) for s in encoded), default=0)
    widest = {ft.FLOAT: max(ft.FLOAT_WIDTH, len(nonfinite)), ft.INT: ft.INT_WIDTH,
              ft.STRING: longest}
    piece_bytes = [p.encode() for p in layout.pieces]
    piece_at = np.zeros(len(piece_bytes) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in piece_bytes], out=piece_at[1:])
    rows = n * group
    per_row = int(piece_at[-1]) + sum(widest[kind] for kind, _, _ in cells) + len(between)
    out = np.empty(max(1, rows * per_row), dtype=np.uint8)
    ends = np.zeros(n, dtype=np.int64)
    stores: tuple[list[np.ndarray], ...] = ([], [], [])
    slots = []
    for kind, values, _ in cells:
        slots.append(len(stores[kind]))
        stores[kind].append(values)
    if rows:
        pos, inv = ft.pow5_tables()
        ft.fill_rows.jit(out, ends, group, _bytes(b"".join(piece_bytes)), piece_at,
                         np.array([kind for kind, _, _ in cells], dtype=np.int64),
                         np.array(slots, dtype=np.int64),
                         _stack(stores[ft.FLOAT], rows, np.uint64),
                         _stack(stores[ft.INT], rows, np.int64),
                         _stack(stores[ft.STRING], rows, np.int64),
                         _bytes(b"".join(encoded)), string_at, pos, inv, _bytes(between),
                         _bytes(nonfinite))
    return _split(out, ends)


def _bytes(text: bytes) -> np.ndarray:
    """Bytes as the kernel's uint8 array (one byte where empty: numba types an empty
    frombuffer the same, but a zero-size buffer is refused)."""
    return np.frombuffer(text or b"\0", dtype=np.uint8)[:len(text)]


def _split(out: np.ndarray, ends: np.ndarray) -> list[str]:
    """The filler's buffer cut at each group's end, as text."""
    texts = []
    start = 0
    for end in ends.tolist():
        texts.append(out[start:end].tobytes().decode())
        start = end
    return texts


def _stack(columns: list[np.ndarray], rows: int, dtype: type) -> np.ndarray:
    if not columns:
        return np.zeros((1, max(1, rows)), dtype=dtype)
    return np.ascontiguousarray(np.stack(columns))
