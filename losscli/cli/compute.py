"""`losscli compute LOSS [INPUT]`: parse options, call the api, render the Result."""

from __future__ import annotations

import typer

from losscli.cli._options import debug_option, force_option, format_option, out_option, quiet_option
from losscli.cli._options import param as _param
from losscli.cli._options import role as _role
from losscli.losses import LOSSES

FORMATS_HELP = "auto (table on a terminal, JSON when piped or from --out's suffix), " \
    "table, json or csv"


LIKE_HELP = ("reproduce a library's convention for this loss (parameters, distance, "
             "normalization, eps, 1/2 factors, reduction): torch, pytorch-metric-learning, "
             "sentence-transformers, tf-addons or optax, or the original code a loss names "
             "(open-clip, supcontrast, dcl-port, nidl, hcl, ms-original; `losscli explain "
             "LOSS` lists them); the output says what changed")


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
    positives: str | None = _role("positives"),
    x1: str | None = _role("x1"),
    x2: str | None = _role("x2"),
    label: str | None = _role("label"),
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
    base_temperature: float | None = _param("base-temperature"),
    scale: float | None = _param("scale"),
    bias: float | None = _param("bias"),
    beta: float | None = _param("beta"),
    tau_plus: float | None = _param("tau-plus"),
    clamp: bool | None = _param("clamp"),
    weighting: str | None = _param("weighting"),
    sigma: float | None = _param("sigma"),
    alpha: float | None = _param("alpha"),
    base: float | None = _param("base"),
    gamma: float | None = _param("gamma"),
    pos_margin: float | None = _param("pos-margin"),
    variant: str | None = _param("variant"),
    nu: float | None = _param("nu"),
    reduction: str | None = typer.Option(None, "--reduction", help="over the batch: mean "
                                         "(default), sum or none; under --like the "
                                         "library's own by default"),
    grad: bool = typer.Option(False, "--grad", help="also compute d loss / d each input "
                              "vector (anchor, positive, every negative; logits): norms in "
                              "the table, full vectors in JSON (examples[i].gradients)"),
    like: str | None = typer.Option(None, "--like", metavar="LIBRARY", help=LIKE_HELP),
    format: str = format_option(FORMATS_HELP),
    out: str | None = out_option(),
    force: bool = force_option(),
    show: int = typer.Option(5, "--show", help="examples shown in the table (0 for all)",
                             rich_help_panel="Output"),
    strict: bool = typer.Option(False, "--strict", help="exit 5 if the result is not finite",
                                rich_help_panel="Output"),
    quiet: bool = quiet_option(),
    debug: bool = debug_option(),
) -> None:
    from losscli import api
    from losscli.cli._output import stdout_console, warn, write_text
    from losscli.errors import NonFiniteResult, UsageError
    from losscli.render import resolve_format

    role_files = {role: path for role, path in (
        ("anchor", anchor), ("positive", positive), ("negatives", negatives),
        ("negatives2", negatives2), ("logits", logits), ("target", target),
        ("weight", weight), ("positives", positives), ("x1", x1), ("x2", x2),
        ("label", label)) if path is not None}
    params = {
        "temperature": temperature, "similarity": similarity, "distance": distance,
        "margin": margin, "margin2": margin2, "label_smoothing": label_smoothing,
        "ignore_index": ignore_index, "negatives_reduction": negatives_reduction,
        "swap": swap, "soft": soft,
        "base_temperature": base_temperature, "scale": scale, "bias": bias, "beta": beta,
        "tau_plus": tau_plus, "clamp": clamp, "weighting": weighting, "sigma": sigma,
        "alpha": alpha, "base": base, "gamma": gamma, "pos_margin": pos_margin,
        "variant": variant, "nu": nu,
    }
    fmt = resolve_format(format, out)
    if fmt not in ("table", "json", "csv"):
        raise UsageError(f"--format got {format!r}", "choose auto, table, json or csv")
    result = api.evaluate_file(loss, input, role_files=role_files, reduction=reduction,
                               like=like, grad=grad, **params)
    warn(result.warnings, quiet)
    if result.convention is not None and not quiet:
        from losscli.cli._explore import convention_notes

        convention_notes(result.convention)
    inputs = [p for p in [input, *role_files.values()] if p]
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
