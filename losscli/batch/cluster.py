"""`losscli batch --scheduler`: the same batch, its inputs as tasks on a Dask cluster.

Dask comes with the `losscli[dask]` extra (dask[distributed]) and is imported here only, on
demand: the rest of losscli never imports it.

What runs where:
- here (the client): INPUTS are expanded; stdin and globs that match nothing are evaluated
  here (nothing to ship); a large .npy input (a stack, softmax-ce logits, or a set of
  STEM.ROLE.npy files) has its headers read to cut it into row ranges of whole chunks;
  its shared roles (a negatives bank, class weights) and those of per-role options that
  apply to every input are read here once and scattered to the cluster, once;
- on the workers (workers.py): each task opens its own file(s), reads only its rows, and
  returns a record (a whole input) or a Piece (a row range), so only paths go out and only
  per-example losses come back;
- here again: results arrive as they complete (as_completed) and the Pieces of a split
  input are combined (tasks.combine, as a local run reduces its chunks) into one record
  per input, with per-example indices over the whole input.

Paths: a worker's working directory is not ours, so tasks get absolute paths (the files
must be at the same paths on the workers: shared storage), and their records come back
with the paths as they were given here, so the output is the local run's.

A worker that dies mid-task (killed, out of memory) loses nothing: the scheduler runs the
task again on another worker, and each task's result is taken once. A task that raises an
unexpected error is retried `retries` times. A task whose workers keep dying fails as its
input's record (exit 7 at the end), like a bad file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.batch import tables, tasks, workers
from losscli.batch.npyrows import NpyFile
from losscli.batch.sources import Document, JsonLines, Missing, RoleSet, Source
from losscli.errors import InputUnavailable, LossCliError, UsageError
from losscli.model import FileResult

INSTALL = "pip install 'losscli[dask]'"
LOCAL = "local"
TASK_BYTES = 64 * 2**20  # a .npy input larger than this is split into tasks of about this
RETRIES = 2
CONNECT_TIMEOUT = 10  # seconds to reach a scheduler
WORKERS_TIMEOUT = 60  # seconds to wait for the workers asked for (or for any at all)
SHARED_ROLES = ("negatives", "negatives2", "weight")
LOOPBACK_NO_DASHBOARD = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}


@dataclass(frozen=True)
class ClusterOptions:
    """Where to run: `scheduler` is "local" (a LocalCluster here), an address such as
    tcp://host:8786, or a distributed.Client already connected (library use)."""

    scheduler: Any
    workers: int | None = None  # local: worker processes; an address: wait for this many
    task_rows: int | None = None  # examples per task of a split .npy; None: ~TASK_BYTES
    retries: int = RETRIES

    def check(self, jobs: int = 1) -> None:
        """A usage error for what cannot run: --jobs with --scheduler, fewer than one worker
        or task row, an empty address.
        """
        if jobs > 1:
            raise UsageError("--jobs and --scheduler both given",
                             "choose one: --scheduler local --workers N runs N processes")
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers got {self.workers}", "give a whole number >= 1")
        if self.task_rows is not None and self.task_rows < 1:
            raise UsageError(f"--task-rows got {self.task_rows}", "give a whole number >= 1")
        if isinstance(self.scheduler, str) and not self.scheduler.strip():
            raise UsageError("--scheduler got an empty address",
                             "give tcp://HOST:PORT, or local for a cluster on this machine")


def require_dask() -> None:
    """UsageError with the install line when the extra is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError("--scheduler needs Dask, which is not installed", INSTALL) from None


# ---------------------------------------------------------------- the cluster


class _Connection:
    """A Client to the scheduler asked for (and the LocalCluster it started, if any)."""

    def __init__(self, options: ClusterOptions) -> None:
        require_dask()
        from distributed import Client

        self.cluster: Any = None
        self.owned = True
        self._levels: dict[str, int] = {}
        target = options.scheduler
        if isinstance(target, Client):
            self.client = target
            self.owned = False
            self.address = target.scheduler.address if target.scheduler else "client"
            return
        self._quiet()
        try:
            self._connect(target, options.workers)
        except BaseException:
            self._loud()
            raise

    def _connect(self, target: Any, workers: int | None) -> None:
        from distributed import Client

        if target == LOCAL:
            self.client = self._local(workers)
            self.address = LOCAL
            return
        self.address = str(target)
        try:
            self.client = Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except ValueError as exc:
            raise UsageError(f"--scheduler got {self.address!r} ({exc})",
                             "give tcp://HOST:PORT, or local") from None
        except (OSError, TimeoutError) as exc:
            raise InputUnavailable(
                f"cannot reach the Dask scheduler ({_first_line(exc)})",
                "check the address, and that `dask scheduler` runs there",
                where=self.address) from None
        try:
            self._wait(workers or 1)
        except BaseException:
            self.client.close()
            raise

    def _quiet(self) -> None:
        """Dask's own log lines (tracebacks when a worker or the scheduler goes away) off
        while the run lasts: losscli reports what happened to the run, one line each."""
        names = ["distributed"] + [n for n in logging.root.manager.loggerDict
                                   if n.startswith("distributed.")]
        for name in names:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.CRITICAL + 1)

    def _loud(self) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._levels.clear()

    def _local(self, n: int | None) -> Any:
        from distributed import Client, LocalCluster

        if n is None:
            try:
                n = len(os.sched_getaffinity(0))
            except (AttributeError, OSError):
                n = os.cpu_count() or 1
        # Processes (numba kernels and file reads would share one GIL otherwise), one thread
        # each, on loopback only, no dashboard (the scheduler's bare HTTP server on a free
        # loopback port, not 8787 that a user's own dashboard may hold); logs only of errors.
        with _sigint_ignored():  # inherited by the workers: Ctrl-C is ours to handle
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None,
                                        scheduler_kwargs=LOOPBACK_NO_DASHBOARD,
                                        silence_logs=logging.ERROR,
                                        env={name: "1" for name in workers.THREAD_VARIABLES})
        return Client(self.cluster, set_as_default=False)

    def _wait(self, n: int) -> None:
        try:
            self.client.wait_for_workers(n, timeout=WORKERS_TIMEOUT)
        except TimeoutError:
            have = len(self.client.scheduler_info().get("workers", {}))
            raise InputUnavailable(
                f"{have} Dask worker(s) connected, {n} wanted, after {WORKERS_TIMEOUT} s",
                "start workers (dask worker ADDRESS) or ask for fewer with --workers",
                where=self.address) from None

    def close(self) -> None:
        if not self.owned:
            return
        try:
            self.client.close()
        finally:
            try:
                if self.cluster is not None:
                    self.cluster.close()
            finally:
                self._loud()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while worker processes start, so that they keep ignoring it: Ctrl-C
    at a terminal reaches the whole process group, and workers interrupted mid-task would
    print tracebacks; this process stops the run and closes the cluster instead."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# ---------------------------------------------------------------- planning


@dataclass
class _Input:
    """One input of the run and, when it is split, its row ranges and the Pieces so far."""

    source: Source
    ranges: list[tasks.Rows] | None = None
    pieces: list[tasks.Piece] | None = None


def _npy_bytes(source: Source) -> int | None:
    """The bytes of a .npy input (a .npy file, or a set of them), None for anything else."""
    try:
        if isinstance(source, Document) and source.path.lower().endswith(".npy"):
            return os.path.getsize(source.path)
        if isinstance(source, RoleSet) and source.files and all(
                p.lower().endswith(".npy") for p in source.files.values()):
            return sum(os.path.getsize(p) for p in source.files.values())
    except OSError:
        return None
    return None


def plan_split(source: Source, options: Any, task_rows: int | None,
               ) -> tuple[list[tasks.Rows], list[str]] | None:
    """Row ranges for a .npy input worth splitting, and the roles it shares between rows.

    None: one task for the whole input (small, not .npy, a single example, or unreadable:
    its task then reports why, as a local run would). Ranges are whole chunks, so each
    task's chunks are those of a local run.
    """
    spec = options.call.spec
    if not options.call.streams:
        return None  # its examples are not independent rows: one task, the whole input
    size = _npy_bytes(source)
    if size is None or (task_rows is None and size <= TASK_BYTES):
        return None
    table = None
    try:
        if isinstance(source, Document) and "logits" not in spec.roles:
            npy = NpyFile(source.path)
            npy.close()
            stack_roles = {"anchor", "positive", "negatives"} & set(options.role_files)
            if npy.ndim != 3 or stack_roles:
                return None  # one example, or a stack read whole (a role of it replaced)
        table = tables.table_for(source, spec, options.role_files, options.preloaded,
                                 options.names)  # headers only
        tables.read_layout(table, options.negatives_layout)
        B = tables.examples(table, spec)
        if B is None:
            return None
        chunk = tasks.chunk_rows(table, B, options)
        per_task = task_rows or max(1, TASK_BYTES // tables.row_bytes(table, B))
        per_task = chunk * max(1, math.ceil(per_task / chunk))
        if per_task >= B:
            return None
        ranges = [(start, min(B, start + per_task)) for start in range(0, B, per_task)]
        keep = tables._per_example_roles(table, B)
        return ranges, [role for role in table.files if role not in keep]
    except LossCliError:
        return None
    finally:
        if table is not None:
            for f in list(table.files.values()) + ([table.stack] if table.stack else []):
                f.close()


def _shared_override_roles(options: Any) -> list[str]:
    """Per-role options that every input reads whole: a negatives bank (K, D) or (1, K, D),
    class weights. Per-example roles (B, ...) stay with each input's tasks."""
    out = []
    for role, path in options.role_files.items():
        if role not in SHARED_ROLES or not path.lower().endswith(".npy") \
                or path in options.preloaded:  # read already: it travels in the options
            continue
        try:
            npy = NpyFile(path)
        except LossCliError:
            continue  # each task reports it
        npy.close()
        ndim = tables.PER_EXAMPLE_NDIM.get(role)
        if ndim is None or npy.ndim != ndim or npy.shape[0] == 1:
            out.append(role)
    return out


def _read_role(path: str) -> np.ndarray | None:
    try:
        return NpyFile(path).read_all()
    except LossCliError:
        return None  # each task reports it


# ---------------------------------------------------------------- paths


class _Paths:
    """Absolute paths for the workers, and the paths as given for the records."""

    def __init__(self) -> None:
        self.given: dict[str, str] = {}

    def absolute(self, path: str) -> str:
        if path == "-":
            return path
        full = os.path.abspath(path)
        if full != path:
            self.given[full] = path
        return full

    def source(self, source: Source) -> Source:
        if isinstance(source, Document):
            return Document(self.absolute(source.path))
        if isinstance(source, JsonLines):
            return JsonLines(self.absolute(source.path))
        if isinstance(source, RoleSet):
            named = source.named_set
            if named is not None:  # its checks run on the worker: the same paths there
                self.absolute(named.pattern)
                named = dataclasses.replace(
                    named, directory=os.path.abspath(named.directory or "."),
                    files={r: self.absolute(p) for r, p in named.files.items()},
                    strays={self.absolute(p): w for p, w in named.strays.items()})
            return RoleSet(source.name, {r: self.absolute(p) for r, p in source.files.items()},
                           named)
        return source

    def options(self, options: Any) -> Any:
        files = {r: self.absolute(p) for r, p in options.role_files.items()}
        return dataclasses.replace(options, role_files=files)

    def restore(self, result: FileResult) -> FileResult:
        """The record with the paths as given (in its file, warnings and error)."""
        if not self.given:
            return result
        pairs = sorted(self.given.items(), key=lambda kv: -len(kv[0]))

        def given(text: str) -> str:
            for full, path in pairs:
                text = text.replace(full, path)
            return text

        result.file = given(result.file)
        result.warnings = tuple(given(w) for w in result.warnings)
        error = result.error
        if error is not None:
            error.what, error.fix = given(error.what), given(error.fix)
            if error.where is not None:
                error.where = given(error.where)
        return result


# ---------------------------------------------------------------- the run


def evaluate_on_cluster(sources: Iterable[Source], options: Any, cluster: ClusterOptions,
                        progress: Any = None, stdin: Any = None) -> Iterator[FileResult]:
    """Every source's results, as each finishes on the cluster (see the module docstring)."""
    from losscli.batch.engine import evaluate_source, reads_here

    sources = list(sources)
    here = [s for s in sources if isinstance(s, Missing) or reads_here(s)]
    remote = [s for s in sources if not any(s is h for h in here)]
    connection = _Connection(cluster) if remote else None
    for source in here:
        yield from evaluate_source(source, options, progress, stdin)
    if connection is None:
        return
    futures: list[Any] = []
    try:
        yield from _run(connection, remote, options, cluster, progress, futures)
    finally:
        if futures:
            try:
                connection.client.cancel(futures)
            except Exception:  # noqa: BLE001 - the client may be gone already
                pass
        connection.close()


def warm_workers(client: Any, options: Any, where: str = "") -> list[dict[str, Any]]:
    """Settle and warm every worker before the first task (client.run); workers that join
    later, or restart, do it at their first task. A worker with another losscli version
    (other kernels, other numbers) is an error before anything runs."""
    from losscli._version import __version__

    done = client.run(workers.prepare, options, on_error="return")
    reports = [v for v in done.values() if isinstance(v, dict)]
    other = sorted({r["version"] for r in reports if r.get("version") != __version__})
    if other:
        raise UsageError(f"the Dask workers run losscli {', '.join(other)}, this is "
                         f"{__version__}", "install the same losscli on the workers",
                         where=where or None)
    return reports


def _run(connection: _Connection, remote: list[Source], options: Any,
         cluster: ClusterOptions, progress: Any, futures: list[Any]) -> Iterator[FileResult]:
    from distributed import KilledWorker, as_completed

    client = connection.client
    warm_workers(client, options, connection.address)
    paths = _Paths()
    shipped = paths.options(options)
    common: dict[str, Any] = {}
    for role in _shared_override_roles(options):
        arr = _read_role(options.role_files[role])
        if arr is not None:
            common[role] = client.scatter(arr, hash=False)
    inputs: list[_Input] = []
    owner: dict[str, tuple[int, int | None]] = {}  # future key -> (input, range index)
    whole: list[int] = []
    for i, source in enumerate(remote):
        inputs.append(_Input(source))
        split = plan_split(source, options, cluster.task_rows)
        if split is None:
            whole.append(i)
            continue
        ranges, shared_roles = split
        shared = dict(common)
        files = source.files if isinstance(source, RoleSet) else {}
        for role in shared_roles:
            path = options.role_files.get(role) or files.get(role)
            if role not in shared and path is not None:
                arr = _read_role(path)
                if arr is not None:
                    shared[role] = client.scatter(arr, hash=False)
        inputs[i].ranges = ranges
        inputs[i].pieces = []
        batch = client.map(workers.run_piece, [paths.source(source)] * len(ranges),
                           [shipped] * len(ranges), ranges, shared=shared,
                           retries=cluster.retries, pure=False)
        for k, future in enumerate(batch):
            owner[future.key] = (i, k)
        futures.extend(batch)
    if whole:
        batch = client.map(workers.run_source, [paths.source(remote[i]) for i in whole],
                           [shipped] * len(whole), shared=common, retries=cluster.retries,
                           pure=False)
        for i, future in zip(whole, batch, strict=True):
            owner[future.key] = (i, None)
        futures.extend(batch)
    for future in as_completed(list(futures), loop=client.loop):
        i, k = owner[future.key]
        item = inputs[i]
        if future.status == "cancelled":  # not by us: the scheduler is gone or restarted
            raise InputUnavailable("the run's tasks were cancelled: the connection to the "
                                   "Dask scheduler was lost, or it was restarted",
                                   "check the scheduler and run again",
                                   where=connection.address)
        lost = None
        if future.status == "error":
            exc = future.exception()
            if not isinstance(exc, KilledWorker):
                raise exc  # a bug: an internal error, as in a local run
            lost = InputUnavailable("the Dask workers running it died repeatedly (out of "
                                    "memory, or killed)", "check the workers' memory limit "
                                    "and logs", where=_name(item.source))
            start = 0 if k is None else item.ranges[k][0]  # type: ignore[index]
            value: Any = tasks.Piece(_name(item.source), start, error=lost)
        else:
            value = future.result()
        future.release()
        if k is None:
            results = value if lost is None else [tasks.combine([value], options)]
            for result in results:
                if progress is not None and result.n:
                    progress(result.n)
                yield paths.restore(result)
            continue
        assert item.ranges is not None and item.pieces is not None
        if progress is not None and value.error is None:
            progress(int(value.per_example.shape[0]))
        item.pieces.append(value)
        if len(item.pieces) == len(item.ranges):
            yield paths.restore(tasks.combine(item.pieces, options))
            item.pieces = []


def _name(source: Source) -> str:
    return getattr(source, "name", str(source))


__all__ = ["INSTALL", "ClusterOptions", "evaluate_on_cluster", "plan_split", "require_dask",
           "warm_workers"]
