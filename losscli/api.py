"""The library's face: evaluate a loss by name on inputs, get a Result.

    >>> import losscli
    >>> r = losscli.evaluate("triplet", {"anchor": [1, 0], "positive": [0.6, 0.8],
    ...                                  "negatives": [[0.8, 0.6]]}, margin=1.0)
    >>> round(r.value, 12)
    1.261971658966

Every caller (the CLI's commands, notebooks, later batch and sweep) comes through here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from losscli.errors import UsageError
from losscli.io import (
    RoleNames,
    check_layout,
    inputs_from_arrays,
    load_inputs,
    parse_mapping,
    with_layout,
)
from losscli.losses import REDUCTIONS, get_spec
from losscli.losses.call import LossCall
from losscli.losses.run import run
from losscli.model import Comparison, Inputs, Result, Stats, Sweep


def evaluate(name: str, inputs: Inputs | Mapping[str, Any], *, reduction: str | None = None,
             like: str | None = None, grad: bool = False, negatives_layout: str | None = None,
             **params: Any) -> Result:
    """Evaluate the loss `name` (or an alias) with the given parameters (others default).

    `inputs` is an Inputs from `load_inputs`, or a mapping of role to array or nested list.
    reduction: mean (default), sum or none; under `like` the library's own by default.
    like: a library (torch, pytorch-metric-learning, sentence-transformers, tf-addons, optax)
    or codebase (open-clip, supcontrast, dcl-port, nidl, hcl, ms-original) whose convention
    for this loss to reproduce: its defaults, distance, normalization, eps placement, 1/2
    factors and reduction; `Result.convention` says what changed.
    grad: also compute `Result.gradients`, d loss_b / d each input vector (analytic).
    negatives_layout: how 2-D negatives (rows, D) are read: "shared" (K = rows negatives for
    every anchor) or "per-anchor" (row b is anchor b's one negative, (B, 1, D)); unsaid, they
    are shared, with a warning when rows = B makes it ambiguous.
    """
    call = LossCall.of(name, params, reduction, like)
    return run(call, as_inputs(call, inputs, negatives_layout), grad=grad)


def as_inputs(call: LossCall, inputs: Inputs | Mapping[str, Any],
              negatives_layout: str | None = None) -> Inputs:
    """Inputs as they are, or a mapping of role to array checked for the call's loss; with
    their negatives read in `negatives_layout` when given."""
    if isinstance(inputs, Inputs):
        return with_layout(inputs, negatives_layout, call.spec)
    return inputs_from_arrays(inputs, call.spec, negatives_layout)


def evaluate_file(name: str, path: str | None = None, *, role_files: Mapping[str, str] | None
                  = None, reduction: str | None = None, like: str | None = None,
                  grad: bool = False, negatives_layout: str | None = None,
                  mapping: Mapping[str, str] | Iterable[str] | None = None,
                  strict_keys: bool = False, **params: Any) -> Result:
    """Read INPUT and per-role files, then evaluate (what `losscli compute` does).

    mapping: {role: name} (or `ROLE=NAME` items) to read a role from the array, tensor,
    column or dataset of another name; strict_keys: refuse arrays that are not roles
    instead of ignoring them with a warning.
    """
    spec = get_spec(name)
    inputs = load_inputs(path, role_files, spec, negatives_layout=negatives_layout,
                         mapping=mapping, strict_keys=strict_keys)
    return evaluate(spec.name, inputs, reduction=reduction, like=like, grad=grad, **params)


def evaluate_files(name: str, inputs: list[str], *, role_files: Mapping[str, str] | None = None,
                   reduction: str = "mean", dtype: str = "float64", jobs: int = 1,
                   chunk: int | None = None, progress: Any = None, stdin: Any = None,
                   scheduler: Any = None, workers: int | None = None,
                   task_rows: int | None = None, negatives_layout: str | None = None,
                   mapping: Mapping[str, str] | Iterable[str] | None = None,
                   strict_keys: bool = False, **params: Any) -> Iterator[Any]:
    """Evaluate a loss over many inputs (what `losscli batch` does), one FileResult each.

    inputs: files, directories (read non-recursively), globs, `-` (JSON Lines on stdin).
    Results come as each input finishes; an input that fails gives a FileResult whose
    `error` says why, and the others go on. .npy inputs are read `chunk` examples at a time
    (default: about 4 MiB), so memory does not grow with the file. `progress(n)` is called
    as examples are done (and `progress.start(inputs)` first, if it has one). `dtype="float32"`
    computes on float32 values (float64 accumulation) where a stream kernel applies.
    `scheduler` ("local", an address such as tcp://host:8786, or a distributed.Client) runs
    the inputs as tasks on a Dask cluster (losscli[dask]; batch/cluster.py), with the same
    records; `workers` and `task_rows` as for `losscli batch`. `negatives_layout` as for
    `evaluate`, for every input; `mapping` and `strict_keys` as for `evaluate_file`.
    """
    from losscli.batch import DTYPES, BatchOptions, evaluate_sources, expand

    spec = get_spec(name)
    check_layout(negatives_layout, spec)
    names = RoleNames(parse_mapping(mapping), strict_keys)
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
    call = LossCall.of(spec.name, params, reduction)
    sources = expand(list(inputs), dict(role_files or {}))
    if not sources:
        raise UsageError("no input given", "give INPUTS (files, directories, globs or -) or "
                         "per-role options such as --anchor FILE")
    if "-" in inputs:
        from losscli.batch.engine import peek_stdin

        stdin = peek_stdin(stdin)
    if progress is not None and hasattr(progress, "start"):
        from losscli.batch.sources import JsonLines

        lines = any(isinstance(s, JsonLines) for s in sources)  # a record per line
        progress.start(None if lines else len(sources))
    from losscli.batch.tables import preload_streams

    role_files = dict(role_files or {})
    options = BatchOptions(call, dtype, chunk, role_files,
                           preloaded=preload_streams(role_files, spec),
                           negatives_layout=negatives_layout, names=names)
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


def sweep(name: str, inputs: Inputs | Mapping[str, Any], param: str, values: Any, *,
          reduction: str | None = None, like: str | None = None,
          negatives_layout: str | None = None, **params: Any) -> Sweep:
    """The loss at each of `values` of one numeric parameter, with its known limits and
    kinks (`Sweep.limits`); the other parameters fixed as given."""
    from losscli import explore

    call = LossCall.of(name, params, reduction, like)
    return explore.sweep(call, as_inputs(call, inputs, negatives_layout), param, values)


def stats(name: str, inputs: Inputs | Mapping[str, Any], *, bins: int = 20,
          reduction: str | None = None, like: str | None = None,
          negatives_layout: str | None = None, **params: Any) -> Stats:
    """One evaluation summarized: per-example losses, regimes, active terms, positive and
    negative distance or similarity distributions with a histogram of `bins` bins."""
    from losscli import explore

    call = LossCall.of(name, params, reduction, like)
    return explore.stats(call, as_inputs(call, inputs, negatives_layout), bins)


def compare(name: str, inputs: Inputs | Mapping[str, Any], *, reduction: str | None = None,
            negatives_layout: str | None = None, **params: Any) -> list[Comparison]:
    """The input under losscli's definition and every library's convention, one row each
    (a library without the loss, or without an option given, says why)."""
    from losscli import explore

    call = LossCall.of(name, params, reduction)
    return explore.compare(call, as_inputs(call, inputs, negatives_layout))


def on_first_compile(callback: Any) -> None:
    """`callback()` once, when numba first compiles a kernel in this process (kernels loaded
    from its cache do not count): the CLI's notice on a terminal that the first run waits."""
    from losscli.losses.run import on_first_compile as register

    register(callback)


__all__ = ["compare", "evaluate", "evaluate_file", "evaluate_files", "load_inputs",
           "on_first_compile", "stats", "sweep"]
