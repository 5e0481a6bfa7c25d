"""`--fail-above X` on compute and batch: exit 8 when the loss is above X (or not finite),
after the whole output is written; 0 at or below X; 7 still wins in batch."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from losscli.cli import run
from losscli.cli._threshold import breach
from losscli.errors import ExitCode

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
EX = str(SAMPLES / "ex.json")
BATCH = str(SAMPLES / "batch.npz")


def invoke(capsys, *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def value_of(capsys, *args: str):
    code, out, err = invoke(capsys, *args, "-f", "json")
    assert code == 0, err
    return json.loads(out)["value"]


def test_the_exit_code_is_its_own():
    assert int(ExitCode.ABOVE_THRESHOLD) == 8
    assert len({int(c) for c in ExitCode}) == len(ExitCode)


def test_compute_above_and_at_the_limit(capsys):
    value = value_of(capsys, "compute", "triplet", EX)
    code, out, err = invoke(capsys, "compute", "triplet", EX, "-f", "json",
                            "--fail-above", repr(value / 2))
    assert code == 8
    assert json.loads(out)["value"] == value  # the output is complete
    assert err.count("\n") == 1 and err.startswith(f"error: {EX}: the loss is {value!r}")
    assert "--fail-above" in err
    code, out, err = invoke(capsys, "compute", "triplet", EX, "-f", "json",
                            "--fail-above", repr(value))
    assert code == 0 and err == ""


def test_compute_table_and_out_file_are_written_before_the_gate(capsys, tmp_path):
    code, out, _ = invoke(capsys, "compute", "triplet", EX, "-f", "table", "--fail-above", "0")
    assert code == 8 and "triplet" in out
    target = tmp_path / "r.json"
    code, out, _ = invoke(capsys, "compute", "triplet", EX, "--out", str(target),
                          "--fail-above", "0")
    assert code == 8 and out == ""
    assert json.loads(target.read_text())["loss"] == "triplet"


def test_reduction_none_gates_on_every_example(capsys):
    per = value_of(capsys, "compute", "triplet", BATCH, "--reduction", "none")
    limit = sorted(per)[-2]  # exactly one example above
    code, _, err = invoke(capsys, "compute", "triplet", BATCH, "--reduction", "none",
                          "-f", "json", "--fail-above", repr(limit))
    assert code == 8
    assert f"example {per.index(max(per))}'s loss" in err and "(1 of 6 examples)" in err


@pytest.mark.parametrize("limit", ["nan", "inf", "-inf"])
def test_a_limit_that_is_not_finite_is_a_usage_error(capsys, limit):
    code, out, err = invoke(capsys, "compute", "triplet", EX, "--fail-above", limit)
    assert code == 2 and out == "" and "--fail-above" in err


def test_a_loss_that_is_not_finite_fails_the_gate():
    assert breach(None, 1.0) is not None  # null in the JSON
    assert breach(math.nan, 1.0) is not None
    assert breach(math.inf, 1e300) is not None
    assert breach([0.5, None], 1.0).exit_code == 8
    assert breach([0.5, 1.0], 1.0) is None


def test_batch_gates_each_input_and_writes_every_record(capsys, tmp_path):
    low, high = tmp_path / "low.json", tmp_path / "high.json"
    shutil.copy(SAMPLES / "seed-example-1.json", low)  # infonce ~ 4.9e-05
    shutil.copy(SAMPLES / "seed-example-2.json", high)  # infonce ~ 1.0986
    code, out, err = invoke(capsys, "batch", "infonce", str(low), str(high), "-f", "jsonl",
                            "--fail-above", "0.5")
    assert code == 8
    assert [json.loads(line)["file"] for line in out.splitlines()] == [str(low), str(high)]
    assert err.count("error: ") == 1 and f"error: {high}: the loss is " in err
    code, out, err = invoke(capsys, "batch", "infonce", str(low), str(high), "--summary",
                            "--fail-above", "2")
    assert code == 0 and err == ""


def test_batch_failures_come_first(capsys, tmp_path):
    code, _, err = invoke(capsys, "batch", "infonce", str(SAMPLES / "seed-example-2.json"),
                          str(tmp_path / "missing.json"), "-f", "jsonl", "--fail-above", "0")
    assert code == 7
    assert "missing.json: no such file" in err and "the loss is" in err
