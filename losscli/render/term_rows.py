"""The terms of a block of examples, and their gradient vectors, as JSON text, written by the
compiled template filler (render/row_filler.py, kernels/float_text.py) instead of one Python
string per number: with --terms all an in-batch loss has millions of terms (--grad: B x D
numbers per role), and float.__repr__ alone costs ~0.5 us a number.

The text is byte for byte what jsonout's Python path writes (tests/cli/test_json_terms_text.py
compares them); a block with a column the filler does not write (unsigned 64-bit ints above
int64's range, long doubles, complex, ...) and blocks below the jit threshold go through that
Python path.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from losscli.kernels import float_text as ft
from losscli.model import finite_or_none
from losscli.render import row_filler
from losscli.render.breakdown import Block
from losscli.render.json_escaping import json_text


def labels(role: tuple[str, ...], index: tuple[Any, ...]) -> list[str]:
    """The terms' role tokens (JSON strings) then their index tokens, for json_terms."""
    return [json.dumps(r) for r in role] + [str(i) for i in index]


def json_terms(labels: list[str], block: Block, indent: str) -> list[str] | None:
    """Per example of the block, its terms as jsonout lays them out (each term an object at
    `indent`, joined by ",\\n"; `labels` from labels()), or None when a column is of a kind
    the filler does not write."""
    names = list(block.columns)
    pieces = [indent + "{\n" + indent + '  "role": ', ",\n" + indent + '  "index": ']
    pieces += [",\n" + indent + "  " + json.dumps(name) + ": " for name in names]
    pieces.append("\n" + indent + "}")
    layout = row_filler.Layout(pieces, ",\n", "null", _json_objects)
    return row_filler.fill_terms(labels, block, [row_filler.ROLE, row_filler.INDEX,
                                                 *block.columns.values()], layout)


def _json_objects(values: list[Any]) -> tuple[list[str], np.ndarray] | None:
    """The distinct values' JSON texts and each value's position among them; None where a
    value has no JSON text."""
    # Keyed by value as jsonout's cache is (1, 1.0 and True share a token there too).
    first = list(dict.fromkeys(values))
    texts = []
    for key in first:
        value = key.item() if isinstance(key, np.generic) else key
        try:
            texts.append(json_text(finite_or_none(value), indent=2))
        except (TypeError, ValueError):
            return None
    at = {key: i for i, key in enumerate(first)}
    return texts, np.fromiter(map(at.__getitem__, values), dtype=np.int64, count=len(values))


def json_vectors(values: np.ndarray, indent: str) -> list[str]:
    """Per row of a (n, D) float array (D >= 1), its numbers one a line at `indent`, joined
    by ",\\n": the inside of the list json.dumps(row.tolist(), indent=...) writes there."""
    n, D = values.shape
    floats = np.ascontiguousarray(values, dtype=np.float64).reshape(-1).view(np.uint64)
    layout = row_filler.Layout([indent, ""], ",\n", "null", _json_objects)
    return row_filler.fill([(ft.FLOAT, floats, ft.FLOAT_WIDTH)], [], n, D, layout)
