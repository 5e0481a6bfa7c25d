"""Tables that never cut a number, whatever the terminal's width.

rich fits a table that is too wide by narrowing its columns, and a number narrower than its
column loses its last digits to an ellipsis ("9.46085..." for 9.46085e-10). `fitted(table)`
lays the same table out at print time, for the width it is given:

1. as it is, when it fits with every number whole (numbers never wrap; text columns fold
   down to a few characters, never through a number they hold);
2. else in groups of columns, one under the other, each repeating the key columns (the
   example's role and index, a file's name) so that every row stays readable;
3. else vertically: one block per row, a `header  value` line per cell (the header above
   its value where even that is too wide).

Every number shown is whole; headers and text may wrap.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable, Iterable, Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

# A cell that is a number as the tables print them (1, -0.915041, 1.31423e-12, 14.2857, 50%),
# or "-" for a number that is not finite.
_NUMBER = re.compile(r"[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?%?|-")
_CHART = re.compile("[\u2580-\u259f\u2800-\u28ff ]+")
_NUMBER_WORD = re.compile(r"[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?%?")
# The narrowest a text column is folded to (or its longest number, if wider).
TEXT_MIN = 8
# The width below which prose (a text column with spaces) reads worse than a word folded.
PROSE_MIN = 20


def fitted(table: Table, keys: int = 1) -> Fitted:
    """`table`, laid out at print time so that no number is cut; `keys` leading columns are
    repeated in each group of columns when the table must be split."""
    return Fitted(table, keys)


class Fitted:
    """A rich renderable: the table laid out for the console's width when it is printed."""

    def __init__(self, table: Table, keys: int = 1) -> None:
        self.table = table
        self.keys = max(0, min(keys, len(table.columns) - 1))

    def __rich_console__(self, console: Console, options: ConsoleOptions,
                         ) -> Iterator[RenderableType]:
        yield from layout(self.table, self.keys, console, options)


def as_text(draw: Callable[[Console], None], width: int = 120) -> str:
    """What `draw` prints on a console, as plain text (tables written to --out). Here, not
    in render/table.py, so that `losses --out FILE` does not import numpy."""
    buf = io.StringIO()
    draw(Console(file=buf, width=width, markup=False, highlight=False, color_system=None))
    return buf.getvalue()


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return str(cell) if isinstance(cell, str) else ""


def _is_numeric(column: Column) -> bool:
    """A column kept whole: numbers, or a chart drawn in block characters (a bar, a
    sparkline), which folded would read as two bars."""
    cells = [_plain(c).strip() for c in column.cells]
    return bool(cells) and all(not c or _NUMBER.fullmatch(c) or _CHART.fullmatch(c)
                               for c in cells)


def _text_min(column: Column) -> int:
    """The narrowest a text column may fold to: TEXT_MIN, or its longest number."""
    longest = max((len(m.group(0)) for c in column.cells
                   for m in _NUMBER_WORD.finditer(_plain(c))), default=0)
    return max(TEXT_MIN, longest)


def _single_words(column: Column) -> bool:
    """A text column whose every cell is one word (no space to wrap at)."""
    return not _is_numeric(column) and all(len(_plain(c).split()) <= 1 for c in column.cells)


def _width(cell: object) -> int:
    return max((cell_len(line) for line in _plain(cell).splitlines()), default=0)


def _prepared(table: Table, columns: Iterable[int], widths: list[int] | None = None,
              first: bool = True) -> Table:
    """A copy of `table` with only `columns`: numbers never wrap, text folds, each column
    `widths[i]` wide when given."""
    out = copy.copy(table)
    out.columns = []
    for n, i in enumerate(columns):
        column = copy.copy(table.columns[i])
        column._index = n  # rich pads and measures a column by its place in the table
        if _is_numeric(column):
            column.no_wrap = True
        else:
            column.overflow = "fold"
        if widths is not None:
            column.width = widths[n]
            header = column.header
            if isinstance(header, str) and "_" in header and cell_len(header) > widths[n]:
                # narrower than its name: let it wrap between the name's words
                # ("false negative"), not fold mid-word ("false_negati" / "ve")
                column.header = header.replace("_", " ")
        out.columns.append(column)
    if not first:
        out.title = None
    return out


def _plan(table: Table, columns: list[int], width: int, console: Console,
          options: ConsoleOptions) -> list[int] | None:
    """Content widths for `columns` within `width` with every number whole (numeric
    columns as wide as their widest cell and header, text columns at least _text_min), or
    None when they cannot fit. An empty list: they fit as they are."""
    probe = _prepared(table, columns, [1] * len(columns), first=False)
    overhead = Measurement.get(console, options.update(width=10**6), probe).maximum \
        - len(columns)
    natural, least = [], []
    for i in columns:
        column = table.columns[i]
        wide = max([_width(column.header), *(_width(c) for c in column.cells)])
        natural.append(wide)
        least.append(wide if _is_numeric(column) else min(wide, _text_min(column)))
    room = width - overhead
    if sum(natural) <= room:
        return []
    if sum(least) > room:
        return None
    spare = room - sum(least)
    widths = list(least)
    wants = [n - m for n, m in zip(natural, least, strict=True)]
    # A column of single words (names, modes) can only fold through a word, prose wraps at
    # its spaces: the words get their whole width first (the narrowest first), from what
    # is left once the prose has PROSE_MIN columns to wrap in.
    words = [n for n, i in enumerate(columns) if _single_words(table.columns[i])]
    reserve = sum(min(natural[n], PROSE_MIN) - least[n] for n in range(len(columns))
                  if n not in words and not _is_numeric(table.columns[columns[n]])
                  and natural[n] > least[n])
    for n in sorted(words, key=lambda n: wants[n]):
        if 0 < wants[n] <= spare - reserve:
            widths[n] += wants[n]
            spare -= wants[n]
            wants[n] = 0
    total = sum(wants)
    for n, want in enumerate(wants):  # the spare room shared by what each would take
        widths[n] += want * spare // total if total else 0
    return widths


def layout(table: Table, keys: int, console: Console, options: ConsoleOptions,
           ) -> Iterator[RenderableType]:
    """The table whole if it fits; else groups of columns (the first `keys` repeated in
    each); else one block per row: never a cut number."""
    width = options.max_width
    everything = list(range(len(table.columns)))
    widths = _plan(table, everything, width, console, options)
    if widths is not None:
        yield _prepared(table, everything, widths or None)
        return
    groups = _groups(table, keys, width, console, options)
    if groups is not None:
        for n, (group, group_widths) in enumerate(groups):
            if n:
                yield Text("")
            yield _prepared(table, group, group_widths or None, first=n == 0)
        return
    yield from _vertical(table, width)


def _groups(table: Table, keys: int, width: int, console: Console, options: ConsoleOptions,
            ) -> list[tuple[list[int], list[int]]] | None:
    """Columns in groups that each fit after the key columns, with their widths; None when
    the keys and a single column do not fit."""
    key = list(range(keys))
    groups: list[tuple[list[int], list[int]]] = []
    current: list[int] = []
    plan: list[int] | None = None
    for i in range(keys, len(table.columns)):
        trial = _plan(table, key + current + [i], width, console, options)
        if trial is not None:
            current.append(i)
            plan = trial
            continue
        if not current or plan is None:
            return None
        groups.append((key + current, plan))
        current = [i]
        plan = _plan(table, key + current, width, console, options)
        if plan is None:
            return None
    if current and plan is not None:
        groups.append((key + current, plan))
    return groups


def _vertical(table: Table, width: int) -> Iterator[RenderableType]:
    """One block per row: `header  value` lines, or the header above its value."""
    if table.title:
        yield Text(_plain(table.title) or str(table.title))
    headers = [_plain(c.header) for c in table.columns]
    columns = [list(c.cells) for c in table.columns]
    label = max((len(h) for h in headers), default=0)
    values = max((len(_plain(cell)) for col in columns for cell in col), default=0)
    side_by_side = label + 2 + min(values, TEXT_MIN * 3) <= width
    rows = len(columns[0]) if columns else 0
    for r in range(rows):
        block = Table.grid(padding=(0, 2)) if side_by_side else None
        if block is not None:
            block.add_column(no_wrap=True)
            block.add_column(overflow="fold")
        lines: list[RenderableType] = []
        for header, column in zip(headers, columns, strict=True):
            cell = column[r]
            if block is not None:
                block.add_row(Text(header, style="dim"), cell)
            else:
                lines += [Text(header, style="dim"), cell]
        if r:
            yield Text("")
        yield block if block is not None else Group(*lines)
