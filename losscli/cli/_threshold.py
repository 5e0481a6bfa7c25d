"""`--fail-above X` (compute, batch): a loss above X, or not finite, is its own exit code
(8), after the output is written in full, so that CI can gate on a loss."""

from __future__ import annotations

import math
from typing import Any

from losscli.errors import AboveThreshold, UsageError


def checked(limit: float | None) -> float | None:
    """The limit, refused before any work when it is not a finite number."""
    if limit is not None and not math.isfinite(limit):
        raise UsageError(f"--fail-above got {limit}", "give a finite number")
    return limit


def breach(value: Any, limit: float, where: str | None = None) -> AboveThreshold | None:
    """The error to report when `value` (a number, null, or a list of them under
    --reduction none) is above `limit` or not finite; None when it passes."""
    values = value if isinstance(value, list) else [value]
    bad = [(i, v) for i, v in enumerate(values)
           if v is None or not math.isfinite(v) or v > limit]
    if not bad:
        return None
    i, v = bad[0]
    shown = "not finite" if v is None or not math.isfinite(v) else f"{v!r}, above {limit!r}"
    what = f"the loss is {shown}" if not isinstance(value, list) else \
        f"example {i}'s loss is {shown} ({len(bad)} of {len(values)} examples)"
    return AboveThreshold(f"{what} (--fail-above {limit!r})",
                          "the output is written in full; this exit code is the gate",
                          where=where)
