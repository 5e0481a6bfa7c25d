"""`losscli sweep LOSS INPUT --param NAME --from A --to B --steps N [--log]`."""

from __future__ import annotations

import sys
from typing import Any

import typer

from losscli.cli._complete import sweep_parameters, words
from losscli.cli._options import (
    EXPLORE_FORMATS,
    EXPLORE_FORMATS_HELP,
    debug_option,
    force_option,
    format_option,
    like_option,
    loss_argument,
    map_option,
    negatives_layout_option,
    out_option,
    positives_layout_option,
    quiet_option,
    strict_keys_option,
    with_loss_options,
)

HELP = """Evaluate one input over a range of one parameter (temperature, margin, margin2,
label-smoothing), linear or --log steps.

The steps run from --from to --to, in either direction: --from 1 --to 0.1 runs descending.

Data first: a table with a curve column on a terminal, JSON Lines (one record per step,
then one with the known limits and kinks) or CSV when piped. --plot draws a line chart on
stderr; --png FILE writes one (needs matplotlib: pip install 'losscli[plot]').
Known limits: InfoNCE tends to log(K + 1) as t grows and to (max s_n - s_p)+ / t as t shrinks;
triplet is piecewise linear in the margin with kinks at d_an - d_ap; contrastive piecewise
quadratic with kinks at d_an; the quadruplet pair term kinks at d_nn - d_ap.
"""


def _sweep(
    loss: str = loss_argument(),
    input: str | None = typer.Argument(None, metavar="[INPUT]",
                                       help="JSON, .npz or stacked .npy file; - for stdin"),
    param: str = typer.Option(..., "--param", help="the parameter to sweep: any numeric "
                              "parameter of the loss (temperature, margin, margin2, "
                              "label-smoothing, scale, beta, ...)",
                              autocompletion=sweep_parameters),
    start: float = typer.Option(..., "--from", help="first value (above or below --to)"),
    stop: float = typer.Option(..., "--to", help="last value (not equal to --from)"),
    steps: int = typer.Option(20, "--steps", help="number of values, ends included"),
    log: bool = typer.Option(False, "--log", help="geometric steps (for temperatures)"),
    plot: bool = typer.Option(False, "--plot", help="a line chart on stderr"),
    png: str | None = typer.Option(None, "--png", metavar="FILE",
                                   help="write a PNG chart (needs losscli[plot])"),
    like: str | None = like_option(),
    reduction: str | None = typer.Option(None, "--reduction", autocompletion=words(("mean", "sum")),
                                         help="mean (default) or sum"),
    negatives_layout: str | None = negatives_layout_option(),
    positives_layout: str | None = positives_layout_option(),
    map: list[str] | None = map_option(),
    strict_keys: bool = strict_keys_option(),
    format: str = format_option(EXPLORE_FORMATS_HELP, EXPLORE_FORMATS),
    out: str | None = out_option(),
    force: bool = force_option("overwrite --out / --png"),
    quiet: bool = quiet_option("no warnings or notes on stderr"),
    debug: bool = debug_option(),
    *,
    roles: dict[str, str],
    params: dict[str, Any],
) -> None:
    from losscli import api, explore
    from losscli.cli._explore import convention_notes, emit, load
    from losscli.cli._output import (
        announce_compiling,
        check_out,
        output_format,
        stdout_console,
        warn,
        write_drawing_to_stderr,
    )
    from losscli.render import explore as render

    fmt = output_format(format, out, quiet, default_piped="jsonl", allowed=EXPLORE_FORMATS)
    sources = [p for p in [input, *roles.values()] if p]
    if png is not None:
        from losscli.render.pictures import check_outputs

        check_outputs(png, out, force, sources)
    check_out(out, force, sources)
    announce_compiling(quiet)
    values = explore.sweep_values(start, stop, steps, log)
    spec, inputs = load(loss, input, roles, negatives_layout, map, strict_keys,
                        command="sweep", positives_layout=positives_layout)
    result = api.sweep(
        spec.name, inputs, param, values, reduction=reduction, like=like, **params)
    warn(result.warnings, quiet)
    if result.convention is not None and not quiet:
        convention_notes(result.convention)
    if png is not None:
        from losscli.cli._pictures import input_name
        from losscli.render.chart import save_png

        series = {"loss": result.losses, **{k: v for k, v in result.columns.items()
                                            if k.endswith("bound")}}
        save_png(png, result.values, series, logx=log, xlabel=result.param,
                 title=f"{result.loss} on {input_name(input, roles)}: loss against "
                 f"{result.param}",
                 vlines=result.limits.get("kinks", ())[:50], force=force,
                 inputs=sources)
    if plot:
        from losscli.render.chart import line_chart

        series = {"loss": result.losses, **{k: v for k, v in result.columns.items()
                                            if k.endswith("bound")}}
        write_drawing_to_stderr(line_chart(result.values, series, logx=log,
                                           xlabel=result.param,
                                           title=f"{result.loss}: loss against {result.param}"))
    if fmt == "table" and out is None:
        render.sweep_table(result, stdout_console())
        return
    if fmt == "table":
        from losscli.render.fitted import as_text

        text = as_text(lambda console: render.sweep_table(result, console))
    elif fmt == "csv":
        text = render.sweep_csv(result)
        if not quiet:
            for note in result.limits.get("notes", []):
                sys.stderr.write(f"note: {note}\n")
    elif fmt == "json":
        text = render.sweep_json(result)
    else:
        text = render.sweep_jsonl(result)
    emit(text, out, force, sources)


sweep = with_loss_options(_sweep)
