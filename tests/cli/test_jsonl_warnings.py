"""The reading's warnings are in every machine-readable output, not on stderr alone
(CONTRACT.md: "on stderr and in the JSON `warnings`"; QA17 M3): stats' JSON Lines end with a
`warnings` record, sweep's last line carries them, batch's --summary record lists them
(naming each input), and --per-example gives an input's warnings a line of its own before its
examples. Under -q stderr is silent and the outputs still say them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from losscli.batch import summary as summary_module
from losscli.batch.summary import Summary
from losscli.model import FileResult
from tests.helpers import run_cli

RNG = np.random.default_rng(3)
LAYOUT = "negatives (4, 5) have as many rows as there are anchors (B = 4)"


@pytest.fixture
def roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """(B, D) negatives with B rows: read as K = B shared negatives, with a warning."""
    monkeypatch.chdir(tmp_path)
    for name in ("a", "p", "n"):
        np.save(tmp_path / f"{name}.npy", RNG.normal(size=(4, 5)))
    return ["--anchor", "a.npy", "--positive", "p.npy", "--negatives", "n.npy"]


def records(capsys, *argv: str) -> list[dict]:
    code, out, err = run_cli(capsys, *argv, "-q")
    assert code == 0 and err == "", err
    return [json.loads(line) for line in out.splitlines()]


def said(texts: list[str]) -> bool:
    return any(LAYOUT in t for t in texts)


def test_stats_json_lines_end_with_the_warnings(capsys, roles):
    *_, last = records(capsys, "stats", "triplet", *roles, "-f", "jsonl")
    assert last["stat"] == "warnings" and said(last["warnings"])


def test_stats_json_lines_without_warnings_have_no_such_record(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "t.npz", anchor=RNG.normal(size=(4, 5)),
             positive=RNG.normal(size=(4, 5)), negatives=RNG.normal(size=(4, 3, 5)))
    got = records(capsys, "stats", "triplet", "t.npz", "-f", "jsonl")
    assert all(r["stat"] != "warnings" for r in got)


def test_sweep_json_lines_say_them_on_the_last_line(capsys, roles):
    *_, last = records(capsys, "sweep", "triplet", *roles, "--param", "margin", "--from", "0",
                       "--to", "1", "--steps", "2", "-f", "jsonl")
    assert "limits" in last and said(last["warnings"])


def test_the_batch_summary_names_each_input_in_its_warnings(capsys, roles):
    [record] = records(capsys, "batch", "triplet", *roles, "--summary", "-f", "jsonl")
    [warning] = record["warnings"]
    assert warning.startswith("a.npy + p.npy + n.npy: ") and LAYOUT in warning


def test_per_example_lines_give_the_warnings_a_line_before_the_examples(capsys, roles):
    first, *examples = records(capsys, "batch", "triplet", *roles, "--per-example", "-f",
                               "jsonl")
    assert (first["index"], first["loss"]) == (None, None) and said(first["warnings"])
    assert [e["index"] for e in examples] == [0, 1, 2, 3]


def test_the_summary_keeps_a_hundred_distinct_warnings_then_counts(monkeypatch):
    monkeypatch.setattr(summary_module, "WARNINGS_KEPT", 2)
    totals = Summary()
    for i, text in enumerate(["read one way", "read one way", "another", "a third"]):
        totals.add(FileResult(file=f"f{i}.npz", loss="triplet", params={}, reduction="mean",
                              per_example=np.ones(2), warnings=(text,)))
    assert totals.record("triplet")["warnings"] == [
        "f0.npz: read one way (and 1 more input(s))", "f2.npz: another",
        "and 1 more distinct warning(s)"]


def test_stats_csv_ends_with_a_row_per_warning(capsys, roles):
    code, out, err = run_cli(capsys, "stats", "triplet", *roles, "-f", "csv", "-q")
    assert code == 0 and err == "", err
    *_, last = out.splitlines()
    assert last.startswith("warning,") and LAYOUT in last


def test_ranked_examples_come_with_their_inputs_warnings(capsys, roles):
    got = records(capsys, "batch", "triplet", *roles, "--worst", "3", "-f", "jsonl")
    said = [r for r in got if r["index"] is None]
    assert len(said) == 1 and said[0]["file"] == "a.npy + p.npy + n.npy"
    assert said[0]["warnings"] and said[0] is got[0]
    assert [r["index"] is not None for r in got[1:]] == [True] * 3
