"""What the losses share: the shapes of the embedding roles, cosine preparation, reductions."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from losscli.errors import BadData, UsageError
from losscli.kernels import _jit
from losscli.kernels import distances as kern
from losscli.losses import REDUCTIONS
from losscli.model import Inputs

HUGE_ENTRY = 1e150

# What `compute` materialises at most (CONTRACT.md: "too large for compute: use batch").
# A term is a row of the breakdown (about ten numbers, ~150 bytes of JSON); 8 million of them
# are about 1 GB of JSON. Gradient entries (--grad) are single numbers, hence their own bound.
MAX_BREAKDOWN_TERMS = 8_000_000
MAX_GRADIENT_ENTRIES = 64_000_000
COMPUTE_FIX = ("too large for compute: use `losscli batch` (per-example losses and "
               "summaries), or split the input into smaller batches")
_LIMITS: ContextVar[tuple[int, int, str] | None] = ContextVar(
    "breakdown_limits", default=(MAX_BREAKDOWN_TERMS, MAX_GRADIENT_ENTRIES, COMPUTE_FIX))


@contextmanager
def breakdown_limits(terms: int | None, gradient_entries: int | None = None,
                     fix: str = COMPUTE_FIX) -> Iterator[None]:
    """Evaluate under other limits (None: no limit), e.g. a caller that keeps no breakdown;
    `fix` is what the refusal tells the user to do in that caller's terms."""
    token = _LIMITS.set(None if terms is None else (
        terms, MAX_GRADIENT_ENTRIES if gradient_entries is None else gradient_entries, fix))
    try:
        yield
    finally:
        _LIMITS.reset(token)


def check_breakdown(batch: int, terms_per_example: int, loss: str,
                    gradient_entries: int = 0) -> None:
    """Refuse (exit 4) a breakdown of batch x terms terms, or gradients of that many entries,
    above the limits, before anything of that size is allocated."""
    limits = _LIMITS.get()
    if limits is None:
        return
    max_terms, max_gradient, fix = limits
    total = batch * terms_per_example
    if total > max_terms:
        raise BadData(
            f"{loss}'s per-term breakdown would hold {batch} x {terms_per_example} = {total:,} "
            f"terms, above {'compute' if fix == COMPUTE_FIX else 'batch'}'s limit of "
            f"{max_terms:,}", fix)
    if gradient_entries > max_gradient:
        raise BadData(
            f"{loss}'s gradients (--grad) would hold {gradient_entries:,} numbers, above "
            f"compute's limit of {max_gradient:,}",
            "too large for compute with --grad: drop --grad, use `losscli batch`, or split "
            "the input into smaller batches")

_ACCEPTED = {
    "anchor": "(D,) for one example or (B, D) for a batch",
    "positive": "the anchor's shape",
    "negatives": "(D,) or (K, D) shared by every anchor, or (B, K, D) per anchor",
    "negatives2": "(D,) or (K, D) shared, or (B, K, D) per anchor, with the negatives' K",
}

DISTANCE_KINDS = {"euclidean": kern.EUCLIDEAN, "sqeuclidean": kern.SQEUCLIDEAN,
                  "cosine": kern.COSINE}
REGIME_NAMES = np.array(["hard", "semi-hard", "easy"])


@dataclass
class EmbeddingBatch:
    """anchor, positive (B, D); negatives (Bn, K, D) with Bn in {1, B}; negatives2 likewise."""

    anchor: np.ndarray
    positive: np.ndarray
    negatives: np.ndarray
    negatives2: np.ndarray | None
    warnings: list[str]

    @property
    def batch(self) -> int:
        return self.anchor.shape[0]

    @property
    def k(self) -> int:
        return self.negatives.shape[1]

    @property
    def dim(self) -> int:
        return self.anchor.shape[1]

    def work(self) -> int:
        """Multiply-adds of one pass over the pairs, for the compile-or-interpret choice."""
        pairs = self.batch * (self.k + 2)
        if self.negatives2 is not None:
            pairs += self.batch * self.k
        return pairs * self.dim


def shape_error(inputs: Inputs, role: str, found: tuple, detail: str = "") -> BadData:
    accepted = _ACCEPTED.get(role, "")
    what = f"shape {found} does not fit"
    if detail:
        what = f"{what}: {detail}"
    return BadData(what, f"{role} must be {accepted}", where=inputs.where(role))


def embedding_batch(inputs: Inputs, *, negatives: str = "required",
                    negatives2: bool = False) -> EmbeddingBatch:
    """The embedding roles in batch form, every mismatch named with both roles and shapes.

    negatives: "required" (K >= 1), or "optional" (absent or empty means K = 0).
    """
    expected = ("anchor", "positive", "negatives") + (("negatives2",) if negatives2 else ())
    for role in ("anchor", "positive"):
        if role not in inputs:
            raise missing_role(inputs, role, expected)
    anchor = inputs["anchor"]
    positive = inputs["positive"]
    if anchor.ndim not in (1, 2) or anchor.shape[-1] == 0 or anchor.shape[0] == 0:
        raise shape_error(inputs, "anchor", anchor.shape)
    single = anchor.ndim == 1
    a2 = anchor.reshape(1, -1) if single else anchor
    B, D = a2.shape
    if positive.shape != anchor.shape:
        raise BadData(
            f"positive {positive.shape} does not match anchor {anchor.shape}",
            "positive must have the anchor's shape: (D,) or (B, D)",
            where=inputs.where("positive"),
        )
    p2 = positive.reshape(B, D)
    if "negatives" in inputs:
        n3 = _negatives_3d(inputs, "negatives", B, D, single,
                           allow_empty=negatives == "optional")
    elif negatives == "optional":
        n3 = np.zeros((1, 0, D))
    else:
        raise missing_role(inputs, "negatives", expected)
    n2 = None
    if negatives2 and "negatives2" in inputs:
        n2 = _negatives_3d(inputs, "negatives2", B, D, single, allow_empty=False)
        if n2.shape[1] != n3.shape[1]:
            raise BadData(
                f"negatives2 has K = {n2.shape[1]} but negatives has K = {n3.shape[1]} "
                f"(shapes {inputs['negatives2'].shape} and {inputs['negatives'].shape})",
                "give negatives2 the same number of negatives as negatives",
                where=inputs.where("negatives2"),
            )
    return EmbeddingBatch(a2, p2, n3, n2, [])


def check_embedding_breakdown(batch: EmbeddingBatch, terms_per_example: int, loss: str,
                              grad: bool) -> None:
    """check_breakdown for the explicit embedding losses: their gradients are one vector per
    anchor, positive and negative (negatives2) of each example."""
    vectors = 2 + batch.k * (1 if batch.negatives2 is None else 2)
    check_breakdown(batch.batch, terms_per_example, loss,
                    batch.batch * vectors * batch.dim if grad else 0)


def _negatives_3d(inputs: Inputs, role: str, B: int, D: int, single: bool,
                  allow_empty: bool) -> np.ndarray:
    arr = inputs[role]
    shape = arr.shape
    if arr.shape == (0,):  # JSON `[]`: no negatives at all
        arr = arr.reshape(0, D)
    if arr.ndim == 0 or arr.shape[-1] != D:
        raise BadData(
            f"{role} {shape} do not match anchor dimension D = {D} "
            f"(anchor {inputs['anchor'].shape})",
            f"{role} must be {_ACCEPTED[role]}",
            where=inputs.where(role),
        )
    if arr.ndim == 1:
        n3 = arr.reshape(1, 1, D)
    elif arr.ndim == 2:
        n3 = arr.reshape(1, arr.shape[0], D)
    elif arr.ndim == 3 and not single and arr.shape[0] == B:
        n3 = arr
    else:
        raise BadData(
            f"{role} {shape} do not fit anchor {inputs['anchor'].shape}",
            f"{role} must be {_ACCEPTED[role]}",
            where=inputs.where(role),
        )
    if n3.shape[1] == 0 and not allow_empty:
        raise BadData(f"{role} is empty (K = 0): this loss needs at least one negative",
                      f"give {role} as (K, D) or (B, K, D) with K >= 1",
                      where=inputs.where(role))
    return n3


def input_document(inputs: Inputs) -> str | None:
    """The INPUT file the roles were keyed in (`doc.json` of `doc.json:anchor`), if any."""
    for role, source in inputs.sources.items():
        if source.endswith(f":{role}"):
            return source[: -len(role) - 1]
    return None


def missing_role(inputs: Inputs, role: str, roles: tuple[str, ...] = ()) -> BadData:
    """A required role is absent: say where it was looked for, what was found and the fix."""
    given = ", ".join(sorted(inputs.arrays)) or "none"
    expected = f"; expected keys: {', '.join(roles)}" if roles else ""
    return BadData(f"no {role} given (found: {given}{expected})",
                   f"add the key {role!r} or use --{role} FILE", where=input_document(inputs))


def huge_entry_warning(role: str) -> str:
    """One warning per role, so that chunks of one input (batch) merge to compute's set."""
    return (f"{role} has entries above {HUGE_ENTRY:g} in magnitude: dot products and "
            "distances may overflow (non-finite results are written as null); cosine scales "
            "each vector by its largest entry first")


def check_magnitudes(batch: EmbeddingBatch, warnings: list[str]) -> None:
    """A warning for each role with entries above HUGE_ENTRY in magnitude."""
    for name in ("anchor", "positive", "negatives", "negatives2"):
        arr = getattr(batch, name)
        if arr is not None and arr.size and float(np.max(np.abs(arr))) > HUGE_ENTRY:
            warnings.append(huge_entry_warning(name))


def to_unit(batch: EmbeddingBatch, warnings: list[str], measure: str) -> EmbeddingBatch:
    """The batch with every vector scaled to unit length, for cosine similarity or distance."""
    out = {}
    for name in ("anchor", "positive", "negatives", "negatives2"):
        arr = getattr(batch, name)
        if arr is None:
            out[name] = None
            continue
        flat = arr.reshape(-1, arr.shape[-1])
        unit = np.empty_like(flat)
        zeros = _jit.run(kern.unit_rows, flat.size, flat, unit) if flat.size else 0
        if zeros:
            warnings.append(
                f"{zeros} zero vector(s) in {name} under cosine {measure}: "
                "their cosine is taken as 0"
            )
        out[name] = unit.reshape(arr.shape)
    return EmbeddingBatch(out["anchor"], out["positive"], out["negatives"],
                          out["negatives2"], batch.warnings)


def reduce(per_example: np.ndarray, reduction: str, denominator: float | None = None,
           ) -> float | list[float]:
    """mean (or sum / denominator), sum, or none (the per-example list)."""
    if reduction not in REDUCTIONS:
        raise UsageError(f"--reduction got {reduction!r}", "choose one of mean, sum, none")
    if reduction == "none":
        return [float(v) for v in per_example]
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as null
        return _reduce(per_example, reduction, denominator)


def _reduce(per_example: np.ndarray, reduction: str, denominator: float | None,
            ) -> float:
    total = float(np.sum(per_example))
    if reduction == "sum":
        return total
    count = per_example.shape[0] if denominator is None else denominator
    if not count:
        return math.nan
    if not math.isfinite(total) and np.isfinite(per_example).all():
        # The sum overflowed but the mean of finite losses need not: divide first.
        return float(np.sum(per_example / count))
    return total / count


def shape_dict(batch: int, negatives: int | None = None, dim: int | None = None,
               classes: int | None = None, positives: int | None = None) -> dict:
    return {"batch": batch, "negatives": negatives, "dim": dim, "classes": classes,
            "positives": positives}


def nonfinite_warning(per_example: np.ndarray, warnings: list[str]) -> None:
    bad = ~np.isfinite(per_example)
    if bad.any():
        first = int(np.argmax(bad))
        warnings.append(
            f"{int(bad.sum())} example loss(es) not finite (first: example {first}); "
            "written as null"
        )
