"""Where output goes: stdout, or a file written whole through a temporary file and a rename
(render/atomic_file.py, the one writer of every file losscli writes).

The output contract (CONTRACT.md, exit 6): `--out FILE` is complete or absent, never
half-written; it refuses to overwrite without --force, to write over an input, through a
symbolic link or onto anything but a regular file. A reader that leaves early (`| head -1`)
ends the run quietly (ReaderGone, exit 0); a closed or failing stdout is an OutputError.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rich.console import Console

from losscli.errors import OutputError
from losscli.render.ascii_drawing import in_ascii
from losscli.render.atomic_file import AtomicFile, check_destination, reason

STDOUT = "<stdout>"


class ReaderGone(Exception):
    """The reader of stdout closed the pipe early (`| head -1`): stop quietly, exit 0.

    Not an OSError, so that Typer does not turn it into exit 1 on the way out.
    """


def console_environ() -> Mapping[str, str]:
    """The environment a rich Console reads, without a COLUMNS of 0 or less: rich takes
    COLUMNS=0 as a width of 0 and then prints nothing at all, exit 0 (the data lost), where
    COLUMNS=-5 or abc fall back to the terminal's width or 80; 0 now falls back the same."""
    try:
        unusable = int(os.environ.get("COLUMNS", "")) <= 0
    except ValueError:
        unusable = False
    if not unusable:
        return os.environ
    return {k: v for k, v in os.environ.items() if k != "COLUMNS"}


class _Console(Console):
    """A rich Console whose broken pipe is a ReaderGone, not rich's SystemExit(1), and whose
    width ignores a COLUMNS of 0 or less (console_environ)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(_environ=console_environ(), **options)

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise ReaderGone()


def stdout_console() -> Console:
    """Rich output to stdout; markup off so user text (file names with brackets) prints as
    is. Its writes go out whole, as write_stdout's do (a table cut by a filling disk was
    written with exit 0, QA16)."""
    if sys.stdout is None:
        raise stdout_closed()
    return _Console(markup=False, highlight=False, file=_WholeWrites(sys.stdout))


class _WholeWrites:
    """A text stream whose write() sends all of its text (_write_whole); the rest (isatty,
    fileno, encoding: what rich asks of its file) is the stream's own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        _write_whole(self._stream, text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def warn(messages: Iterable[str], quiet: bool = False) -> None:
    """Each message as one `warning: ...` line on stderr (unless --quiet)."""
    if quiet or sys.stderr is None:
        return
    for message in messages:
        try:
            sys.stderr.write(f"warning: {' '.join(str(message).splitlines())}\n")
        except (OSError, ValueError):
            return


def output_format(format: str, out: str | None, quiet: bool = False, **options: Any) -> str:
    """resolve_format, and a warning on stderr when --out's suffix names another format
    than the one --format writes (the file is still written as asked)."""
    from losscli.render import resolve_format, suffix_mismatch

    fmt = resolve_format(format, out, **options)
    note = suffix_mismatch(fmt, out)
    if note is not None:
        warn([note], quiet)
    return fmt


def check_out(out: str | None, force: bool, inputs: Iterable[str] = ()) -> None:
    """--out refused (exit 6) before the inputs are read: a run that would end refusing its
    output prints that one line, not the reading's warnings before it (QA17b L3)."""
    if out is not None and out != "-":
        check_destination(out, force, inputs)


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
    with AtomicFile(out, force=force, inputs=inputs) as fh:
        for text in chunks:
            fh.write(text)


def write_stdout(text: str) -> None:
    if sys.stdout is None:
        raise stdout_closed()
    try:
        _write_whole(sys.stdout, text)
    except BrokenPipeError:
        raise ReaderGone() from None
    except (OSError, UnicodeEncodeError) as exc:
        raise stdout_error(exc) from None
    except ValueError:  # a closed file object
        raise stdout_closed() from None


def write_drawing_to_stderr(text: str) -> None:
    """A chart on stderr (sweep --plot), in ASCII stand-ins where stderr's encoding cannot
    write its drawing characters (Python would write them as backslash escapes)."""
    if sys.stderr is None:
        return
    try:
        text.encode(sys.stderr.encoding or "utf-8")
    except UnicodeEncodeError:
        text = in_ascii(text)
    except LookupError:
        pass
    try:
        sys.stderr.write(text)
    except (OSError, ValueError):
        pass


def stdout_closed() -> OutputError:
    """Output asked of a stdout that the caller closed (`>&-`), said alike by every command."""
    return OutputError("stdout is closed", "give --out FILE, or do not close stdout",
                       where=STDOUT)


def stdout_error(exc: OSError | UnicodeEncodeError) -> OutputError:
    """A failed write to stdout as its output error (exit 6)."""
    if isinstance(exc, UnicodeEncodeError):
        bad = exc.object[exc.start:exc.end]
        return OutputError(f"its encoding ({exc.encoding}) cannot write {bad!r}",
                           "set PYTHONIOENCODING=utf-8, or give --out FILE", where=STDOUT)
    return OutputError(f"cannot write: {reason(exc)}", "give --out FILE", where=STDOUT)


def _write_whole(stream: Any, text: str) -> None:
    """Write all of text and flush. A text stream's write() of a large text drops what its
    buffer's short write left over (a disk that fills mid-write: 256 KiB of 36 MB written,
    no error, exit 0), so the bytes go to the buffer until it has taken every one; the
    disk full then surfaces as the OSError of the next write. A stream whose encoding
    cannot write the charts' drawing characters gets their ASCII stand-ins; any other
    character it cannot write is its UnicodeEncodeError."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a stream without bytes beneath it (a StringIO, a test's capture)
        stream.write(text)
        stream.flush()
        return
    encoding, errors = stream.encoding or "utf-8", stream.errors or "strict"
    try:
        encoded = text.encode(encoding, errors)
    except UnicodeEncodeError:
        drawn = in_ascii(text)
        try:
            encoded = drawn.encode(encoding, errors)
        except UnicodeEncodeError as exc:
            # user text (a file name) in CSV or a table, which cannot escape it as JSON does:
            # written as Python's escapes, said once, not a run cut short with exit 6
            # after the rows before it (QA18 M5, QA19 M2)
            encoded = drawn.encode(encoding, "backslashreplace")
            _say_escaped(exc)
    data = memoryview(encoded)
    stream.flush()  # text written to the stream before, in order
    while data:
        data = data[buffer.write(data):]
    buffer.flush()


_escaped_said = False


def forget_escapes() -> None:
    """A new run (the CLI run more than once in one process, as the tests do)."""
    global _escaped_said
    _escaped_said = False


def _say_escaped(exc: UnicodeEncodeError) -> None:
    """Once a run: stdout's encoding could not write some characters, written escaped."""
    global _escaped_said
    if _escaped_said:
        return
    _escaped_said = True
    if _undecodable(exc.object[exc.start:exc.end]):
        # no encoding writes these: a name's bytes that were not valid UTF-8 to begin with
        _say("warning: <stdout>: a file name is not valid UTF-8: its bytes are written as "
             "\\udcXX escapes (\\udce9 for the byte 0xE9)")
        return
    _say(f"warning: <stdout>: its encoding ({exc.encoding}) cannot write some characters: "
         "written as \\x, \\u escapes; set PYTHONIOENCODING=utf-8 to have them as they are")


def _undecodable(text: str) -> bool:
    """Whether text is the lone surrogates that stand for bytes a name could not decode."""
    return all("\udc80" <= c <= "\udcff" for c in text)


# What the first compiled run waits for (benchmarks/compile_time.py: 0.2 to 3.6 s per loss on
# two cores, compute and batch), said once, on a terminal, when numba really compiles.
COMPILE_NOTICE = ("note: compiling losscli's numba kernels for this loss, once (about 1 to 4 s); "
                  "later runs load them from the cache")


def stderr_is_tty() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def announce_compiling(quiet: bool = False, say: Callable[[str], None] | None = None) -> None:
    """On a terminal (stderr), say once that the run waits while numba compiles kernels:
    only when it does compile, not when it loads them from its cache (api.on_first_compile).
    `say` prints above a progress bar when there is one."""
    if quiet or not stderr_is_tty():
        return
    from losscli import api

    api.on_first_compile(lambda: (say or _say)(COMPILE_NOTICE))


def _say(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
