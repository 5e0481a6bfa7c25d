"""compute's CSV rows of a block of examples written by the compiled template filler
(render/row_filler.py), as the JSON terms are: with --terms all an in-batch loss has millions
of terms, and the csv module's repr of each float made CSV six times slower than JSON.

The text is byte for byte what csvout's Python path writes (tests/cli/test_csv_terms_text.py
compares them): a float by repr and a non-finite one empty, booleans true/false, ints by str,
and every string cell (roles, indices, object columns after csv_cell) written by the csv module
itself, once per distinct text, so that its quoting is the module's. A block with a column the
filler does not write, and outputs below the jit threshold, take the Python path.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from losscli.render import row_filler
from losscli.render.breakdown import Block
from losscli.render.csv_cells import RowWriter, csv_cell


def labels(role: Sequence[Any], index: Sequence[Any]) -> list[str]:
    """The terms' role cells then their index cells, as csvout's rows write them (the values
    straight to the csv module, not through csv_cell)."""
    roles, at = _cells(list(role))
    indices, at_index = _cells(list(index))
    return [roles[i] for i in at.tolist()] + [indices[i] for i in at_index.tolist()]


def csv_terms(labels: list[str], block: Block, names: Sequence[str], losses: np.ndarray,
              norms: np.ndarray | None) -> list[str] | None:
    """Per example of the block, its rows (example, example_loss, role, index, the `names`
    columns, then `norms` as grad_norm where given), each ending in "\\n"; `losses` the
    block's per-example losses, `labels` from labels(). None when a column is of a kind the
    filler does not write."""
    shape = block.order.shape
    example = np.broadcast_to((block.start + np.arange(block.n))[:, None], shape)
    columns: list[np.ndarray | str] = [
        example, np.broadcast_to(np.asarray(losses)[:, None], shape), row_filler.ROLE,
        row_filler.INDEX, *(block.columns[name] for name in names),
        *([] if norms is None else [norms])]
    pieces = ["", *[","] * (len(columns) - 1), "\n"]
    return row_filler.fill_terms(labels, block, columns,
                                 row_filler.Layout(pieces, "", "", _column_cells))


def _column_cells(values: list[Any]) -> tuple[list[str], np.ndarray] | None:
    """An object or string column's distinct cells and each value's position: csv_cell's
    value, then the csv module's text of it (a column of plain strings skips csv_cell, which
    leaves a string as it is)."""
    if not _strings(values):
        try:
            values = list(map(csv_cell, values))
        except (TypeError, ValueError):  # the Python path says what is wrong
            return None
    return _cells(values)


def _cells(values: list[Any]) -> tuple[list[str], np.ndarray]:
    """The distinct cells the csv module writes for these values, each written by the
    module once, and each value's position among them. Values are told apart by the field
    the module makes of them (a string as it is, None empty, a float by repr, anything else
    by str): 0.0 and -0.0, 1 and True are the same key of a dict but not the same cell."""
    keys = values if _strings(values) else list(map(_field, values))
    distinct = dict(zip(keys, values, strict=True))  # a value of each field, in first order
    buffer = io.StringIO()
    writer = RowWriter(buffer)
    texts = [_written(writer, buffer, value) for value in distinct.values()]
    at = {key: i for i, key in enumerate(distinct)}
    return texts, np.fromiter(map(at.__getitem__, keys), dtype=np.int64, count=len(keys))


def _strings(values: list[Any]) -> bool:
    """Whether every value is a plain str (its own field and its own key)."""
    return set(map(type, values)) <= {str}


def _field(value: Any) -> str:
    """The text the csv module makes of a value before quoting it."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _written(writer: Any, buffer: io.StringIO, value: Any) -> str:
    """One value's cell as the csv module writes it among others (QUOTE_MINIMAL: quoted
    where it holds a comma, a quote or a line break, its quotes doubled). Written after an
    empty first cell: a row of one empty cell is quoted ("") where a cell among others is
    not."""
    buffer.seek(0)
    buffer.truncate()
    writer.writerow(("", value))
    return buffer.getvalue()[1:-1]
