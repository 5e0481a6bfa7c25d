"""The one jit policy: how every kernel is compiled, and when it is not compiled at all.

Kernels are plain Python functions over float64 arrays, written in the subset that numba
compiles (loops, math through numpy's scalar functions so that Python and numba agree on
overflow: inf and NaN, never an exception). `@kernel` wraps each one:

- `Kernel.jit`: compiled by numba on first use with `cache=True`, `error_model="numpy"`, and
  fast-math only where CONTRACT.md allows it: the {reassoc, contract} flags for kernels that
  just stream memory (dot products, squared distances), nothing in exp/log/sqrt paths, and
  never nnan/ninf/afn/arcp (they would drop the NaN/inf checks).
- `Kernel.py`: the same source run by the interpreter. numba costs about 0.3 s per process
  (import and first cached call), far more than a tiny input's work, so below
  `JIT_THRESHOLD` units of work the source runs uncompiled and numba is never imported.

`LOSSCLI_JIT=always|never|auto` (default auto) overrides the choice; the tests use it to
check that both paths agree.
"""

from __future__ import annotations

import functools
import os
import types
from collections.abc import Callable
from typing import Any

import numpy as np

# Multiply-adds below which interpreting the kernel beats numba's fixed start-up cost.
JIT_THRESHOLD = 50_000
STREAM_FASTMATH = frozenset({"reassoc", "contract"})

# Inside a kernel, `prange` is `range` when interpreted and numba.prange when compiled.
prange = range


class Kernel:
    """A kernel function with a lazily compiled numba twin."""

    def __init__(self, func: Callable, fastmath: frozenset[str]) -> None:
        functools.update_wrapper(self, func)
        self.py = func
        self.fastmath = fastmath
        self._jit: Callable | None = None

    def __call__(self, *args: Any) -> Any:
        return self.py(*args)

    @property
    def jit(self) -> Callable:
        if self._jit is None:
            self._jit = _compile(self)
        return self._jit

    def __repr__(self) -> str:
        return f"<kernel {self.py.__module__}.{self.py.__qualname__}>"


def kernel(func: Callable | None = None, *, stream: bool = False) -> Any:
    """Declare a kernel. `stream=True` for pure memory-streaming loops (allows reassoc)."""

    def wrap(f: Callable) -> Kernel:
        return Kernel(f, STREAM_FASTMATH if stream else frozenset())

    return wrap(func) if func is not None else wrap


def _compile(k: Kernel) -> Callable:
    """numba-compile a kernel whose globals see compiled callees and numba.prange."""
    import numba  # noqa: TID253 - the one place numba is imported, and only on demand

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
    twin.__qualname__ = func.__qualname__
    twin.__module__ = func.__module__
    twin.__doc__ = func.__doc__
    return numba.njit(
        cache=True,
        error_model="numpy",
        fastmath=set(k.fastmath) if k.fastmath else False,
        nogil=True,
    )(twin)


def jit_mode() -> str:
    mode = os.environ.get("LOSSCLI_JIT", "auto").strip().lower()
    return mode if mode in ("auto", "always", "never") else "auto"


def run(k: Kernel, work: int, *args: Any) -> Any:
    """Call a kernel compiled or interpreted, by the size of its work."""
    mode = jit_mode()
    compiled = mode == "always" or (mode == "auto" and work >= JIT_THRESHOLD)
    if compiled:
        return k.jit(*args)
    with np.errstate(all="ignore"):
        return k.py(*args)
