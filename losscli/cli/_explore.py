"""What the explorer commands share on the CLI side: stderr notes for `--like`, the option
list of loss parameters, and PNG output."""

from __future__ import annotations

import sys
from typing import Any


def convention_notes(convention: dict[str, Any]) -> None:
    """`note: like LIB: ...` lines on stderr: what --like changed (data stays on stdout)."""
    lib = convention["library"]
    parts = [f"{name} {vals['losscli']} -> {vals[lib]}"
             for name, vals in convention["changed"].items()]
    parts += [f"{flag}={value}" for flag, value in convention["flags"].items()]
    parts.append(f"reduction {convention['reduction']}")
    sys.stderr.write(f"note: like {lib} ({convention['api']}): {'; '.join(parts)}\n")
    for note in convention["notes"]:
        sys.stderr.write(f"note: like {lib}: {note}\n")


def role_files(**roles: str | None) -> dict[str, str]:
    """The per-role files given on the command line."""
    return {role: path for role, path in roles.items() if path is not None}


def load(loss: str, input: str | None, roles: dict[str, str],
         negatives_layout: str | None = None, mapping: list[str] | None = None,
         strict_keys: bool = False):  # -> (LossSpec, Inputs)
    from losscli.api import load_inputs
    from losscli.losses import get_spec

    spec = get_spec(loss)
    return spec, load_inputs(input, roles, spec, negatives_layout=negatives_layout,
                             mapping=mapping, strict_keys=strict_keys)


def emit(text: str, out: str | None, force: bool, inputs: list[str]) -> None:
    from losscli.cli._output import write_text

    write_text(text, out, force, inputs)
