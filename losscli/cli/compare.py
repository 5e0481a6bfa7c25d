"""`losscli compare LOSS INPUT`: the same input under losscli's definition and under every
library's convention, one row each."""

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

HELP = """Evaluate one input under losscli's own definition and under each library's
convention (torch, pytorch-metric-learning, sentence-transformers, tf-addons, optax, and the
original code a loss names: open-clip, supcontrast, dcl-port, nidl, hcl, ms-original), one row
each with what that convention changes; a library without this loss says so in its row.

Loss options apply to every row (a row whose library cannot express one says so). Without
--reduction each library reduces as it does by default. A table on a terminal; JSON Lines
(one record per convention) when piped.
"""


def _compare(
    loss: str = loss_argument(),
    input: str | None = typer.Argument(None, metavar="[INPUT]",
                                       help="JSON, .npz or stacked .npy file; - for stdin"),
    reduction: str | None = typer.Option(None, "--reduction", autocompletion=words(REDUCTIONS),
                                         help="the same reduction for "
                                         "every row (default: each library's own)"),
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
    from losscli.cli._explore import emit, load
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
    check_out(out, force, sources)
    announce_compiling(quiet)
    spec, inputs = load(loss, input, roles, negatives_layout, map, strict_keys,
                        command="compare", positives_layout=positives_layout)
    rows = api.compare(spec.name, inputs, reduction=reduction, **params)
    warn(dict.fromkeys(w for r in rows for w in r.warnings), quiet)
    if fmt == "table" and out is None:
        render.compare_table(spec.name, rows, stdout_console())
        return
    if fmt == "table":
        from losscli.render.fitted import as_text

        text = as_text(lambda console: render.compare_table(spec.name, rows, console))
    elif fmt == "csv":
        text = render.compare_csv(rows)
    elif fmt == "json":
        text = render.compare_json(spec.name, rows)
    else:
        text = render.compare_jsonl(rows)
    emit(text, out, force, sources)


compare = with_loss_options(_compare)
