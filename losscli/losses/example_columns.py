"""Terms beside each example's loss (`batch --per-example --columns d_ap,d_an,hardest`).

Each example's hardest term is the one the spec's `hardest` names: among the terms of its
role, the largest value of its column (or the smallest, for "-column"), e.g. the negative
nearest the anchor. A chosen column is that term's value in the breakdown; `hardest` is its
index (which negative, which class).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import UsageError
from losscli.losses.spec import Convention, LossSpec
from losscli.model import Result, scan_blocks

HARDEST = "hardest"


def valid_columns(spec: LossSpec, convention: Convention | None = None) -> tuple[str, ...]:
    """The columns --columns accepts for this loss: `hardest`, then its breakdown columns
    (and those the convention's form adds)."""
    if not spec.hardest:
        return ()
    extra = () if convention is None else tuple(c.name for c in convention.columns)
    return tuple(dict.fromkeys((HARDEST, *(c.name for c in spec.columns), *extra)))


def checked_columns(spec: LossSpec, text: str | None, convention: Convention | None = None,
                    ) -> tuple[str, ...]:
    """The names of --columns A,B,... (empty when not given); a usage error for a name the
    loss has no column of, listing those it has."""
    if text is None:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    valid = valid_columns(spec, convention)
    if not names:
        raise UsageError("--columns got no column name", f"choose from {', '.join(valid)}")
    for name in names:
        if name not in valid:
            from losscli.errors import closest_hint

            raise UsageError(f"--columns: {name!r} is not a column of {spec.name}",
                             f"choose from {', '.join(valid)}{closest_hint(name, valid)}")
    return names


def hardest_terms(spec: LossSpec, columns: dict[str, np.ndarray], role: np.ndarray,
                  n: int) -> np.ndarray:
    """The hardest term of each of the n examples of a block of the breakdown (-1 where it
    has no term of the spec's `hardest` role)."""
    wanted, column = spec.hardest
    smallest = column.startswith("-")
    candidates = np.flatnonzero(role == wanted)
    out = np.full(n, -1, dtype=np.int64)
    if not candidates.size:
        return out
    values = np.asarray(columns[column.lstrip("-")][:, candidates], dtype=float)
    values = np.where(np.isnan(values), -np.inf if not smallest else np.inf, values)
    pick = values.argmin(axis=1) if smallest else values.argmax(axis=1)  # ties: the first
    out[:] = candidates[pick]
    return out


def example_columns(spec: LossSpec, result: Result, names: tuple[str, ...],
                    ) -> dict[str, list[Any]]:
    """name -> one value per example (None where the example has no hardest term), reading
    the breakdown a block of examples at a time."""
    if not names:
        return {}
    terms = result.terms
    if not terms.count:
        return {name: [None] * result.batch for name in names}
    role = np.array(terms.role)
    index = np.array(terms.index)
    out: dict[str, list[Any]] = {name: [] for name in names}
    for start, stop, columns in scan_blocks(terms, result.batch):
        hardest = hardest_terms(spec, columns, role, stop - start)
        found = hardest >= 0
        at = np.where(found, hardest, 0)
        rows = np.arange(stop - start)
        for name in names:
            values = index[at] if name == HARDEST else columns[name][rows, at]
            out[name] += [v if ok else None for v, ok in zip(values.tolist(), found,
                                                             strict=True)]
    return out
