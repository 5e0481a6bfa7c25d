"""Rich tables for a person at a terminal: the per-term breakdown of the first examples."""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from losscli.model import Result
from losscli.render.breakdown import TermsView, blocks, left_out, says_left_out
from losscli.render.fitted import as_text, fitted

DEFAULT_SHOWN = 5


def fmt_number(value: object, digits: int = 6) -> str:
    """A table cell: yes/no for booleans, `digits` significant digits for floats, - for
    non-finite ones.
    """
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return "-" if not math.isfinite(v) else f"{v:.{digits}g}"
    return str(value)


def _value_text(value: float | list[float]) -> str:
    if isinstance(value, list):
        shown = ", ".join(fmt_number(v, 10) for v in value[:8])
        return f"[{shown}{', ...' if len(value) > 8 else ''}]"
    return "null (not finite)" if not math.isfinite(value) else repr(value)


def build(result: Result, shown: int = DEFAULT_SHOWN, view: TermsView = TermsView(),
          order: list[int] | None = None) -> list:
    """The renderables: a header, one table per shown example, a summary of the rest.
    `order`: the examples to show, in that order (--worst, --best), instead of the first."""
    from losscli.render.gradients import hardest_push, role_norms, term_norms

    params = ", ".join(f"{k}={v}" for k, v in result.params.items())
    parts: list = [Text(f"{result.loss}  ({params})", style="bold")]
    if result.convention is not None:
        parts.append(Text(f"like {result.convention['library']}: {result.convention['api']}"))
    parts.append(Text(f"value ({result.reduction}) = {_value_text(result.value)}"))
    if result.emulation is not None:
        from losscli.render.emulation import emulation_line

        parts.append(Text(emulation_line(result.emulation)))
    B = result.batch
    count = B if shown <= 0 else min(shown, B)
    names = list(result.terms.names)
    missing = left_out(result, view)
    if order is not None:
        count = len(order)
    for block in blocks(result, view, 0, count, order=order):
        norms = term_norms(result, block)
        kept = block.order.tolist()
        for r in range(block.n):
            b = block.start + r
            loss = fmt_number(float(result.per_example[b]), 10)
            title = f"example {b}: loss {loss}" if B > 1 else f"loss {loss}"
            if result.ignored is not None and result.ignored[b]:
                title += " (ignored)"
            if view.mode == "none":
                parts.append(Text(title))
                continue
            table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
            table.add_column("role")
            table.add_column("#", justify="right")
            for name in names:
                table.add_column(name, justify="right")
            if norms is not None:
                table.add_column("|grad|", justify="right")
            roles = [result.terms.role[t] for t in kept[r]]
            indices = [result.terms.index[t] for t in kept[r]]
            for c in range(len(roles)):
                cells = [fmt_number(block.columns[n][r, c]) for n in names]
                if norms is not None:
                    cells.append(fmt_number(float(norms[r, c])))
                table.add_row(roles[c], str(indices[c]), *cells)
            parts.append(fitted(table, keys=2))  # role and # stay with every group of columns
            if missing:
                parts.append(Text(f"... {missing} more terms (--terms all for every term)",
                                  style="dim"))
            elif says_left_out(view, missing):  # as the JSON's terms_left_out: 0
                parts.append(Text(f"(no terms left out: --top {view.top} keeps all "
                                  f"{result.terms.count})", style="dim"))
            if norms is not None:
                by_role = ", ".join(f"{role} {fmt_number(v)}"
                                    for role, v in role_norms(result, b).items())
                line = f"gradient norms: {by_role}"
                push = hardest_push(roles, indices, norms[r])
                if push:
                    line += f"; pushes hardest: {push}"
                parts.append(Text(line))
    if count < B:
        per = result.per_example
        finite = per[np.isfinite(per)]
        summary = f"... {B - count} more examples (--show 0 for all)" if order is None \
            else f"... {B - count} other example(s) not shown"
        if finite.size:
            summary += (f"; loss over all {B}: mean {fmt_number(float(finite.mean()))}, "
                        f"min {fmt_number(float(finite.min()))}, "
                        f"max {fmt_number(float(finite.max()))}")
        parts.append(Text(summary, style="dim"))
    return parts


def print_table(result: Result, console: Console, shown: int = DEFAULT_SHOWN,
                view: TermsView = TermsView(), order: list[int] | None = None) -> None:
    """Print compute's tables: the header, one table per shown example, a summary of the rest."""
    for part in build(result, shown, view, order):
        console.print(part)


def render_table(result: Result, shown: int = DEFAULT_SHOWN, width: int = 120,
                 view: TermsView = TermsView(), order: list[int] | None = None) -> str:
    """The table as plain text (for --out or tests)."""
    return as_text(lambda console: print_table(result, console, shown, view, order), width)
