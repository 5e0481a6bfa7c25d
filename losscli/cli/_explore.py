"""What the explorer commands share on the CLI side: stderr notes for `--like`, the option
list of loss parameters, and PNG output."""

from __future__ import annotations

import sys
from typing import Any


def convention_lines(convention: dict[str, Any]) -> list[str]:
    """`note: like LIB: ...` lines: what --like changed."""
    lib = convention["library"]
    parts = [f"{name} {vals['losscli']} -> {vals[lib]}"
             for name, vals in convention["changed"].items()]
    parts += [f"{flag}={value}" for flag, value in convention["flags"].items()]
    parts.append(f"reduction {convention['reduction']}")
    return [f"note: like {lib} ({convention['api']}): {'; '.join(parts)}",
            *(f"note: like {lib}: {note}" for note in convention["notes"])]


def convention_notes(convention: dict[str, Any]) -> None:
    """The convention's note lines on stderr (data stays on stdout)."""
    for line in convention_lines(convention):
        sys.stderr.write(line + "\n")


def role_files(**roles: str | None) -> dict[str, str]:
    """The per-role files given on the command line."""
    return {role: path for role, path in roles.items() if path is not None}


def stdin_hint(command: str, loss: str) -> str:
    """The command line an error shows when `-` is given but stdin is a terminal: the
    command and loss being run, fed a file through a pipe."""
    return f"cat ex.json | losscli {command} {loss} -"


def load(loss: str, input: str | None, roles: dict[str, str],
         negatives_layout: str | None = None, mapping: list[str] | None = None,
         strict_keys: bool = False, *, command: str,
         positives_layout: str | None = None):  # -> (LossSpec, Inputs)
    """The loss's spec and its inputs read for `losscli COMMAND` (named in the hint for a
    stdin that is a terminal)."""
    from losscli.api import load_inputs
    from losscli.losses import get_spec

    spec = get_spec(loss)
    return spec, load_inputs(input, roles, spec, negatives_layout=negatives_layout,
                             mapping=mapping, strict_keys=strict_keys,
                             positives_layout=positives_layout,
                             stdin_hint=stdin_hint(command, spec.name))


def emit(text: str, out: str | None, force: bool, inputs: list[str]) -> None:
    from losscli.cli._output import write_text

    write_text(text, out, force, inputs)
