"""The library's face: evaluate a loss by name on inputs, get a Result.

    >>> import losscli
    >>> x = {"anchor": [1, 0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}
    >>> r = losscli.evaluate("triplet", x, margin=1.0)
    >>> r
    Result(loss='triplet', value=1.26197165897, batch=1, reduction='mean')
    >>> r.to_dict(examples=False)["per_example"]  # the JSON record of `losscli compute`
    [1.2619716589662402]

Inputs are numpy arrays, nested lists, torch tensors (detached, moved to the CPU, bfloat16
cast to float32; torch is imported only by whoever made the tensor), or anything with
`__array__` or `__dlpack__` (jax, pandas, cupy after `.get()`). In a notebook a Result
shows as a small table (`_repr_html_`), and rich pretty-prints it.

The explorer's three questions:

    >>> s = losscli.sweep("triplet", x, "margin", [0.0, 0.5, 1.0])
    >>> [round(v, 6) for v in s.losses.tolist()]  # piecewise linear in the margin
    [0.261972, 0.761972, 1.261972]
    >>> st = losscli.stats("triplet", x)
    >>> st.records[0]["stat"], round(st.records[0]["mean"], 6)
    ('loss', 1.261972)
    >>> [c.convention for c in losscli.compare("triplet", x)][:2]
    ['losscli', 'torch']

A keyword the loss does not take is refused in these terms, with "did you mean":

    >>> try:
    ...     losscli.evaluate("triplet", x, margn=1.0)
    ... except TypeError as exc:  # a losscli.UnknownKeyword: also a UsageError
    ...     print(exc.what)
    evaluate() got the keyword 'margn', which triplet does not take (did you mean margin?)

Every caller (the CLI's commands, notebooks, batch and the explorer) comes through here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from losscli.errors import SURFACE, UnknownKeyword, UsageError, closest_hint
from losscli.io import (
    RoleNames,
    check_layout,
    check_role_files,
    inputs_from_arrays,
    load_inputs,
    parse_mapping,
    with_layout,
)
from losscli.losses import LOSSES, REDUCTIONS, get_spec
from losscli.losses.call import LossCall
from losscli.losses.conventions import check_layout as check_library_layout
from losscli.losses.example_columns import checked_columns
from losscli.losses.run import run
from losscli.losses.spec import flag, plain_number
from losscli.model import ROLES, Comparison, Inputs, Result, Stats, Sweep


def evaluate(name: str, inputs: Inputs | Mapping[str, Any], *, reduction: str | None = None,
             like: str | None = None, grad: bool = False, negatives_layout: str | None = None,
             emulate: str | None = None, positives_layout: str | None = None,
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
    positives_layout: the same for 2-D positives (supcon, multi-similarity, circle,
    lifted-structure): "shared" (P = rows) or "per-anchor" (row b is anchor b's positive).
    emulate: "float16", "bfloat16" or "float32": also the loss as mixed-precision training
    (torch autocast) computes it, in `Result.emulation`, with where that format overflows or
    loses the loss as warnings (losses/emulation/).
    """
    call = loss_call("evaluate", name, params, reduction, like)
    grad = flag("grad", grad)
    if emulate is not None:
        from losscli.losses.emulation import check_format

        fmt = check_format(call.spec.name, emulate)
        if like is not None:
            raise UsageError("--emulate and --like both given",
                             "emulate losscli's own definition: drop --like")
    ready = as_inputs(call, inputs, negatives_layout, positives_layout)
    result = run(call, ready, grad=grad)
    if emulate is None:
        return result
    from dataclasses import replace

    from losscli.losses.emulation import emulate as emulated
    from losscli.losses.results import reduce

    found = emulated(call.spec.name, ready, call.params, fmt, result.per_example,
                     lambda per: reduce(per, call.reduction),
                     result.batch * result.terms.count)
    warnings = tuple(f"--emulate {fmt.name}: {line}" for line in found["diagnosis"])
    return replace(result, emulation=found, warnings=result.warnings + warnings)


# Each API function's own keywords, offered by "did you mean" beside the loss's parameters.
OWN_KEYWORDS = {
    "evaluate": ("reduction", "like", "grad", "negatives_layout", "positives_layout",
                 "emulate"),
    "evaluate_file": ("role_files", "reduction", "like", "grad", "negatives_layout",
                      "positives_layout", "mapping", "strict_keys", "emulate"),
    "evaluate_files": ("role_files", "reduction", "like", "dtype", "jobs", "chunk", "progress",
                       "stdin", "scheduler", "workers", "task_rows", "negatives_layout",
                       "positives_layout", "mapping", "strict_keys", "columns"),
    "sweep": ("reduction", "like", "negatives_layout", "positives_layout"),
    "stats": ("bins", "reduction", "like", "negatives_layout", "positives_layout"),
    "compare": ("reduction", "negatives_layout", "positives_layout"),
}


def check_keywords(function: str, name: str, params: Mapping[str, Any]) -> None:
    """An UnknownKeyword (a UsageError and a TypeError) for a keyword argument the loss
    does not take, in the API's terms with "did you mean"; on the command line (where
    the options are the registry's) LossCall says it in terms of options instead."""
    if SURFACE.get() == "cli":
        return
    spec = get_spec(name)
    takes = [p.name for p in spec.params]
    for key, value in params.items():
        if key in takes or (value is None and any(
                key == p.name for other in LOSSES.values() for p in other.params)):
            continue
        hint = closest_hint(key, [*takes, *OWN_KEYWORDS[function]])
        elsewhere = sorted(other.name for other in LOSSES.values()
                           if any(p.name == key for p in other.params))
        what = (f"{function}() got the keyword {key!r}, which {spec.name} does not take"
                f"{hint}" + (f" (it is a parameter of {', '.join(elsewhere[:4])}"
                             f"{', ...' if len(elsewhere) > 4 else ''})" if elsewhere else ""))
        raise UnknownKeyword(what, f"{spec.name} takes: {', '.join(takes) or 'no parameters'}"
                             f"; {function}() also takes: {', '.join(OWN_KEYWORDS[function])}")


def loss_call(function: str, name: str, params: Mapping[str, Any], reduction: str | None,
              like: str | None = None) -> LossCall:
    """The LossCall of an API function's arguments, its keywords checked first."""
    check_keywords(function, name, params)
    return LossCall.of(name, params, reduction, like)


def _whole(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(plain_number(value), int)


def checked_role_files(role_files: Mapping[str, Any] | None) -> dict[str, str]:
    """{role: path} with every key a role ("did you mean"): a misspelt key would leave the
    role to INPUT's own array, a believable wrong number."""
    if role_files is None:
        return {}
    if not isinstance(role_files, Mapping):
        raise UsageError(f"role_files is {type(role_files).__name__}",
                         "give a mapping of role to file, e.g. {'anchor': 'a.npy'}")
    for role in role_files:
        if role not in ROLES:
            raise UsageError(f"role_files has {role!r}, which is not a role"
                             f"{closest_hint(str(role), ROLES)}", f"roles are: {', '.join(ROLES)}")
    return {role: os.fspath(path) for role, path in role_files.items()}


def as_inputs(call: LossCall, inputs: Inputs | Mapping[str, Any],
              negatives_layout: str | None = None,
              positives_layout: str | None = None) -> Inputs:
    """Inputs as they are, or a mapping of role to array checked for the call's loss; with
    their negatives (positives) read in `negatives_layout` (`positives_layout`) when given."""
    if isinstance(inputs, Inputs):
        return with_layout(inputs, negatives_layout, call.spec, positives_layout)
    return inputs_from_arrays(inputs, call.spec, negatives_layout, positives_layout)


def evaluate_file(name: str, path: str | None = None, *, role_files: Mapping[str, str] | None
                  = None, reduction: str | None = None, like: str | None = None,
                  grad: bool = False, negatives_layout: str | None = None,
                  emulate: str | None = None,
                  mapping: Mapping[str, str] | Iterable[str] | None = None,
                  strict_keys: bool = False, positives_layout: str | None = None,
                  **params: Any) -> Result:
    """Read INPUT and per-role files, then evaluate (what `losscli compute` does).

    mapping: {role: name} (or `ROLE=NAME` items) to read a role from the array, tensor,
    column or dataset of another name; strict_keys: refuse arrays that are not roles
    instead of ignoring them with a warning.
    """
    spec = get_spec(name)
    check_keywords("evaluate_file", name, params)
    inputs = load_inputs(None if path is None else os.fspath(path),
                         checked_role_files(role_files), spec,
                         negatives_layout=negatives_layout, mapping=mapping,
                         strict_keys=flag("strict_keys", strict_keys),
                         positives_layout=positives_layout)
    return evaluate(spec.name, inputs, reduction=reduction, like=like, grad=grad,
                    emulate=emulate, **params)


def batch_files(inputs: Iterable[str | os.PathLike],
                role_files: Mapping[str, str] | None = None) -> list[str]:
    """The files `evaluate_files` would read for these inputs (directories and globs
    expanded, by real path): what an output file must not be."""
    from losscli.batch.sources import expand, files_of

    return files_of(expand([os.fspath(i) for i in inputs], dict(role_files or {})))


def evaluate_files(name: str, inputs: str | os.PathLike | Iterable[str | os.PathLike], *,
                   role_files: Mapping[str, str] | None = None,
                   reduction: str | None = None, like: str | None = None,
                   dtype: str = "float64", jobs: int = 1,
                   chunk: int | None = None, progress: Any = None, stdin: Any = None,
                   scheduler: Any = None, workers: int | None = None,
                   task_rows: int | None = None, negatives_layout: str | None = None,
                   mapping: Mapping[str, str] | Iterable[str] | None = None,
                   strict_keys: bool = False, columns: str | Sequence[str] | None = None,
                   positives_layout: str | None = None, **params: Any) -> Iterator[Any]:
    """Evaluate a loss over many inputs (what `losscli batch` does), one FileResult each.

    inputs: files, directories (read non-recursively), globs, `-` (stdin: JSON Lines or one JSON
    document); one path alone is one input. JSON Lines, found by content whatever the name, give a
    result per line. An input given more than once is evaluated once, its first result warning so.
    Results come as each input finishes; an input that fails gives a FileResult whose `error` says
    why, and the others go on. .npy inputs are read `chunk` examples at a time (default: about
    4 MiB), so memory does not grow with the file. `reduction` and `like` as for `evaluate`; under
    `like` each input is evaluated whole, exactly as `evaluate` would (its record carries the
    `convention` block). `progress(n)` is called
    as examples are done (and `progress.start(inputs)` first, if it has one). `dtype="float32"`
    computes on float32 values (float64 accumulation) where a stream kernel applies.
    `scheduler` ("local", an address such as tcp://host:8786, or a distributed.Client) runs
    the inputs as tasks on a Dask cluster (losscli[dask]; batch/cluster.py), with the same
    records; `workers` and `task_rows` as for `losscli batch`. `negatives_layout` and
    `positives_layout` as for `evaluate`, for every input; `mapping` and `strict_keys` as for
    `evaluate_file`.
    `columns` ("d_ap,d_an,hardest" or a list): breakdown columns kept beside each example's
    loss, at its hardest term (FileResult.columns).
    """
    from losscli.batch import DTYPES, BatchOptions, evaluate_sources, expand
    from losscli.batch.engine import noting_repeats

    spec = get_spec(name)
    check_keywords("evaluate_files", name, params)
    check_layout(negatives_layout, spec)
    check_layout(positives_layout, spec, "positives")
    if isinstance(inputs, (str, os.PathLike)):  # one input, not its characters
        inputs = [inputs]
    inputs = [os.fspath(item) for item in inputs]
    role_files = checked_role_files(role_files)
    check_role_files(role_files, spec)
    names = RoleNames(parse_mapping(mapping), flag("strict_keys", strict_keys),
                      frozenset(role_files))
    if like is None and reduction is not None and reduction not in REDUCTIONS:
        raise UsageError(f"--reduction got {reduction!r}",
                         f"choose one of {', '.join(REDUCTIONS)}")
    if dtype not in DTYPES:
        raise UsageError(f"--dtype got {dtype!r}", f"choose one of {', '.join(DTYPES)}")
    if not _whole(jobs) or jobs < 1:
        raise UsageError(f"--jobs got {jobs!r}", "give a whole number >= 1")
    if chunk is not None and (not _whole(chunk) or chunk < 1):
        raise UsageError(f"chunk got {chunk!r}", "give a whole number >= 1")
    if list(inputs).count("-") > 1:
        raise UsageError("- (stdin) is given more than once", "give it once")
    call = LossCall.of(spec.name, params, reduction, like)
    check_library_layout(spec, call.applied, negatives_layout)
    if columns is not None and not isinstance(columns, str):
        columns = ",".join(columns)
    chosen = checked_columns(spec, columns, call.convention)
    sources = expand(list(inputs), dict(role_files or {}))
    if not sources:
        raise UsageError("no input given", "give INPUTS (files, directories, globs or -) or "
                         "per-role options such as --anchor FILE")
    if "-" in inputs:
        from losscli.batch.engine import peek_stdin

        stdin = peek_stdin(stdin, spec.name)
    if progress is not None and hasattr(progress, "start"):
        from losscli.batch.engine import reads_here
        from losscli.batch.sources import JsonLines

        # a record per line: a JSON Lines file, or a pipe that may turn out to be one
        lines = any(isinstance(s, JsonLines) or reads_here(s) for s in sources)
        progress.start(None if lines else len(sources))
    from losscli.batch.tables import preload_streams

    options = BatchOptions(call, dtype, chunk, role_files,
                           preloaded=preload_streams(role_files, spec),
                           negatives_layout=negatives_layout, names=names,
                           columns=chosen, positives_layout=positives_layout)
    if scheduler is not None or workers is not None or task_rows is not None:
        from losscli.batch.cluster import ClusterOptions, evaluate_on_cluster, require_dask

        if scheduler is None:
            raise UsageError("--workers and --task-rows need --scheduler",
                             "add --scheduler local, or --scheduler tcp://HOST:PORT")
        cluster = ClusterOptions(scheduler, workers, task_rows)
        cluster.check(jobs)
        require_dask()
        results = evaluate_on_cluster(sources, options, cluster, progress, stdin)
    else:
        results = evaluate_sources(sources, options, jobs, progress, stdin)
    return noting_repeats(results, sources)  # an input given twice: evaluated once, said so


def sweep(name: str, inputs: Inputs | Mapping[str, Any], param: str, values: Any, *,
          reduction: str | None = None, like: str | None = None,
          negatives_layout: str | None = None, positives_layout: str | None = None,
          **params: Any) -> Sweep:
    """The loss at each of `values` of one numeric parameter, with its known limits and
    kinks (`Sweep.limits`); the other parameters fixed as given."""
    from losscli import explore

    call = loss_call("sweep", name, params, reduction, like)
    return explore.sweep(call, as_inputs(call, inputs, negatives_layout, positives_layout),
                         param, values)


def stats(name: str, inputs: Inputs | Mapping[str, Any], *, bins: int = 20,
          reduction: str | None = None, like: str | None = None,
          negatives_layout: str | None = None, positives_layout: str | None = None,
          **params: Any) -> Stats:
    """One evaluation summarized: per-example losses, regimes, active terms, positive and
    negative distance or similarity distributions with a histogram of `bins` bins."""
    from losscli import explore

    call = loss_call("stats", name, params, reduction, like)
    return explore.stats(call, as_inputs(call, inputs, negatives_layout, positives_layout),
                         bins)


def compare(name: str, inputs: Inputs | Mapping[str, Any], *, reduction: str | None = None,
            negatives_layout: str | None = None, positives_layout: str | None = None,
            **params: Any) -> list[Comparison]:
    """The input under losscli's definition and every library's convention, one row each
    (a library without the loss, or without an option given, says why)."""
    from losscli import explore

    call = loss_call("compare", name, params, reduction)
    return explore.compare(call, as_inputs(call, inputs, negatives_layout, positives_layout))


def on_first_compile(callback: Any) -> None:
    """`callback()` once, when numba first compiles a kernel in this process (kernels loaded
    from its cache do not count): the CLI's notice on a terminal that the first run waits."""
    from losscli.losses.run import on_first_compile as register

    register(callback)


__all__ = ["check_keywords", "compare", "evaluate", "evaluate_file", "evaluate_files",
           "load_inputs", "loss_call", "on_first_compile", "stats", "sweep"]
