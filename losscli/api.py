"""The library's face: evaluate a loss by name on inputs, get a Result.

    >>> import losscli
    >>> r = losscli.evaluate("triplet", {"anchor": [1, 0], "positive": [0.6, 0.8],
    ...                                  "negatives": [[0.8, 0.6]]}, margin=1.0)
    >>> round(r.value, 12)
    1.261971658966

Every caller (the CLI's commands, notebooks, later batch and sweep) comes through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from losscli.errors import UsageError
from losscli.io import inputs_from_arrays, load_inputs
from losscli.losses import REDUCTIONS, get_spec, implementation
from losscli.model import Inputs, Result


def evaluate(name: str, inputs: Inputs | Mapping[str, Any], *, reduction: str = "mean",
             **params: Any) -> Result:
    """Evaluate the loss `name` (or an alias) with the given parameters (others default).

    `inputs` is an Inputs from `load_inputs`, or a mapping of role to array or nested list.
    """
    spec = get_spec(name)
    if reduction not in REDUCTIONS:
        raise UsageError(f"--reduction got {reduction!r}",
                         f"choose one of {', '.join(REDUCTIONS)}")
    resolved = spec.resolve({k: v for k, v in params.items() if v is not None})
    if not isinstance(inputs, Inputs):
        inputs = inputs_from_arrays(inputs, spec)
    result = implementation(spec)(inputs, resolved, reduction)
    if inputs.warnings:
        result = _with_warnings(result, inputs.warnings)
    if not result.finite and all(np.isfinite(result.per_example)):
        # Every example finite but their sum overflowed: still say why the value is null.
        result = replace(result, warnings=result.warnings + (
            f"the {reduction} of the example losses overflows float64; written as null",))
    return result


def evaluate_file(name: str, path: str | None = None, *, role_files: Mapping[str, str] | None
                  = None, reduction: str = "mean", **params: Any) -> Result:
    """Read INPUT and per-role files, then evaluate (what `losscli compute` does)."""
    spec = get_spec(name)
    inputs = load_inputs(path, role_files, spec)
    return evaluate(spec.name, inputs, reduction=reduction, **params)


def _with_warnings(result: Result, extra: tuple[str, ...]) -> Result:
    return replace(result, warnings=tuple(extra) + result.warnings)


__all__ = ["evaluate", "evaluate_file", "load_inputs"]
