"""`batch --summary`: the per-example losses of every input that worked, summarized."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from losscli.model import SCHEMA, FileResult

QUANTILES = (5, 25, 50, 75, 95)
# The summary record keeps this many distinct warnings (each input's are on stderr too,
# unless -q): a warning per input over 100,000 inputs would make one record of megabytes.
WARNINGS_KEPT = 100


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
        # each distinct warning (as its inputs said it), in order: the first input that said
        # it and how many did (a run-wide one, a --margin under --soft, is one entry)
        self.warnings: dict[str, tuple[str, int]] = {}

    def add(self, result: FileResult) -> None:
        """Count one input's record: its per-example losses and active margin terms, or its
        failure.
        """
        self.files += 1
        for text, named in zip(result.warnings, result.named_warnings(), strict=True):
            first, count = self.warnings.get(text, (named, 0))
            self.warnings[text] = (first, count + 1)
        if not result.ok:
            self.failed.append(result.file)
            return
        if result.per_example is not None:
            self._parts.append(np.asarray(result.per_example, dtype=np.float64))
        if result.margin_terms is not None:
            self.has_margin = True
            self.active += result.active or 0
            self.margin_terms += result.margin_terms

    def non_finite(self) -> int:
        """How many per-example losses are NaN or infinite (left out of the statistics)."""
        return int(sum(int((~np.isfinite(part)).sum()) for part in self._parts))

    def left_out_warning(self) -> str | None:
        """The warning that the statistics leave out the non-finite examples (None when
        there are none): the summary's `non_finite` says how many, but exit 0 alone would
        not tell that its count and mean are over fewer examples than were given."""
        n = self.non_finite()
        if not n:
            return None
        return (f"{n} example(s) with a non-finite loss are left out of the summary's count, "
                "mean and quantiles (--strict makes them an error)")

    def record(self, loss: str) -> dict[str, Any]:
        """The summary record of `loss`: the statistics of every finite per-example loss, the
        inputs and failures, the non-finite count and the share of active margin terms.
        """
        values = np.concatenate(self._parts) if self._parts else np.empty(0)
        # sorted: the sums then do not depend on the order the inputs' parts came in (a
        # Dask run's tasks finish in any order: its mean differed in the last digit)
        finite = np.sort(values[np.isfinite(values)])
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
            "warnings": self._kept_warnings(),
        }

    def _kept_warnings(self) -> list[str]:
        """The inputs' warnings (the first WARNINGS_KEPT, then how many more) and the
        summary's own: the record says how the inputs were read, as compute's JSON does."""
        said = [first if count == 1 else f"{first} (and {count - 1} more input(s))"
                for first, count in self.warnings.values()]
        kept = said[:WARNINGS_KEPT]
        if len(said) > WARNINGS_KEPT:
            kept.append(f"and {len(said) - WARNINGS_KEPT} more distinct warning(s)")
        left_out = self.left_out_warning()
        return kept + ([left_out] if left_out is not None else [])
