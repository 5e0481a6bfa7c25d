"""Where output goes: stdout, or a file written whole through a temporary file and a rename.

The output contract (CONTRACT.md, exit 6): `--out FILE` is complete or absent, never
half-written; it refuses to overwrite without --force, to write over an input, through a
symbolic link or onto anything but a regular file. A reader that leaves early (`| head -1`)
ends the run quietly (ReaderGone, exit 0); a closed or failing stdout is an OutputError.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable

from rich.console import Console

from losscli.errors import OutputError

STDOUT = "<stdout>"


class ReaderGone(Exception):
    """The reader of stdout closed the pipe early (`| head -1`): stop quietly, exit 0.

    Not an OSError, so that Typer does not turn it into exit 1 on the way out.
    """


class _Console(Console):
    """A rich Console whose broken pipe is a ReaderGone, not rich's SystemExit(1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise ReaderGone()


def stderr_console() -> Console:
    return _Console(stderr=True, markup=False, highlight=False)


def stdout_console() -> Console:
    """Rich output to stdout; markup off so user text (file names with brackets) prints as is."""
    if sys.stdout is None:
        raise OutputError("stdout is closed", "give --out FILE", where=STDOUT)
    return _Console(markup=False, highlight=False)


def warn(messages: Iterable[str], quiet: bool = False) -> None:
    """Each message as one `warning: ...` line on stderr (unless --quiet)."""
    if quiet or sys.stderr is None:
        return
    for message in messages:
        try:
            sys.stderr.write(f"warning: {' '.join(str(message).splitlines())}\n")
        except (OSError, ValueError):
            return


def write_text(text: str, out: str | None, force: bool = False,
               inputs: Iterable[str] = ()) -> None:
    """Write to stdout, or atomically to `out` (complete or absent, never half-written)."""
    write_chunks([text], out, force, inputs)


def write_chunks(chunks: Iterable[str], out: str | None, force: bool = False,
                 inputs: Iterable[str] = ()) -> None:
    """write_text for text produced piece by piece: each piece is written as it comes (to
    stdout, or to the temporary file that becomes `out` once complete)."""
    if out is None or out == "-":
        for text in chunks:
            write_stdout(text)
        return
    _check_target(out, force, inputs)
    directory = os.path.dirname(os.path.abspath(out))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(out)}.",
                                   suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot create a file in {directory}: {_reason(exc)}",
                          "choose a writable directory", where=out) from None
    try:
        os.fchmod(fd, _mode_for(out))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for text in chunks:
                fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"cannot write: {_reason(exc)}", "free some space or choose "
                          "another --out" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                          else "choose another --out", where=out) from None
    except BaseException:
        _remove(tmp)
        raise


def write_stdout(text: str) -> None:
    if sys.stdout is None:
        raise OutputError("stdout is closed", "give --out FILE, or do not close stdout",
                          where=STDOUT)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise ReaderGone() from None
    except OSError as exc:
        raise OutputError(f"cannot write: {_reason(exc)}", "give --out FILE",
                          where=STDOUT) from None
    except ValueError:  # a closed file object
        raise OutputError("stdout is closed", "give --out FILE", where=STDOUT) from None


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full (no space left on device)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return str(exc.strerror or exc)


def _check_target(out: str, force: bool, inputs: Iterable[str]) -> None:
    if os.path.islink(out):
        raise OutputError("is a symbolic link", "refusing to write through it; give a plain "
                          "path", where=out)
    if os.path.isdir(out):
        raise OutputError("is a directory", "give a file name", where=out)
    if not os.path.lexists(out):
        return
    for path in inputs:
        if path != "-" and os.path.exists(path) and os.path.samefile(path, out):
            raise OutputError("is one of the inputs", "write to another file", where=out)
    if not stat.S_ISREG(os.stat(out).st_mode):
        raise OutputError("is not a regular file (a device, FIFO or socket)",
                          "give a file name, or redirect stdout instead of --out", where=out)
    if not force:
        raise OutputError("already exists", "use --force to overwrite it", where=out)


def _mode_for(out: str) -> int:
    """The new file's permissions: the old file's when overwriting, else 0666 less umask."""
    try:
        return stat.S_IMODE(os.stat(out).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
