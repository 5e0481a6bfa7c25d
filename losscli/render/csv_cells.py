"""One CSV cell from one value, and the rows around them, the same in every command's CSV."""

from __future__ import annotations

import csv
import io
import math
from typing import Any, TextIO

from losscli.render.json_escaping import json_text


def csv_cell(value: Any) -> Any:
    """The cell for a value: empty for None and for a float that is not finite (JSON's null),
    a float by repr (every digit), a boolean as JSON writes it (`true`, `false`: Python's
    `True` is not what pandas or a JSON reader of the same run expects), a list as compact
    JSON; anything else as the csv module writes it."""
    if value is None:
        return ""
    if _is_boolean(value):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, list):
        return json_text([v if v is None or math.isfinite(v) else None for v in value])
    return value


def cell_text(value: Any) -> str:
    """A value inside a cell's text (`swap=false`, `margin 1.0 -> 0.05`): a boolean, null or
    number as JSON writes it, a string as it is (Python's `False` and `None` were written)."""
    if isinstance(value, str):
        return value
    if _is_boolean(value):
        return "true" if value else "false"
    return json_text(value)


def _is_boolean(value: Any) -> bool:
    # numpy's booleans without importing numpy (`losses -f csv` never loads it): its type is
    # named bool_ before numpy 2, bool since
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")


class RowWriter:
    """csv.writer's rows, each ended by "\n", that also quote a field holding a bare "\r".

    The csv module quotes a field holding its delimiter, its quote or a character of its line
    terminator: with "\n" rows a "\r" (a file name, a message) went out unquoted, and
    csv.reader, pandas and spreadsheets split the row there. Rows are written as the csv
    module writes them and their text looked at once; only where it holds a "\r" is each row
    written again by a writer ending rows in "\r\n" (which quotes it), that ending made "\n".
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._scratch = io.StringIO()
        self._plain = csv.writer(self._scratch, lineterminator="\n")
        self._quoting = csv.writer(self._scratch, lineterminator="\r\n")

    def writerow(self, row: Any) -> None:
        """Write one row (its cells as the csv module takes them)."""
        self.writerows((row,))

    def writerows(self, rows: Any) -> None:
        """Write each row of an iterable, at the csv module's own speed where no cell's text
        holds a "\r" (a number's never does)."""
        rows = list(rows)
        self._plain.writerows(rows)
        text = self._taken()
        if "\r" not in text:
            self._out.write(text)
            return
        for row in rows:
            self._quoting.writerow(row)
            self._out.write(self._taken()[:-2] + "\n")

    def _taken(self) -> str:
        """What the scratch buffer holds, which it then forgets."""
        text = self._scratch.getvalue()
        self._scratch.seek(0)
        self._scratch.truncate()
        return text
