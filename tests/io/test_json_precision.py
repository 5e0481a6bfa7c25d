"""JSON integers beyond 2^53 (issue 12.7): read, rounded to float64 as any JSON reader into
doubles does, with a warning naming the roles and counts (stderr and the JSON warnings), for
INPUT, per-role files, stdin and batch's JSON Lines. Through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.io import formats

BIG = 2**53 + 1  # the first integer float64 cannot hold
DOC = {"anchor": [BIG, 0], "positive": [0, BIG + 2], "negatives": [[1, 2], [BIG * 3, 1]]}


def cli(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def precision_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "2^53" in line]


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_document_warns_once_naming_each_role(how: str, tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text(json.dumps(DOC))
    args = ["compute", "triplet", "big.json" if how == "file" else "-", "-f", "json"]
    proc = cli(args, tmp_path, None if how == "file" else json.dumps(DOC))
    assert proc.returncode == 0, proc.stderr
    warned = precision_lines(proc.stderr)
    assert len(warned) == 1, proc.stderr
    assert "anchor (1), positive (1) and negatives (1)" in warned[0]
    assert str(2**53) in warned[0]
    out = json.loads(proc.stdout)
    assert [w for w in out["warnings"] if "2^53" in w] == [warned[0].removeprefix("warning: ")]


def test_exact_integers_give_no_warning(tmp_path: Path) -> None:
    doc = {"anchor": [2**53, 0], "positive": [0, -(2**53)], "negatives": [[2**52 + 1, 2]]}
    (tmp_path / "ok.json").write_text(json.dumps(doc))
    proc = cli(["compute", "triplet", "ok.json", "-f", "json"], tmp_path)
    assert proc.returncode == 0 and precision_lines(proc.stderr) == []


def test_a_role_file_names_its_role(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([[BIG, 1], [1, 1]]))
    (tmp_path / "p.json").write_text(json.dumps([[1, 1], [1, 0]]))
    proc = cli(["compute", "infonce", "--anchor", "a.json", "--positive", "p.json", "-f",
                "json"], tmp_path)
    warned = precision_lines(proc.stderr)
    assert len(warned) == 1 and warned[0].startswith("warning: a.json: ")
    assert "in anchor (1)" in warned[0]


def test_batch_json_lines_warn_per_line(tmp_path: Path) -> None:
    lines = json.dumps(DOC) + "\n" + json.dumps({**DOC, "anchor": [1, 0]}) + "\n"
    proc = cli(["batch", "triplet", "-", "-f", "jsonl"], tmp_path, lines)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(x) for x in proc.stdout.splitlines()]
    first = [w for w in records[0]["warnings"] if "2^53" in w]
    second = [w for w in records[1]["warnings"] if "2^53" in w]
    assert len(first) == 1 and "anchor (1)" in first[0]
    assert len(second) == 1 and "anchor" not in second[0].split("2^53 in")[1].split("are")[0]


def test_the_value_read_is_the_nearest_float64() -> None:
    found: list[str] = []
    value = formats.parse_json(json.dumps([BIG, -BIG, 3]).encode(), "x", inexact=found)
    assert value == [float(BIG), float(-BIG), 3.0]
    assert found == [str(BIG), str(-BIG)]
    assert formats.inexact_integers(value) == 2


def test_a_number_below_float64s_range_is_refused_not_read_as_zero(tmp_path, capsys):
    from tests.helpers import run_cli

    doc = '{"anchor": [1e-400, 0], "positive": [1, 0], "negatives": [[0, 1]]}'
    (tmp_path / "u.json").write_text(doc)
    code, out, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "u.json"))
    assert code == 4 and out == "" and err.count("\n") == 1, err
    assert "u.json: JSON number 1e-400 underflows float64" in err
    # zeros written any way, and subnormals (representable), are numbers like any other
    (tmp_path / "z.json").write_text('{"anchor": [0e-400, -0.0E5, 1e-310], "positive": '
                                     '[1, 0, 0], "negatives": [[0, 1, 0]]}')
    code, out, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "z.json"), "-f", "json")
    assert code == 0 and json.loads(out)["shape"]["dim"] == 3, err


# ---------------------------------------------------------------- binary integer arrays


def test_binary_integer_arrays_count_what_float64_rounds() -> None:
    import numpy as np

    exact = [2**53, 2**53 + 2, 2**62, -(2**63), -(2**53), 0]  # all held exactly
    assert formats.inexact_in_array(np.array(exact, dtype=np.int64)) == 0
    rounded = [2**53 + 1, -(2**53) - 1, 2**63 - 1]  # the last rounds up to 2^63
    assert formats.inexact_in_array(np.array(rounded + exact, dtype=np.int64)) == 3
    top = np.array([2**64 - 1, 2**63, 2**53 + 3], dtype=np.uint64)
    assert formats.inexact_in_array(top) == 2
    assert formats.inexact_in_array(np.array([2**31 - 1], dtype=np.int32)) == 0


def test_an_npz_of_integers_warns_as_json_does(tmp_path: Path, capsys) -> None:
    """QA11 M1: int64 arrays beyond 2^53 in .npy/.npz/safetensors were rounded silently,
    where the same numbers in JSON got this warning."""
    import numpy as np

    from tests.helpers import run_cli

    (tmp_path / "big.json").write_text(json.dumps(DOC))
    np.savez(tmp_path / "big.npz", **{k: np.array(v, dtype=np.int64) for k, v in DOC.items()})
    np.save(tmp_path / "a.npy", np.array(DOC["anchor"], dtype=np.int64))
    said = {}
    for name in ("big.json", "big.npz"):
        code, out, err = run_cli(capsys, "compute", "triplet", str(tmp_path / name), "-f",
                                 "json")
        assert code == 0, err
        [said[name]] = precision_lines(err)
        assert precision_lines("\n".join(json.loads(out)["warnings"])) == \
            [said[name].removeprefix("warning: ")]
    assert said["big.npz"] == said["big.json"].replace("big.json", "big.npz")
    code, out, err = run_cli(capsys, "batch", "triplet", str(tmp_path / "big.npz"), "-q")
    assert code == 0 and precision_lines("\n".join(json.loads(out)["warnings"])) == \
        [said["big.npz"].removeprefix("warning: ")]
    code, _, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "big.json"),
                           "--anchor", str(tmp_path / "a.npy"))
    assert code == 0 and f"{tmp_path / 'a.npy'}: integers beyond 2^53 in anchor (1) " in err
