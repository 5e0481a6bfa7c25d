"""The one jit policy: how every kernel is compiled, and when it is not compiled at all.

Kernels are plain Python functions over float64 arrays, written in the subset that numba
compiles (loops, math through numpy's scalar functions so that Python and numba agree on
overflow: inf and NaN, never an exception). `@kernel` wraps each one:

- `Kernel.jit`: compiled by numba on first use with `cache=True`, `error_model="numpy"`, and
  fast-math only where CONTRACT.md allows it: the {reassoc, contract} flags for kernels that
  just stream memory (dot products, squared distances), nothing in exp/log/sqrt paths, and
  never nnan/ninf/afn/arcp (they would drop the NaN/inf checks). Where an exp path wants a
  fused multiply-add (the exp's polynomial) it asks for one by name, `fused_multiply_add`:
  IEEE 754's fusedMultiplyAdd, rounded once, the same bits on every run and path, where the
  `contract` flag would let the compiler fuse whatever it likes.
- Vector width: where the CPU has AVX-512, LLVM vectorises with 512-bit registers
  (`_prefer_wide_vectors`: its Intel targets otherwise stop at 256 bits), unless the user
  set numba's CPU name or features.
- `Kernel.py`: the same source run by the interpreter. numba costs about 0.3 s per process
  (import and first cached call), far more than a tiny input's work, so below
  `JIT_THRESHOLD` units of work the source runs uncompiled and numba is never imported.

- `Kernel.jit_parallel`: the same source compiled with `parallel=True`, so that `prange`
  loops over anchors run on every core. Only worth it above `PARALLEL_THRESHOLD`: a parallel
  call costs a few microseconds of thread wake-up and its first compile ~0.5 s. Once the
  pool runs, above `WARM_PARALLEL_THRESHOLD` (~0.1 ms of serial work).

`LOSSCLI_JIT=always|never|auto` (default auto) overrides the choice; the tests use it to
check that both paths agree.

Caching: numba's cache notices an edit to the file of the function it compiled, not to the
files of the helpers that function calls (a distance, softplus, a code), so the cache
directory is named for the sources of every kernel file (`sources_digest`): an edit to any
of them starts a fresh cache. `cache_dir()` puts that directory in `$NUMBA_CACHE_DIR`, else
beside the source (`kernels/__pycache__`), else, where that is read-only (a system
site-packages), in the user's cache directory (`$XDG_CACHE_HOME/losscli/numba`,
`~/.cache/losscli/numba`), then a per-user temporary directory, and compiles without a
cache only when nothing is writable. Each process that compiles or loads kernels marks its
directory used and removes the `kernels-<digest>` beside it that were not used for 30 days
or are not among the 4 used last (`prune_caches`).

Thread pools: a numba parallel region runs under `blas_threads(1)` (threadpoolctl finds
the libraries once; ~5 us a region), so an OpenBLAS pool never competes with numba's for
the same cores (on two cores they slow each other down two- to three-fold). The other way
round, numba's OpenMP threads spin after each region (libgomp's default) while the next
BLAS product runs: the tiled in-batch losses alternate the two per tile, and their products
took 1.13-1.19x the bare product's time (0.98-1.00x with the threads asleep;
benchmarks/in_batch.py). So OMP_WAIT_POLICY=passive is set before numba's pool first
starts, unless the user has set it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import glob
import hashlib
import math
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

# Multiply-adds below which interpreting the kernel beats numba's fixed start-up cost:
# interpreted kernels cost ~200 ns per multiply-add, numba ~0.25 s per process (import and
# first cached call). Measured crossings (benchmarks/jit_threshold.py): ~1.0 M for batch's
# InfoNCE kernel, ~1.7 M for compute's (docs/benchmarks.md).
JIT_THRESHOLD = 1_000_000
# Multiply-adds above which a prange kernel runs on every core (~1 ms of serial work).
PARALLEL_THRESHOLD = 2_000_000
# A job (`job`) under this many multiply-adds runs its kernels serially until numba's thread
# pool runs: the first parallel call of a process loads the threading layer, starts its
# threads and scans the BLAS pools (threadpoolctl), 0.1-0.3 s on two cores, more than two
# cores save on such a job (~0.5 ns a multiply-add serially). Calls outside a job choose by
# PARALLEL_THRESHOLD alone, and any call once the pool runs by WARM_PARALLEL_THRESHOLD.
POOL_START_WORK = 1_000_000_000
# Once numba's pool runs, a parallel call costs only its threads' wake-up and the BLAS limit
# (~15 us on two cores), so calls of this much work or more take it: the shared bank's
# kernel ran 35 / 34 us serial / parallel at ~0.1 M, 71 / 51 us at ~0.2 M, 140 / 82 us at
# ~0.4 M (docs/benchmarks.md).
WARM_PARALLEL_THRESHOLD = 200_000
STREAM_FASTMATH = frozenset({"reassoc", "contract"})

# Inside a kernel, `prange` is `range` when interpreted and numba.prange when compiled.
prange = range


class Kernel:
    """A kernel function with a lazily compiled numba twin."""

    def __init__(self, func: Callable, fastmath: frozenset[str], parallel: bool = False,
                 inline: bool = False) -> None:
        functools.update_wrapper(self, func)
        self.py = func
        self.fastmath = fastmath
        self.parallel = parallel
        self.inline = inline
        self._jit: Callable | None = None
        self._jit_parallel: Callable | None = None

    def __call__(self, *args: Any) -> Any:
        return self.py(*args)

    @property
    def jit(self) -> Callable:
        if self._jit is None:
            self._jit = _compile(self)
        return self._jit

    @property
    def jit_parallel(self) -> Callable:
        """The numba twin with `parallel=True`: prange loops spread over numba's threads."""
        if self._jit_parallel is None:
            self._jit_parallel = _compile(self, parallel=True)
        return self._jit_parallel

    def __repr__(self) -> str:
        return f"<kernel {self.py.__module__}.{self.py.__qualname__}>"


class Intrinsic(Kernel):
    """An operation Python and numpy have but numba cannot compile (a bit cast): `py` is its
    interpreted form, `build()` imports numba and returns an @intrinsic that emits the same
    operation as LLVM IR, so the compiled twin vectorises where a table lookup would gather."""

    def __init__(self, func: Callable, build: Callable[[], Callable]) -> None:
        super().__init__(func, frozenset())
        self._build = build

    @property
    def jit(self) -> Callable:
        if self._jit is None:
            self._jit = self._build()
        return self._jit


def _float_from_bits_py(bits: Any) -> float:
    return struct.unpack("<d", struct.pack("<q", int(bits)))[0]


def _float_from_bits_intrinsic() -> Callable:
    from numba.core import types  # noqa: TID253 - numba is imported only here, on demand
    from numba.core.extending import intrinsic  # noqa: TID253

    @intrinsic
    def float_from_bits(typingctx: Any, bits: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], context.get_value_type(types.float64))

        return types.float64(types.int64), codegen

    return float_from_bits


# The float64 whose IEEE bits are the int64 `bits` (2^k is (k + 1023) << 52 for normal k).
float_from_bits = Intrinsic(_float_from_bits_py, _float_from_bits_intrinsic)


def _fused_multiply_add_py(a: Any, b: Any, c: Any) -> float:
    # Python 3.13's math.fma rounds once, as the compiled twin does; before it, a * b + c
    # rounds twice (within an ulp: the interpreted path only serves tiny inputs)
    exact = getattr(math, "fma", None)
    return exact(a, b, c) if exact is not None else a * b + c


def _fused_multiply_add_intrinsic() -> Callable:
    from llvmlite import ir  # noqa: TID253 - numba's own dependency, imported on demand
    from numba.core import cgutils, types  # noqa: TID253
    from numba.core.extending import intrinsic  # noqa: TID253

    @intrinsic
    def fused_multiply_add(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            double = ir.DoubleType()
            fma = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(double, [double, double, double]),
                "llvm.fma.f64")
            return builder.call(fma, args)  # typed float64 x 3: numba casts at the call

        return types.float64(types.float64, types.float64, types.float64), codegen

    return fused_multiply_add


# a * b + c rounded once (IEEE 754 fusedMultiplyAdd): an exact operation that a kernel asks
# for by name, not a fast-math flag letting the compiler contract what it likes.
fused_multiply_add = Intrinsic(_fused_multiply_add_py, _fused_multiply_add_intrinsic)


def _prefetch_py(array: Any, i: Any, j: Any, k: Any) -> None:
    return None  # a hint to the cache: the interpreted path has no use for it


def _prefetch_intrinsic() -> Callable:
    from llvmlite import ir  # noqa: TID253 - numba's own dependency, imported on demand
    from numba.core import cgutils, types  # noqa: TID253
    from numba.core.extending import intrinsic  # noqa: TID253

    @intrinsic
    def prefetch(typingctx: Any, array: Any, i: Any, j: Any, k: Any) -> Any:
        if not (isinstance(array, types.Array) and array.ndim == 3):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            view = context.make_array(signature.args[0])(context, builder, args[0])
            index = [context.cast(builder, value, kind, types.intp)
                     for value, kind in zip(args[1:], signature.args[1:], strict=True)]
            address = cgutils.get_item_pointer2(
                context, builder, data=view.data, shape=cgutils.unpack_tuple(builder, view.shape),
                strides=cgutils.unpack_tuple(builder, view.strides), layout=array.layout,
                inds=index, wraparound=False, boundscheck=False)
            byte = ir.IntType(8).as_pointer()
            word = ir.IntType(32)
            hint = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [byte, word, word, word]),
                "llvm.prefetch.p0")
            # a read (0) of data (1) into L2 and below (locality 2: prefetcht1), not L1: on
            # the Intel hosts 93-96% of the floor against 85-87% into L1 (float64 S2)
            builder.call(hint, [builder.bitcast(address, byte), ir.Constant(word, 0),
                                ir.Constant(word, 2), ir.Constant(word, 1)])
            return context.get_dummy_value()

        return types.void(array, i, j, k), codegen

    return prefetch


# Ask the caches for the line holding array[i, j, k] (3-D arrays; no bounds check: the caller
# keeps the index inside the array). A stream kernel that does arithmetic between its loads
# keeps fewer of them in flight than a plain read does: on the Intel hosts per-anchor InfoNCE
# float64 read at 77-82% of the read floor, 96-99% with the rows 4 KiB ahead asked for
# (docs/benchmarks.md).
prefetch = Intrinsic(_prefetch_py, _prefetch_intrinsic)


def kernel(func: Callable | None = None, *, stream: bool = False, parallel: bool = False,
           inline: bool = False) -> Any:
    """Declare a kernel. `stream=True` for pure memory-streaming loops (allows reassoc);
    `parallel=True` for a kernel whose prange loop numba's parfor pass can split (its
    iterations write disjoint outputs): only those get the parallel path. `inline=True` for
    a helper that reads rows of its caller's arrays once per row: numba inlines its body
    into the caller's (a compiled call with array arguments cost ~25 ns, 13 us over 512
    rows of a 15 us pass)."""

    def wrap(f: Callable) -> Kernel:
        return Kernel(f, STREAM_FASTMATH if stream else frozenset(), parallel, inline)

    return wrap(func) if func is not None else wrap


def _compile(k: Kernel, parallel: bool = False) -> Callable:
    """numba-compile a kernel whose globals see compiled callees and numba.prange.

    Callees are always their serial twins: the parallelism is the caller's prange loop.
    """
    import numba  # noqa: TID253 - the one place numba is imported, and only on demand

    cache = _prepare_cache(numba)
    _prefer_wide_vectors(numba)
    _listen_for_compiles()
    func = k.py
    scope = dict(func.__globals__)
    for name in func.__code__.co_names:
        value = scope.get(name)
        if isinstance(value, Kernel) and value is not k:
            scope[name] = value.jit
    scope["prange"] = numba.prange
    twin = types.FunctionType(
        func.__code__, scope, func.__name__, func.__defaults__, func.__closure__
    )
    # numba names cache files by qualname and keys them by signature, not by jit flags: the
    # parallel twin needs a name of its own or it would load the serial one (or clobber it).
    twin.__qualname__ = func.__qualname__ + ("__parallel" if parallel else "")
    twin.__module__ = func.__module__
    twin.__doc__ = func.__doc__
    options: dict[str, Any] = dict(
        cache=cache,
        error_model="numpy",
        fastmath=set(k.fastmath) if k.fastmath else False,
        nogil=True,
    )
    if k.inline:
        options["inline"] = "always"
    if parallel:
        options["parallel"] = True
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # see "Thread pools" above
    dispatcher = numba.njit(**options)(twin)
    if cache:
        _skip_failed_cache_writes(dispatcher)
    return dispatcher


def _skip_failed_cache_writes(dispatcher: Any) -> None:
    """A cache that cannot be written (a full disk, a file size limit, a directory made
    read-only under the run) costs the next run a compile, not this run its result: numba
    saves after compiling, in the call, and its OSError (only Windows' EACCES is passed
    over) ended the run as an internal error, or as a disk full said of stdout (QA15)."""
    cache = getattr(dispatcher, "_cache", None)
    save = getattr(cache, "save_overload", None)
    if save is None:
        return

    def save_or_skip(sig: Any, data: Any) -> None:
        try:
            save(sig, data)
        except OSError:
            pass

    cache.save_overload = save_or_skip


_vectors_chosen = False


def _prefer_wide_vectors(numba: Any) -> None:
    """Let LLVM vectorise with 512-bit registers where the CPU has AVX-512 (once, before the
    first compile: the features are the codegen's, for the whole process).

    LLVM's Intel targets with AVX-512 prefer 256-bit vectors (`prefer-256-bit`, for the
    clock slowdown of older Xeons' wide units); on this project's Xeon (Emerald Rapids) the
    vectorised exponential ran 1.3-1.9x faster with 512-bit vectors (docs/benchmarks.md).
    A user's NUMBA_CPU_NAME or NUMBA_CPU_FEATURES is left as it is."""
    global _vectors_chosen
    if _vectors_chosen:
        return
    _vectors_chosen = True
    config = numba.config
    if config.CPU_FEATURES is not None or config.CPU_NAME is not None:
        return
    from numba.core.codegen import get_host_cpu_features  # noqa: TID253 - numba is imported

    features = get_host_cpu_features()
    if "+avx512f" in features.split(",") and "prefer-256-bit" not in features:
        config.CPU_FEATURES = features + ",-prefer-256-bit"


_cache_ready: bool | None = None
_first_compile: Callable[[], None] | None = None
_listening = False


def on_first_compile(callback: Callable[[], None] | None) -> None:
    """Call `callback` once, when numba starts compiling a kernel in this process: a cache
    miss, not a kernel loaded from the cache (the CLI says on a terminal that it waits)."""
    global _first_compile
    _first_compile = callback
    if callback is not None and "numba" in sys.modules:
        _listen_for_compiles()


def _listen_for_compiles() -> None:
    global _listening
    if _listening or _first_compile is None:
        return
    from numba.core import event  # noqa: TID253 - numba is imported already here

    class FirstCompile(event.Listener):
        def on_start(self, ev: Any) -> None:
            global _first_compile
            callback, _first_compile = _first_compile, None
            if callback is not None:
                callback()

        def on_end(self, ev: Any) -> None:
            pass

    event.register("numba:compile", FirstCompile())
    _listening = True


def _prepare_cache(numba: Any) -> bool:
    """Point numba's cache at a writable directory (once); False when there is none."""
    global _cache_ready
    if _cache_ready is None:
        directory = cache_dir(os.path.dirname(os.path.abspath(__file__)))
        if directory is not None:
            numba.config.CACHE_DIR = directory
            claim_cache(directory)
        _cache_ready = directory is not None
    return _cache_ready


# Every edit of a kernel file (every upgrade) starts a cache directory of its own, 1-30 MB
# once its kernels are compiled; the old ones would pile up beside it forever.
CACHE_MARKER = "last-used"
KEEP_CACHES = 4
STALE_CACHE_DAYS = 30
_CACHE_NAME = re.compile(r"kernels-[0-9a-f]{16}")


def claim_cache(directory: str) -> None:
    """Mark `directory` used now (its CACHE_MARKER file's time) and prune its siblings."""
    try:
        os.makedirs(directory, exist_ok=True)
        marker = os.path.join(directory, CACHE_MARKER)
        with open(marker, "a"):
            pass
        os.utime(marker)
    except OSError:
        return
    prune_caches(os.path.dirname(directory), keep=directory)


def prune_caches(base: str, keep: str, now: float | None = None) -> list[str]:
    """Remove the kernel caches in `base` (`kernels-<digest>`, nothing else) other than
    `keep` that no process used for STALE_CACHE_DAYS or that are not among the KEEP_CACHES
    used last, `keep` counted. Used = CACHE_MARKER's time, else the directory's (a cache made
    before the marker). Another losscli installed elsewhere that shares this base marks its
    own cache each time it runs. Returns the paths removed; errors only leave a cache be."""
    now = time.time() if now is None else now
    caches = []
    try:
        names = os.listdir(base)
    except OSError:
        return []
    for name in names:
        path = os.path.join(base, name)
        if not _CACHE_NAME.fullmatch(name) or os.path.abspath(path) == os.path.abspath(keep):
            continue
        try:
            marker = os.path.join(path, CACHE_MARKER)
            used = os.stat(marker if os.path.exists(marker) else path).st_mtime
        except OSError:
            continue
        caches.append((used, path))
    caches.sort(reverse=True)
    removed = []
    for rank, (used, path) in enumerate(caches):
        if rank >= KEEP_CACHES - 1 or now - used > STALE_CACHE_DAYS * 86400:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def cache_dir(package_dir: str) -> str | None:
    """Where compiled kernels are cached: `kernels-<digest of the sources>` in the first of
    $NUMBA_CACHE_DIR, the package's own __pycache__ when writable, the user cache
    directory, a per-user temporary directory; None when none is writable.
    """
    base = _cache_base(package_dir)
    if base is None:
        return None
    return os.path.join(base, "kernels-" + sources_digest(package_dir))


def _cache_base(package_dir: str) -> str | None:
    explicit = os.environ.get("NUMBA_CACHE_DIR")
    if explicit:
        return explicit
    in_tree = os.path.join(package_dir, "__pycache__")
    if _writable(in_tree):
        return in_tree
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    candidates = (os.path.join(base, "losscli", "numba"),
                  os.path.join(tempfile.gettempdir(), f"losscli-numba-{uid}"))
    for candidate in candidates:
        if _writable(candidate):
            return candidate
    return None


def sources_digest(package_dir: str) -> str:
    """A short hash of every kernel source file's name and bytes (`package_dir`/*.py)."""
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(package_dir, "*.py"))):
        digest.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as source:
            digest.update(source.read())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _writable(directory: str) -> bool:
    """Whether files can be created in `directory` (made if missing), by trying it."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
        return True
    except OSError:
        return False


def threads() -> int:
    """The threads a parallel kernel would use (numba's count, read without importing it)."""
    configured = os.environ.get("NUMBA_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_blas_libraries: list[Any] | None = None


@contextlib.contextmanager
def blas_threads(limit: int) -> Iterator[None]:
    """Limit the BLAS thread pools to `limit` threads for the duration of a block.

    threadpoolctl finds the BLAS libraries once; each block then sets and restores their
    thread counts through the libraries' own calls. (threadpoolctl's `limit` re-read every
    library's whole description per block: ~40 us a block in isolation, 110-130 us more
    per parallel kernel between BLAS products, more than the shared bank's kernel gained
    from a second core; docs/benchmarks.md.)
    """
    global _blas_libraries
    if _blas_libraries is None:
        from threadpoolctl import ThreadpoolController

        _blas_libraries = [lib for lib in ThreadpoolController().lib_controllers
                           if lib.user_api == "blas"]
    lowered = []
    for lib in _blas_libraries:
        threads = lib.get_num_threads()
        if threads is not None and threads > limit:
            lib.set_num_threads(limit)
            lowered.append((lib, threads))
    try:
        yield
    finally:
        for lib, threads in lowered:
            lib.set_num_threads(threads)


def jit_mode() -> str:
    mode = os.environ.get("LOSSCLI_JIT", "auto").strip().lower()
    return mode if mode in ("auto", "always", "never") else "auto"


_job_work: contextvars.ContextVar[int] = contextvars.ContextVar("losscli_job_work", default=0)


@contextlib.contextmanager
def job(work: int) -> Iterator[None]:
    """Within the block, choose paths by the whole job's work, not each call's.

    `batch` evaluates a large file a chunk at a time: each chunk is small, the file is
    not, and numba's start-up is paid once for all of them.
    """
    token = _job_work.set(max(work, _job_work.get()))
    try:
        yield
    finally:
        _job_work.reset(token)


def path_for(work: int, parallel: bool | None = None) -> str:
    """"py", "serial" or "parallel": how `run` calls a (parallel-capable) kernel of this work.

    parallel: None chooses by size (and by the thread count), True/False force it among
    the compiled paths (LOSSCLI_JIT=never still interprets).
    """
    mode = jit_mode()
    work = max(work, _job_work.get())
    compiled = mode == "always" or (mode == "auto" and work >= JIT_THRESHOLD)
    if not compiled:
        return "py"
    if parallel is None:
        parallel = parallel_for(work)
    return "parallel" if parallel else "serial"


def parallel_for(work: int) -> bool:
    """Whether a compiled call of this much work (or its job's) runs on every core."""
    job_work = _job_work.get()
    work = max(work, job_work)
    return threads() > 1 and (
        (_pool_started and work >= WARM_PARALLEL_THRESHOLD)
        or (work >= PARALLEL_THRESHOLD and (not job_work or job_work >= POOL_START_WORK)))


_pool_started = False


def run(k: Kernel, work: int, *args: Any, parallel: bool | None = None) -> Any:
    """Call a kernel compiled or interpreted, serial or parallel, by the size of its work."""
    global _pool_started
    path = path_for(work, parallel if k.parallel else False)
    if path == "parallel":
        _pool_started = True
        with blas_threads(1):
            return k.jit_parallel(*args)
    if path == "serial":
        return k.jit(*args)
    with np.errstate(all="ignore"):
        return k.py(*args)
