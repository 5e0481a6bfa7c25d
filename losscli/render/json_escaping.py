"""Whether JSON text escapes non-ASCII characters (`\\u00fc`): the CLI sets it for a stdout
whose encoding cannot write every character (PYTHONIOENCODING=ascii, a latin-1 terminal), so
that a file name with an umlaut does not end a batch half-way with exit 6 (QA18 M5). The
same JSON either way; UTF-8 output keeps the characters as they are.

A file name whose bytes are not valid UTF-8 reaches Python as lone surrogates (U+DC80 to
U+DCFF, `os.fsdecode`'s surrogateescape): those are always written as `\\udcXX` escapes, so
that the JSON stays valid UTF-8 (a raw byte 0xE9 from `caf\\xe9.json` made the whole line
unreadable to a strict reader) and Python's `json.loads` gives back the name that
`os.fsencode` turns into the file's own bytes."""

from __future__ import annotations

import codecs
import json
import re
from contextvars import ContextVar
from typing import Any

ESCAPE_NON_ASCII: ContextVar[bool] = ContextVar("losscli_escape_non_ascii", default=False)


def writes_unicode(stream: Any) -> bool:
    """Whether a text stream's encoding writes every character (a UTF codec)."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name.startswith(
            "utf")
    except LookupError:
        return False


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(doc: Any, indent: int | None = None) -> str:
    """Strict JSON (no NaN): non-ASCII escaped where stdout cannot write it (ESCAPE_NON_ASCII),
    lone surrogates always."""
    text = json.dumps(doc, indent=indent, allow_nan=False, ensure_ascii=ESCAPE_NON_ASCII.get())
    if text.isascii():
        return text
    return _SURROGATE.sub(_escaped, text)
