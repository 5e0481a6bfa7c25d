"""One CSV cell from one value, the same in every command's CSV."""

from __future__ import annotations

import math
from typing import Any

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
