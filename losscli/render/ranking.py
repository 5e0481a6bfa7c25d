"""Which examples to show: the first N, or the N with the largest (`--worst`) or smallest
(`--best`) loss."""

from __future__ import annotations

import numpy as np

from losscli.errors import UsageError


def checked(worst: int | None, best: int | None) -> tuple[int, bool] | None:
    """(N, worst?) from --worst N / --best N, None when neither; a usage error for both or
    for N < 1."""
    if worst is not None and best is not None:
        raise UsageError("--worst and --best both given", "choose one")
    n, option = (worst, "--worst") if worst is not None else (best, "--best")
    if n is None:
        return None
    if n < 1:
        raise UsageError(f"{option} got {n}", "give a number of examples >= 1")
    return n, worst is not None


def ranked(losses: np.ndarray, n: int, worst: bool) -> list[int]:
    """The indices of the n largest (worst) or smallest losses, in that order; ties keep
    the input's order. A NaN loss (the loss was lost) ranks as the worst
    of all, and after every finite loss for --best."""
    x = np.asarray(losses, dtype=float)
    bad = np.isnan(x)
    key = np.where(bad, 0.0, x)
    if worst:
        # stable sort on the negated key: the largest first, ties in input order; NaN first
        order = np.lexsort((np.arange(x.size), -key, ~bad))
    else:
        order = np.lexsort((np.arange(x.size), key, bad))
    return [int(i) for i in order[:n]]
