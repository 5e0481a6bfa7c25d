"""`--like LIBRARY`: turn a registry Convention into the parameters, reduction and formula
flags one evaluation uses, and say what changed.

The facts (which library defines what, its defaults, its arithmetic) live in the registry
(losscli/losses/specs/, `LossSpec.conventions`); the arithmetic of each variant lives in
the loss modules and kernels. This module only resolves and checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from losscli.errors import UsageError, closest_hint
from losscli.losses import LIBRARIES, LIBRARY_ALIASES, REDUCTIONS, Convention, LossSpec
from losscli.losses.spec import CORE_LIBRARIES, LIKE_REDUCTIONS

if TYPE_CHECKING:
    from losscli.model import Inputs

OWN = "losscli"


@dataclass(frozen=True)
class Applied:
    """One Convention applied to one call: what to evaluate, and what to tell the user."""

    convention: Convention
    params: dict[str, Any]
    reduction: str
    changed: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    flags: dict[str, Any] = field(default_factory=dict)
    api: str = ""  # the library call with the values in use

    def describe(self) -> dict[str, Any]:
        """The `convention` block of the output (JSON and table header)."""
        c = self.convention
        return {
            "library": c.library,
            "api": self.api or c.api,
            "summary": c.summary,
            "reduction": self.reduction,
            "changed": dict(self.changed),
            "flags": dict(self.flags),
            "notes": list(self.notes),
        }


def library_name(name: str) -> str:
    """The canonical library name for `--like` (aliases: pytorch, pml, st, tfa, keras)."""
    key = name.strip().lower().replace("_", "-")
    key = LIBRARY_ALIASES.get(key, key)
    if key in LIBRARIES:
        return key
    raise UsageError(f"--like got {name!r}",
                     f"choose one of {', '.join(LIBRARIES)}{closest_hint(key, LIBRARIES)}")


def defined_for(spec: LossSpec) -> list[str]:
    """The libraries whose convention for this loss losscli reproduces, in LIBRARIES order."""
    return [lib for lib in LIBRARIES if isinstance(spec.conventions.get(lib), Convention)]


def compared_for(spec: LossSpec) -> list[str]:
    """The rows `compare` shows after losscli's own: the five loss libraries (defined or not,
    so a missing one says so), then each other codebase this loss names."""
    return [lib for lib in LIBRARIES if lib in CORE_LIBRARIES or lib in spec.conventions]


def convention_for(spec: LossSpec, library: str) -> Convention:
    """The Convention, or a usage error saying the library has no such loss (exit 2)."""
    lib = library_name(library)
    conv = spec.conventions.get(lib)
    if isinstance(conv, Convention):
        return conv
    others = defined_for(spec)
    fix = (f"--like works for {spec.name} with {', '.join(others)}" if others
           else f"no library losscli knows defines {spec.name}: drop --like")
    if isinstance(conv, str):
        return _raise(f"{lib}'s {spec.name} ({conv}) is described but not reproduced", fix)
    return _raise(f"{lib} defines no {spec.name} loss", fix)


def _raise(what: str, fix: str) -> Convention:
    raise UsageError(what, fix)


def apply(spec: LossSpec, library: str, given: dict[str, Any],
          reduction: str | None) -> Applied:
    """Merge the user's parameters over the library's, check each against what the library
    can express, and choose the reduction (the library's default unless given)."""
    conv = convention_for(spec, library)
    given = {k: v for k, v in given.items() if v is not None}
    for name, value in given.items():
        option = "--" + name.replace("_", "-")
        if name in conv.unsupported:
            raise UsageError(f"{option} has no counterpart in {conv.library}'s {spec.name}",
                             f"{conv.unsupported[name]}; drop {option} or --like")
        allowed = conv.allowed.get(name)
        if allowed is not None and value not in allowed:
            raise UsageError(
                f"{option} {value} is not something {conv.library}'s {spec.name} computes",
                f"under --like {conv.library} choose {' or '.join(map(str, allowed))}")
    notes: list[str] = []
    defaults = {p.name: p.default for p in spec.params}
    changed: dict[str, dict[str, Any]] = {}
    library_params = dict(conv.params)
    # Two options that say the same thing (clip's temperature and scale): the user's one
    # replaces the library's other.
    for first, second in spec.exclusive:
        for mine, theirs in ((first, second), (second, first)):
            if mine in given and theirs in library_params:
                value = library_params.pop(theirs)
                notes.append(f"--{mine.replace('_', '-')} {given[mine]} given: {conv.library} "
                             f"uses {theirs.replace('_', '-')} {value} by default")
    for name, value in library_params.items():
        if name in given and given[name] != value:
            notes.append(f"--{name.replace('_', '-')} {given[name]} given: {conv.library} "
                         f"uses {value} by default")
        elif defaults.get(name) != value:
            changed[name] = {"losscli": defaults.get(name), conv.library: value}
    params = {**library_params, **given}
    if reduction is None:
        reduction = conv.reduction
    elif reduction not in conv.reductions:
        if reduction not in REDUCTIONS:
            accepted = ", ".join(dict.fromkeys(conv.reductions + REDUCTIONS))
            raise UsageError(f"--reduction {reduction} is not one {conv.library} offers",
                             f"choose one of {accepted}")
        notes.append(f"{conv.library} does not offer reduction {reduction!r} here "
                     f"(it offers {', '.join(conv.reductions)}); losscli applied it to the "
                     "per-example losses")
    if reduction not in LIKE_REDUCTIONS:
        raise UsageError(f"--reduction got {reduction!r}",
                         f"choose one of {', '.join(LIKE_REDUCTIONS)}")
    term = conv.term_reduction.get(reduction)
    if term is not None and "negatives_reduction" in defaults \
            and term != defaults["negatives_reduction"]:
        # The loss module applies it; say so here, or `compare` would report no change.
        changed["negatives_reduction"] = {"losscli": defaults["negatives_reduction"],
                                          conv.library: term}
    in_use = {**defaults, **params}
    notes.extend(conv.notes_for(in_use, reduction))
    return Applied(conv, params, reduction, changed, tuple(notes),
                   conv.flags_for(in_use), conv.call(in_use, reduction))


def check_roles(spec: LossSpec, applied: Applied, inputs: Inputs) -> None:
    """A role the library has no place for (npair's explicit negatives under PML) exits 2."""
    from losscli.losses.notices import blame_the_reading

    conv = applied.convention
    for role, why in conv.unsupported_roles.items():
        if role in inputs:
            raise blame_the_reading(
                UsageError(f"{role} has no counterpart in {conv.library}'s {spec.name}",
                           f"{why}; drop {role}, or drop --like"), role, spec, inputs)


def term_reduction(conv: Convention | None, reduction: str, default: str = "mean") -> str:
    """How one example's terms combine under this convention and batch reduction."""
    if conv is None:
        return default
    return conv.term_reduction.get(reduction, default)


def library_layout(spec: LossSpec, applied: Applied, inputs: Inputs,
                   ) -> tuple[Inputs, str | None]:
    """The inputs with their negatives read in the library's only layout
    (Convention.negatives_layout), and the note that says so (None when nothing changed).

    (B, D) negatives with a row per anchor are ambiguous to losscli, not to torch's
    TripletMarginLoss: it reads row b as anchor b's negative, so labelling a shared-bank
    value as torch's would be wrong. --negatives-layout shared asks for a reading the library
    cannot have: exit 2 (in `compare`, the row is refused with the reason).
    """
    conv = applied.convention
    layout = conv.negatives_layout
    if layout is None or "negatives" not in spec.roles:
        return inputs, None
    check_layout(spec, applied, inputs.negatives_layout)
    if inputs.negatives_layout is not None or "anchor" not in inputs \
            or "negatives" not in inputs:
        return inputs, None
    anchor, negatives = inputs["anchor"], inputs["negatives"]
    if anchor.ndim != 2 or negatives.ndim != 2 or negatives.shape[0] != anchor.shape[0] \
            or anchor.shape[0] < 2:
        return inputs, None  # one example, (B, K, D), or a bank of another size: as they are
    B, D = negatives.shape
    note = (f"negatives {negatives.shape} read one per anchor row, ({B}, 1, {D}): the only "
            f"way {conv.library}'s {spec.name} takes them")
    return replace(inputs, negatives_layout=layout), note


def check_layout(spec: LossSpec, applied: Applied | None, given: str | None) -> None:
    """A usage error (exit 2) for --negatives-layout naming a reading the library cannot
    have (Convention.negatives_layout); batch checks it once, before any input is read."""
    if applied is None or given is None:
        return
    conv = applied.convention
    if conv.negatives_layout is not None and given != conv.negatives_layout:
        raise UsageError(f"--negatives-layout {given} has no counterpart in {conv.library}'s "
                         f"{spec.name}: it takes negatives one per anchor row",
                         f"drop --negatives-layout {given}, or drop --like")
