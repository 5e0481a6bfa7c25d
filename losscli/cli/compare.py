"""`losscli compare LOSS INPUT`: the same input under losscli's definition and under every
library's convention, one row each."""

from __future__ import annotations

import typer

from losscli.cli.compute import FORMATS_HELP, _param, _role

HELP = """Evaluate one input under losscli's own definition and under each library's
convention (torch, pytorch-metric-learning, sentence-transformers, tf-addons, optax, and the
original code a loss names: open-clip, supcontrast, dcl-port, nidl, hcl, ms-original), one row
each with what that convention changes; a library without this loss says so in its row.

Loss options apply to every row (a row whose library cannot express one says so). Without
--reduction each library reduces as it does by default. A table on a terminal; JSON Lines
(one record per convention) when piped.
"""


def compare(
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
    reduction: str | None = typer.Option(None, "--reduction", help="the same reduction for "
                                         "every row (default: each library's own)"),
    format: str = typer.Option("auto", "--format", "-f", help=FORMATS_HELP + " (jsonl)",
                               rich_help_panel="Output"),
    out: str | None = typer.Option(None, "--out", "-o", metavar="FILE",
                                   help="write here (atomically) instead of stdout",
                                   rich_help_panel="Output"),
    force: bool = typer.Option(False, "--force", help="overwrite --out if it exists",
                               rich_help_panel="Output"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no warnings on stderr",
                               rich_help_panel="Output"),
    debug: bool = typer.Option(False, "--debug", help="tracebacks for internal errors",
                               rich_help_panel="Output"),
) -> None:
    from losscli import explore
    from losscli.cli._explore import check_format, emit, load, role_files
    from losscli.cli._output import stdout_console, warn
    from losscli.render import explore as render
    from losscli.render import resolve_format

    fmt = resolve_format(format, out, default_piped="jsonl")
    check_format(fmt, ("table", "jsonl", "json", "csv"), format)
    roles = role_files(anchor=anchor, positive=positive, negatives=negatives,
                       negatives2=negatives2, logits=logits, target=target, weight=weight,
                       positives=positives, x1=x1, x2=x2, label=label)
    spec, inputs = load(loss, input, roles)
    given = {
        "temperature": temperature, "similarity": similarity, "distance": distance,
        "margin": margin, "margin2": margin2, "label_smoothing": label_smoothing,
        "ignore_index": ignore_index, "negatives_reduction": negatives_reduction,
        "swap": swap, "soft": soft, "base_temperature": base_temperature, "scale": scale,
        "bias": bias, "beta": beta, "tau_plus": tau_plus, "clamp": clamp,
        "weighting": weighting, "sigma": sigma, "alpha": alpha, "base": base, "gamma": gamma,
        "pos_margin": pos_margin, "variant": variant, "nu": nu,
    }
    rows = explore.compare(spec.name, inputs, reduction=reduction, **given)
    warn(dict.fromkeys(w for r in rows for w in r.warnings), quiet)
    sources = [p for p in [input, *roles.values()] if p]
    if fmt == "table" and out is None:
        render.compare_table(spec.name, rows, stdout_console())
        return
    if fmt == "table":
        import io

        from rich.console import Console

        buf = io.StringIO()
        render.compare_table(spec.name, rows, Console(file=buf, width=120, markup=False,
                                                      highlight=False, color_system=None))
        text = buf.getvalue()
    elif fmt == "csv":
        text = render.compare_csv(rows)
    elif fmt == "json":
        text = render.compare_json(spec.name, rows)
    else:
        text = render.compare_jsonl(rows)
    emit(text, out, force, sources)
