"""losscli: see what a loss does, term by term.

    import losscli
    result = losscli.evaluate("infonce", {"anchor": a, "positive": p, "negatives": n},
                              temperature=0.07)
    result.value, result.per_example, result.terms.columns["probability"]

Importing losscli imports numpy but never numba: kernels compile on first large use.
"""

import os as _os
import sys as _sys

# OpenBLAS's idle workers spin (sched_yield) for a long while after each call; on a
# two-core machine they starve numba's threads (and numba's theirs): a numba kernel right
# after a BLAS product ran 3-7x slower (docs/benchmarks.md). 2^4 cycles makes them sleep
# at once. Only when numpy is not loaded yet and the user has not chosen a value.
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from losscli._version import __version__  # noqa: E402
from losscli.api import evaluate, evaluate_file, evaluate_files  # noqa: E402
from losscli.errors import ExitCode, LossCliError  # noqa: E402
from losscli.io import load_inputs  # noqa: E402
from losscli.losses import LOSSES, get_spec  # noqa: E402
from losscli.model import Inputs, Result, Terms  # noqa: E402

__all__ = [
    "LOSSES",
    "ExitCode",
    "Inputs",
    "LossCliError",
    "Result",
    "Terms",
    "__version__",
    "evaluate",
    "evaluate_file",
    "evaluate_files",
    "get_spec",
    "load_inputs",
]
