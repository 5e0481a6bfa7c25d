"""The registry of losses: the single source of each loss's facts.

Written out explicitly, by family (losses/specs/): `losscli losses`, `explain`, the options
and help of every command, the README table and the parametrized tests all read LOSSES.
Reading the registry imports neither numpy nor numba; a loss's module (which does) is
imported only when the loss runs (`module_of`).
"""

from __future__ import annotations

import difflib
import importlib
from types import ModuleType

from losscli.errors import UsageError
from losscli.losses.spec import (
    LIBRARIES,
    LIBRARY_ALIASES,
    Column,
    Convention,
    LossSpec,
    Param,
)
from losscli.losses.specs import FAMILIES
from losscli.losses.specs.common import DISTANCES, SIMILARITIES

REDUCTIONS = ("mean", "sum", "none")

LOSSES: dict[str, LossSpec] = {spec.name: spec for specs in FAMILIES.values() for spec in specs}

ALIASES: dict[str, str] = {alias: s.name for s in LOSSES.values() for alias in s.aliases}


def get_spec(name: str) -> LossSpec:
    """The registry entry for a name or alias, or a usage error with the closest name."""
    if not isinstance(name, str):
        raise UsageError(f"the loss name is {name!r}", f"give a loss name: {', '.join(LOSSES)}")
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key in LOSSES:
        return LOSSES[key]
    near = _closest_loss(key)
    if near in ALIASES:  # the list names no alias: say which of its losses this one is
        near = f"{near}, i.e. {ALIASES[near]}"
    raise UsageError(
        f"unknown loss {name!r}",
        f"choose one of {', '.join(LOSSES)}"
        + (f" (did you mean {near}?)" if near is not None else ""),
    )


def _stem(name: str) -> str:
    """A name as "did you mean" compares it: without hyphens or a `loss` ending."""
    name = name.replace("-", "")
    return name.removesuffix("loss") or name


def _closest_loss(word: str) -> str | None:
    """The loss name or alias that `word` (lower case, `_` as `-`) was likely meant to be, or
    None when none is close: the closest by spelling with hyphens and a `loss` ending set
    aside (`tripletloss`: triplet), else the one loss whose names alone begin with it
    (`hinge`: hinge-embedding). Compared whole, at difflib's 0.5, `nosuchloss` was close
    to `supconloss` for their common ending."""
    names = [*LOSSES, *ALIASES]
    stems: dict[str, str] = {}
    for n in names:  # a loss's own name first where an alias has the same stem
        stems.setdefault(_stem(n), n)
    stem = _stem(word)
    near = difflib.get_close_matches(stem, list(stems), n=1, cutoff=0.75)
    if near:
        return stems[near[0]]
    begun = {ALIASES.get(n, n) for n in names if _stem(n).startswith(stem)}
    return begun.pop() if len(stem) >= 4 and len(begun) == 1 else None


def module_of(spec: LossSpec) -> ModuleType:
    """The module that evaluates the loss (`evaluate`, and where it has them `stream`,
    `sweep_limits`, `mean_divisor`), imported on first use."""
    return importlib.import_module(spec.module)


__all__ = [
    "ALIASES",
    "DISTANCES",
    "FAMILIES",
    "LIBRARIES",
    "LIBRARY_ALIASES",
    "LOSSES",
    "REDUCTIONS",
    "SIMILARITIES",
    "Column",
    "Convention",
    "LossSpec",
    "Param",
    "get_spec",
    "module_of",
]
