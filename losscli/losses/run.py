"""Evaluate a LossCall on validated inputs: the one way every engine reaches a loss module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from losscli.errors import BatchTooSmall, RoleRefused, TooLarge, UsageError
from losscli.kernels import _jit
from losscli.losses import module_of
from losscli.losses.call import LossCall
from losscli.losses.notices import blame_the_reading, merge_role_warnings
from losscli.losses.references import collapse_warning
from losscli.losses.roles import input_name, negatives_layout_warning, positives_layout_warning
from losscli.losses.spec import LossSpec
from losscli.model import Inputs, Result


def check_form(spec: LossSpec, given: dict[str, Any], inputs: Inputs) -> None:
    """A usage error for a parameter given to a form of the loss it does not act on (its
    `with_role` missing from the inputs): an option that does not apply is never ignored."""
    for p in spec.params:
        if p.with_role is not None and given.get(p.name) is not None \
                and p.with_role not in inputs:
            raise UsageError(f"{p.named} applies to {spec.name} only with {p.with_role} "
                             f"given, and the input has no {p.with_role}",
                             f"drop {p.named}, or give {p.with_role}")


def run(call: LossCall, inputs: Inputs, *, grad: bool = False, merge: bool = True) -> Result:
    """The loss module's Result, with the inputs' warnings first and the convention applied.

    grad: also compute `Result.gradients`, d loss_b / d each input vector (analytic).
    merge: say warnings that differ only by their role once, naming the roles (notices.py);
    batch merges once per input instead, after its chunks.
    """
    spec = call.spec
    check_form(spec, dict(call.given), inputs)
    extra: dict[str, Any] = {}
    if grad:
        extra["grad"] = True
    applied = call.applied
    if applied is not None:
        from losscli.losses.conventions import check_roles, library_layout

        check_roles(spec, applied, inputs)
        inputs, reading = library_layout(spec, applied, inputs)
        if reading is not None:  # a flag too: compare's rows show which reading each took
            applied = replace(applied, notes=(*applied.notes, reading), flags={
                **applied.flags, "negatives_layout": applied.convention.negatives_layout})
        extra["convention"] = applied.convention
    try:
        result = module_of(spec).evaluate(inputs, call.params, call.reduction, **extra)
    except (BatchTooSmall, RoleRefused) as exc:
        # A batch is B rows of the anchor; on a lone 2-D .npy both refusals are the reading's.
        role = exc.role if isinstance(exc, RoleRefused) else "anchor"
        raise blame_the_reading(exc, role, spec, inputs) from None
    except TooLarge as exc:
        # The loss checks sizes, not files: the input they are of is named here.
        name = input_name(inputs)
        raise (exc if name is None else exc.located(name)) from None
    if applied is not None:
        result = replace(result, convention=applied.describe())
    layouts = tuple(w for w in (negatives_layout_warning(inputs, spec.roles),
                                positives_layout_warning(inputs, spec.roles)) if w)
    warnings = tuple(inputs.warnings) + layouts + call.unused_given + result.warnings
    if not result.finite and all(np.isfinite(result.per_example)):
        # Every example finite but their sum overflowed: still say why the value is null.
        warnings += (f"the {call.reduction} of the example losses overflows float64; "
                     "written as null",)
    collapsed = collapse_warning(spec.name, result.params, result.shape, result.per_example)
    if collapsed is not None:
        warnings += (collapsed,)
    return replace(result, warnings=tuple(merge_role_warnings(warnings)) if merge else warnings)


def on_first_compile(callback: Callable[[], None] | None) -> None:
    """`callback()` once, when a kernel is first compiled in this process (not when it is
    loaded from numba's cache): kernels/_jit.py."""
    _jit.on_first_compile(callback)
