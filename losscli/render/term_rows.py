"""The terms of a block of examples, and their gradient vectors, as JSON text, written by a
compiled template filler (kernels/float_text.py) instead of one Python string per number: with
--terms all an in-batch loss has millions of terms (--grad: B x D numbers per role), and
float.__repr__ alone costs ~0.5 us a number.

The text is byte for byte what jsonout's Python path writes (tests/cli/test_json_terms_text.py
compares them); a block with a column the filler does not write (unsigned 64-bit ints above
int64's range, long doubles, complex, ...) and blocks below the jit threshold go through that
Python path.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import float_text as ft
from losscli.model import finite_or_none
from losscli.render.breakdown import Block
from losscli.render.json_escaping import json_text

# The filler's fixed cost (numba's import and cache load, ~0.3 s) against ~0.5 us a cell in
# Python: below this many cells per output the Python path is faster.
MIN_CELLS = 1_000_000


def wanted(cells: int) -> bool:
    """Whether an output of `cells` numbers goes through the filler (LOSSCLI_JIT=never: no,
    always: yes)."""
    mode = _jit.jit_mode()
    return mode == "always" or (mode == "auto" and cells >= MIN_CELLS)


def labels(role: tuple[str, ...], index: tuple[Any, ...]) -> list[str]:
    """The terms' role tokens (JSON strings) then their index tokens, for json_terms."""
    return [json.dumps(r) for r in role] + [str(i) for i in index]


def json_terms(labels: list[str], block: Block, indent: str) -> list[str] | None:
    """Per example of the block, its terms as jsonout lays them out (each term an object at
    `indent`, joined by ",\\n"; `labels` from labels()), or None when a column is of a kind
    the filler does not write."""
    names = list(block.columns)
    n, kept = block.order.shape
    rows = n * kept
    T = len(labels) // 2
    order = np.ascontiguousarray(block.order, dtype=np.int64).reshape(-1)
    if rows < T:
        # the kept terms' tokens only: the whole table per block (2B of them in-batch, a
        # block of two examples at B = 16,384) made `--terms top` cubic in B
        used, at = np.unique(order, return_inverse=True)
        table = [labels[t] for t in used.tolist()] + [labels[T + t] for t in used.tolist()]
        order, T = at.astype(np.int64).reshape(-1), len(used)
    else:
        table = list(labels)
    floats: list[np.ndarray] = []
    ints: list[np.ndarray] = []
    codes: list[np.ndarray] = [order, order + T]
    kinds = [ft.STRING, ft.STRING]
    slots = [0, 1]
    widths = [0, 0]
    for name in names:
        col = block.columns[name]
        cell = _cells(col, table)
        if cell is None:
            return None
        kind, values, width = cell
        store = (floats, ints, codes)[kind]
        kinds.append(kind)
        slots.append(len(store))
        store.append(values)
        widths.append(width)
    encoded = [s.encode() for s in table]
    string_at = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in encoded], out=string_at[1:])
    longest = max((len(s) for s in encoded), default=0)
    widths = [w if k != ft.STRING else longest for k, w in zip(kinds, widths, strict=True)]
    pieces = [indent + "{\n" + indent + '  "role": ', ",\n" + indent + '  "index": ']
    pieces += [",\n" + indent + "  " + json.dumps(name) + ": "
               for name in names]
    pieces.append("\n" + indent + "}")
    piece_bytes = [p.encode() for p in pieces]
    piece_at = np.zeros(len(piece_bytes) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in piece_bytes], out=piece_at[1:])
    per_row = int(piece_at[-1]) + sum(widths) + 2
    out = np.empty(max(1, rows * per_row), dtype=np.uint8)
    ends = np.empty(n, dtype=np.int64)
    pos, inv = ft.pow5_tables()
    if kept:
        ft.fill_rows.jit(out, ends, kept,
                         np.frombuffer(b"".join(piece_bytes), dtype=np.uint8),
                         piece_at, np.array(kinds, dtype=np.int64),
                         np.array(slots, dtype=np.int64), _stack(floats, rows, np.uint64),
                         _stack(ints, rows, np.int64), _stack(codes, rows, np.int64),
                         np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8),
                         string_at, pos, inv)
    else:
        ends[:] = 0
    return _split(out, ends)


def _split(out: np.ndarray, ends: np.ndarray) -> list[str]:
    """The filler's buffer cut at each group's end, as text."""
    texts = []
    start = 0
    for end in ends.tolist():
        texts.append(out[start:end].tobytes().decode())
        start = end
    return texts


def _cells(col: np.ndarray, table: list[str]) -> tuple[int, np.ndarray, int] | None:
    """(kind, values, widest cell) of a (n, kept) column; strings become codes into
    `table` (extended here). None: a kind the filler does not write."""
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
        values = flat.tolist()
        # Keyed by value as jsonout's cache is (1, 1.0 and True share a token there too).
        first = list(dict.fromkeys(values))
        base = len(table)
        codes = {}
        for i, key in enumerate(first):
            value = key.item() if isinstance(key, np.generic) else key
            try:
                table.append(json_text(finite_or_none(value), indent=2))
            except (TypeError, ValueError):
                return None
            codes[key] = base + i
        return ft.STRING, np.fromiter(map(codes.__getitem__, values), dtype=np.int64,
                                      count=len(values)), 0
    return None


def _stack(columns: list[np.ndarray], rows: int, dtype: type) -> np.ndarray:
    if not columns:
        return np.zeros((1, max(1, rows)), dtype=dtype)
    return np.ascontiguousarray(np.stack(columns))


def json_vectors(values: np.ndarray, indent: str) -> list[str]:
    """Per row of a (n, D) float array (D >= 1), its numbers one a line at `indent`, joined
    by ",\\n": the inside of the list json.dumps(row.tolist(), indent=...) writes there."""
    n, D = values.shape
    rows = n * D
    pieces = [indent.encode(), b""]
    piece_at = np.array([0, len(pieces[0]), len(pieces[0])], dtype=np.int64)
    out = np.empty(max(1, rows * (len(indent) + ft.FLOAT_WIDTH + 2)), dtype=np.uint8)
    ends = np.empty(n, dtype=np.int64)
    pos, inv = ft.pow5_tables()
    floats = np.ascontiguousarray(values, dtype=np.float64).reshape(1, rows).view(np.uint64)
    ft.fill_rows.jit(out, ends, D, np.frombuffer(b"".join(pieces), dtype=np.uint8), piece_at,
                     np.array([ft.FLOAT], dtype=np.int64), np.zeros(1, dtype=np.int64),
                     floats, np.zeros((1, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64),
                     np.zeros(1, dtype=np.uint8), np.zeros(1, dtype=np.int64), pos, inv)
    return _split(out, ends)
