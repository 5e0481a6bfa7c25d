"""JSON output of `compute`, schema 1 (CONTRACT.md): strict JSON, full float64 precision."""

from __future__ import annotations

import json
from typing import Any

from losscli.model import (  # noqa: F401 - csvout and explore import them from here
    SCHEMA,
    Result,
    column_lists,
    finite_or_none,
    result_to_dict,
)


def dumps(doc: Any, indent: int | None = 2) -> str:
    """Strict JSON text: a non-finite float anywhere is a bug, not a literal."""
    return json.dumps(doc, indent=indent, allow_nan=False, ensure_ascii=False)


def render_json(result: Result, order: list[int] | None = None) -> str:
    """compute's JSON as text, strict (no NaN)."""
    return dumps(result_to_dict(result, order=order)) + "\n"
