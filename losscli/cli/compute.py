"""`losscli compute LOSS [INPUT]`: parse options, call the api, render the Result.

The per-role and loss-parameter options are generated from the registry (_options.py).
"""

from __future__ import annotations

from typing import Any

import typer

from losscli.cli._complete import words
from losscli.cli._options import (
    FORMATS_HELP,
    debug_option,
    fail_above_option,
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

FORMATS = ("table", "json", "jsonl", "csv")
TERMS = ("all", "top", "none")

# The help starts with examples and, after this, lists the losses (or, for
# `losscli compute LOSS --help`, describes that one): cli/_help.py.
HELP = """Evaluate a loss on one input and show its per-term breakdown.

INPUT is a JSON object keyed by role (anchor, positive, negatives, negatives2, logits,
target, weight; positives, x1, x2, label for the losses that take them), JSON Lines (one
example per line), an .npz with arrays named by role, a stacked .npy, a safetensors, Parquet,
Arrow or HDF5 file (losscli[safetensors], [parquet], [hdf5]; FILE.h5:group/dataset), or - for
JSON on stdin. --map ROLE=NAME reads a role from another name (--map anchor=query).
Per-role options (--anchor FILE ...) take a .npy or .json each (or any of the above).

Exit codes: 0 ok, 1 internal error, 2 usage, 3 input unavailable, 4 bad data,
5 non-finite result under --strict, 6 output error, 8 loss above --fail-above,
130 interrupted (143 on SIGTERM).
"""


def _compute(
    loss: str = loss_argument(),
    input: str | None = typer.Argument(None, metavar="[INPUT]",
                                          help="JSON, JSON Lines, .npz, stacked .npy, "
                                          "safetensors, Parquet, Arrow or HDF5 file; - for "
                                          "stdin"),
    reduction: str | None = typer.Option(None, "--reduction", autocompletion=words(REDUCTIONS),
                                         help="over the batch: mean "
                                         "(default), sum or none; under --like the "
                                         "library's own by default"),
    grad: bool = typer.Option(False, "--grad", help="also compute d loss / d each input "
                              "vector (anchor, positive, every negative; logits): norms in "
                              "the table, full vectors in JSON (examples[i].gradients)"),
    like: str | None = like_option(),
    emulate: str | None = typer.Option(None, "--emulate", metavar="FORMAT", help="also the "
                                       "loss as mixed-precision training computes it (torch "
                                       "autocast): float16, bfloat16 or float32 inputs and "
                                       "matmuls, the loss in float32; says where it overflows "
                                       "or loses the loss, beside the float64 value",
                                       autocompletion=words(("float16", "bfloat16",
                                                             "float32"))),
    negatives_layout: str | None = negatives_layout_option(),
    positives_layout: str | None = positives_layout_option(),
    map: list[str] | None = map_option(),
    strict_keys: bool = strict_keys_option(),
    format: str = format_option(FORMATS_HELP, FORMATS),
    out: str | None = out_option(),
    force: bool = force_option(),
    png: str | None = typer.Option(None, "--png", metavar="FILE", help="write a picture: "
                                   "the similarity matrix as a heatmap with the positives "
                                   "marked (in-batch losses; block means for large B), or each "
                                   "anchor's positive and negatives on one axis (explicit "
                                   "negatives); needs losscli[plot]", rich_help_panel="Output"),
    show: int = typer.Option(5, "--show", metavar="N",
                             help="examples shown in the table (0 for all)",
                             rich_help_panel="Output"),
    terms: str | None = typer.Option(
        None, "--terms", metavar="all|top|none", autocompletion=words(TERMS),
        help="what each example's breakdown holds: every term (all), its positive and the "
        "--top strongest others (top), or nothing (none: value, per_example and warnings, "
        "the fast path for `| jq .value`); default all up to 100,000 terms in the "
        "breakdown (a table: up to 50 an example), top above (with a warning)",
        rich_help_panel="Output"),
    top: int | None = typer.Option(None, "--top", metavar="N", help="terms per example "
                                   "besides the positive under --terms top (default 10; "
                                   "given alone, it means --terms top), by |gradient| (|term| "
                                   "for the margin losses)", rich_help_panel="Output"),
    worst: int | None = typer.Option(None, "--worst", metavar="N", help="the N examples with "
                                     "the largest loss, worst first (ties in input order), "
                                     "with their breakdown, instead of the first ones (the "
                                     "table, and JSON's and CSV's examples)",
                                     rich_help_panel="Output"),
    best: int | None = typer.Option(None, "--best", metavar="N", help="the N examples with "
                                    "the smallest loss, best first", rich_help_panel="Output"),
    strict: bool = typer.Option(False, "--strict", help="exit 5 if the result is not finite",
                                rich_help_panel="Output"),
    fail_above: float | None = fail_above_option(),
    quiet: bool = quiet_option(),
    debug: bool = debug_option(),
    *,
    roles: dict[str, str],
    params: dict[str, Any],
) -> None:
    from losscli import api
    from losscli.cli import _threshold
    from losscli.cli._output import (
        announce_compiling,
        check_out,
        stdout_console,
        warn,
        write_chunks,
        write_text,
    )
    from losscli.errors import NonFiniteResult, UsageError
    from losscli.render import resolve_format, suffix_mismatch

    fmt = resolve_format(format, out, allowed=FORMATS)
    misnamed = suffix_mismatch(fmt, out)  # among the result's warnings: stderr and JSON
    from losscli.render.ranking import checked as checked_ranking

    rank = checked_ranking(worst, best)
    fail_above = _threshold.checked(fail_above)
    from losscli.render.breakdown import DEFAULT_TOP, choose

    if terms is not None and terms not in TERMS:
        raise UsageError(f"--terms got {terms!r}", "choose all, top or none")
    if top is not None and top < 0:
        raise UsageError(f"--top got {top}", "give a whole number >= 0")
    if top is not None and terms in ("all", "none"):  # it would be ignored without a word
        raise UsageError(f"--top {top} chooses terms for --terms top, not --terms {terms}",
                         "drop --top, or give --terms top")
    if top is not None:
        terms = "top"
    if show < 0:
        raise UsageError(f"--show got {show}", "give a whole number >= 0 (0 for all)")
    inputs = [p for p in [input, *roles.values()] if p]
    if png is not None:
        from losscli.render.pictures import check_outputs

        check_outputs(png, out, force, inputs)
    check_out(out, force, inputs)
    announce_compiling(quiet)
    from losscli.cli._explore import load

    # What api.evaluate_file does, with this command's hint for a stdin that is a terminal
    # (and the inputs kept for --png).
    spec, inputs_read = load(loss, input, roles, negatives_layout, map, strict_keys,
                             command="compute", positives_layout=positives_layout)
    result = api.evaluate(spec.name, inputs_read, reduction=reduction, like=like, grad=grad,
                          emulate=emulate, **params)
    view, note = choose(terms, result, spec.strength, DEFAULT_TOP if top is None else top,
                        table=fmt == "table")
    notes = tuple(n for n in (note, misnamed) if n is not None)
    if notes:
        from dataclasses import replace

        result = replace(result, warnings=result.warnings + notes)
    warn(result.warnings, quiet)
    if result.convention is not None and not quiet:
        from losscli.cli._explore import convention_notes

        convention_notes(result.convention)
    where = ", ".join("<stdin>" if p == "-" else p for p in inputs)
    if strict and not result.finite:
        raise NonFiniteResult("the loss is not finite (--strict)",
                              "see the warnings; drop --strict to get null in the output",
                              where=where)
    order = None
    if rank is not None:
        from losscli.render.ranking import ranked

        order = ranked(result.per_example, *rank)
    if png is not None:
        from losscli.cli._pictures import compute_png

        compute_png(png, result, inputs_read, where or "<stdin>", order, force, inputs,
                    ranking="" if rank is None else ("worst" if rank[1] else "best"))
    if fmt == "table" and out is None:
        from losscli.render.table import print_table

        print_table(result, stdout_console(), show, view, order)
    elif fmt == "table":
        from losscli.render.table import render_table

        write_text(render_table(result, show, view=view, order=order), out, force, inputs)
    else:
        if fmt == "csv":
            from losscli.render.csvout import csv_chunks as chunks
        elif fmt == "jsonl":
            from losscli.render.jsonout import jsonl_chunks as chunks
        else:
            from losscli.render.jsonout import json_chunks as chunks
        write_chunks(chunks(result, view, order), out, force, inputs)
    if fail_above is not None:
        breach = _threshold.breach(result.value, fail_above, where or None)
        if breach is not None:
            raise breach


compute = with_loss_options(_compute)
