"""How a chunk of examples becomes per-example losses.

- `StreamEvaluator`: the loss's stream form (`stream` in its module: a loss-only kernel, in
  the input's float32 or float64, checks riding along in the same pass), on the chunk's
  anchors, positives and negatives laid out as `StreamRows`.
- `FullEvaluator`: the loss's own `evaluate` on the chunk, unreduced (exactly what `compute`
  runs), keeping the per-example losses and the active margin terms.

Both give the same numbers as `compute` on the same data (to rounding) and the same
warnings; errors name the file, the role and the index in the whole file. Neither knows a
loss by name: what differs between losses is in their modules and specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.batch.tables import STACK, Chunk
from losscli.errors import BadData
from losscli.kernels import codes
from losscli.losses import module_of
from losscli.losses.call import LossCall
from losscli.losses.example_columns import example_columns
from losscli.losses.roles import embedding_batch, huge_entry_warning
from losscli.losses.run import run
from losscli.losses.streams import StreamRows
from losscli.model import Inputs, Result, scan_blocks

NONFINITE_WARNING = "example loss(es) not finite (first: example"
NONFINITE_FIX = "remove or replace NaN and infinite values"


@dataclass
class Part:
    """The losses of one chunk, and what the file-level record needs from it."""

    loss: np.ndarray
    active: int | None = None
    margin_terms: int | None = None
    warnings: list[str] = field(default_factory=list)
    params: dict[str, Any] | None = None
    shape: dict[str, int | None] | None = None
    denominator: float | None = None
    all_ignored: bool = False  # every example of the chunk is left out (softmax-ce)
    columns: dict[str, list[Any]] = field(default_factory=dict)  # batch --columns


def check_finite(arr: np.ndarray, where: str, offset: int) -> None:
    """BadData naming the first NaN or inf by its index in the whole file."""
    if arr.dtype.kind != "f" or np.isfinite(arr).all():
        return
    first = [int(i) for i in np.argwhere(~np.isfinite(arr))[0]]
    value = arr[tuple(first)].item()
    if offset and first:
        first[0] += offset
    raise BadData(f"non-finite value {value!r} at index {first}", NONFINITE_FIX, where=where)


def beyond_float32(chunk: Chunk) -> BadData:
    """BadData naming the chunk's first finite value that float32 cannot hold (--dtype float32
    would read it as inf), by its role and its index in the whole file."""
    for role, arr in chunk.role_arrays().items():
        with np.errstate(over="ignore", invalid="ignore"):
            lost = np.isfinite(arr) & ~np.isfinite(arr.astype(np.float32))
        if lost.any():
            first = [int(i) for i in np.argwhere(lost)[0]]
            value = arr[tuple(first)].item()
            if role in chunk.per_example or STACK in chunk.per_example:
                first[0] += chunk.start
            return BadData(f"value {value!r} at index {first} is beyond float32's range",
                           "drop --dtype float32, or scale the values into float32 range "
                           "(about 3.4e38)",
                           where=chunk.where.get(role, role))
    return BadData("a value beyond float32's range", "drop --dtype float32",
                   where=", ".join(sorted(set(chunk.where.values()))) or None)


def chunk_layout(arrays: dict[str, np.ndarray]) -> str | None:
    """How a chunk's negatives are read: as the input's were (tables.read_layout made
    per-anchor ones (B, 1, D)); its own rows never make them ambiguous again."""
    negatives = arrays.get("negatives")
    if negatives is None:
        return None
    return "per-anchor" if negatives.ndim == 3 else "shared"


def negatives_requirement(call: LossCall) -> str:
    """How embedding_batch reads the negatives role for this loss."""
    return "optional" if "negatives" in call.spec.optional else "required"


class FullEvaluator:
    """The loss module's evaluate on each chunk, unreduced, in float64 (what compute runs)."""

    def __init__(self, call: LossCall, columns: tuple[str, ...] = ()) -> None:
        self.call = call.with_reduction("none")
        self.mean = call.reduction == "mean"
        self.module = module_of(call.spec)
        self.columns = columns

    def __call__(self, chunk: Chunk) -> Part:
        """The chunk's per-example losses (a Part) from the loss module's evaluate, unreduced;
        a non-finite input entry is bad data, named by its index in the whole input.
        """
        arrays = chunk.role_arrays()
        sources = {}
        for role, arr in arrays.items():
            sources[role] = chunk.where.get(role, role)
            offset = chunk.start if (role in chunk.per_example or chunk.stack is not None
                                     and role in ("anchor", "positive", "negatives")) else 0
            check_finite(arr, sources[role], offset)
        # asarray, not ascontiguousarray: that makes a 0-d array 1-d, and one example's
        # class index (a number) would reach the loss as (1,), a batch of one
        arrays = {r: np.asarray(a, dtype=np.float64, order="C") for r, a in arrays.items()}
        inputs = Inputs(arrays=arrays, sources=sources, negatives_layout=chunk_layout(arrays),
                        first_row=chunk.start)
        denominator = None
        mean_divisor = getattr(self.module, "mean_divisor", None)
        if mean_divisor is not None:
            denominator, left_out = mean_divisor(inputs, self.call.params, self.mean)
            if left_out and chunk.n:
                # Every example of the chunk is left out (the file may have others).
                return Part(np.zeros(chunk.n), denominator=0.0, all_ignored=True,
                            columns={name: [None] * chunk.n for name in self.columns})
        result = run(self.call, inputs, merge=False)  # merged per input, after the chunks
        active, terms = active_terms(result, self.call)
        warnings = [w for w in result.warnings if NONFINITE_WARNING not in w]
        return Part(result.per_example, active, terms, warnings, dict(result.params),
                    dict(result.shape), denominator,
                    columns=example_columns(self.call.spec, result, self.columns))


def active_terms(result: Result, call: LossCall) -> tuple[int | None, int | None]:
    """(active, all) margin terms: the entries > 0 of the spec's active columns, over the
    negative terms (the similar pair's term is always on), a block of examples at a time."""
    names = call.spec.active_columns
    if not names:
        return None, None
    negative = np.array(result.terms.role) == "negative"
    active = terms = 0
    for _, _, columns in scan_blocks(result.terms, result.batch):
        for name in names:
            column = columns[name][:, negative]
            active += int((column > 0).sum())
            terms += int(column.size)
    return active, terms


class StreamEvaluator:
    """The loss's stream form; see the module docstring."""

    def __init__(self, call: LossCall, form: Any, dtype: str) -> None:
        self.call = call
        self.form = form
        self.float32 = dtype == "float32"

    def _kernel_array(self, arr: np.ndarray, chunk: Chunk) -> np.ndarray:
        if self.float32:
            try:
                with np.errstate(over="raise"):
                    return np.ascontiguousarray(arr, dtype=np.float32)
            except FloatingPointError:
                raise beyond_float32(chunk) from None
        if arr.dtype in (np.float32, np.float64):
            return np.ascontiguousarray(arr)
        return np.ascontiguousarray(arr, dtype=np.float64)

    def __call__(self, chunk: Chunk) -> Part:
        """The chunk's per-example losses (a Part) from the loss's stream kernel, read straight
        from the chunk's arrays (a stacked .npy, or the role files with a shared bank).
        """
        if chunk.stack is not None:
            x = self._kernel_array(chunk.stack, chunk)
            B, R, D = x.shape
            rows = StreamRows(x, 0, x, 1, x, 2, R - 2, shared=False)
        else:
            arrays = chunk.arrays
            inputs = Inputs(arrays=arrays, sources={r: chunk.where.get(r, r) for r in arrays},
                            negatives_layout=chunk_layout(arrays))
            batch = embedding_batch(inputs, negatives=negatives_requirement(self.call))
            B, D = batch.anchor.shape
            N = self._kernel_array(batch.negatives, chunk)
            rows = StreamRows(self._kernel_array(batch.anchor, chunk).reshape(B, 1, D), 0,
                              self._kernel_array(batch.positive, chunk).reshape(B, 1, D), 0, N,
                              0, batch.k, shared=N.shape[0] == 1 and B > 1)
        # With the read-ahead thread copying the next chunk on one core, a parallel kernel's
        # barrier waits for a descheduled thread: 20x slower measured; serial keeps pace.
        rows.parallel = False if chunk.streamed else None
        loss = np.empty(B)
        flags = np.zeros(B, dtype=np.int8)
        warnings = list(self.call.unused_given)  # as run() says them for the other forms
        active = self.form(rows, loss, flags, warnings)
        self._flags(flags, chunk, warnings)
        params = self.call.params
        shape = {"batch": B, "negatives": rows.K, "dim": D, "classes": None, "positives": None}
        terms = None if active is None else B * rows.K
        return Part(loss, active, terms, warnings, params, shape)

    def _flags(self, flags: np.ndarray, chunk: Chunk, warnings: list[str]) -> None:
        combined = int(np.bitwise_or.reduce(flags)) if flags.size else 0
        if not combined:
            return
        roles = chunk.role_arrays()
        for bit, role in ((codes.ANCHOR, "anchor"), (codes.POSITIVE, "positive"),
                          (codes.NEGATIVES, "negatives")):
            if combined & (bit << codes.NONFINITE_SHIFT):
                per_example = role in chunk.per_example or STACK in chunk.per_example
                check_finite(roles[role], chunk.where.get(role, role),
                             chunk.start if per_example else 0)
        for bit, role in ((codes.ANCHOR, "anchor"), (codes.POSITIVE, "positive"),
                          (codes.NEGATIVES, "negatives")):
            if combined & bit:
                warnings.append(huge_entry_warning(role))
