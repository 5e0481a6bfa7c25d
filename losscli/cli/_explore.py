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
