"""An --out that will be refused is refused before the inputs are read (QA17b L3): the run
prints that one error line (exit 6), not the reading's warnings and then the error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import losscli_process as cli

# infonce without negatives: a loss of 0, with a warning (K = 0), had it been evaluated
ROLES = ["--anchor", "a.npy", "--positive", "p.npy"]
COMMANDS = {
    "compute": ["compute", "infonce", *ROLES, "-f", "json"],
    "stats": ["stats", "infonce", *ROLES, "-f", "json"],
    "sweep": ["sweep", "infonce", *ROLES, "--param", "temperature", "--from", "0.1", "--to",
              "1", "--steps", "2", "-f", "json"],
    "compare": ["compare", "infonce", *ROLES, "-f", "json"],
}


@pytest.fixture
def arrays(tmp_path: Path) -> Path:
    np.save(tmp_path / "a.npy", np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.save(tmp_path / "p.npy", np.array([[0.6, 0.8], [-0.6, 0.8]]))
    return tmp_path


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_out_over_an_input_is_the_only_line(command: str, arrays: Path) -> None:
    before = (arrays / "a.npy").read_bytes()
    proc = cli([*COMMANDS[command], "--out", "a.npy", "--force"], arrays)
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.splitlines() == ["error: a.npy: is one of the inputs; write to another "
                                        "file"]
    assert (arrays / "a.npy").read_bytes() == before


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_out_in_no_directory_is_the_only_line(command: str, arrays: Path) -> None:
    proc = cli([*COMMANDS[command], "--out", "nodir/r.json"], arrays)
    assert proc.returncode == 6, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: nodir/r.json: no directory ") and "--out" in line


@pytest.mark.parametrize("given", ["d", "d/*", "d/*.jsonl"])
def test_batch_refuses_an_out_that_its_directory_or_glob_reads(given: str,
                                                                tmp_path: Path) -> None:
    """The inputs' files as batch expands them, not as typed: `batch LOSS d/ --out
    d/out.jsonl --force` read the previous out.jsonl as an input, failed it, and replaced it
    (QA18 M4)."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.json").write_text('{"anchor": [1, 0], "positive": [0.6, 0.8], '
                                           '"negatives": [[0.8, 0.6]]}')
    old = tmp_path / "d" / "out.jsonl"
    old.write_text('{"anchor": [1, 0], "positive": [0.6, 0.8], "negatives": [[0, 1]]}\n')
    proc = cli(["batch", "triplet", given, "--out", "d/out.jsonl", "--force"], tmp_path)
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.splitlines() == ["error: d/out.jsonl: is one of the inputs; write to "
                                        "another file"]
    assert old.read_text().startswith('{"anchor"')
    proc = cli(["batch", "triplet", "d/a.json", "--out", "d/out.jsonl", "--force"], tmp_path)
    assert proc.returncode == 0, proc.stderr  # not an input there: replaced as asked
