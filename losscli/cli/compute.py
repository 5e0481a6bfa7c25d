"""`losscli compute LOSS [INPUT]`: parse options, call the api, render the Result.

The per-role and loss-parameter options are generated from the registry (_options.py).
"""

from __future__ import annotations

from typing import Any

import typer

from losscli.cli._options import (
    FORMATS_HELP,
    debug_option,
    force_option,
    format_option,
    like_option,
    negatives_layout_option,
    out_option,
    quiet_option,
    with_loss_options,
)
from losscli.losses import LOSSES


def _loss_list() -> str:
    lines = []
    for spec in LOSSES.values():
        alias = f" (aliases: {', '.join(spec.aliases)})" if spec.aliases else ""
        lines.append(f"{spec.name}: {spec.title}{alias}")
    return "\n\n".join(lines)


HELP = f"""Evaluate a loss on one input and show its per-term breakdown.

INPUT is a JSON object keyed by role (anchor, positive, negatives, negatives2, logits,
target, weight; positives, x1, x2, label for the losses that take them), an .npz with arrays
named by role, a stacked .npy, or - for JSON on stdin.
Per-role options (--anchor FILE ...) take a .npy or .json each.

Losses (the seed's "contrastive loss" is infonce; the pairwise margin loss is contrastive):

{_loss_list()}

Exit codes: 0 ok, 1 internal error, 2 usage, 3 input unavailable, 4 bad data,
5 non-finite result under --strict, 6 output error, 130 interrupted.
"""


def _compute(
    loss: str = typer.Argument(..., help="loss name or alias (see `losscli losses`)"),
    input: str | None = typer.Argument(None, metavar="[INPUT]",
                                          help="JSON, .npz or stacked .npy file; - for stdin"),
    reduction: str | None = typer.Option(None, "--reduction", help="over the batch: mean "
                                         "(default), sum or none; under --like the "
                                         "library's own by default"),
    grad: bool = typer.Option(False, "--grad", help="also compute d loss / d each input "
                              "vector (anchor, positive, every negative; logits): norms in "
                              "the table, full vectors in JSON (examples[i].gradients)"),
    like: str | None = like_option(),
    negatives_layout: str | None = negatives_layout_option(),
    format: str = format_option(FORMATS_HELP),
    out: str | None = out_option(),
    force: bool = force_option(),
    show: int = typer.Option(5, "--show", help="examples shown in the table (0 for all)",
                             rich_help_panel="Output"),
    strict: bool = typer.Option(False, "--strict", help="exit 5 if the result is not finite",
                                rich_help_panel="Output"),
    quiet: bool = quiet_option(),
    debug: bool = debug_option(),
    *,
    roles: dict[str, str],
    params: dict[str, Any],
) -> None:
    from losscli import api
    from losscli.cli._output import announce_compiling, stdout_console, warn, write_text
    from losscli.errors import NonFiniteResult
    from losscli.render import resolve_format

    fmt = resolve_format(format, out, allowed=("table", "json", "csv"))
    announce_compiling(quiet)
    result = api.evaluate_file(loss, input, role_files=roles, reduction=reduction,
                               like=like, grad=grad, negatives_layout=negatives_layout,
                               **params)
    warn(result.warnings, quiet)
    if result.convention is not None and not quiet:
        from losscli.cli._explore import convention_notes

        convention_notes(result.convention)
    inputs = [p for p in [input, *roles.values()] if p]
    if strict and not result.finite:
        raise NonFiniteResult("the loss is not finite (--strict)",
                              "see the warnings; drop --strict to get null in the output",
                              where=", ".join("<stdin>" if p == "-" else p for p in inputs))
    if fmt == "table" and out is None:
        from losscli.render.table import print_table

        print_table(result, stdout_console(), show)
        return
    if fmt == "table":
        from losscli.render.table import render_table

        text = render_table(result, show)
    elif fmt == "csv":
        from losscli.render.csvout import render_csv

        text = render_csv(result)
    else:
        from losscli.render.jsonout import render_json

        text = render_json(result)
    write_text(text, out, force, inputs)


compute = with_loss_options(_compute)
