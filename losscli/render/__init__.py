"""Rendering a Result: JSON (schema 1), CSV, and rich tables; the one TTY check."""

from __future__ import annotations

import os
import sys
from typing import IO

FORMATS = ("auto", "table", "json", "jsonl", "csv")
SUFFIX_FORMATS = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".txt": "table"}


def is_tty(stream: IO[str] | None = None) -> bool:
    """Whether a person is reading: the one place that decides table versus JSON."""
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def resolve_format(fmt: str, out: str | None, default_piped: str = "json",
                   stream: IO[str] | None = None) -> str:
    """auto: from --out's suffix, else a table on a TTY, else `default_piped`."""
    if fmt != "auto":
        return fmt
    if out is not None:
        return SUFFIX_FORMATS.get(os.path.splitext(out)[1].lower(), default_piped)
    return "table" if is_tty(stream) else default_piped
