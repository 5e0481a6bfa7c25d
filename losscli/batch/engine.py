"""The batch engine: sources in, FileResults out, one at a time as each finishes.

Each input is opened (headers only for .npy), validated on its full shapes, then evaluated
a chunk of examples at a time into one preallocated per-example array; the reduced value,
warnings and counts are then those `compute` would give on the whole input. A failing input
becomes a FileResult with its error, and the run goes on (the caller decides about
--fail-fast). With jobs > 1, inputs go to worker processes, each with cores / jobs threads.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.batch import tables
from losscli.batch.sources import Document, JsonLines, Source, repeat_warnings
from losscli.batch.tasks import combine, evaluate_part, evaluate_rows, finish
from losscli.batch.tasks import failed as _failed
from losscli.errors import BadData, BatchTooSmall, InputUnavailable, LossCliError
from losscli.io import as_role_array, is_regular_file
from losscli.io.formats import MAX_JSON_BYTES, inexact_integers, parse_json, precision_warning
from losscli.io.keys import PLAIN, RoleNames, pick_roles
from losscli.losses.call import LossCall
from losscli.losses.spec import LossSpec
from losscli.model import FileResult

# Per chunk of rows; two chunks are in memory (read-ahead). Small enough that both stay in
# the L3 cache between the copy from the page cache and the kernel (docs/benchmarks.md).
CHUNK_BYTES = 4 * 2**20
DTYPES = ("float64", "float32")
# How long a stopped or finished --jobs run waits for its pool's manager thread to exit.
MANAGER_EXIT_SECONDS = 10.0
# How often a --jobs worker looks whether the run that started it is still there.
ORPHAN_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class BatchOptions:
    """What every input is evaluated with: the resolved loss call, and how to read."""

    call: LossCall
    dtype: str = "float64"
    chunk: int | None = None  # examples per chunk; None: about CHUNK_BYTES of input
    role_files: dict[str, str] = field(default_factory=dict)
    chunk_bytes: int = CHUNK_BYTES
    # Per-role files that are pipes or <(...), read once (tables.preload_streams).
    preloaded: dict[str, tuple[np.ndarray, str]] = field(default_factory=dict)
    # How 2-D negatives are read (model.NEGATIVES_LAYOUTS; None: shared, warned if ambiguous).
    negatives_layout: str | None = None
    # How 2-D positives are read (model.POSITIVES_LAYOUTS), likewise.
    positives_layout: str | None = None
    # The names of the roles in the files (--map) and --strict-keys (io/keys.py).
    names: RoleNames = PLAIN
    # Breakdown columns kept beside each example's loss (losses/example_columns.py): the
    # chunks are then evaluated in full, with their breakdown, not by the stream kernels.
    columns: tuple[str, ...] = ()


Progress = Callable[[int], None]  # called with the number of examples just done (tasks.py)


def evaluate_source(source: Source, options: BatchOptions,
                    progress: Progress | None = None, stdin: Any = None,
                    ) -> Iterator[FileResult]:
    """The results of one source: one, or one per line of a JSON Lines source."""
    if isinstance(source, JsonLines) and source.path == "-":
        yield from _stdin(source, options, progress, stdin)
        return
    if isinstance(source, JsonLines):
        yield from _json_lines(source, options.call.spec, options, progress, stdin)
        return
    if isinstance(source, Document) and source.stream is None and reads_here(source):
        yield from _pipe(source, options, progress)
        return
    # The same pure functions as a Dask worker's share of a file (tasks.py).
    yield combine([evaluate_part(source, options, progress=progress)], options)


def _pipe(source: Document, options: BatchOptions, progress: Progress | None,
          ) -> Iterator[FileResult]:
    """A pipe, FIFO or <(...) given as INPUT, opened once: JSON Lines (found by content, as
    sources.py finds them in files) are read a line at a time, anything else whole; what was
    read to tell goes back in front of the rest, since a pipe cannot be read again."""
    from losscli.io.formats import open_binary
    from losscli.io.jsonlines import peek_lines

    started = time.perf_counter()
    try:
        stream = open_binary(source.path)
        try:
            lines, head = peek_lines(stream)
        except OSError as exc:
            stream.close()
            raise InputUnavailable(f"cannot read: {exc.strerror or exc}", "check the file",
                                   where=source.path) from None
    except LossCliError as exc:
        result = _failed(source.name, options, exc)
        result.seconds = time.perf_counter() - started
        yield result
        return
    with stream:
        yield from _lines_or_whole(source, Peeked(lines, head, stream), options, progress)


def _stdin(source: JsonLines, options: BatchOptions, progress: Progress | None,
           stdin: Any) -> Iterator[FileResult]:
    """`-`: told by content as a pipe is (JSON Lines a line at a time, one JSON document
    whole), from what peek_stdin read; a library caller's stdin is peeked here."""
    started = time.perf_counter()
    try:
        peeked = stdin if isinstance(stdin, Peeked) else peek_stdin(stdin, options.call.loss)
    except LossCliError as exc:
        result = _failed(source.name, options, exc)
        result.seconds = time.perf_counter() - started
        yield result
        return
    yield from _lines_or_whole(source, peeked, options, progress)


def _lines_or_whole(source: Document | JsonLines, peeked: Peeked, options: BatchOptions,
                    progress: Progress | None) -> Iterator[FileResult]:
    """A stream's records: one per line when it holds JSON Lines, else one for the whole,
    read from what was peeked and then the rest."""
    import itertools

    if peeked.lines:
        yield from _each_line(source.name, itertools.chain(peeked.head, peeked.rest),
                              options.call.spec, options, progress)
        return
    whole = Document(source.path, given=source.given,
                     stream=_Prefixed(b"".join(peeked.head), peeked.rest))
    yield combine([evaluate_part(whole, options, progress=progress)], options)


@dataclass(frozen=True)
class Peeked:
    """A stream read only as far as telling its content (io/jsonlines.py peek_lines): whether
    it is read a line at a time, the bytes read to tell (`head`, whole lines) and the rest."""

    lines: bool
    head: list[bytes]
    rest: Any  # has read(n) and iterates by line


class _Prefixed:
    """A stream read from `head` first, then from `rest` (a pipe's bytes, read once)."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            data, self._head = self._head + (self._rest.read() or b""), b""
            return data
        data, self._head = self._head[:n], self._head[n:]
        if len(data) < n:
            data += self._rest.read(n - len(data)) or b""
        return data


def _evaluate_table(table: tables.Table, options: BatchOptions,
                    progress: Progress | None) -> FileResult:
    return finish([evaluate_rows(table, options, progress)], options)


# ---------------------------------------------------------------- JSON Lines


def _json_lines(source: JsonLines, spec: LossSpec, options: BatchOptions,
                progress: Progress | None, stdin: Any,
                ) -> Iterator[FileResult]:
    name = source.name
    started = time.perf_counter()
    try:
        stream = _open_lines(source, stdin, spec.name)
    except LossCliError as exc:
        result = _failed(name, options, exc)
        result.seconds = time.perf_counter() - started
        yield result
        return
    with stream:
        yield from _each_line(name, stream, spec, options, progress)


def _each_line(name: str, stream: Iterable[bytes], spec: LossSpec, options: BatchOptions,
               progress: Progress | None) -> Iterator[FileResult]:
    """A record per non-blank line, `NAME:LINE`; no line at all is a failed input."""
    started = time.perf_counter()
    overrides: dict[str, tuple[np.ndarray, str]] | None = None
    seen = False
    for lineno, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        if not seen and (refusal := _not_json_lines(name, raw)) is not None:
            result = _failed(name, options, refusal)  # one record, not one per chunk of bytes
            result.seconds = time.perf_counter() - started
            yield result
            return
        seen = True
        where = f"{name}:{lineno}"
        started = time.perf_counter()
        try:
            if overrides is None:
                overrides = _role_overrides(options, spec)
            # without its line break: a JSON error's position is then within this line
            # (`line 1 column 55`), not past its end (`line 2 column 1`)
            table = _line_table(raw.rstrip(b"\r\n"), where, spec, overrides, options.names)
            result = _evaluate_table(table, options, progress)
        except LossCliError as exc:
            if isinstance(exc, BatchTooSmall):
                exc.fix = f"{exc.fix}; {_one_line_one_input(spec.name, name)}"
            result = _failed(where, options, exc)
        result.seconds = time.perf_counter() - started
        yield result
    if not seen:  # an empty .jsonl is a failed input, never a silent success
        result = _failed(name, options, BadData(
            "no JSON Lines: the file is empty or blank", "write one JSON object (an input) "
            "per line", where=name))
        result.seconds = time.perf_counter() - started
        yield result


def _not_json_lines(name: str, first: bytes) -> BadData | None:
    """The refusal of an input whose first line is no JSON Lines text: another format's
    bytes (a .npy piped in, UTF-16 text), which split at newline bytes made a record of junk
    per piece. None for UTF-8 text (a line that is not JSON is that line's own record)."""
    from losscli.io.formats import describe, describe_content, sniff

    fmt = sniff(first[:16])
    if fmt == "json" or (fmt == "unknown" and _utf8(first)
                         and not first.startswith((b"\xff\xfe", b"\xfe\xff"))):
        return None
    what = describe(fmt) if fmt != "unknown" else describe_content(first[:16])
    if name == "<stdin>":
        fix = "batch reads JSON Lines from stdin (one input per line): give the file as INPUT"
    elif fmt == "unknown":
        fix = "save it as UTF-8 JSON Lines (one input per line)"
    else:
        fix = "name the file for its format (.npy, .npz, ...): batch reads it by content then"
    return BadData(f"{what}, not JSON Lines", fix, where=name)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _one_line_one_input(loss: str, name: str) -> str:
    """Where a line is too small a batch: batch reads each line as an input of its own, and
    compute reads a file's lines as one batch."""
    whole = f"losscli compute {loss} - < FILE.jsonl" if name == "<stdin>" else (
        f"losscli compute {loss} {shlex.quote(name)}")
    return f"batch reads each JSON line as its own input: `{whole}` reads the lines as one batch"


EMPTY_LINES_FIX = ("give one JSON object per line, e.g. "
                   "cat triplets.jsonl | losscli batch triplet -")


def peek_stdin(stdin: Any = None, loss: str = "LOSS") -> Peeked:
    """stdin, read only as far as telling its content, now: empty stdin is the run's error
    (exit 4) before any record is written, not a run that did nothing. JSON Lines are
    found by content as in a file or pipe (io/jsonlines.py peek_lines): a pretty-printed
    JSON document is one input, as it is through /dev/stdin. Bytes of another format go
    the JSON Lines way, whose first line refuses them in one record (_not_json_lines).
    `loss` is named in the example a stdin that is a terminal gets."""
    from losscli.io.formats import sniff
    from losscli.io.jsonlines import peek_lines

    stream = _open_lines(JsonLines("-"), stdin, loss)
    try:
        lines, head = peek_lines(stream)
    except OSError as exc:
        raise InputUnavailable(f"cannot read stdin ({exc})", "pipe JSON Lines in",
                               where="<stdin>") from None
    text = b"".join(head)
    if not text.strip():
        raise BadData("stdin is empty: no JSON Lines to evaluate", EMPTY_LINES_FIX,
                      where="<stdin>")
    other_format = _not_json_lines("<stdin>", text.lstrip()) is not None
    # One line alone (peek_lines read to the end for a second) is a JSON Lines stream of one
    # line, as stdin always was: read as a document it would refuse the unknown keys that
    # its lines are allowed, and `head -1 shard.jsonl | losscli batch LOSS -` failed where
    # two lines passed (QA18 M3). A pretty-printed document has more lines than one. Only
    # JSON text was read to its line's end: other text is 16 bytes, not a line (QA19 M1).
    one_line = sniff(text) == "json" and sum(1 for line in head if line.strip()) == 1
    return Peeked(lines or other_format or one_line, head, stream)


def _open_lines(source: JsonLines, stdin: Any, loss: str = "LOSS") -> Any:
    if source.path != "-":
        from losscli.io.formats import open_binary

        return open_binary(source.path)
    if stdin is not None:
        return stdin
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise InputUnavailable("stdin is closed", "pipe JSON Lines in, or give a file",
                               where="<stdin>")
    if sys.stdin.isatty():
        raise InputUnavailable("stdin is a terminal", "pipe JSON Lines in, e.g. "
                               f"cat examples.jsonl | losscli batch {loss} -", where="<stdin>")
    return stream


def _role_overrides(options: BatchOptions, spec: LossSpec) -> dict[str, tuple[np.ndarray, str]]:
    from losscli.io import load_inputs

    if not options.role_files:
        return {}
    files = {r: p for r, p in options.role_files.items() if p not in options.preloaded}
    out = {role: options.preloaded[p] for role, p in options.role_files.items()
           if p in options.preloaded}
    if files:
        inputs = load_inputs(None, files, spec, mapping=options.names.mapping,
                             strict_keys=options.names.strict)
        out.update({role: (inputs[role], inputs.where(role)) for role in inputs.arrays})
    return out


def _line_table(raw: bytes, where: str, spec: LossSpec,
                overrides: dict[str, tuple[np.ndarray, str]], names: RoleNames = PLAIN,
                ) -> tables.Table:
    if len(raw) > MAX_JSON_BYTES:
        raise BadData(f"line of {len(raw) / 2**20:.0f} MiB is over the "
                      f"{MAX_JSON_BYTES // 2**20} MiB limit for JSON input",
                      "save large arrays as .npy or .npz", where=where)
    inexact: list[str] = []
    doc = parse_json(raw, where, "fix the JSON on this line (one object per line)", inexact,
                     one_line=True)
    if not isinstance(doc, dict):
        raise BadData(f"JSON {type(doc).__name__} on this line",
                      "give one object keyed by role per line", where=where)
    table = tables.Table(where)
    if inexact:
        table.warnings.append(precision_warning(where, {
            key: n for key, value in doc.items() if (n := inexact_integers(value))}))
    for key, value in pick_roles(doc, where, "jsonl", spec, names, table.warnings).items():
        table.whole[key] = as_role_array(value, key, f"{where}:{key}")
        table.where[key] = f"{where}:{key}"
    for role, (arr, role_where) in overrides.items():
        for old in spec.replaced_by(role, overrides):
            if old in table.whole:
                table.warnings.append(f"--{role} {_path_of(role_where)} replaces {old} "
                                      f"from {where}")
                del table.whole[old]
                table.where.pop(old, None)
        table.whole[role] = arr
        table.where[role] = role_where
    for role in table.whole:
        if role not in spec.roles:
            table.warnings.append(spec.unused(role))
    return table


def _path_of(where: str) -> str:
    return where.rsplit(":", 1)[0] if ":" in where else where


# ---------------------------------------------------------------- many sources


def evaluate_sources(sources: Iterable[Source], options: BatchOptions, jobs: int = 1,
                     progress: Progress | None = None, stdin: Any = None,
                     ) -> Iterator[FileResult]:
    """Every source's results, as each finishes (in order with jobs = 1)."""
    sources = list(sources)
    if jobs <= 1 or len(sources) <= 1:
        for source in sources:
            yield from evaluate_source(source, options, progress, stdin)
        return
    local = [s for s in sources if reads_here(s)]
    remote = [s for s in sources if s not in local]
    for source in local:
        yield from evaluate_source(source, options, progress, stdin)
    yield from _in_workers(remote, options, jobs, progress)


def noting_repeats(results: Iterator[FileResult], sources: list[Source],
                   ) -> Iterator[FileResult]:
    """The results, the first of each input given more than once (sources.py) with the
    warning that says so: whichever engine ran them, records and stderr carry it once."""
    notes = repeat_warnings(sources)
    lines = {s.name for s in sources if isinstance(s, JsonLines)}
    try:
        for result in results:
            if notes:
                name = result.file
                if name not in notes and ":" in name and name.rsplit(":", 1)[0] in lines:
                    name = name.rsplit(":", 1)[0]  # a line of a JSON Lines input: PATH:LINE
                note = notes.pop(name, None)
                if note is not None:
                    result.warnings = (note, *result.warnings)
            yield result
    finally:
        getattr(results, "close", lambda: None)()  # stops workers or a cluster at once


def reads_here(source: Source) -> bool:
    """stdin, and pipes or <(...) given as INPUTS: only this process can read them."""
    path = getattr(source, "path", None)
    return path is not None and (path == "-" or not is_regular_file(path))


def _worker_env(jobs: int) -> dict[str, str]:
    from losscli.kernels._jit import threads

    per = str(max(1, threads() // jobs))
    return {"NUMBA_NUM_THREADS": per, "OPENBLAS_NUM_THREADS": per, "OMP_NUM_THREADS": per,
            "MKL_NUM_THREADS": per}


def _in_workers(sources: list[Source], options: BatchOptions, jobs: int,
                progress: Progress | None) -> Iterator[FileResult]:
    import multiprocessing  # here: importing it costs every small run ~7 ms
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    env = _worker_env(jobs)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # spawned workers read these before importing numpy or numba
    with _stops_deferred():
        _start_resource_tracker()
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(sources)),
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start, initargs=(os.getpid(),))
    try:
        with _stops_deferred():  # the workers start here, and keep SIGINT blocked
            pending: set[Future] = {pool.submit(_work, s, options) for s in sources}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                for packed in future.result():
                    result = _unpack(packed)
                    if progress is not None and result.n:
                        progress(result.n)
                    yield result
    finally:
        with _stops_deferred():  # a second Ctrl-C lands after the pool is down, not inside
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _stop(pool)


def _stop(pool: Any) -> None:
    """Shut the pool down and stop its workers: a stopped run (--fail-fast, Ctrl-C) leaves
    none behind."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    if manager is not None:
        # Let the pool's manager thread finish (it closes its wakeup pipe) before the
        # interpreter exits: CPython 3.11's exit hook writes to that pipe without a lock
        # and, racing the close, printed "Exception ignored in: <module 'threading'>".
        manager.join(timeout=MANAGER_EXIT_SECONDS)


# The stopping signals held off while the pool starts or stops (cli/_signals.py takes
# SIGTERM and SIGHUP like Ctrl-C).
_DEFERRED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                  if hasattr(signal, name))


@contextlib.contextmanager
def _stops_deferred() -> Iterator[None]:
    """Ctrl-C (and SIGTERM, SIGHUP) held off while the pool and its worker processes start
    or stop (QA15: a run once hung for ever after a Ctrl-C there, inside the pool's or the
    resource tracker's locks).

    The workers: SIGINT is blocked in this thread as they are forked, and a process keeps
    the mask it was forked with, so they never take it (Ctrl-C at a terminal reaches the
    whole process group: workers interrupted while importing printed tracebacks and "Fatal
    Python error" lines). This process: a signal of this run's handlers that arrives in the
    section (any thread may take it) is noted, and handled as it would have been once the
    section ends."""
    caught: list[int] = []

    def note(signum: int, frame: Any) -> None:
        caught.append(signum)

    held: dict[int, Any] = {}
    try:
        for signum in _DEFERRED:
            handler = signal.getsignal(signum)
            if callable(handler):  # Python's KeyboardInterrupt, or the CLI's own handler
                held[signum] = handler
                signal.signal(signum, note)
    except ValueError:  # not the main thread: signals are not ours to move
        held.clear()
    mask = getattr(signal, "pthread_sigmask", None)
    previous = mask(signal.SIG_BLOCK, {signal.SIGINT}) if mask is not None else None
    try:
        yield
    finally:
        if mask is not None:
            mask(signal.SIG_SETMASK, previous)
        for signum, handler in held.items():
            signal.signal(signum, handler)
        if caught and caught[0] in held:
            held[caught[0]](caught[0], None)  # raises KeyboardInterrupt or Terminated


def _start_resource_tracker() -> None:
    """multiprocessing's resource tracker, started with SIGHUP ignored, which it keeps (it
    ignores SIGINT and SIGTERM itself): a closed terminal signals the whole group, and a
    tracker killed by it was started anew by the pool, which then unregistered its
    semaphores with the new one: a traceback on stderr per semaphore."""
    import signal
    from multiprocessing import resource_tracker

    try:
        previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    except (AttributeError, ValueError):  # no SIGHUP here, or not the main thread
        resource_tracker.ensure_running()
        return
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, previous)


def _worker_start(parent: int) -> None:
    """In a worker, first: it ends when this run's process is gone, and it leaves SIGHUP to
    that process.

    A worker blocks on its task queue and never learns that the process that started it
    was killed (SIGKILL: the OOM killer, `kill -9`, a CI runner's hard stop): it stayed
    forever, holding the caller's stdout and stderr open, so a harness waiting for their
    end waited too. A closed terminal sends SIGHUP to the whole group: the workers' default
    action killed them under the pool, whose resource tracker then printed tracebacks; the
    run's own process takes the signal and shuts the pool down (as for SIGINT and SIGTERM).
    """
    import signal
    import threading

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_SECONDS)
        os._exit(1)  # reparented: the run is gone, and nobody reads what this would do

    threading.Thread(target=watch, name="losscli-parent-watch", daemon=True).start()


def _work(source: Source, options: BatchOptions) -> list[tuple[FileResult, Any]]:
    """In a worker: evaluate one source; errors travel as (kind, what, fix, where)."""
    out = []
    for result in evaluate_source(source, options):
        error = result.error
        result.error = None
        packed = None if error is None else (type(error).__name__, error.what, error.fix,
                                              error.where)
        out.append((result, packed))
    return out


def _unpack(packed: tuple[FileResult, Any]) -> FileResult:
    from losscli import errors

    result, error = packed
    if error is not None:
        kind, what, fix, where = error
        cls = getattr(errors, kind, LossCliError)
        result.error = cls(what, fix, where=where)
    return result


__all__ = ["DTYPES", "BatchOptions", "evaluate_source", "evaluate_sources", "noting_repeats",
           "peek_stdin"]
