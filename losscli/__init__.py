"""losscli: see what a loss does, term by term.

    >>> import losscli
    >>> result = losscli.evaluate("infonce", {"anchor": [1.0, 0.0], "positive": [0.6, 0.8],
    ...                                       "negatives": [[0.8, 0.6], [0.0, 1.0]]},
    ...                           similarity="cosine", temperature=0.07)
    >>> round(result.value, 12)  # LOSSES.md's cosine golden
    2.912997059198
    >>> result.terms.columns["probability"].round(6).tolist()  # the positive first
    [[0.054313, 0.945677, 1e-05]]

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
