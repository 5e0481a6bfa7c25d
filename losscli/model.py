"""The data that flows through losscli: validated inputs in, one Result out of every loss."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EMBEDDING_ROLES = ("anchor", "positive", "negatives", "negatives2")
CLASSIFICATION_ROLES = ("logits", "target", "weight")
# LOSSES-MORE.md: several positives per anchor; paired inputs x1, x2 with a +1/-1 label.
MORE_ROLES = ("positives", "x1", "x2", "label")
# Roles that may be a single number for one example (a class index, a score, a label).
SCALAR_ROLES = ("target", "x1", "x2", "label")
ROLES = EMBEDDING_ROLES + CLASSIFICATION_ROLES + MORE_ROLES


@dataclass(frozen=True)
class Inputs:
    """Arrays by role, each float64 and C-contiguous, with where each came from.

    `sources[role]` names the file (and key) an array was read from, for error messages.
    """

    arrays: dict[str, np.ndarray]
    sources: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __contains__(self, role: str) -> bool:
        return role in self.arrays

    def __getitem__(self, role: str) -> np.ndarray:
        return self.arrays[role]

    def source(self, role: str) -> str:
        return self.sources.get(role, role)

    def where(self, role: str) -> str:
        """`file:role` for messages (or the role alone for in-memory inputs)."""
        src = self.sources.get(role)
        return role if src is None else f"{src}:{role}" if not src.endswith(f":{role}") else src


@dataclass(frozen=True)
class Terms:
    """The per-term breakdown of a batch: T terms per example, one array per column.

    `columns[name]` has shape (B, T); `role[t]` and `index[t]` say what term t is
    (the positive, negative k, class c, ...).
    """

    role: tuple[str, ...]
    index: tuple[int, ...]
    columns: dict[str, np.ndarray]

    @property
    def count(self) -> int:
        return len(self.role)


@dataclass(frozen=True)
class Result:
    """What a loss evaluation returns: the reduced value, per-example losses, the breakdown."""

    loss: str
    params: dict[str, Any]
    reduction: str
    per_example: np.ndarray
    value: float | list[float]
    shape: dict[str, int | None]
    terms: Terms
    warnings: tuple[str, ...] = ()
    ignored: np.ndarray | None = None
    # role -> d loss_b / d input, float64: anchor/positive (B, D), negatives/negatives2
    # (B, K, D) per example even for a shared bank, logits (B, C); only when asked (--grad).
    gradients: dict[str, np.ndarray] | None = None
    # What `--like LIBRARY` changed: library, api, changed params, formula flags, notes.
    convention: dict[str, Any] | None = None

    @property
    def batch(self) -> int:
        return int(self.per_example.shape[0])

    @property
    def finite(self) -> bool:
        """Whether every reported number that matters (the value) is finite."""
        values = self.value if isinstance(self.value, list) else [self.value]
        return all(math.isfinite(v) for v in values)
