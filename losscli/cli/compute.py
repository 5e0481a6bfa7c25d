"""`losscli compute LOSS [INPUT]`: parse options, call the api, render the Result."""

from __future__ import annotations

import typer

from losscli.cli._options import param as _param
from losscli.cli._options import role as _role
from losscli.losses import LOSSES

FORMATS_HELP = "auto (table on a terminal, JSON when piped or from --out's suffix), " \
    "table, json or csv"


def _loss_list() -> str:
    lines = []
    for spec in LOSSES.values():
        alias = f" (aliases: {', '.join(spec.aliases)})" if spec.aliases else ""
        lines.append(f"{spec.name}: {spec.title}{alias}")
    return "\n\n".join(lines)


HELP = f"""Evaluate a loss on one input and show its per-term breakdown.

INPUT is a JSON object keyed by role (anchor, positive, negatives, negatives2, logits,
target, weight), an .npz with arrays named by role, a stacked .npy, or - for JSON on stdin.
Per-role options (--anchor FILE ...) take a .npy or .json each.

Losses (the seed's "contrastive loss" is infonce; the pairwise margin loss is contrastive):

{_loss_list()}

Exit codes: 0 ok, 1 internal error, 2 usage, 3 input unavailable, 4 bad data,
5 non-finite result under --strict, 6 output error, 130 interrupted.
"""


def compute(
    loss: str = typer.Argument(..., help="loss name or alias (see `losscli losses`)"),
    input: str | None = typer.Argument(None, metavar="[INPUT]",
                                          help="JSON, .npz or stacked .npy file; - for stdin"),
    anchor: str | None = _role("anchor"),
    positive: str | None = _role("positive"),
    negatives: str | None = _role("negatives"),
    negatives2: str | None = _role("negatives2"),
    logits: str | None = _role("logits"),
    target: str | None = _role("target"),
    weight: str | None = _role("weight"),
    temperature: float | None = _param("temperature", "-t"),
    similarity: str | None = _param("similarity"),
    distance: str | None = _param("distance"),
    margin: float | None = _param("margin"),
    margin2: float | None = _param("margin2"),
    label_smoothing: float | None = _param("label-smoothing"),
    ignore_index: int | None = _param("ignore-index"),
    negatives_reduction: str | None = _param("negatives-reduction"),
    swap: bool | None = _param("swap"),
    soft: bool | None = _param("soft"),
    reduction: str = typer.Option("mean", "--reduction", help="over the batch: mean, sum "
                                  "or none"),
    format: str = typer.Option("auto", "--format", "-f", help=FORMATS_HELP,
                               rich_help_panel="Output"),
    out: str | None = typer.Option(None, "--out", "-o", metavar="FILE",
                                      help="write here (atomically) instead of stdout",
                                      rich_help_panel="Output"),
    force: bool = typer.Option(False, "--force", help="overwrite --out if it exists",
                               rich_help_panel="Output"),
    show: int = typer.Option(5, "--show", help="examples shown in the table (0 for all)",
                             rich_help_panel="Output"),
    strict: bool = typer.Option(False, "--strict", help="exit 5 if the result is not finite",
                                rich_help_panel="Output"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no warnings on stderr",
                               rich_help_panel="Output"),
    debug: bool = typer.Option(False, "--debug", help="tracebacks for internal errors",
                               rich_help_panel="Output"),
) -> None:
    from losscli import api
    from losscli.cli._output import stdout_console, warn, write_text
    from losscli.errors import NonFiniteResult, UsageError
    from losscli.render import resolve_format

    role_files = {role: path for role, path in (
        ("anchor", anchor), ("positive", positive), ("negatives", negatives),
        ("negatives2", negatives2), ("logits", logits), ("target", target),
        ("weight", weight)) if path is not None}
    params = {
        "temperature": temperature, "similarity": similarity, "distance": distance,
        "margin": margin, "margin2": margin2, "label_smoothing": label_smoothing,
        "ignore_index": ignore_index, "negatives_reduction": negatives_reduction,
        "swap": swap, "soft": soft,
    }
    fmt = resolve_format(format, out)
    if fmt not in ("table", "json", "csv"):
        raise UsageError(f"--format got {format!r}", "choose auto, table, json or csv")
    result = api.evaluate_file(loss, input, role_files=role_files, reduction=reduction,
                               **params)
    warn(result.warnings, quiet)
    if strict and not result.finite:
        raise NonFiniteResult("the loss is not finite",
                              "see the warnings; drop --strict to get null in the output")
    inputs = [p for p in [input, *role_files.values()] if p]
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
