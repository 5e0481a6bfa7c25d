"""Where output goes: stdout, or a file written whole through a temporary file and a rename."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Iterable

from rich.console import Console

from losscli.errors import OutputError


class ReaderGone(Exception):
    """The reader of stdout closed the pipe early (`| head -1`): stop quietly, exit 0.

    Not an OSError, so that Typer does not turn it into exit 1 on the way out.
    """


def stderr_console() -> Console:
    return Console(stderr=True, markup=False, highlight=False)


def warn(messages: Iterable[str], quiet: bool = False) -> None:
    if quiet:
        return
    for message in messages:
        sys.stderr.write(f"warning: {message}\n")


def write_text(text: str, out: str | None, force: bool = False,
               inputs: Iterable[str] = ()) -> None:
    """Write to stdout, or atomically to `out` (complete or absent, never half-written)."""
    if out is None or out == "-":
        if sys.stdout is None:
            raise OutputError("stdout is closed", "give --out FILE", where="<stdout>")
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            raise ReaderGone() from None
        except OSError as exc:
            raise OutputError(f"cannot write: {exc.strerror or exc}",
                              "give --out FILE", where="<stdout>") from None
        return
    _check_target(out, force, inputs)
    directory = os.path.dirname(os.path.abspath(out))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(out)}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot create a file in {directory}: {exc.strerror or exc}",
                          "choose a writable directory", where=out) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        _remove(tmp)
        what = "disk full" if exc.errno == errno.ENOSPC else f"cannot write: {exc.strerror}"
        raise OutputError(what, "free space or choose another --out", where=out) from None
    except BaseException:
        _remove(tmp)
        raise


def _check_target(out: str, force: bool, inputs: Iterable[str]) -> None:
    if os.path.islink(out):
        raise OutputError("is a symbolic link", "refusing to write through it; give a plain "
                          "path", where=out)
    if os.path.isdir(out):
        raise OutputError("is a directory", "give a file name", where=out)
    if os.path.exists(out):
        for path in inputs:
            if path != "-" and os.path.exists(path) and os.path.samefile(path, out):
                raise OutputError("is one of the inputs", "write to another file", where=out)
        if not force:
            raise OutputError("already exists", "use --force to overwrite it", where=out)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def stdout_console() -> Console:
    """Rich output to stdout; markup off so user text (file names with brackets) prints as is."""
    return Console(markup=False, highlight=False)
