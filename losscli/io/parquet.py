"""Parquet and Arrow IPC tables (`losscli[parquet]`: pyarrow): one row per example, a column
per role (named by role, or mapped with `--map role=column`).

A vector is a list or fixed-size-list column ((B, D)); negatives a list of lists
((B, K, D)); a class index, label or score a numeric column ((B,)). Every row of a list
column must have the same length (a ragged row is named), and nulls are refused.
`columns_of` and `column_array` are what batch's row-group reader uses too
(batch/parquetrows.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import BadData
from losscli.io.containers import Container, require_extra
from losscli.io.formats import MAX_RANK, check_size

EXTRA = "parquet"
WHAT = {"parquet": "a Parquet file", "arrow": "an Arrow IPC file"}
ARROW_MAGIC = b"ARROW1"
ARROW_STREAM = b"\xff\xff\xff\xff"  # an IPC stream's first message (continuation marker)


def pyarrow(where: str, fmt: str = "parquet") -> Any:
    """pyarrow, or the refusal naming the extra."""
    return require_extra("pyarrow", EXTRA, WHAT[fmt], where)


def read_table(where: str, source: Any, fmt: str) -> Container:
    """The columns of a Parquet or Arrow IPC file (a path, or a file object), read when a
    role asks for them. A Parquet file stays open until the Container is closed; an Arrow
    file is read whole here."""
    pyarrow(where, fmt)
    release = None
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.ParquetFile(source)
            release = table.close
            names = list(table.schema_arrow.names)

            def column(name: str) -> Any:
                return table.read(columns=[name]).column(0)
        else:
            import pyarrow.ipc as ipc

            if hasattr(source, "read"):
                head = source.read(6)
                source.seek(0)
            else:
                with open(source, "rb") as fh:
                    head = fh.read(6)
            reader = ipc.open_file(source) if head == ARROW_MAGIC else ipc.open_stream(source)
            whole = reader.read_all()
            names = list(whole.schema.names)

            def column(name: str) -> Any:
                return whole.column(name)
    except BadData:
        if release is not None:
            release()
        raise
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds on a bad file
        if release is not None:
            release()
        raise BadData(f"not a readable {WHAT[fmt].split(' ', 1)[1]} ({_short(exc)})",
                      "re-write it with pyarrow", where=where) from None
    return Container(names, lambda name: column_array(column(name), f"{where}:{name}"),
                     close=release)


def column_array(column: Any, where: str, first_row: int = 0) -> np.ndarray:
    """A column (list, fixed-size-list, nested, or numeric) as an array (rows, ...).

    A null or a ragged list is refused naming its row, counted from `first_row` (batch
    reads a row group at a time: rows are still the file's), and its place in the row.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    shape = [len(arr)]
    while pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or \
            pa.types.is_fixed_size_list(arr.type):
        if arr.null_count:
            raise BadData(_nulls(arr, shape, first_row), "fill or drop the rows with nulls",
                          where=where)
        if len(shape) > MAX_RANK:
            raise BadData(f"lists nested deeper than {MAX_RANK} levels",
                          "roles have at most 3 dimensions (B, K, D)", where=where)
        if pa.types.is_fixed_size_list(arr.type):
            width = arr.type.list_size
        else:
            lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)
            width = int(lengths[0]) if len(lengths) else 0
            ragged = np.flatnonzero(lengths != width)
            if ragged.size:
                bad = int(ragged[0])
                raise BadData(f"ragged list column: {_place(bad, shape, first_row)} has "
                              f"length {int(lengths[bad])}, {_place(0, shape, first_row)} "
                              f"has {width}", "give every row the same length", where=where)
        shape.append(width)
        arr = arr.flatten()
    if arr.null_count:
        raise BadData(_nulls(arr, shape, first_row), "fill or drop them", where=where)
    if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        raise BadData(f"column type {column.type} is not accepted",
                      "give numbers, or lists of numbers, per row", where=where)
    check_size(tuple(shape), where)
    return arr.to_numpy(zero_copy_only=False).reshape(shape)


def _nulls(arr: Any, shape: list[int], first_row: int) -> str:
    """Where the first null of a (flattened) level is, and how many there are."""
    first = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0])
    more = f" ({arr.null_count} nulls in all)" if arr.null_count > 1 else ""
    return f"{_place(first, shape, first_row)} is null{more}"


def _place(index: int, shape: list[int], first_row: int) -> str:
    """An index into a level flattened from rows of `shape` (every level above it checked
    to be of one width) as `row R` or `row R at [i, ...]`, R counted in the file."""
    at = np.unravel_index(index, shape)
    row = f"row {first_row + int(at[0])}"
    return row if len(at) == 1 else f"{row} at [{', '.join(str(int(i)) for i in at[1:])}]"


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


__all__ = ["ARROW_MAGIC", "ARROW_STREAM", "column_array", "pyarrow", "read_table"]
