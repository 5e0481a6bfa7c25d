"""One error type for everything the user can fix, each kind carrying its exit code.

The library raises these; only the CLI turns them into a message and an exit status
(CONTRACT.md, "Exit codes" and "Messages").
"""

from __future__ import annotations

import difflib
from contextvars import ContextVar
from enum import IntEnum

# Whose words a usage error speaks: "api" (keyword arguments of losscli.evaluate ...) or
# "cli" (options: --margin), set by the command line for the run (cli.run).
SURFACE: ContextVar[str] = ContextVar("losscli_surface", default="api")


class ExitCode(IntEnum):
    """The exit codes of CONTRACT.md, one per kind of error."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    INPUT_UNAVAILABLE = 3
    BAD_DATA = 4
    NON_FINITE = 5
    OUTPUT = 6
    BATCH_FAILED = 7
    ABOVE_THRESHOLD = 8
    INTERRUPTED = 130


class LossCliError(Exception):
    """An error the user can act on: where it is, what is wrong, how to fix it."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, what: str, fix: str = "", *, where: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix
        self.where = where

    def __str__(self) -> str:
        """The whole message, fix included: what a notebook's traceback shows."""
        return self.message()

    def located(self, where: str) -> LossCliError:
        """The same error, attributed to a place (file, file:role) if it had none."""
        if self.where is None:
            self.where = where
        return self

    def message(self, undecodable_kept: bool = False) -> str:
        """`<where>: <what>; <fix>` on one line (without the `error: ` prefix).

        Control characters in `where` (a file name with a newline or an escape sequence)
        are shown escaped, so the line stays one line and the terminal stays sane.
        `undecodable_kept`: the lone surrogates that stand for a name's bytes that are not
        UTF-8 stay as they are, as in a record's `file` (its writer escapes them once), not
        written out as the six characters `\\udcXX`.
        """
        where = None if self.where is None else _escaped(self.where, undecodable_kept)
        text = self.what if where is None else f"{where}: {self.what}"
        if self.fix:
            text = f"{text}; {self.fix}"
        return " ".join(text.splitlines())  # one line, whatever the parts held


def _escaped(text: str, undecodable_kept: bool = False) -> str:
    def shown(c: str) -> bool:
        return c.isprintable() or c == " " or (undecodable_kept and "\udc80" <= c <= "\udcff")

    if all(shown(c) for c in text):
        return text
    return "".join(c if shown(c) else repr(c)[1:-1] for c in text)


class UsageError(LossCliError):
    """A bad option, argument or parameter value."""

    exit_code = ExitCode.USAGE


class UnknownKeyword(UsageError, TypeError):
    """A keyword argument of the Python API that the loss (or function) does not take: a
    UsageError, and a TypeError as Python's own for an unexpected keyword."""


class InputUnavailable(LossCliError):
    """A file or stream that cannot be opened or read at all."""

    exit_code = ExitCode.INPUT_UNAVAILABLE


class BadData(LossCliError):
    """Input that was read but is not valid: format, schema, shape, dtype, values."""

    exit_code = ExitCode.BAD_DATA


class TooLarge(BadData):
    """A breakdown or gradients too large to hold (compute's limit): its own type, so that
    the one place every loss is reached from (losses/run.py) names the input it came from."""


class BatchTooSmall(BadData):
    """Fewer examples than a loss's batch form needs (clip's pairs, SimCLR's two views):
    its own type, so that batch can say a JSON line is one input of one example."""


class RoleRefused(BadData):
    """An input role the loss refuses rather than ignores (ntxent-batch's negatives): its
    own type, naming the role, so that a role read from a lone 2-D .npy's rows can say it
    was the reading that gave it (losses/run.py)."""

    def __init__(self, what: str, fix: str = "", *, where: str | None = None,
                 role: str = "") -> None:
        # role is a keyword: an exception is rebuilt from its args (what) when pickled to
        # and from batch's worker processes, its attributes restored after.
        super().__init__(what, fix, where=where)
        self.role = role


class NonFiniteResult(LossCliError):
    """A non-finite result from finite inputs, under --strict."""

    exit_code = ExitCode.NON_FINITE


class OutputError(LossCliError):
    """The output cannot be written."""

    exit_code = ExitCode.OUTPUT


class AboveThreshold(LossCliError):
    """A loss above --fail-above (or not finite) once the output is written: a CI gate."""

    exit_code = ExitCode.ABOVE_THRESHOLD


def closest(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The choice `word` was likely meant to be, or None: at difflib's 0.6, or at 0.5 with
    the same first letter (`neg`: negatives, `pos`: positive), where 0.5 alone offered
    positive for a stray key `note`."""
    for near in difflib.get_close_matches(word, list(choices), n=3, cutoff=0.5):
        if near[:1] == word[:1] or difflib.SequenceMatcher(None, word, near).ratio() >= 0.6:
            return near
    return None


def closest_hint(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """` (did you mean X?)` when a close choice exists, else the empty string."""
    near = closest(word, choices)
    return f" (did you mean {near}?)" if near else ""
