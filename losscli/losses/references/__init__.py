"""Reference values of each loss: what it is at collapse, at chance, at its least and most.

    collapse   every similarity (distance) the same, as when the embeddings collapse
    chance     a uniform guess: every candidate equally likely (random embeddings)
    minimum    the least value reachable (under cosine: on the unit sphere)
    maximum    the largest value reachable
    bound      a value no input goes below (or above) that is not reached

One module per family, as losses/specs/ (pure arithmetic on Python floats: `explain` imports
no numpy for them); each module's VALUES maps a loss to its `reference_values(params,
sizes)`, which owns the loss's facts. `sizes` holds `batch` (B), `negatives` (K: the
negatives each anchor's softmax sees), `positives` (P) and `classes` (C), None where not
known. The CLI and batch read them through `reference_values` and `collapse_warning`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from losscli.errors import UsageError

Sizes = Mapping[str, int | None]

SIZE_OPTIONS = {"batch": "--batch-size", "negatives": "--num-negatives",
                "positives": "--num-positives", "classes": "--num-classes"}
SIZE_SYMBOLS = {"batch": "B", "negatives": "K", "positives": "P", "classes": "C"}

# A loss at collapse equals the collapse value to rounding (float64 arithmetic on identical
# vectors): a relative 1e-9 says "at collapse" without flagging a loss that is merely close.
COLLAPSE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ReferenceValue:
    """One reference value: kind (collapse, chance, minimum, maximum, bound), the value,
    its formula in the loss's symbols, and when it holds or how it is reached; a collapse
    value also says what to check when every example sits at it (the inputs are not always
    embeddings: logits, given distances, scores)."""

    kind: str
    value: float
    formula: str
    condition: str = ""
    check: str = "check the embeddings are not all the same"

    def as_dict(self) -> dict[str, Any]:
        """As explain's JSON writes it."""
        return {"kind": self.kind, "value": self.value, "formula": self.formula,
                "condition": self.condition}


Hook = Callable[[Mapping[str, Any], Sizes], list[ReferenceValue]]


def need(sizes: Sizes, name: str, loss: str) -> int:
    """A size the loss's reference values depend on, or a usage error naming its option."""
    value = sizes.get(name)
    if value is None:
        raise UsageError(f"{loss}'s reference values depend on {SIZE_SYMBOLS[name]}",
                         f"give {SIZE_OPTIONS[name]} {SIZE_SYMBOLS[name]}")
    return int(value)


def log1p_exp(x: float) -> float:
    """log(1 + e^x), exactly for any x (softplus)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def log_one_plus(count: float, exponent: float) -> float:
    """log(1 + count * e^exponent) without overflow (0 when count is 0)."""
    if count <= 0:
        return 0.0
    return log1p_exp(math.log(count) + exponent)


def _hooks() -> dict[str, Hook]:
    from losscli.losses.references import (
        explicit_negatives,
        in_batch,
        paired_inputs,
        pairs,
        softmax,
    )

    hooks: dict[str, Hook] = {}
    for family in (softmax, explicit_negatives, in_batch, pairs, paired_inputs):
        hooks.update(family.VALUES)
    return hooks


def reference_values(loss: str, params: Mapping[str, Any], sizes: Sizes,
                     ) -> list[ReferenceValue]:
    """The loss's reference values for these parameters and sizes ([] where it has none)."""
    hook = _hooks().get(loss)
    return [] if hook is None else hook(params, sizes)


def sizes_of(shape: Mapping[str, int | None]) -> dict[str, int | None]:
    """The sizes of a Result's or record's `shape`."""
    return {name: shape.get(name) for name in SIZE_OPTIONS}


def collapse_warning(loss: str, params: Mapping[str, Any], shape: Mapping[str, int | None],
                     per_example: Sequence[float]) -> str | None:
    """A warning when every example's loss, of two or more, is the loss's value at collapse
    (and that value is not also its least: a perfect fit is not a collapse); None otherwise.

    It goes by the values alone, so it says what collapse gives, not that the embeddings
    collapsed: one example's loss can equal that value by chance (contrastive under
    sqeuclidean at a = [0, 0], p = [0.5, 0], n = [0, 0.134]: 0.25 = K m^2 / (2 (K + 1))
    with every distance other than 0), hence two examples at least."""
    if len(per_example) < 2:
        return None
    try:
        values = reference_values(loss, params, sizes_of(shape))
    except (UsageError, ValueError, ArithmeticError):  # a size it needs missing, or 0
        return None
    collapse = [v for v in values if v.kind == "collapse"]
    if len(collapse) != 1:
        return None
    at = collapse[0]
    lowest = [v.value for v in values if v.kind == "minimum"]
    if at.value == 0 or any(_same(at.value, low) for low in lowest):
        return None
    if not all(_same(float(x), at.value) for x in per_example):
        return None
    return (f"every example's loss ({len(per_example)}) equals the value at collapse "
            f"({at.condition}), {at.formula} = {at.value:.6g}; {at.check}")


def _same(a: float, b: float) -> bool:
    return math.isfinite(a) and abs(a - b) <= COLLAPSE_TOLERANCE * max(abs(a), abs(b), 1e-300)
