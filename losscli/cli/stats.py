"""`losscli stats LOSS INPUT`: a batch summarized (regimes, active terms, distributions)."""

from __future__ import annotations

from typing import Any

import typer

from losscli.cli._complete import words
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
from losscli.losses import REDUCTIONS

HELP = """Summarize a batch: per-example losses, counts per regime (hard, semi-hard, easy),
the share of active terms, possible false negatives (InfoNCE), mean and quantiles of the
positive and negative distances or similarities, and their histogram.

A table and histogram on a terminal; JSON Lines (one record per statistic) when piped.
"""


def _stats(
    loss: str = loss_argument(),
    input: str | None = typer.Argument(None, metavar="[INPUT]",
                                       help="JSON, .npz or stacked .npy file; - for stdin"),
    bins: int = typer.Option(20, "--bins", help="histogram bins"),
    png: str | None = typer.Option(None, "--png", metavar="FILE", help="write the positive "
                                   "and negative histograms overlaid as a PNG, the margin and "
                                   "the active share marked (needs losscli[plot])"),
    like: str | None = like_option(),
    reduction: str | None = typer.Option(None, "--reduction", autocompletion=words(REDUCTIONS),
                                         help="mean (default), sum or "
                                         "none"),
    negatives_layout: str | None = negatives_layout_option(),
    positives_layout: str | None = positives_layout_option(),
    map: list[str] | None = map_option(),
    strict_keys: bool = strict_keys_option(),
    format: str = format_option(EXPLORE_FORMATS_HELP, EXPLORE_FORMATS),
    out: str | None = out_option(),
    force: bool = force_option(),
    quiet: bool = quiet_option(),
    debug: bool = debug_option(),
    *,
    roles: dict[str, str],
    params: dict[str, Any],
) -> None:
    from losscli import api
    from losscli.cli._explore import convention_notes, emit, load
    from losscli.cli._output import (
        announce_compiling,
        check_out,
        output_format,
        stdout_console,
        warn,
    )
    from losscli.render import explore as render

    fmt = output_format(format, out, quiet, default_piped="jsonl", allowed=EXPLORE_FORMATS)
    sources = [p for p in [input, *roles.values()] if p]
    if png is not None:
        from losscli.render.pictures import check_outputs

        check_outputs(png, out, force, sources)
    check_out(out, force, sources)
    announce_compiling(quiet)
    spec, inputs = load(loss, input, roles, negatives_layout, map, strict_keys,
                        command="stats", positives_layout=positives_layout)
    result = api.stats(
        spec.name, inputs, bins=bins, reduction=reduction, like=like, **params)
    warn(result.warnings, quiet)
    if result.convention is not None and not quiet:
        convention_notes(result.convention)
    if png is not None:
        from losscli.cli._pictures import input_name
        from losscli.render.pictures import stats_png

        stats_png(png, result, input_name(input, roles), force=force, inputs=sources)
    if fmt == "table" and out is None:
        render.stats_table(result, stdout_console())
        return
    if fmt == "table":
        from losscli.render.fitted import as_text

        text = as_text(lambda console: render.stats_table(result, console))
    elif fmt == "csv":
        text = render.stats_csv(result)
    elif fmt == "json":
        text = render.stats_json(result)
    else:
        text = render.stats_jsonl(result)
    emit(text, out, force, sources)


stats = with_loss_options(_stats)
