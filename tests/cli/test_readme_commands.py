"""README's commands on the shipped samples run as written: each `$ losscli ...` line of a
console block that names a file under samples/ (the part before a pipe or a redirection),
from a directory where samples/ is the repository's. Exit 0, or not 0 where the README shows
an error after it. (QA12 found README lines naming files that do not ship, and numbers that
samples/ files of the same names do not give.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[tuple[int, list[str], bool]]:
    """(README line, argv after `losscli`, whether the README shows an error after it)."""
    lines = (ROOT / "README.md").read_text().splitlines()
    found = []
    in_console = False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            in_console = line.strip() == "```console"
            continue
        if not in_console or not line.startswith("$ losscli ") or "samples/" not in line:
            continue
        command = re.split(r"\s(?:\||>|2>|#)\s?", line[len("$ losscli "):])[0]
        following = lines[i + 1] if i + 1 < len(lines) else ""
        found.append((i + 1, shlex.split(command), following.startswith("error:")))
    return found


COMMANDS = _commands()


def test_the_readme_has_such_commands():
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize(("line", "argv", "fails"), COMMANDS,
                         ids=[f"README.md:{c[0]}" for c in COMMANDS])
def test_a_readme_command_runs_as_written(tmp_path, monkeypatch, capsys, line, argv, fails):
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    monkeypatch.chdir(tmp_path)
    if "-f" not in argv and "--format" not in argv and "--out" not in argv:
        argv = [*argv, "-f", "json"]  # captured output is no terminal: as a pipe reads it
    code, out, err = run_cli(capsys, *argv)
    assert (code != 0) == fails, f"README.md:{line}: exit {code}: {err}"
    assert "Traceback" not in err
