"""The registry of losses: the single source of each loss's facts.

Written out explicitly, by family (losses/specs/): `losscli losses`, `explain`, the options
and help of every command, the README table and the parametrized tests all read LOSSES.
Reading the registry imports neither numpy nor numba; a loss's module (which does) is
imported only when the loss runs (`module_of`).
"""

from __future__ import annotations

import difflib
import importlib
import re
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
    near = [f"{n}, i.e. {ALIASES[n]}" if n in ALIASES else n for n in _closest_losses(key)]
    raise UsageError(
        f"unknown loss {name!r}",
        f"choose one of {', '.join(LOSSES)}"
        + (f" (did you mean {' or '.join(near)}?)" if near else ""),
    )


def _stem(name: str) -> str:
    """A name as "did you mean" compares it: without hyphens or a `loss` ending (`losss`,
    `losses` too)."""
    name = name.replace("-", "")
    return re.sub(r"los+(es)?s*$", "", name) or name


# Stems shorter than this get no suggestion by spelling: one letter off a two-letter alias
# is another loss as often as a typo (`mse` is not `ms`, multi-similarity; `bce` not `ce`).
SHORTEST_GUESSED = 4
# Candidates within this of the best match's score are offered together (`embedding`:
# hinge-embedding or cosine-embedding), not one of them by the order of the registry.
TIED_SCORE = 0.05


def _closest_losses(word: str) -> list[str]:
    """The loss names or aliases that `word` (lower case, `_` as `-`) was likely meant to
    be, none when none is close: the closest by spelling with hyphens and a `loss` ending
    set aside (`tripletloss`: triplet), else the losses whose names alone begin with it
    (`hinge`: hinge-embedding). Compared whole, at difflib's 0.5, `nosuchloss` was close
    to `supconloss` for their common ending."""
    names = [*LOSSES, *ALIASES]
    stems: dict[str, str] = {}
    for n in names:  # a loss's own name first where an alias has the same stem
        stems.setdefault(_stem(n), n)
    stem = _stem(word)
    if len(stem) < SHORTEST_GUESSED:
        return []
    scored = sorted(((difflib.SequenceMatcher(None, stem, s).ratio(), s) for s in stems),
                    reverse=True)
    best = scored[0][0]
    if best >= 0.75:
        near: dict[str, str] = {}  # one name per loss, best first
        for score, s in scored:
            if score < best - TIED_SCORE:
                break
            near.setdefault(ALIASES.get(stems[s], stems[s]), stems[s])
        return list(near.values())
    begun = {ALIASES.get(n, n) for n in names if _stem(n).startswith(stem)}
    return sorted(begun) if 0 < len(begun) <= 2 else []


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
