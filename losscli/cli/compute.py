"""`losscli compute LOSS [INPUT]`: parse options, call the api, render the Result.

The per-role and loss-parameter options are generated from the registry (_options.py).
"""

from __future__ import annotations

from typing import Any

import typer

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
    quiet_option,
    strict_keys_option,
    with_loss_options,
)

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
130 interrupted.
"""


def _compute(
    loss: str = loss_argument(),
    input: str | None = typer.Argument(None, metavar="[INPUT]",
                                          help="JSON, JSON Lines, .npz, stacked .npy, "
                                          "safetensors, Parquet, Arrow or HDF5 file; - for "
                                          "stdin"),
    reduction: str | None = typer.Option(None, "--reduction", help="over the batch: mean "
                                         "(default), sum or none; under --like the "
                                         "library's own by default"),
    grad: bool = typer.Option(False, "--grad", help="also compute d loss / d each input "
                              "vector (anchor, positive, every negative; logits): norms in "
                              "the table, full vectors in JSON (examples[i].gradients)"),
    like: str | None = like_option(),
    negatives_layout: str | None = negatives_layout_option(),
    map: list[str] | None = map_option(),
    strict_keys: bool = strict_keys_option(),
    format: str = format_option(FORMATS_HELP),
    out: str | None = out_option(),
    force: bool = force_option(),
    show: int = typer.Option(5, "--show", help="examples shown in the table (0 for all)",
                             rich_help_panel="Output"),
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
    from losscli.cli._output import announce_compiling, stdout_console, warn, write_text
    from losscli.errors import NonFiniteResult
    from losscli.render import resolve_format

    fmt = resolve_format(format, out, allowed=("table", "json", "csv"))
    fail_above = _threshold.checked(fail_above)
    announce_compiling(quiet)
    result = api.evaluate_file(loss, input, role_files=roles, reduction=reduction,
                               like=like, grad=grad, negatives_layout=negatives_layout,
                               mapping=map, strict_keys=strict_keys, **params)
    warn(result.warnings, quiet)
    if result.convention is not None and not quiet:
        from losscli.cli._explore import convention_notes

        convention_notes(result.convention)
    inputs = [p for p in [input, *roles.values()] if p]
    where = ", ".join("<stdin>" if p == "-" else p for p in inputs)
    if strict and not result.finite:
        raise NonFiniteResult("the loss is not finite (--strict)",
                              "see the warnings; drop --strict to get null in the output",
                              where=where)
    if fmt == "table" and out is None:
        from losscli.render.table import print_table

        print_table(result, stdout_console(), show)
    else:
        write_text(_render(result, fmt, show), out, force, inputs)
    if fail_above is not None:
        breach = _threshold.breach(result.value, fail_above, where or None)
        if breach is not None:
            raise breach


def _render(result: Any, fmt: str, show: int) -> str:
    if fmt == "table":
        from losscli.render.table import render_table

        return render_table(result, show)
    if fmt == "csv":
        from losscli.render.csvout import render_csv

        return render_csv(result)
    from losscli.render.jsonout import render_json

    return render_json(result)


compute = with_loss_options(_compute)
