"""JSON Lines as one input (`compute`): one example per line, each role stacked over lines.

`{"anchor": [...], "positive": [...], "negatives": [[...]]}` on every line is the batch
(B = lines): anchor (B, D), negatives (B, K, D), a class index per line a (B,) target. A
role that is not per example (`weight`, one per class) must be the same on every line and is
read once. Blank lines are skipped; a fault names its line as `FILE:LINE`. Each line's value
of a role is one example of it: io/rows.py checks that once the keys are read as roles, and
gives a bank role's single row its axis ((D,) negatives per line are K = 1, (B, 1, D)).

`batch` reads each line as its own input instead, and finds JSON Lines by content whatever
the file's name (`peek_lines`), from its first two non-blank lines: a pipe can be read once
only, so what was read to tell is handed back to be read again in front of the rest.
"""

from __future__ import annotations

import json
from typing import IO

import numpy as np

from losscli.errors import BadData
from losscli.io import formats
from losscli.io.containers import Container
from losscli.io.formats import inexact_integers, nested_to_array, parse_json
from losscli.model import SHARED_ROLES


def looks_like_lines(data: bytes) -> bool:
    """Whether a document that failed to parse as one JSON value is JSON Lines: its first
    non-blank line is an object and another non-blank line follows."""
    lines = [line for line in data.splitlines() if line.strip()]
    return len(lines) > 1 and lines[0].lstrip(b"\xef\xbb\xbf \t").startswith(b"{")


def starts_json_lines(first: bytes, second: bytes | None) -> bool:
    """Whether a text whose first two non-blank lines are these is JSON Lines.

    Yes when the first line is a JSON value by itself and another line follows: one JSON
    document cannot go on past a complete value (a pretty-printed one starts with a bare
    `{`, a one-line one has nothing after it). Also when the first line is a broken object
    and the second an object by itself: a bad line fails only its own record.
    """
    if second is None:
        return False
    if _whole_value(first):
        return True
    opens = first.lstrip(b"\xef\xbb\xbf \t").startswith(b"{")
    return opens and second.lstrip(b" \t").startswith(b"{") and _whole_value(second)


def _whole_value(line: bytes) -> bool:
    """Whether a line parses as one JSON value on its own (leniently: only the shape of
    the text matters here; each line is parsed strictly when it is evaluated)."""
    try:
        json.loads(line.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        return False
    return True


def peek_lines(stream: IO[bytes]) -> tuple[bool, list[bytes]]:
    """Whether a stream holds JSON Lines, and what was read to tell: whole lines (up to its
    second non-blank line), to be read again in front of the rest of it.

    Its first bytes are sniffed first: only JSON text is read on line by line, so a binary
    file costs 16 bytes (nothing is lost: they are handed back). Blank bytes in front do not
    count: JSON Lines after blank lines are JSON Lines (stdin's were always read so).
    """
    cap = formats.MAX_JSON_BYTES  # read at call time: tests lower the caps
    first = stream.read(16) or b""
    while first and not first.strip() and len(first) <= cap:
        more = stream.read(len(first))  # doubling: a long blank run costs few reads
        if not more:
            break
        first += more
    if formats.sniff(first) != "json":
        return False, [first] if first else []
    head = first.splitlines(keepends=True)
    if head and not head[-1].endswith(b"\n"):  # complete the line the 16 bytes cut
        head[-1] += stream.readline(cap + 1)
    found = [line for line in head if line.strip()][:2]
    read = sum(map(len, head))
    while len(found) < 2 and read <= cap and (not head or head[-1].endswith(b"\n")):
        line = stream.readline(cap + 1)
        if not line:
            break
        head.append(line)
        read += len(line)
        if line.strip():
            found.append(line)
    return len(found) == 2 and starts_json_lines(found[0], found[1]), head


class Lines(Container):
    """The keys of JSON Lines stacked over lines; a key whose values are not numbers of one
    shape on every line is refused only when a role reads it (one that is not a role, such
    as a string id, is ignored like the extra arrays of any other format)."""

    def __init__(self, keys: list[str], stacked: dict[str, np.ndarray],
                 refused: dict[str, BadData], inexact: dict[str, int],
                 first_line: int = 1) -> None:
        super().__init__(keys, self._array)  # in the first line's order, as written
        self._stacked = stacked
        # The number of the first line that holds an object (blank lines are skipped): a
        # value that is not one example is named there (io/rows.py).
        self.first_line = first_line
        self._refused = refused
        # Integers beyond 2^53 per key, counted before float64 dropped the mark.
        self.inexact = inexact

    def _array(self, key: str) -> np.ndarray:
        if key in self._refused:
            raise self._refused[key]
        return self._stacked[key]


def parse_json_lines(data: bytes, where: str, inexact: list[str] | None = None) -> Lines:
    """The lines' objects stacked by key (every line must have the same keys, and a key
    that is read the same shape on every line)."""
    rows: dict[str, list[np.ndarray]] = {}
    refused: dict[str, BadData] = {}
    counts: dict[str, int] = {}
    first: tuple[int, list[str]] | None = None
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        at = f"{where}:{number}"
        seen = len(inexact) if inexact is not None else 0
        doc = parse_json(line, at, "fix the JSON on this line (one object per line)", inexact,
                         one_line=True)
        if not isinstance(doc, dict):
            raise BadData("a line that is not a JSON object", "give one object keyed by role "
                          "per line", where=at)
        keys = list(doc)
        if first is None:
            first = (number, keys)
        elif sorted(keys) != sorted(first[1]):
            raise BadData(f"keys {', '.join(keys)} differ from line {first[0]}'s "
                          f"({', '.join(first[1])})", "give every line the same keys",
                          where=at)
        for key, value in doc.items():
            if inexact is not None and len(inexact) > seen:  # walked only on such lines
                counts[key] = counts.get(key, 0) + inexact_integers(value)
            if key in refused:
                continue
            try:
                _stack(rows.setdefault(key, []), key, value, at, first[0])
            except BadData as exc:  # refused if a role reads it; not a role, ignored
                refused[key] = exc
                rows.pop(key)
    if first is None:
        raise BadData("no JSON object in the file", "give one object keyed by role per line",
                      where=where)
    stacked = {key: arrs[0] if key in SHARED_ROLES else np.stack(arrs)
               for key, arrs in rows.items()}
    return Lines(first[1], stacked, refused, {k: n for k, n in counts.items() if n},
                 first[0])


def _stack(stacked: list[np.ndarray], key: str, value: object, at: str, line: int) -> None:
    """One line's value of `key` added to the earlier lines', which it must match."""
    arr = nested_to_array(value, f"{at}:{key}")
    if stacked and stacked[0].shape != arr.shape:
        raise BadData(f"{key} has shape {arr.shape}, but {stacked[0].shape} on line "
                      f"{line}", "give every line's examples the same shapes",
                      where=f"{at}:{key}")
    if key in SHARED_ROLES and stacked and not np.array_equal(stacked[0], arr):
        raise BadData(f"{key} differs from line {line}'s", f"{key} is one for the "
                      "whole batch: give the same on every line, or --"
                      f"{key} FILE", where=f"{at}:{key}")
    stacked.append(arr)


__all__ = ["Lines", "looks_like_lines", "parse_json_lines", "peek_lines", "starts_json_lines"]
