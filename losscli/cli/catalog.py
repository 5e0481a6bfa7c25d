"""`losscli losses` and `losscli explain`: the registry, for people and scripts."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import typer

from losscli.cli._complete import loss_names
from losscli.cli._options import force_option, format_option, out_option, with_loss_options
from losscli.cli._output import output_format, write_text
from losscli.errors import UsageError
from losscli.losses import LIBRARIES, LOSSES, Convention, LossSpec, get_spec
from losscli.losses.spec import CORE_LIBRARIES
from losscli.model import SCHEMA

if TYPE_CHECKING:
    from rich.console import Console

SIZES_PANEL = "Sizes (reference values)"

# What each writes: an explanation is text and one record, not rows of a table (no csv).
LOSSES_FORMATS = ("table", "json", "jsonl", "csv")
EXPLAIN_FORMATS = ("table", "json", "jsonl")

LOSSES_CSV_KEYS = ("name", "title", "aliases", "required", "optional", "parameters",
                   "columns", "like", "summary")

_AUTO_HELP = "auto (table on a terminal, JSON when piped, or from --out's suffix)"
LOSSES_FORMAT_HELP = (
    f"{_AUTO_HELP}, table, json (one array), jsonl (one loss per line) or csv (one row per "
    "loss: name, title, aliases, required and optional inputs, parameters with their "
    "defaults, breakdown columns, the libraries --like reproduces, summary; lists joined "
    "by '; ', the formula and the rest in json)")
EXPLAIN_FORMAT_HELP = (f"{_AUTO_HELP}, table (text), json or jsonl (the record on one line); "
                       "no csv: an explanation is not a table")


def spec_to_dict(spec: LossSpec) -> dict:
    """A LossSpec as `losses -f json` and `explain -f json` write it: every registry fact
    and each library's convention.
    """
    return {
        "schema": SCHEMA,
        "name": spec.name,
        "title": spec.title,
        "aliases": list(spec.aliases),
        "summary": spec.summary,
        "formula": spec.formula,
        "roles": {"required": list(spec.required), "optional": list(spec.optional),
                  "stand_ins": dict(spec.stand_ins)},
        "params": [{"name": p.name, "option": p.option, "default": p.default, "kind": p.kind,
                    "choices": list(p.choices) or None, "help": p.help} for p in spec.params],
        "columns": [{"name": c.name, "help": c.help} for c in spec.columns],
        "gradient": spec.gradient or None,
        "notes": list(spec.notes),
        "pitfalls": list(spec.pitfalls),
        "references": list(spec.references),
        "conventions": {lib: convention_to_dict(spec.conventions.get(lib), spec)
                        for lib in _libraries(spec)},
    }


def convention_to_dict(conv: Convention | str | None, spec: LossSpec) -> dict:
    """A registry Convention for the JSON of `losses`/`explain` (`reproduced`: --like works):
    `api` is the library call with the values --like uses by default, `api_template` the
    same with a placeholder for each value an option changes."""
    if conv is None:
        return {"defined": False, "reproduced": False}
    if isinstance(conv, str):
        return {"defined": True, "reproduced": False, "summary": conv}
    defaults = {p.name: p.default for p in spec.params}
    out = {"defined": True, "reproduced": True, "api": conv.call({**defaults, **conv.params}),
           "api_template": conv.api, "summary": conv.summary,
           "params": dict(conv.params), "flags": conv.flags(),
           "reductions": list(conv.reductions),
           "allowed": {k: list(v) for k, v in conv.allowed.items()},
           "unsupported": dict(conv.unsupported),
           "unsupported_roles": dict(conv.unsupported_roles),
           "notes": [str(n) for n in conv.notes],
           "source": conv.source}
    if conv.negatives_layout is not None:  # only where a library has one layout
        out["negatives_layout"] = conv.negatives_layout
    if conv.columns:  # only where its form's breakdown has columns of its own
        out["columns"] = [{"name": c.name, "help": c.help} for c in conv.columns]
    return out


def _libraries(spec: LossSpec) -> list[str]:
    """The five loss libraries, then each other codebase this loss names (e.g. SupContrast)."""
    return [lib for lib in LIBRARIES if lib in CORE_LIBRARIES or lib in spec.conventions] + [
        lib for lib in spec.conventions if lib not in LIBRARIES]


def convention_lines(spec: LossSpec) -> list[str]:
    """`explain`'s account of each library: what --like sets, what it cannot express."""
    lines = []
    for lib in _libraries(spec):
        conv = spec.conventions.get(lib)
        if conv is None:
            lines.append(f"  {lib}: no {spec.name} loss (--like {lib} exits 2)")
            continue
        if isinstance(conv, str):
            lines.append(f"  {lib}: {conv} (described, not reproduced by --like)")
            continue
        defaults = {p.name: p.default for p in spec.params}
        lines.append(f"  {lib}: {conv.call({**defaults, **conv.params})}")
        lines.append(f"      {conv.summary}")
        # A flag that acts only under some options (PML's soft_margin, only with --soft) is
        # not among what --like always sets: it gets a line saying when.
        conditions = conv.flag_conditions(spec.params)
        flags = conv.flags()
        sets = [f"{k} {v}" for k, v in conv.params.items()]
        sets += [f"{k}={v}" for k, v in flags.items() if conditions.get(k) == {}]
        sets.append(f"reduction {' | '.join(conv.reductions)}")
        lines.append(f"      --like {lib} sets: {'; '.join(sets)}")
        conditional: dict[str, list[str]] = {}
        for flag, when in conditions.items():
            if when:
                conditional.setdefault(_options_text(when), []).append(f"{flag}={flags[flag]}")
        for when_text, set_there in conditional.items():
            lines.append(f"      --like {lib} with {when_text} also sets: "
                         f"{'; '.join(set_there)}")
        for name, values in conv.allowed.items():
            lines.append(f"      --{name.replace('_', '-')} only "
                         f"{' or '.join(map(str, values))}")
        for name, why in conv.unsupported.items():
            lines.append(f"      --{name.replace('_', '-')}: not available ({why})")
        for role, why in conv.unsupported_roles.items():
            lines.append(f"      {role}: not taken ({why})")
        if conv.negatives_layout == "per-anchor":
            lines.append("      negatives: one per anchor row only ((B, D) negatives are read "
                         "(B, 1, D); --negatives-layout shared exits 2)")
        lines += [f"      column {c.name}: {c.help}" for c in conv.columns]
        lines += [f"      note: {n}" for n in conv.notes]  # each with the options it is for
        if conv.source:
            lines.append(f"      source: {conv.source}")
    return lines


def _options_text(when: dict[str, tuple]) -> str:
    """{parameter: values} as the options that give them: `--soft`, `--distance euclidean`,
    `--similarity dot or cosine`; several joined by `and`."""
    parts = []
    for name, values in when.items():
        option = "--" + name.replace("_", "-")
        if values == (True,):
            parts.append(option)
        elif values == (False,):
            parts.append(f"--no-{option[2:]}")
        else:
            parts.append(f"{option} {' or '.join(map(str, values))}")
    return " and ".join(parts)


def _required(spec: LossSpec, quoted: str = "{}") -> list[str]:
    """The required roles, each with the role that may stand in for it (LOSSES-MORE.md:
    wherever positives is accepted, positive is too): `positives or positive`."""
    return [quoted.format(r) + (f" or {quoted.format(spec.stand_ins[r])}"
                                if r in spec.stand_ins else "") for r in spec.required]


def _optional(spec: LossSpec) -> list[str]:
    """The optional roles but the stand-ins, which _required names beside their role."""
    stand_ins = set(spec.stand_ins.values())
    return [r for r in spec.optional if r not in stand_ins]


def losses_csv() -> str:
    """`losses -f csv`: one row per loss with its scalar facts (LOSSES_CSV_KEYS), lists
    joined by "; " and a batch-only column marked as the README's table marks it."""
    from losscli.render.csv_cells import RowWriter, cell_text

    buf = io.StringIO()
    writer = RowWriter(buf)
    writer.writerow(LOSSES_CSV_KEYS)
    for spec in LOSSES.values():
        likes = [lib for lib in LIBRARIES if isinstance(spec.conventions.get(lib), Convention)]
        writer.writerow([
            spec.name, spec.title, "; ".join(spec.aliases), "; ".join(_required(spec)),
            "; ".join(_optional(spec)),
            "; ".join(f"{p.name}={cell_text(p.default)}" for p in spec.params),
            "; ".join(c.name + (f" ({c.form} form)" if c.form else "") for c in spec.columns),
            "; ".join(likes), spec.summary])
    return buf.getvalue()


def losses(
    format: str = format_option(LOSSES_FORMAT_HELP, LOSSES_FORMATS),
    out: str | None = out_option(),
    force: bool = force_option(),
) -> None:
    """List the losses: names, aliases, inputs, parameters and formula."""
    fmt = output_format(format, out, allowed=LOSSES_FORMATS)
    # json_text, not render/jsonout (compute's writer, which imports numpy and the kernels).
    from losscli.render.json_escaping import json_text

    if fmt == "json":
        write_text(json_text([spec_to_dict(s) for s in LOSSES.values()], indent=2) + "\n",
                   out, force)
    elif fmt == "jsonl":
        write_text("".join(json_text(spec_to_dict(s)) + "\n" for s in LOSSES.values()),
                   out, force)
    elif fmt == "csv":
        write_text(losses_csv(), out, force)
    elif out is None:
        from losscli.cli._output import stdout_console

        _losses_table(stdout_console())
    else:
        from losscli.render.fitted import as_text

        write_text(as_text(_losses_table), out, force)


def _losses_table(console: Console) -> None:
    """The table of `losses` on a console, then where to read more."""
    from rich.table import Table

    table = Table(show_lines=True)
    for col in ("loss", "aliases", "inputs", "parameters (default)", "formula", "--like"):
        table.add_column(col)
    for spec in LOSSES.values():
        optional = _optional(spec)
        roles = ", ".join(_required(spec)) + (f" [{', '.join(optional)}]" if optional else "")
        params = "\n".join(f"{p.option} {p.default}" for p in spec.params)
        likes = [lib for lib in LIBRARIES if isinstance(spec.conventions.get(lib), Convention)]
        table.add_row(spec.name, ", ".join(spec.aliases), roles, params, spec.formula,
                      "\n".join(likes) or "-")
    from losscli.render.fitted import fitted

    console.print(fitted(table))
    console.print("`losscli explain LOSS` for the columns, pitfalls, references and "
                  "each library's convention.")


def _explain(
    loss: str = typer.Argument(..., metavar="LOSS", help="a loss name or alias",
                               autocompletion=loss_names),
    batch_size: int | None = typer.Option(None, "--batch-size", metavar="B", min=1,
                                          help="with the sizes or parameters given: the "
                                          "loss's reference values (collapse, chance, least, "
                                          "most) for a batch of B examples",
                                          rich_help_panel=SIZES_PANEL),
    num_negatives: int | None = typer.Option(None, "--num-negatives", metavar="K", min=0,
                                             help="K negatives per anchor (explicit "
                                             "negatives)", rich_help_panel=SIZES_PANEL),
    num_positives: int | None = typer.Option(None, "--num-positives", metavar="P", min=1,
                                             help="P positives per anchor",
                                             rich_help_panel=SIZES_PANEL),
    num_classes: int | None = typer.Option(None, "--num-classes", metavar="C", min=1,
                                           help="C classes (softmax-ce)",
                                           rich_help_panel=SIZES_PANEL),
    format: str = format_option(EXPLAIN_FORMAT_HELP, EXPLAIN_FORMATS),
    out: str | None = out_option(),
    force: bool = force_option(),
    *,
    roles: dict[str, str],
    params: dict[str, object],
) -> None:
    """Explain a loss: formula, inputs, parameters, breakdown columns, pitfalls, references.

    With sizes (--batch-size, --num-negatives, ...) or loss parameters, also its reference
    values: the loss at collapse, at chance, its least and most under those parameters.
    """
    spec = get_spec(loss)
    fmt = _explain_format(format, out)
    sizes = {"batch": batch_size, "negatives": num_negatives, "positives": num_positives,
             "classes": num_classes}
    given = {k: v for k, v in params.items() if v is not None}
    references = None
    if given or any(v is not None for v in sizes.values()):
        from losscli.cli._references import reference_section

        references = reference_section(spec, given, sizes)
    if fmt in ("json", "jsonl"):
        from losscli.render.json_escaping import json_text

        record = spec_to_dict(spec)
        if references is not None:
            record["reference_values"] = references
        write_text(json_text(record, indent=2 if fmt == "json" else None) + "\n", out, force)
        return
    text = explain_text(spec)
    if references is not None:
        from losscli.cli._references import reference_text

        text += reference_text(references)
    if out is None:
        from losscli.render import is_tty

        if is_tty():  # a person reads it: lines fit the terminal (a file or pipe: as is)
            from losscli.cli._output import stdout_console
            from losscli.render.wrapping import wrapped

            text = wrapped(text, stdout_console().width)
    write_text(text, out, force)


explain = with_loss_options(_explain, before="format", roles=())


def _explain_format(format: str, out: str | None) -> str:
    """explain's format (EXPLAIN_FORMATS); CSV, asked for or named by --out's suffix, is
    refused with why: an explanation is paragraphs and one record, not rows."""
    import os

    named_csv = format == "auto" and out not in (None, "-") and \
        os.path.splitext(out)[1].lower() == ".csv"
    if format == "csv" or named_csv:
        raise UsageError("explain writes no CSV: an explanation is not a table",
                         "use --format table, json or jsonl (`losscli losses -f csv` has "
                         "one row per loss)")
    return output_format(format, out, allowed=EXPLAIN_FORMATS)


def explain_text(spec: LossSpec) -> str:
    """`losscli explain LOSS` as text: formula, inputs, parameters, breakdown columns,
    gradient, notes, pitfalls, references and each library's convention.
    """
    lines = [f"{spec.name}: {spec.title}"]
    if spec.aliases:
        lines.append(f"aliases: {', '.join(spec.aliases)}")
    lines += ["", spec.summary, "", "formula:"]
    lines += [f"  {line}" for line in spec.formula.splitlines()]
    lines += ["", "inputs:"]
    for role in spec.roles:
        optional = " (optional)" if role in spec.optional else ""
        lines.append(f"  {role}{optional}: {spec.shape(role)}")
    lines += ["", "parameters:"]
    for p in spec.params:
        choices = f" [{'|'.join(p.choices)}]" if p.choices else ""
        lines.append(f"  {p.option}{choices} (default {p.default}): {p.help}")
    lines += ["", "breakdown columns (one row per term):"]
    lines += [f"  {c.name}: {c.help}" for c in spec.columns]
    if spec.gradient:
        lines += ["", "gradients (--grad; examples[i].gradients in JSON, norms in the table):",
                  f"  {spec.gradient}"]
    for title, items in (("notes", spec.notes), ("pitfalls", spec.pitfalls),
                         ("references", spec.references)):
        if items:
            lines += ["", f"{title}:"] + [f"  - {item}" for item in items]
    lines += ["", "other libraries (--like LIBRARY; `losscli compare` shows them side by "
              "side):"]
    lines += convention_lines(spec)
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The README's loss table, generated from the registry (a test keeps them equal)."""
    rows = ["| loss | aliases | inputs | parameters (default) | breakdown columns |",
            "|---|---|---|---|---|"]
    for spec in LOSSES.values():
        inputs = ", ".join(_required(spec, "`{}`"))
        optional = _optional(spec)
        if optional:
            inputs += " (optional " + ", ".join(f"`{r}`" for r in optional) + ")"
        params = ", ".join(f"`{p.option}` ({p.default})" for p in spec.params)
        columns = ", ".join(f"`{c.name}`" + (f" ({c.form} form)" if c.form else "")
                            for c in spec.columns)
        aliases = ", ".join(spec.aliases)
        rows.append(f"| `{spec.name}` | {aliases} | {inputs} | {params} | {columns} |")
    return "\n".join(rows) + "\n"
