"""`losscli losses` and `losscli explain`: the registry, for people and scripts."""

from __future__ import annotations

import typer

from losscli.cli._output import write_text
from losscli.errors import UsageError
from losscli.losses import LOSSES, LossSpec, get_spec
from losscli.render import resolve_format


def spec_to_dict(spec: LossSpec) -> dict:
    return {
        "name": spec.name,
        "title": spec.title,
        "aliases": list(spec.aliases),
        "summary": spec.summary,
        "formula": spec.formula,
        "roles": {"required": list(spec.required), "optional": list(spec.optional)},
        "params": [{"name": p.name, "option": p.option, "default": p.default, "kind": p.kind,
                    "choices": list(p.choices) or None, "help": p.help} for p in spec.params],
        "columns": [{"name": c.name, "help": c.help} for c in spec.columns],
        "notes": list(spec.notes),
        "pitfalls": list(spec.pitfalls),
        "references": list(spec.references),
        "conventions": dict(spec.conventions),
    }


def losses(
    format: str = typer.Option("auto", "--format", "-f", help="auto, table or json"),
) -> None:
    """List the losses: names, aliases, inputs, parameters and formula."""
    fmt = _checked_format(format)
    if fmt in ("json", "jsonl"):
        from losscli.render.jsonout import dumps

        write_text(dumps([spec_to_dict(s) for s in LOSSES.values()]) + "\n", None)
        return
    from rich.table import Table

    from losscli.cli._output import stdout_console

    table = Table(show_lines=True)
    for col in ("loss", "aliases", "inputs", "parameters (default)", "formula"):
        table.add_column(col)
    for spec in LOSSES.values():
        roles = ", ".join(spec.required) + (
            f" [{', '.join(spec.optional)}]" if spec.optional else "")
        params = "\n".join(f"{p.option} {p.default}" for p in spec.params)
        table.add_row(spec.name, ", ".join(spec.aliases), roles, params, spec.formula)
    stdout_console().print(table)


def explain(
    loss: str = typer.Argument(..., help="a loss name or alias"),
    format: str = typer.Option("auto", "--format", "-f", help="auto, table or json"),
) -> None:
    """Explain a loss: formula, inputs, parameters, breakdown columns, pitfalls, references."""
    spec = get_spec(loss)
    fmt = _checked_format(format)
    if fmt in ("json", "jsonl"):
        from losscli.render.jsonout import dumps

        write_text(dumps(spec_to_dict(spec)) + "\n", None)
        return
    write_text(explain_text(spec), None)


def _checked_format(format: str) -> str:
    fmt = resolve_format(format, None)
    if fmt not in ("table", "json", "jsonl"):
        raise UsageError(f"--format got {format!r}", "choose auto, table or json")
    return fmt


def explain_text(spec: LossSpec) -> str:
    lines = [f"{spec.name}: {spec.title}"]
    if spec.aliases:
        lines.append(f"aliases: {', '.join(spec.aliases)}")
    lines += ["", spec.summary, "", "formula:"]
    lines += [f"  {line}" for line in spec.formula.splitlines()]
    lines += ["", f"inputs: {', '.join(spec.required)}"
              + (f" (optional: {', '.join(spec.optional)})" if spec.optional else "")]
    lines += ["", "parameters:"]
    for p in spec.params:
        choices = f" [{'|'.join(p.choices)}]" if p.choices else ""
        lines.append(f"  {p.option}{choices} (default {p.default}): {p.help}")
    lines += ["", "breakdown columns:"]
    lines += [f"  {c.name}: {c.help}" for c in spec.columns]
    for title, items in (("notes", spec.notes), ("pitfalls", spec.pitfalls),
                         ("references", spec.references)):
        if items:
            lines += ["", f"{title}:"] + [f"  - {item}" for item in items]
    if spec.conventions:
        lines += ["", "other libraries:"]
        lines += [f"  {lib}: {text}" for lib, text in spec.conventions.items()]
    return "\n".join(lines) + "\n"
