"""One unit of batch work: an input, or a row range of a .npy input, as a pure function.

    evaluate_part(source, options, rows, shared) -> Piece     (runs anywhere: here, a
                                                               --jobs process, a Dask worker)
    combine([piece, ...], options) -> FileResult              (the input's record)

The local engine calls `combine([evaluate_part(source, options)])` for every file, and the
Dask path (cluster.py) calls the same two functions with the file cut into row ranges, so a
record is the same whichever way it was computed:

- ranges start on chunk boundaries (`chunk_rows`), so every chunk, and so every kernel call
  and every per-example loss, is the one the local run makes;
- a Piece keeps what the record needs from its chunks unreduced (the per-example losses, the
  warnings in order, each chunk's softmax-ce denominator, the active-term counts), and
  `combine` reduces them in row order: the mean over the whole file, the first non-finite
  example by its index in the whole file, the first failing range's error (the chunk a local
  run would have stopped at).

`shared` hands in roles that are already in memory (a negatives bank read once and scattered
to the workers) in place of reading their files again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.batch import tables
from losscli.batch.evaluators import FullEvaluator, Part, StreamEvaluator
from losscli.batch.sources import JsonLines, Missing, Source
from losscli.errors import BadData, InputUnavailable, LossCliError
from losscli.kernels import _jit
from losscli.losses import module_of
from losscli.losses.call import LossCall
from losscli.losses.example_columns import example_columns
from losscli.losses.notices import merge_role_warnings
from losscli.losses.references import collapse_warning
from losscli.losses.results import MAX_BREAKDOWN_TERMS, breakdown_limits, nonfinite_warning, reduce
from losscli.losses.roles import embedding_batch, negatives_layout_warning
from losscli.losses.run import run
from losscli.losses.spec import LossSpec
from losscli.model import FileResult, Inputs

ANCHOR, POSITIVE = "anchor", "positive"
Progress = Callable[[int], None]  # called with the number of examples just done
Rows = tuple[int, int]  # examples [start, stop) of one input


@dataclass
class Piece:
    """Examples [start, start + n) of one input, evaluated but not yet reduced.

    `denominators`: each chunk's softmax-ce mean divisor, in order (None when a chunk had
    none: the mean is then over examples). `error`: why this range (or the whole input)
    failed; the other fields are then empty.
    """

    name: str
    start: int = 0
    per_example: np.ndarray = field(default_factory=lambda: np.empty(0))
    warnings: list[str] = field(default_factory=list)  # each chunk's, each said once
    input_warnings: list[str] = field(default_factory=list)  # reading the input: every piece
    params: dict[str, Any] | None = None
    shape: dict[str, int | None] | None = None
    denominators: list[float] | None = field(default_factory=list)
    all_ignored: bool = True  # every chunk's every target ignored (softmax-ce)
    active: int | None = None
    margin_terms: int | None = None
    target_where: str = ""
    columns: dict[str, list[Any]] | None = None  # batch --columns, example by example
    value: float | list[float] | None = None  # a whole input's own reduced value (--like)
    # a whole input's convention as its run applied it (--like: with what it read how)
    convention: dict[str, Any] | None = None
    # The dtype the examples were evaluated in: float32 only where --dtype float32 found a
    # float32 path (a stream kernel, a tiled in-batch loss); everything else is float64.
    dtype: str = "float64"
    seconds: float = 0.0
    error: LossCliError | None = None
    # role -> integers beyond 2^53 in the rows this piece read from files (added per input),
    # and where each role came from (the warning names the file)
    inexact: dict[str, int] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)


def evaluate_part(source: Source, options: Any, rows: Rows | None = None,
                  shared: dict[str, np.ndarray] | None = None,
                  progress: Progress | None = None) -> Piece:
    """Evaluate one Document, RoleSet or Missing source, whole or only examples `rows`.

    Never raises a LossCliError: a failure is the Piece's `error`. `options` is a
    batch.BatchOptions. The source's files are opened here (headers, then the rows of this
    range only), so a worker reads its own share and nothing but the result travels.
    """
    started = time.perf_counter()
    spec = options.call.spec
    try:
        if isinstance(source, Missing):
            raise InputUnavailable(source.reason, source.fix, where=source.name)
        if isinstance(source, JsonLines):
            raise TypeError("JSON Lines sources are evaluated line by line (engine)")
        table = tables.table_for(source, spec, options.role_files, options.preloaded,
                                 options.names)
        for role, arr in (shared or {}).items():
            if role in table.files:  # read once elsewhere: do not read the file again
                table.files.pop(role).close()
                table.whole[role] = arr
        start, stop = rows if rows is not None else (0, None)
        piece = evaluate_rows(table, options, progress, start, stop)
    except LossCliError as exc:
        if exc.where is None:
            exc.where = source.name
        piece = Piece(source.name, rows[0] if rows else 0, error=exc)
    piece.seconds = time.perf_counter() - started
    return piece


def combine(pieces: list[Piece], options: Any) -> FileResult:
    """The record of one input from its pieces (in any order): what a local run gives."""
    pieces = sorted(pieces, key=lambda p: p.start)
    name = pieces[0].name
    seconds = sum(p.seconds for p in pieces)
    error = next((p.error for p in pieces if p.error is not None), None)
    if error is None:
        try:
            result = finish(pieces, options)
        except LossCliError as exc:
            error = exc
    if error is not None:
        result = failed(name, options, error)
    result.seconds = seconds
    return result


def failed(name: str, options: Any, exc: LossCliError) -> FileResult:
    """The record of an input that failed: the call's loss and parameters with the error,
    attributed to the input when it names no place of its own.
    """
    if exc.where is None:
        exc.where = name
    call = options.call
    return FileResult(name, call.loss, call.params, call.reduction, error=exc)


def chunk_rows(table: tables.Table, B: int | None, options: Any) -> int:
    """Examples per chunk: --chunk, or about `options.chunk_bytes` of input."""
    return options.chunk or max(1, options.chunk_bytes // tables.row_bytes(table, B))


def validate_shapes(table: tables.Table, spec: LossSpec, layout: str | None = None) -> None:
    """Shape errors up front, with the whole arrays' shapes (no data is read); the warning
    of ambiguous 2-D negatives, once for the input (its chunks are read as shared)."""
    if "anchor" not in spec.roles:
        return
    fake: dict[str, np.ndarray] = {}
    if table.stack is not None:
        B, R, D = table.stack.shape
        fake["anchor"] = _shaped((B, D))
        fake["positive"] = _shaped((B, D))
        if R > 2:
            fake["negatives"] = _shaped((B, R - 2, D))
    for role in table.roles():
        fake[role] = _shaped(table.shape(role))
    inputs = Inputs(arrays=fake, sources=dict(table.where), negatives_layout=layout,
                    stack_doubt=table.stack_doubt)
    negatives = "optional" if "negatives" in spec.optional else "required"
    embedding_batch(inputs, negatives=negatives, negatives2="negatives2" in spec.roles)
    warning = negatives_layout_warning(inputs, spec.roles)
    if warning is not None and warning not in table.warnings:
        table.warnings.append(warning)


def _shaped(shape: tuple[int, ...]) -> np.ndarray:
    """An array of this shape that takes no memory (every element is the same zero)."""
    return np.lib.stride_tricks.as_strided(np.zeros(1), shape=shape, strides=(0,) * len(shape))


def evaluate_whole(table: tables.Table, options: Any, progress: Progress | None = None,
                   ) -> Piece:
    """The whole input in one evaluation, exactly as compute evaluates it: the losses whose
    examples are each other's candidates (cutting the batch into chunks or tasks would
    change the loss), and every loss under a library's convention (LossCall.streams)."""
    from losscli.io import as_role_array

    call = options.call
    # --dtype float32: a tiled loss reads its values as float32 (rounded, range-checked, as
    # the stream kernels read theirs) into float64 arrays, so that its GEMM's dot products
    # accumulate in float64 as CONTRACT.md says (sgemm's were ~1e-6 relative off compute)
    dtype = np.float32 if call.tiled and options.dtype == "float32" else np.float64
    joined_inexact: dict[str, int] = {}
    joined = _joined_pair(table, dtype, joined_inexact) if call.tiled else None
    arrays = dict(table.whole)
    read: dict[str, np.ndarray] = {}  # read from files here: load_inputs did not see them
    for role, npy in table.files.items():
        if joined is None or role not in joined:
            arrays[role] = read[role] = npy.read_all()
    arrays.update(joined or {})
    if table.stack is not None and joined is None:
        x = table.stack.read_all()
        read.update(anchor=x[..., 0, :], positive=x[..., 1, :])
        if x.shape[-2] > 2:
            read["negatives"] = x[..., 2:, :]
        arrays.update(read)
    notes = tables.inexact_warnings(table.where, table.name,
                                    {**joined_inexact, **tables.count_inexact(read)})
    checked = {role: as_role_array(arr, role, table.where.get(role, f"{table.name}:{role}"),
                                   np.float64 if joined is not None and role in joined
                                   else dtype)
               for role, arr in arrays.items()}
    if call.tiled and dtype is np.float32:  # the roles not read into the joined buffer
        checked = {role: np.asarray(arr, dtype=np.float64) for role, arr in checked.items()}
    inputs = Inputs(arrays=checked, sources=dict(table.where),
                    warnings=(*table.warnings, *notes),
                    negatives_layout=options.negatives_layout,
                    positives_layout=options.positives_layout, owned=joined is not None,
                    lone_stack=table.lone_stack, stack_doubt=table.stack_doubt)
    if call.applied is not None and call.spec.streams:
        fix = (f"under --like {call.applied.convention.library}, {call.loss} is evaluated on "
               "each input whole, as compute --like evaluates it, with a breakdown; split the "
               "input into inputs of fewer examples, or drop --like to evaluate it in chunks")
    else:
        fix = (f"{call.loss} is evaluated on each input whole (its examples meet each "
               "other), with a breakdown; split the input into inputs of fewer examples")
    with breakdown_limits(MAX_BREAKDOWN_TERMS, fix=fix):
        result = run(call, inputs)
    if progress is not None:
        progress(result.batch)
    return Piece(table.name, 0, per_example=result.per_example, warnings=list(result.warnings),
                 params=dict(result.params), shape=dict(result.shape), denominators=None,
                 all_ignored=False, value=result.value if call.applied is not None else None,
                 columns=example_columns(call.spec, result, options.columns) or None,
                 dtype=np.dtype(dtype).name, convention=result.convention)


def _joined_pair(table: tables.Table, dtype: type[np.floating], inexact: dict[str, int],
                 ) -> dict[str, np.ndarray] | None:
    """anchor and positive (B, D) read into the two halves of one (2B, D) float64 buffer, their
    values read as `dtype` (float32: rounded as --dtype float32 reads them): a tiled loss's
    views Z as they are, normalized in place under cosine, never copied (losses/forms.py).
    float64 .npy files are read straight into their half. None when the input is not two
    such roles (the loss then says what is wrong with it). `inexact` gets the counts of
    integers beyond 2^53 in what it read from files. The arrays it copies are taken out of
    `table.whole`, each freed once in its half (an .npz's two float64 arrays held beside the
    buffer put batch clip at B = 65,536, D = 512 over 1 GB beyond its inputs), and a stacked
    .npy (B, 2, D) goes into the halves without copies of its roles beside them (1.2 GB
    beyond)."""
    from losscli.io import as_role_array

    stacked: dict[str, np.ndarray] = {}
    if table.stack is not None:
        # (B, 2, D): read whole, each role a view of it (with negatives, (B, 2 + K, D), the
        # input is read as the loss reads it: it says what it does with them)
        if table.stack.ndim != 3 or table.stack.shape[1] != 2:
            return None
        x = table.stack.read_all()
        stacked = {ANCHOR: x[:, 0], POSITIVE: x[:, 1]}
        inexact.update(tables.count_inexact(stacked))
        shape = stacked[ANCHOR].shape
    elif {ANCHOR, POSITIVE} <= set(table.roles()):
        shape = table.shape(ANCHOR)
        if len(shape) != 2 or table.shape(POSITIVE) != shape:
            return None
    else:
        return None
    B, D = shape
    buffer = np.empty((2 * B, D))
    halves = {ANCHOR: buffer[:B], POSITIVE: buffer[B:]}
    for role, half in halves.items():
        where = table.where.get(role, f"{table.name}:{role}")
        npy = table.files.get(role)
        if npy is not None and npy.dtype == np.float64 and dtype is np.float64:
            npy.read_rows(0, B, half.reshape(-1))
            as_role_array(half, role, where)  # finite, not empty: checked in place
        else:
            if role in stacked:
                value = stacked.pop(role)
            elif npy is not None:
                value = npy.read_all()
                inexact.update(tables.count_inexact({role: value}))
            else:
                value = table.whole.pop(role)
            half[...] = as_role_array(value, role, where, dtype)
            del value
    return halves


def evaluate_rows(table: tables.Table, options: Any, progress: Progress | None = None,
                  start: int = 0, stop: int | None = None) -> Piece:
    """Examples [start, stop) of an opened input, chunk by chunk (raises LossCliError)."""
    call = options.call
    spec = call.spec
    tables.read_layout(table, options.negatives_layout)
    if not call.streams:
        return evaluate_whole(table, options, progress)
    validate_shapes(table, spec, options.negatives_layout)
    B = tables.examples(table, spec)
    tables.materialise_shared(table, B)
    form = None if options.columns else stream_form(table, call)
    if form is None:
        evaluator: Callable[[tables.Chunk], Part] = FullEvaluator(call, options.columns)
    else:
        evaluator = StreamEvaluator(call, form, options.dtype)
    rows = chunk_rows(table, B, options)
    if B is None:
        start, stop = 0, None
    total = B if B is not None else 1
    end = total if stop is None else stop
    per_example = np.empty(max(0, end - start))
    piece = Piece(table.name, start, input_warnings=list(table.warnings),
                  target_where=table.where.get("target", table.name),
                  columns={name: [] for name in options.columns} or None,
                  dtype=options.dtype if form is not None else "float64")
    done = 0
    # The whole input's size, not this range's: the kernel paths are those of a local run.
    job_work = total * max(1, tables.row_bytes(table, B) // 4)  # ~ one multiply-add per value
    for chunk in tables.chunks(table, B, rows, start, stop):
        for role, n in tables.count_inexact(tables.read_by_rows(table, chunk)).items():
            piece.inexact[role] = piece.inexact.get(role, 0) + n
        with _jit.job(job_work):  # a big file's small chunks still run compiled
            part = evaluator(chunk)
        n = part.loss.shape[0]
        per_example[done:done + n] = part.loss
        done += n
        for name, values in part.columns.items():
            piece.columns[name].extend(values)  # type: ignore[index]
        piece.warnings.extend(dict.fromkeys(part.warnings))  # merged per input (finish)
        if part.margin_terms is not None:
            piece.active = (piece.active or 0) + (part.active or 0)
            piece.margin_terms = (piece.margin_terms or 0) + part.margin_terms
        if part.params is not None:
            piece.params = part.params
        if part.shape is not None and piece.shape is None:
            piece.shape = dict(part.shape)
        piece.all_ignored = piece.all_ignored and part.all_ignored
        if part.denominator is None or piece.denominators is None:
            piece.denominators = None
        else:
            piece.denominators.append(part.denominator)
        if progress is not None:
            progress(n)
    piece.per_example = per_example[:done]
    piece.where = dict(table.where)
    return piece


def finish(pieces: list[Piece], options: Any) -> FileResult:
    """Reduce pieces (in row order, none failed) to the input's record, as one local pass
    over its chunks would."""
    per_example = pieces[0].per_example if len(pieces) == 1 else \
        np.concatenate([p.per_example for p in pieces])
    done = per_example.shape[0]
    call = options.call
    warnings: list[str] = []
    params = call.params
    shape: dict[str, int | None] | None = None
    active = terms = None
    denominator: float | None = None
    denominators = True
    warnings.extend(dict.fromkeys(w for p in pieces for w in p.input_warnings))
    inexact: dict[str, int] = {}
    for p in pieces:
        for role, n in p.inexact.items():
            inexact[role] = inexact.get(role, 0) + n
    warnings.extend(tables.inexact_warnings(pieces[0].where, pieces[0].name, inexact))
    for p in pieces:
        warnings.extend(p.warnings)
        if p.params is not None:
            params = p.params
        if shape is None and p.shape is not None:
            shape = dict(p.shape)
        if p.margin_terms is not None:
            active = (active or 0) + (p.active or 0)
            terms = (terms or 0) + p.margin_terms
        if p.denominators is None:
            denominators = False
        elif denominators:
            for d in p.denominators:  # chunk by chunk, in order: the local sum exactly
                denominator = (denominator or 0.0) + d
    if shape is not None:
        shape["batch"] = done
    if all(p.all_ignored for p in pieces) and done:  # compute refuses this too
        raise BadData(f"every example has the ignored target {call.params.get('ignore_index')}"
                      ": nothing to average", "check --ignore-index",
                      where=pieces[0].target_where)
    for w in nonfinite_warnings(per_example):
        if w not in warnings:  # a whole-input piece may carry it already
            warnings.append(w)
    collapsed = collapse_warning(call.loss, params, shape or {}, per_example)
    if options.dtype != "float64":  # --dtype float32: say what each input was computed in
        used = {p.dtype for p in pieces}
        params = {**params, "dtype": used.pop() if len(used) == 1 else "float64"}
    if collapsed is not None and collapsed not in warnings:  # whole inputs went through run
        warnings.append(collapsed)
    if len(pieces) == 1 and pieces[0].value is not None:  # the library's own reduction
        value = pieces[0].value
    else:
        value = reduce(per_example, call.reduction, denominator if denominators else None)
    # a whole input's run says how it read the input (MNRL's per-anchor note); else the call's
    convention = pieces[0].convention if len(pieces) == 1 else None
    if convention is None and call.applied is not None:
        convention = call.applied.describe()
    return FileResult(pieces[0].name, call.loss, params, call.reduction, value,
                      per_example, shape, tuple(merge_role_warnings(warnings, add_counts=True)),
                      active=active, margin_terms=terms, columns=_columns(pieces),
                      convention=convention)


def _columns(pieces: list[Piece]) -> dict[str, list[Any]] | None:
    """The pieces' --columns values, in row order (None without --columns)."""
    if pieces[0].columns is None:
        return None
    return {name: [v for p in pieces for v in (p.columns or {}).get(name, [])]
            for name in pieces[0].columns}


def nonfinite_warnings(per_example: np.ndarray) -> list[str]:
    found: list[str] = []
    nonfinite_warning(per_example, found)
    return found


def stream_form(table: tables.Table, call: LossCall) -> Callable[..., Any] | None:
    """The loss's stream form for this input, or None to evaluate its chunks in full."""
    stream = getattr(module_of(call.spec), "stream", None)
    form = None if stream is None else stream(call.params)
    if form is None:
        return None
    if any(dt.kind not in "fiu" for dt in table.dtypes()):
        return None  # the full evaluation says what is wrong with the dtype
    if table.stack is not None:
        return form if table.stack.shape[1] > 2 else None  # K = 0: a warning and loss 0
    if "negatives" not in table.roles():
        return None
    shape = table.shape("negatives")
    return form if len(shape) >= 2 and shape[-2] > 0 else None


__all__ = ["Piece", "Rows", "chunk_rows", "combine", "evaluate_part", "evaluate_rows",
           "failed", "finish", "validate_shapes"]
