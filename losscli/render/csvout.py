"""CSV output: one row per term, with the example's index and loss, written a block of
examples at a time (`csv_chunks`); with --terms none one row per example. Large outputs'
terms go through the compiled filler (render/csv_rows.py), the same bytes as the csv module
writes here."""

from __future__ import annotations

import io
from collections.abc import Iterator
from itertools import repeat
from typing import Any

import numpy as np

from losscli.model import Result
from losscli.render import csv_rows, row_filler
from losscli.render.breakdown import Block, TermsView, blocks, left_out
from losscli.render.csv_cells import RowWriter, csv_cell
from losscli.render.jsonout import finite_or_none


def csv_chunks(result: Result, view: TermsView = TermsView(),
               order: list[int] | None = None) -> Iterator[str]:
    """compute's CSV, a block of examples at a time: one row per term (example, its loss,
    role, index, then the breakdown columns, and grad_norm under --grad); under --terms none
    one row per example (example, its loss). `order`: only those examples, in that order.
    """
    from losscli.render.gradients import term_norms

    terms = result.terms
    buf = io.StringIO()
    writer = RowWriter(buf)
    losses = result.per_example.tolist()
    if view.mode == "none":
        writer.writerow(["example", "example_loss"])
        writer.writerows((b, csv_cell(finite_or_none(losses[b])))
                         for b in (range(len(losses)) if order is None else order))
        yield buf.getvalue()
        return
    names = list(terms.names)
    norms_wanted = result.gradients is not None
    writer.writerow(["example", "example_loss", "role", "index", *names,
                     *(["grad_norm"] if norms_wanted else [])])
    shown = result.batch if order is None else len(order)
    fill = row_filler.wanted(shown * (terms.count - left_out(result, view))
                             * (len(names) + 4 + norms_wanted))
    labels: list[str] = []  # the terms' role and index cells, made once, on first use
    role, index = np.array(terms.role, dtype=object), np.array(terms.index, dtype=object)
    for block in blocks(result, view, order=order):
        norms = term_norms(result, block)
        filled = None
        if fill and block.order.shape[1]:
            if not labels:
                labels += csv_rows.labels(terms.role, terms.index)
            filled = csv_rows.csv_terms(labels, block, names,
                                        result.per_example[block.start:block.start + block.n],
                                        norms)
        if filled is None:
            _write_rows(writer, block, role[block.order].tolist(),
                        index[block.order].tolist(),
                        [block.columns[n] for n in names]
                        + ([] if norms is None else [norms]), losses)
        # the filled text straight out, not through the buffer (a copy of megabytes a
        # block); the buffer holds the header before the first block
        yield buf.getvalue() + ("" if filled is None else "".join(filled))
        buf.seek(0)
        buf.truncate()


def _write_rows(writer: Any, block: Block, roles: list[list[Any]], indices: list[list[Any]],
                values: list[np.ndarray], losses: list[float]) -> None:
    """A block's rows through the csv module (small outputs, and columns the filler does
    not write): per kept term its role and index, then the (n, kept) `values` columns."""
    columns = [_cells(v) for v in values]
    for r in range(block.n):
        b = block.start + r
        loss = csv_cell(finite_or_none(losses[b]))
        writer.writerows(zip(repeat(b), repeat(loss), roles[r], indices[r],
                             *(col[r] for col in columns)))


def _cells(values: np.ndarray) -> list[list[Any]]:
    """A (n, kept) column as csv_cell writes each value, whole rows at a time: floats as
    they are (the csv module writes repr's digits), not finite ones empty, booleans as
    true/false (a term's cells one by one through csv_cell made CSV 6x slower than JSON)."""
    kind = values.dtype.kind
    if kind == "b":
        return np.where(values, "true", "false").tolist()
    if kind in "iu":
        return values.tolist()
    if kind == "f":
        finite = np.isfinite(values)
        if finite.all():
            return values.astype(np.float64).tolist()
        return np.where(finite, values.astype(object), "").tolist()
    return [[csv_cell(v) for v in row] for row in values.tolist()]

