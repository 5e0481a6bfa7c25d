"""The registry of losses: the single source of each loss's facts.

Written out explicitly, by family (losses/specs/): `losscli losses`, `explain`, the options
and help of every command, the README table and the parametrized tests all read LOSSES.
Reading the registry imports neither numpy nor numba; a loss's module (which does) is
imported only when the loss runs (`module_of`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from losscli.errors import UsageError, closest_hint
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
    names = list(LOSSES) + list(ALIASES)
    raise UsageError(
        f"unknown loss {name!r}",
        f"choose one of {', '.join(LOSSES)}{closest_hint(key, names)}",
    )


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
