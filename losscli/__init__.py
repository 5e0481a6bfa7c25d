"""losscli: see what a loss does, term by term.

    import losscli
    result = losscli.evaluate("infonce", {"anchor": a, "positive": p, "negatives": n},
                              temperature=0.07)
    result.value, result.per_example, result.terms.columns["probability"]

Importing losscli imports numpy but never numba: kernels compile on first large use.
"""

from losscli._version import __version__
from losscli.api import evaluate, evaluate_file
from losscli.errors import ExitCode, LossCliError
from losscli.io import load_inputs
from losscli.losses import LOSSES, get_spec
from losscli.model import Inputs, Result, Terms

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
    "get_spec",
    "load_inputs",
]
