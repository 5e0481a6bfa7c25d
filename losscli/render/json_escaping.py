"""Whether JSON text escapes non-ASCII characters (`\\u00fc`): the CLI sets it for a stdout
whose encoding cannot write every character (PYTHONIOENCODING=ascii, a latin-1 terminal), so
that a file name with an umlaut does not end a batch half-way with exit 6 (QA18 M5). The
same JSON either way; UTF-8 output keeps the characters as they are."""

from __future__ import annotations

import codecs
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
