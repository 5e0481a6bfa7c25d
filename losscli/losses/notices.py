"""Warnings that say the same thing for several roles, said once naming the roles.

    ["anchor has entries above 1e+150 ...", "positive has entries above 1e+150 ..."]
 -> ["anchor and positive have entries above 1e+150 ..."]

Two warnings merge when they are the same text but for the first role they name (with its
count, "negatives (3)"); the merged one names every role of the group in their order, at the
place of the first, with the verb that follows made plural. The same role twice (two chunks
of one batch input) is named once, with the counts added.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from losscli.model import ROLES

if TYPE_CHECKING:
    from losscli.errors import LossCliError
    from losscli.losses.spec import LossSpec
    from losscli.model import Inputs

_ROLE = re.compile(r"(?<![\w-])(" + "|".join(sorted(ROLES, key=len, reverse=True))
                   + r")( \(\d+\))?(?![\w-])")
_PLURAL = {" has ": " have ", " is ": " are ", " does ": " do ", " was ": " were "}
_SLOT = "\x00"


def _template(text: str) -> tuple[str, str, int | None] | None:
    """(the text with its first role replaced by a slot, the role, its count if given)."""
    found = _ROLE.search(text)
    if found is None:
        return None
    count = int(found.group(2).strip(" ()")) if found.group(2) else None
    return text[:found.start()] + _SLOT + text[found.end():], found.group(1), count


def blame_the_reading(exc: LossCliError, role: str, spec: LossSpec, inputs: Inputs,
                      ) -> LossCliError:
    """`exc`, a loss refusing `role` (a batch of B = 1 from the anchor, or negatives), said
    as the lone 2-D .npy reading's where that reading gave the role: the user gave one
    array, not the roles its rows were cut into, so the refusal names the file and the
    reading, and the fix is a batch in each way the loss's roles can come (from its spec).
    A 3-D stack that may be roles-first gets its other reading said (StackDoubt). Anything
    else is returned as it is."""
    doubt = inputs.stack_doubt
    if doubt is not None and doubt.would_fit(role, refused=True):  # the other reading fits
        exc.what = f"{exc.what}; {doubt.reading}"
        exc.fix = f"{doubt.fix}; or {exc.fix}"
        exc.where = doubt.where
        return exc
    lone = inputs.lone_stack
    if lone is None or role not in lone.roles:
        return exc
    roles = [spec.stand_ins.get(r, r) for r in spec.required]
    exc.what = f"{lone.reading}, and {exc.what}"
    exc.fix = (f"{spec.name} needs a batch: save it as a (B, 2, D) stack, or give "
               f"{' '.join(f'--{r} {r[0]}.npy' for r in roles)}, or an .npz with "
               f"{joined(roles)}")
    exc.where = lone.where
    return exc


def joined(names: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def merge_role_warnings(warnings: Iterable[str], add_counts: bool = False) -> list[str]:
    """The warnings in order, those that differ only by their role merged into one.

    The same text twice is said once; with `add_counts` (the chunks of one batch input,
    each said once) the counts of one role's repeated warning are added instead.
    """
    warnings = list(warnings) if add_counts else list(dict.fromkeys(warnings))
    seen: set[str] = set()
    groups: dict[str, dict[str, int | None]] = {}
    order: list[tuple[str, str | None]] = []
    for text in warnings:
        parts = _template(text)
        if parts is None:
            if text not in seen:
                seen.add(text)
                order.append((text, None))
            continue
        template, role, count = parts
        if template not in groups:
            groups[template] = {}
            order.append((template, template))
        counts = groups[template]
        if role in counts:
            before = counts[role]
            counts[role] = None if before is None or count is None else before + count
        else:
            counts[role] = count
    out = []
    for text, template in order:
        if template is None:
            out.append(text)
            continue
        roles = [role if n is None else f"{role} ({n})" for role, n in groups[template].items()]
        if len(roles) == 1:
            out.append(template.replace(_SLOT, roles[0]))
            continue
        head, tail = template.split(_SLOT, 1)
        for singular, plural in _PLURAL.items():
            if tail.startswith(singular):
                tail = plural + tail[len(singular):]
                break
        out.append(head + joined(roles) + tail)
    return out
