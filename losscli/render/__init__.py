"""Rendering a Result: JSON (schema 1), CSV, and rich tables; the one TTY check."""

from __future__ import annotations

import os
import sys
from typing import IO

from losscli.errors import UsageError

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
                   stream: IO[str] | None = None,
                   allowed: tuple[str, ...] = ("table", "json", "jsonl", "csv")) -> str:
    """auto: from --out's suffix, else a table on a TTY, else `default_piped`.

    `allowed`: the formats the command writes. A --format outside them, or an --out whose
    suffix names none of them (`.npy`, `.md`, no suffix), is a usage error that lists what
    is accepted: an output is never written in a format nobody asked for.
    """
    choices = ", ".join(("auto", *allowed))
    if fmt != "auto":
        if fmt not in allowed:
            raise UsageError(f"--format got {fmt!r}", f"choose one of {choices}")
        return fmt
    if out is not None and out != "-":
        suffix = os.path.splitext(out)[1].lower()
        found = SUFFIX_FORMATS.get(suffix)
        if found not in allowed:
            if os.path.isdir(out):  # a directory, suffix or not: that is what is wrong
                from losscli.render.atomic_file import check_target

                check_target(out, force=True)  # exit 6: "is a directory" (or a link to one)
            suffixes = ", ".join(s for s, f in SUFFIX_FORMATS.items() if f in allowed)
            named = f"suffix {suffix!r}" if suffix else "no suffix"
            raise UsageError(f"--out {out} has {named}, which names no format this command "
                             f"writes", f"use a suffix of {suffixes}, or give --format "
                             f"({', '.join(allowed)})")
        return found
    return "table" if is_tty(stream) else default_piped
