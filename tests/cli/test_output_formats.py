"""--out's suffix and --format (issue 12.5): a suffix that names no format the command writes
is a usage error listing the formats, never silent JSON; the message never offers the value
it rejected. Through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

OK = {"anchor": [1.0, 0.0], "positive": [0.8, 0.6], "negatives": [[0.6, 0.8]]}
COMMANDS = {
    "compute": (["compute", "triplet", "ok.json"], ("table", "json", "jsonl", "csv")),
    "batch": (["batch", "triplet", "ok.json"], ("table", "json", "jsonl", "csv")),
    "stats": (["stats", "triplet", "ok.json"], ("table", "jsonl", "json", "csv")),
    "compare": (["compare", "triplet", "ok.json"], ("table", "jsonl", "json", "csv")),
    "sweep": (["sweep", "triplet", "ok.json", "--param", "margin", "--from", "0.1", "--to",
               "1", "--steps", "3"], ("table", "jsonl", "json", "csv")),
}
SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".txt": "table"}


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def here(tmp_path: Path) -> Path:
    (tmp_path / "ok.json").write_text(json.dumps(OK))
    return tmp_path


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("suffix", [".npy", ".tsv", ".md", "", ".jsonl", ".json"])
def test_out_suffix_names_a_format_or_is_refused(command: str, suffix: str, here: Path) -> None:
    args, formats = COMMANDS[command]
    out = f"result{suffix}"
    proc = cli([*args, "--out", out], here)
    known = SUFFIXES.get(suffix)
    if known in formats:
        assert proc.returncode == 0, proc.stderr
        text = (here / out).read_text()
        if known == "json":
            json.loads(text)
        return
    assert proc.returncode == 2, proc.stderr
    assert not (here / out).exists() and sorted(os.listdir(here)) == ["ok.json"]
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --out {out} has ")
    offered = lines[0].split("; ", 1)[1]
    for fmt in formats:
        assert fmt in offered
    for s, fmt in SUFFIXES.items():
        assert (s in offered.split("--format")[0]) == (fmt in formats), (s, offered)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_rejected_format_is_not_offered_back(command: str, here: Path) -> None:
    args, formats = COMMANDS[command]
    rejected = next(f for f in ("jsonl", "yaml") if f not in formats)
    proc = cli([*args, "--format", rejected], here)
    assert proc.returncode == 2
    line = proc.stderr.splitlines()[0]
    assert f"--format got {rejected!r}" in line
    offered = line.split("; ", 1)[1]
    assert rejected not in offered.replace(",", " ").split()
    for fmt in formats:
        assert fmt in offered


def test_csv_writes_booleans_as_json_does(tmp_path: Path):
    """QA22b L4: contrastive's `active` and compare's `defined` came out as Python's
    True/False, where the JSON of the same run says true/false."""
    (tmp_path / "ok.json").write_text(json.dumps(OK))
    terms = cli(["compute", "contrastive", "ok.json", "-f", "csv"], tmp_path)
    header, *rows = terms.stdout.splitlines()
    active = header.split(",").index("active")
    assert {row.split(",")[active] for row in rows} <= {"true", "false"} and rows
    compared = cli(["compare", "triplet", "ok.json", "-f", "csv"], tmp_path)
    header, *rows = compared.stdout.splitlines()
    assert header.split(",")[1] == "defined" and rows
    assert all(row.split(",")[1] in ("true", "false") for row in rows)


def test_csv_cells_spell_booleans_and_null_inside_their_text(tmp_path: Path):
    """QA23 M4, L1: `losses -f csv` wrote swap=False, ignore_index=None; compare's changes
    normalize=True; numpy's booleans (named bool in numpy 2) were not recognised."""
    import numpy as np

    from losscli.render.csv_cells import cell_text, csv_cell

    assert csv_cell(np.True_) == "true" and csv_cell(np.bool_(False)) == "false"
    assert cell_text(None) == "null" and cell_text(False) == "false" and cell_text(0.05) == "0.05"
    listed = cli(["losses", "-f", "csv"], tmp_path).stdout
    assert "swap=false" in listed and "ignore_index=null" in listed
    assert "False" not in listed and "None" not in listed
