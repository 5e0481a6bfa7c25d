"""losscli: see what a loss does, term by term.

    >>> import losscli
    >>> result = losscli.evaluate("infonce", {"anchor": [1.0, 0.0], "positive": [0.6, 0.8],
    ...                                       "negatives": [[0.8, 0.6], [0.0, 1.0]]},
    ...                           similarity="cosine", temperature=0.07)
    >>> round(result.value, 12)  # LOSSES.md's cosine golden
    2.912997059198
    >>> result.terms.columns["probability"].round(6).tolist()  # the positive first
    [[0.054313, 0.945677, 1e-05]]

Importing losscli imports neither numpy nor numba: the names below are loaded on first use,
so `losscli --version`, `--help` and shell completion start without numpy; kernels compile
on first large use.
"""

from __future__ import annotations

import importlib as _importlib
import os as _os
import sys as _sys
from typing import TYPE_CHECKING, Any

# OpenBLAS's idle workers spin (sched_yield) for a long while after each call; on a
# two-core machine they starve numba's threads (and numba's theirs): a numba kernel right
# after a BLAS product ran 3-7x slower (docs/benchmarks.md). 2^4 cycles makes them sleep
# at once. Only when numpy is not loaded yet and the user has not chosen a value.
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from losscli._version import __version__  # noqa: E402

if TYPE_CHECKING:
    from losscli.api import compare, evaluate, evaluate_file, evaluate_files, stats, sweep
    from losscli.errors import (
        BadData,
        ExitCode,
        InputUnavailable,
        LossCliError,
        OutputError,
        UnknownKeyword,
        UsageError,
    )
    from losscli.io import load_inputs
    from losscli.losses import LOSSES, get_spec
    from losscli.model import Inputs, Result, Terms

# Each public name and the module it lives in, imported when the name is first read.
_PUBLIC = {
    "evaluate": "losscli.api", "evaluate_file": "losscli.api",
    "evaluate_files": "losscli.api", "sweep": "losscli.api", "stats": "losscli.api",
    "compare": "losscli.api", "ExitCode": "losscli.errors",
    "LossCliError": "losscli.errors", "UnknownKeyword": "losscli.errors",
    # the kinds a caller catches apart (README: UnknownKeyword is a UsageError too)
    "UsageError": "losscli.errors", "BadData": "losscli.errors",
    "InputUnavailable": "losscli.errors", "OutputError": "losscli.errors",
    "load_inputs": "losscli.io", "LOSSES": "losscli.losses",
    "get_spec": "losscli.losses", "Inputs": "losscli.model", "Result": "losscli.model",
    "Terms": "losscli.model",
}


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'losscli' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = [
    "LOSSES",
    "BadData",
    "ExitCode",
    "InputUnavailable",
    "Inputs",
    "LossCliError",
    "OutputError",
    "Result",
    "Terms",
    "UnknownKeyword",
    "UsageError",
    "__version__",
    "compare",
    "evaluate",
    "evaluate_file",
    "evaluate_files",
    "get_spec",
    "load_inputs",
    "stats",
    "sweep",
]
