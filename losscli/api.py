"""The library's face: evaluate a loss by name on inputs, get a Result.

    >>> import losscli
    >>> r = losscli.evaluate("triplet", {"anchor": [1, 0], "positive": [0.6, 0.8],
    ...                                  "negatives": [[0.8, 0.6]]}, margin=1.0)
    >>> round(r.value, 12)
    1.261971658966

Every caller (the CLI's commands, notebooks, later batch and sweep) comes through here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from losscli.errors import UsageError
from losscli.io import inputs_from_arrays, load_inputs
from losscli.losses import REDUCTIONS, get_spec, implementation
from losscli.model import Inputs, Result


def evaluate(name: str, inputs: Inputs | Mapping[str, Any], *, reduction: str | None = None,
             like: str | None = None, grad: bool = False, **params: Any) -> Result:
    """Evaluate the loss `name` (or an alias) with the given parameters (others default).

    `inputs` is an Inputs from `load_inputs`, or a mapping of role to array or nested list.
    reduction: mean (default), sum or none; under `like` the library's own by default.
    like: a library (torch, pytorch-metric-learning, sentence-transformers, tf-addons, optax)
    or codebase (open-clip, supcontrast, dcl-port, nidl, hcl, ms-original) whose convention
    for this loss to reproduce: its defaults, distance, normalization, eps placement, 1/2
    factors and reduction; `Result.convention` says what changed.
    grad: also compute `Result.gradients`, d loss_b / d each input vector (analytic).
    """
    spec = get_spec(name)
    given = {k: v for k, v in params.items() if v is not None}
    applied = None
    if like is not None:
        from losscli.conventions import apply

        applied = apply(spec, like, given, reduction)
        given, reduction = applied.params, applied.reduction
    elif reduction is None:
        reduction = "mean"
    elif reduction not in REDUCTIONS:
        raise UsageError(f"--reduction got {reduction!r}",
                         f"choose one of {', '.join(REDUCTIONS)}")
    resolved = spec.resolve(given)
    if not isinstance(inputs, Inputs):
        inputs = inputs_from_arrays(inputs, spec)
    if applied is not None:
        from losscli.conventions import check_roles

        check_roles(spec, applied, inputs)
    extra: dict[str, Any] = {}
    if grad:
        extra["grad"] = True
    if applied is not None:
        extra["convention"] = applied.convention
    result = implementation(spec)(inputs, resolved, reduction, **extra)
    if applied is not None:
        result = replace(result, convention=applied.describe())
    if inputs.warnings:
        result = _with_warnings(result, inputs.warnings)
    if not result.finite and all(np.isfinite(result.per_example)):
        # Every example finite but their sum overflowed: still say why the value is null.
        result = replace(result, warnings=result.warnings + (
            f"the {reduction} of the example losses overflows float64; written as null",))
    return result


def evaluate_file(name: str, path: str | None = None, *, role_files: Mapping[str, str] | None
                  = None, reduction: str | None = None, like: str | None = None,
                  grad: bool = False, **params: Any) -> Result:
    """Read INPUT and per-role files, then evaluate (what `losscli compute` does)."""
    spec = get_spec(name)
    inputs = load_inputs(path, role_files, spec)
    return evaluate(spec.name, inputs, reduction=reduction, like=like, grad=grad, **params)


def evaluate_files(name: str, inputs: list[str], *, role_files: Mapping[str, str] | None = None,
                   reduction: str = "mean", dtype: str = "float64", jobs: int = 1,
                   chunk: int | None = None, progress: Any = None, stdin: Any = None,
                   scheduler: Any = None, workers: int | None = None,
                   task_rows: int | None = None, **params: Any) -> Iterator[Any]:
    """Evaluate a loss over many inputs (what `losscli batch` does), one FileResult each.

    inputs: files, directories (read non-recursively), globs, `-` (JSON Lines on stdin).
    Results come as each input finishes; an input that fails gives a FileResult whose
    `error` says why, and the others go on. .npy inputs are read `chunk` examples at a time
    (default: about 4 MiB), so memory does not grow with the file. `progress(n)` is called
    as examples are done (and `progress.start(inputs)` first, if it has one). `dtype="float32"`
    computes on float32 values (float64 accumulation) where a stream kernel applies.
    `scheduler` ("local", an address such as tcp://host:8786, or a distributed.Client) runs
    the inputs as tasks on a Dask cluster (losscli[dask]; batch/cluster.py), with the same
    records; `workers` and `task_rows` as for `losscli batch`.
    """
    from losscli.batch import DTYPES, BatchOptions, evaluate_sources, expand

    spec = get_spec(name)
    if reduction not in REDUCTIONS:
        raise UsageError(f"--reduction got {reduction!r}",
                         f"choose one of {', '.join(REDUCTIONS)}")
    if dtype not in DTYPES:
        raise UsageError(f"--dtype got {dtype!r}", f"choose one of {', '.join(DTYPES)}")
    if jobs < 1:
        raise UsageError(f"--jobs got {jobs}", "give a whole number >= 1")
    if chunk is not None and chunk < 1:
        raise UsageError(f"chunk got {chunk}", "give a whole number >= 1")
    if list(inputs).count("-") > 1:
        raise UsageError("- (stdin) is given more than once", "give it once")
    given = {k: v for k, v in params.items() if v is not None}
    spec.resolve(given)
    sources = expand(list(inputs), dict(role_files or {}))
    if not sources:
        raise UsageError("no input given", "give INPUTS (files, directories, globs or -) or "
                         "per-role options such as --anchor FILE")
    if progress is not None and hasattr(progress, "start"):
        progress.start(len(sources))
    options = BatchOptions(spec.name, given, reduction, dtype, chunk, dict(role_files or {}))
    if scheduler is not None or workers is not None or task_rows is not None:
        from losscli.batch.cluster import ClusterOptions, evaluate_on_cluster, require_dask

        if scheduler is None:
            raise UsageError("--workers and --task-rows need --scheduler",
                             "add --scheduler local, or --scheduler tcp://HOST:PORT")
        cluster = ClusterOptions(scheduler, workers, task_rows)
        cluster.check(jobs)
        require_dask()
        return evaluate_on_cluster(sources, options, cluster, progress, stdin)
    return evaluate_sources(sources, options, jobs, progress, stdin)


def _with_warnings(result: Result, extra: tuple[str, ...]) -> Result:
    return replace(result, warnings=tuple(extra) + result.warnings)


__all__ = ["evaluate", "evaluate_file", "evaluate_files", "load_inputs"]
