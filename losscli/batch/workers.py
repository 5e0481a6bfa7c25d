"""What runs on a Dask worker: its settings, the numba warm-up, and the two task functions.

Nothing here imports dask: these are plain functions of the installed package (never of
`__main__`), so a worker unpickles them by reference and runs the same kernels, from the
same numba cache, as `losscli batch` does locally.

Settings, once per worker process (`prepare`, also called by every task, so that a worker
restarted after a crash or joining late is set up before its first task):
- one numba thread per worker thread: NUMBA_NUM_THREADS=1, so kernels take their serial
  compiled path (Dask's threads and processes are the parallelism; a parallel kernel in each
  of a worker's threads would oversubscribe the cores, and numba's default workqueue
  threading layer must not be entered from two threads at once); BLAS limited to one thread;
- numba's cache on: beside the kernels when the package directory is writable, else
  $NUMBA_CACHE_DIR when the worker has one, else a directory on the worker's local disk
  (`<tmp>/losscli-numba-<uid>`), never a home directory that a cluster may share over NFS;
- a warm-up: the run's loss on a tiny input in float64 and float32, compiled (or loaded
  from the cache), so the first real task does not pay for it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from typing import Any

import numpy as np

from losscli.batch import tables, tasks
from losscli.batch.sources import JsonLines, Source
from losscli.model import FileResult

LOCAL_CACHE = "losscli-numba-{uid}"
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS")

_lock = threading.Lock()
_settled = False
_warmed: set[tuple[Any, ...]] = set()
_blas_limit: Any = None  # keeps threadpoolctl's limit in force for the process's life


def run_source(source: Source, options: Any,
               shared: dict[str, np.ndarray] | None = None) -> list[FileResult]:
    """A task: one whole input (a JSON Lines file gives a record per line)."""
    prepare(options)
    if isinstance(source, JsonLines):
        from losscli.batch.engine import evaluate_source

        return list(evaluate_source(source, options))
    return [tasks.combine([tasks.evaluate_part(source, options, shared=shared)], options)]


def run_piece(source: Source, options: Any, rows: tasks.Rows,
              shared: dict[str, np.ndarray] | None = None) -> tasks.Piece:
    """A task: examples [rows) of a .npy input, read by this worker from the file itself."""
    prepare(options)
    return tasks.evaluate_part(source, options, rows, shared)


def prepare(options: Any) -> dict[str, Any]:
    """Settle this worker (once) and warm the kernels for these options (once per kind).

    Returns what was done, for the caller's report: pid, losscli version, numba threads,
    cache directory, seconds spent warming (0 when already warm).
    """
    global _settled
    with _lock:
        if not _settled:
            _settle()
            _settled = True
        key = (options.call.loss, options.dtype, options.call.resolved)
        seconds = 0.0
        if key not in _warmed:
            started = time.perf_counter()
            warm_up(options)
            seconds = time.perf_counter() - started
            _warmed.add(key)
    from losscli._version import __version__

    return {"pid": os.getpid(), "version": __version__,
            "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
            "cache_dir": os.environ.get("NUMBA_CACHE_DIR") or "(beside the kernels)",
            "warm_seconds": seconds}


def _settle() -> None:
    global _blas_limit
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"  # losscli's _jit reads NUMBA_NUM_THREADS at each call
    try:
        from threadpoolctl import threadpool_limits

        _blas_limit = threadpool_limits(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - a missing BLAS binding only costs speed
        _blas_limit = None
    directory = cache_directory()
    if directory is not None:
        os.environ["NUMBA_CACHE_DIR"] = directory


def cache_directory() -> str | None:
    """The worker-local numba cache directory to set, or None to leave numba's choice
    ($NUMBA_CACHE_DIR already set, or the package's own __pycache__ writable)."""
    from losscli.kernels import _jit

    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    kernels = os.path.dirname(os.path.abspath(_jit.__file__))
    if _jit._writable(os.path.join(kernels, "__pycache__")):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else 0
    local = os.path.join(tempfile.gettempdir(), LOCAL_CACHE.format(uid=uid))
    return local if _jit._writable(local) else None


def warm_up(options: Any) -> None:
    """Run this loss with these parameters on tiny inputs through the compiled kernels.

    Best effort: a failure here is left for the real task to report.
    """
    previous = os.environ.get("LOSSCLI_JIT")
    os.environ["LOSSCLI_JIT"] = "always"  # tiny inputs would otherwise stay interpreted
    try:
        dtypes = ("float32",) if options.dtype == "float32" else ("float64", "float32")
        for table in _tiny_tables(options.call.spec, dtypes):
            try:
                tasks.evaluate_rows(table, options)
            except Exception:  # noqa: BLE001, S112 - see the docstring
                continue
    finally:
        if previous is None:
            os.environ.pop("LOSSCLI_JIT", None)
        else:
            os.environ["LOSSCLI_JIT"] = previous


def _tiny_tables(spec: Any, dtypes: tuple[str, ...]) -> list[tables.Table]:
    """Inputs of every layout a batch run meets: per-anchor negatives (B, K, D) and a shared
    bank (K, D), in each dtype; logits with class indices for softmax-ce."""
    rng = np.random.default_rng(0)
    B, K, D, C = 4, 3, 8, 5
    out = []
    if "logits" in spec.roles:
        table = tables.Table("<warm-up>")
        table.whole["logits"] = rng.standard_normal((B, C))
        table.whole["target"] = np.arange(B, dtype=np.float64) % C
        out.append(table)
        return out
    if not {"anchor", "positive", "negatives"} <= set(spec.roles):
        return out
    for dtype in dtypes:
        for bank in (False, True):
            table = tables.Table("<warm-up>")
            table.whole["anchor"] = rng.standard_normal((B, D)).astype(dtype)
            table.whole["positive"] = rng.standard_normal((B, D)).astype(dtype)
            shape = (K, D) if bank else (B, K, D)
            table.whole["negatives"] = rng.standard_normal(shape).astype(dtype)
            table.where.update({r: f"<warm-up>:{r}" for r in table.whole})
            out.append(table)
    return out


__all__ = ["cache_directory", "prepare", "run_piece", "run_source", "warm_up"]
