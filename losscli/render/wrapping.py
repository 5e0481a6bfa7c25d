"""Plain text laid out for a terminal: each line that is wider than the terminal wrapped at
its spaces, its continuation indented under the line's own text, so that a terminal never
breaks a word (`explain` on a terminal; a file or a pipe gets the text as it is)."""

from __future__ import annotations

import textwrap

# A continuation line starts this much further in than its line (a hanging indent).
HANG = 2


def wrapped(text: str, width: int) -> str:
    """`text` with every line wider than `width` wrapped at its spaces; a word longer than
    the room (a library's call, a path) is broken where the terminal would break it, and its
    rest indented as a continuation."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip(" "))]
        hang = indent + " " * HANG
        if width - len(hang) < 20:  # too narrow to hang: continue at the line's indent
            hang = indent
        out.append(textwrap.fill(line.strip(" "), width=width, initial_indent=indent,
                                 subsequent_indent=hang, break_long_words=True,
                                 break_on_hyphens=False))
    return "\n".join(out)


__all__ = ["wrapped"]
