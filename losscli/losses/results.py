"""The Result of a loss: reductions, the shape record, warnings on the losses, and the
limits on what a breakdown may hold."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from losscli.errors import TooLarge, UsageError
from losscli.losses import REDUCTIONS
from losscli.losses.roles import EmbeddingBatch
from losscli.memory import available_memory, gib
from losscli.model import LazyTerms, Result, Terms

# What `compute` materialises whatever the memory (CONTRACT.md: "too large for compute: use
# batch"). A term is a row of the breakdown (about ten numbers, ~150 bytes of JSON). Gradient
# entries (--grad) are single numbers, hence their own bound.
MAX_BREAKDOWN_TERMS = 8_000_000

# Above MAX_BREAKDOWN_TERMS, compute holds a breakdown where it takes at most half the memory
# available (issue 11: no fixed 8 M-term refusal; the in-batch losses' breakdowns are lazy and
# take none): about this many bytes a term, beyond the inputs (triplet, B = 100,000, K = 100,
# D = 4: 10 M terms peaked 870 MB above its 311 MB of inputs).
BREAKDOWN_BYTES_PER_TERM = 100
BY_MEMORY = -1  # a terms limit: MAX_BREAKDOWN_TERMS, or more where the memory allows


MAX_GRADIENT_ENTRIES = 64_000_000


COMPUTE_FIX = ("too large for compute: use `losscli batch` (per-example losses and "
               "summaries), or split the input into smaller batches")


_LIMITS: ContextVar[tuple[int, int, str] | None] = ContextVar(
    "breakdown_limits", default=(BY_MEMORY, MAX_GRADIENT_ENTRIES, COMPUTE_FIX))


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
    held = f"{loss}'s per-term breakdown would hold {batch} x {terms_per_example} = {total:,} terms"
    if max_terms == BY_MEMORY and total > MAX_BREAKDOWN_TERMS:
        available = available_memory()
        if available is None:
            raise TooLarge(f"{held}, above compute's limit of {MAX_BREAKDOWN_TERMS:,} (the "
                           "memory available is unknown here)", fix)
        if total * BREAKDOWN_BYTES_PER_TERM > available // 2:
            raise TooLarge(f"{held} (about {gib(total * BREAKDOWN_BYTES_PER_TERM)}), "
                           f"more than half the memory available ({gib(available)})", fix)
    elif max_terms != BY_MEMORY and total > max_terms:
        raise TooLarge(
            f"{held}, above {'compute' if fix == COMPUTE_FIX else 'batch'}'s limit of "
            f"{max_terms:,}", fix)
    if gradient_entries > max_gradient:
        raise TooLarge(
            f"{loss}'s gradients (--grad) would hold {gradient_entries:,} numbers, above "
            f"compute's limit of {max_gradient:,}",
            "too large for compute with --grad: drop --grad, use `losscli batch`, or split "
            "the input into smaller batches")


def check_embedding_breakdown(batch: EmbeddingBatch, terms_per_example: int, loss: str,
                              grad: bool) -> None:
    """check_breakdown for the explicit embedding losses: their gradients are one vector per
    anchor, positive and negative (negatives2) of each example."""
    vectors = 2 + batch.k * (1 if batch.negatives2 is None else 2)
    check_breakdown(batch.batch, terms_per_example, loss,
                    batch.batch * vectors * batch.dim if grad else 0)


REGIME_NAMES = np.array(["hard", "semi-hard", "easy"])


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
    """The Result's `shape`: every key always present, None where the loss has no such size."""
    return {"batch": batch, "negatives": negatives, "dim": dim, "classes": classes,
            "positives": positives}


def nonfinite_warning(per_example: np.ndarray, warnings: list[str]) -> None:
    """A warning naming how many example losses are not finite (written as null)."""
    bad = ~np.isfinite(per_example)
    if bad.any():
        first = int(np.argmax(bad))
        warnings.append(
            f"{int(bad.sum())} example loss(es) not finite (first: example {first}); "
            "written as null"
        )


def result(spec_name: str, params: dict[str, Any], reduction: str, loss: np.ndarray,
           shape: dict, terms: Terms | LazyTerms, warnings: list[str],
           gradients: dict[str, np.ndarray] | None = None,
           value: float | list[float] | None = None) -> Result:
    """The Result; `value` overrides the reduction of the per-example losses (a library's
    batch reduction over terms, such as PML's DivisorReducer)."""
    nonfinite_warning(loss, warnings)
    if value is None:
        value = mean_nonzero(loss) if reduction == "mean-nonzero" else reduce(loss, reduction)
    return Result(loss=spec_name, params=dict(params), reduction=reduction, per_example=loss,
                  value=value, shape=shape, terms=terms, warnings=tuple(warnings),
                  gradients=gradients)


def mean_nonzero(loss: np.ndarray) -> float:
    """PML's AvgNonZeroReducer over the per-example losses: the mean of those > 0 (0 when
    none is)."""
    active = loss > 0.0
    count = int(active.sum())
    return float(loss[active].sum() / count) if count else 0.0


def text_where(mask: np.ndarray, yes: str, no: str) -> np.ndarray:
    """A breakdown's text column: `yes` where mask, `no` elsewhere, as objects (the two
    strings shared: np.where(...).astype(object) and np.full(..., dtype=object) built a new
    str per cell, ~30x slower, a third of `compute ntxent-batch --terms top`)."""
    out = np.empty(mask.shape, dtype=object)
    out.fill(no)
    out[mask] = yes
    return out
