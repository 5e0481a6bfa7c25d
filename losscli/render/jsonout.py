"""JSON output of `compute`, schema 1 (CONTRACT.md): strict JSON, full float64 precision.

The document is written as it is computed, a block of examples at a time (`json_chunks`):
the breakdown is never a list of dicts for the whole batch, so memory does not grow with
B x T. The text is the same as json.dumps(document, indent=2) would give.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.model import (  # noqa: F401 - csvout and explore import them from here
    SCHEMA,
    Result,
    column_lists,
    finite_list,
    finite_or_none,
    result_head,
    result_to_dict,
)
from losscli.render import row_filler, term_rows
from losscli.render.breakdown import Block, TermsView, blocks, left_out, says_left_out
from losscli.render.json_escaping import json_text

EXAMPLE_INDENT = " " * 4
TERM_INDENT = " " * 8
GRADIENTS_INDENT = EXAMPLE_INDENT + "  "


def dumps(doc: Any, indent: int | None = 2) -> str:
    """Strict JSON text: a non-finite float anywhere is a bug, not a literal."""
    return json_text(doc, indent)


def head(result: Result, view: TermsView | None = None) -> dict[str, Any]:
    """The document without its examples and warnings, in schema 1's key order."""
    doc = result_head(result)
    if view is not None:
        missing = left_out(result, view)
        if says_left_out(view, missing):
            doc["terms_left_out"] = missing * result.batch
    return doc


def json_chunks(result: Result, view: TermsView = TermsView(),
                order: list[int] | None = None) -> Iterator[str]:
    """The compute document as text, piece by piece (json.dumps(doc, indent=2)'s layout).

    With `view` mode none and no gradients the document has no `examples`. `order`: only
    those examples, in that order (--worst, --best).
    """
    doc = head(result, view)
    examples = view.mode != "none" or result.gradients is not None
    if examples:
        doc["examples"] = []
    doc["warnings"] = list(result.warnings)
    if not examples:
        yield dumps(doc) + "\n"
        return
    text = dumps(doc)
    marker = '\n  "examples": [],\n'
    before, after = text.split(marker)
    yield before + '\n  "examples": ['
    first = True
    missing = left_out(result, view)
    shown = result.batch if order is None else len(order)
    fill = row_filler.wanted(shown * (result.terms.count - missing)
                            * (len(result.terms.names) + 2))
    filled_grads = _fills_gradients(result.gradients, shown)
    labels: list[str] = []  # the terms' role and index tokens, made once, on first use
    for block in blocks(result, view, order=order):
        out = []
        for example in _examples(result, block, missing if says_left_out(view, missing)
                                 else None, labels, fill, filled_grads):
            out.append(("\n" if first else ",\n") + example)
            first = False
            if fill:  # examples of thousands of terms: written one at a time
                yield out.pop()
        if out:
            yield "".join(out)
    yield ("]" if first else "\n  ]") + ",\n" + after + "\n"


def jsonl_chunks(result: Result, view: TermsView = TermsView(),
                 order: list[int] | None = None) -> Iterator[str]:
    """The compute document on one line (`-f jsonl`, a record to append to a log): the
    same document as json_chunks, its layout's newlines and indents dropped, and a comma's
    followed by one space, as json.dumps (and batch's records) write it. A JSON string never
    holds a raw newline, so every newline is layout, and the spaces after one too (the
    chunks begin with a comma where they follow an item, never end with one)."""
    for chunk in json_chunks(result, view, order):
        yield _LAYOUT.sub("", _AFTER_COMMA.sub(", ", chunk))
    yield "\n"


_AFTER_COMMA = re.compile(r",\n *")
_LAYOUT = re.compile(r"\n *")


def _examples(result: Result, block: Block, missing: int | None, labels: list[str],
              fill: bool = False, filled_grads: bool = False) -> Iterator[str]:
    """Each example of a block as indented JSON text (4 spaces in, as in the document).
    `missing`: its terms_left_out, None where the output does not say it. With `fill` the
    terms go through the compiled filler, and with `filled_grads` the gradients (one (D,)
    vector per role and example). `labels`: term_rows.labels of the
    terms, filled here on first use and kept by the caller for the next blocks (an in-batch
    loss has 2B - 1 terms: made per block they took minutes at B = 20,000)."""
    shown = block.order.shape[1] > 0
    if shown and not labels:
        labels += term_rows.labels(result.terms.role, result.terms.index)
    filled = term_rows.json_terms(labels, block, TERM_INDENT) if fill and shown else None
    if filled is None and shown:
        T = len(labels) // 2
        names = list(block.columns)
        template = ",\n".join(
            [TERM_INDENT + "{\n" + TERM_INDENT + '  "role": %s',
             TERM_INDENT + '  "index": %s']
            + [TERM_INDENT + "  " + json.dumps(name) + ": %s" for name in names]) \
            + "\n" + TERM_INDENT + "}"
        cells = [_tokens(block.columns[name]) for name in names]
        order = block.order.tolist()
    grads = result.gradients
    grad_texts = _gradient_texts(grads, block) if filled_grads else None
    ignored = result.ignored
    per_example = result.per_example
    for r in range(block.n):
        b = block.start + r
        lines = [EXAMPLE_INDENT + "{", f'{EXAMPLE_INDENT}  "index": {b},',
                 f'{EXAMPLE_INDENT}  "loss": {_number(float(per_example[b]))},']
        if ignored is not None and ignored[b]:
            lines.append(f'{EXAMPLE_INDENT}  "ignored": true,')
        if filled is not None:
            rows = [filled[r]] if filled[r] else []
        elif shown:
            rows = [template % (labels[t], labels[T + t], *(col[r][c] for col in cells))
                    for c, t in enumerate(order[r])]
        else:
            rows = []
        tail = []
        if missing is not None:  # said (even 0) under --terms top: says_left_out
            tail.append(f'{EXAMPLE_INDENT}  "terms_left_out": {missing}')
        if grad_texts is not None:
            tail.append(f'{EXAMPLE_INDENT}  "gradients": '
                        + "{\n" + ",\n".join(f"{key}{texts[r]}"
                                              for key, texts in grad_texts)
                        + "\n" + GRADIENTS_INDENT + "}")
        elif grads is not None:
            tail.append(f'{EXAMPLE_INDENT}  "gradients": '
                        + _indented(dumps({k: finite_list(g[b]) for k, g in grads.items()}),
                                    GRADIENTS_INDENT))
        terms_text = "[]" if not rows else "[\n" + ",\n".join(rows) + "\n" \
            + EXAMPLE_INDENT + "  ]"
        body = f'{EXAMPLE_INDENT}  "terms": {terms_text}'
        text = "\n".join(lines) + "\n" + ",\n".join([body, *tail]) + "\n" + EXAMPLE_INDENT \
            + "}"
        yield text


def _fills_gradients(grads: dict[str, np.ndarray] | None, shown: int) -> bool:
    """Whether the gradients of `shown` examples go through the compiled filler: enough
    numbers to pay for it, each role one (D,) float vector per example."""
    if grads is None or not shown:
        return False
    vectors = all(g.ndim == 2 and g.shape[1] > 0 and g.dtype.kind == "f"
                  and g.dtype.itemsize <= 8 for g in grads.values())
    return vectors and row_filler.wanted(shown * sum(g.shape[1] for g in grads.values()))


def _gradient_texts(grads: dict[str, np.ndarray], block: Block,
                    ) -> list[tuple[str, list[str]]]:
    """Per role, its key's line and each example's numbers, laid out as the Python path's
    json.dumps(indent=2) of {role: vector} placed at GRADIENTS_INDENT."""
    inner = GRADIENTS_INDENT + "  "
    close = "\n" + inner + "]"
    rows = slice(block.start, block.start + block.n)
    return [(inner + dumps(key) + ": [\n",
             [text + close for text in term_rows.json_vectors(g[rows], inner + "  ")])
            for key, g in grads.items()]


def _tokens(col: np.ndarray) -> list[list[str]]:
    """The cells of a (n, kept) column as JSON tokens."""
    kind = col.dtype.kind
    if kind == "b":
        return [["true" if v else "false" for v in row] for row in col.tolist()]
    if kind in "iu":
        return [[str(v) for v in row] for row in col.tolist()]
    if kind == "f":
        if np.isfinite(col).all():
            return [[float.__repr__(v) for v in row] for row in col.tolist()]
        return [[_number(v) for v in row] for row in col.tolist()]
    cache: dict[Any, str] = {}
    out = []
    for row in col.tolist():
        tokens = []
        for v in row:
            token = cache.get(v)
            if token is None:
                token = cache[v] = dumps(_plain_value(v))
            tokens.append(token)
        out.append(tokens)
    return out


def _plain_value(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        v = v.item()
    return finite_or_none(v)


def _number(v: float) -> str:
    return float.__repr__(v) if math.isfinite(v) else "null"


def _indented(text: str, prefix: str) -> str:
    """Multi-line JSON text placed at `prefix`'s depth (its first line follows a key)."""
    return text.replace("\n", "\n" + prefix)


def render_json(result: Result, view: TermsView = TermsView(),
                order: list[int] | None = None) -> str:
    """compute's JSON as text, strict (no NaN)."""
    return "".join(json_chunks(result, view, order))
