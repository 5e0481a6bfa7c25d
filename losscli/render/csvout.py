"""CSV output: one row per term, with the example's index and loss."""

from __future__ import annotations

import csv
import io

from losscli.model import Result
from losscli.render.jsonout import column_lists, finite_or_none


def render_csv(result: Result, order: list[int] | None = None) -> str:
    """compute's CSV: one row per term (example, its loss, role, index, then the breakdown
    columns, and grad_norm under --grad); `order`: only those examples, in that order.
    """
    terms = result.terms
    names = list(terms.columns)
    columns = [column_lists(terms.columns[n]) for n in names]
    from losscli.render.gradients import term_gradient_norms

    norms = term_gradient_norms(result)
    if norms is not None:
        names.append("grad_norm")
        columns.append(column_lists(norms))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["example", "example_loss", "role", "index", *names])
    losses = result.per_example.tolist()
    for b in range(len(losses)) if order is None else order:
        loss = finite_or_none(losses[b])
        for t in range(terms.count):
            cells = [_cell(col[b][t]) for col in columns]
            writer.writerow([b, _cell(loss), terms.role[t], terms.index[t], *cells])
    return buf.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value
