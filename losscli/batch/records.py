"""What `batch` produces: one FileResult per input (file, role set or JSON Lines line)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.errors import LossCliError
from losscli.render.jsonout import SCHEMA, finite_or_none


@dataclass
class FileResult:
    """The outcome of one input: the compute result without examples, or the error.

    `active` / `margin_terms` count the margin terms that are > 0 and all of them (triplet,
    contrastive and quadruplet; None for the others), for the summary's active share.
    """

    file: str
    loss: str
    params: dict[str, Any]
    reduction: str
    value: float | list[float] | None = None
    per_example: np.ndarray | None = None
    shape: dict[str, int | None] | None = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    error: LossCliError | None = None
    active: int | None = None
    margin_terms: int | None = None

    @property
    def n(self) -> int | None:
        return None if self.per_example is None else int(self.per_example.shape[0])

    @property
    def ok(self) -> bool:
        return self.error is None

    def error_text(self) -> str | None:
        return None if self.error is None else self.error.message()

    def record(self) -> dict[str, Any]:
        """The per-file record: compute's JSON without `examples`, plus file, n, seconds,
        error (CONTRACT.md, batch)."""
        value = self.value
        if isinstance(value, list):
            value = [finite_or_none(v) for v in value]
        else:
            value = finite_or_none(value)
        per_example = None if self.per_example is None else \
            [finite_or_none(v) for v in self.per_example.tolist()]
        return {
            "schema": SCHEMA,
            "file": self.file,
            "loss": self.loss,
            "params": {k: finite_or_none(v) for k, v in self.params.items()},
            "reduction": self.reduction,
            "value": value,
            "per_example": per_example,
            "shape": None if self.shape is None else dict(self.shape),
            "warnings": list(self.warnings),
            "n": self.n,
            "seconds": round(self.seconds, 6),
            "error": self.error_text(),
        }


QUANTILES = (5, 25, 50, 75, 95)


class Summary:
    """count, mean, std (ddof 0), min, p5, p25, p50, p75, p95, max of the per-example losses
    over every input that worked, and the share of active margin terms."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []
        self.files = 0
        self.failed: list[str] = []
        self.active = 0
        self.margin_terms = 0
        self.has_margin = False

    def add(self, result: FileResult) -> None:
        self.files += 1
        if not result.ok:
            self.failed.append(result.file)
            return
        if result.per_example is not None:
            self._parts.append(np.asarray(result.per_example, dtype=np.float64))
        if result.margin_terms is not None:
            self.has_margin = True
            self.active += result.active or 0
            self.margin_terms += result.margin_terms

    def record(self, loss: str) -> dict[str, Any]:
        values = np.concatenate(self._parts) if self._parts else np.empty(0)
        finite = values[np.isfinite(values)]
        stats: dict[str, Any] = {"count": int(finite.size)}
        if finite.size:
            qs = np.percentile(finite, QUANTILES)
            stats.update(mean=float(finite.mean()), std=float(finite.std()),
                         min=float(finite.min()))
            stats.update({f"p{q}": float(v) for q, v in zip(QUANTILES, qs, strict=True)})
            stats["max"] = float(finite.max())
        else:
            stats.update({k: None for k in ("mean", "std", "min", "p5", "p25", "p50", "p75",
                                            "p95", "max")})
        share = None
        if self.has_margin and self.margin_terms:
            share = self.active / self.margin_terms
        return {
            "schema": SCHEMA,
            "summary": True,
            "loss": loss,
            "files": self.files,
            "failed": len(self.failed),
            **stats,
            "non_finite": int(values.size - finite.size),
            "active_share": None if share is None or math.isnan(share) else share,
        }
