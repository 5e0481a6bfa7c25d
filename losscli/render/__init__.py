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


FORMAT_NAMES = {"json": "JSON", "jsonl": "JSON Lines", "csv": "CSV", "table": "a text table"}


def suffix_mismatch(fmt: str, out: str | None) -> str | None:
    """The warning for an --out whose suffix names another format than the one written
    (`--out r.csv -f json`): the file is written as asked, but a reader that goes by its
    name would misread it. None when the suffix names this format, or none at all."""
    if out is None or out == "-":
        return None
    suffix = os.path.splitext(out)[1].lower()
    named = SUFFIX_FORMATS.get(suffix)
    if named is None or named == fmt:
        return None
    own = next((s for s, f in SUFFIX_FORMATS.items() if f == fmt), None)
    fix = f"name it {os.path.splitext(out)[0]}{own}" if own else "rename it"
    return (f"--out {out} gets {FORMAT_NAMES.get(fmt, fmt)} (--format {fmt}) though its "
            f"suffix {suffix} names {FORMAT_NAMES[named]}; {fix} for what it holds")
