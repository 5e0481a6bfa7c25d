"""What batch takes as one input (QA's batch defects): JSON Lines found by content whatever
the name, a pipe included (each line its own record, `PATH:LINE`); an input given several
times evaluated once, with a warning; a misspelt file name with a "did you mean"; and
the summary's warning about the non-finite examples it leaves out.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import losscli
from tests.helpers import run_cli as _cli

LINES = [
    {"anchor": [1.0, 0.0], "positive": [0.9, 0.1], "negatives": [[0.0, 1.0]]},
    {"anchor": [0.0, 1.0], "positive": [0.1, 0.9], "negatives": [[1.0, 0.0]]},
    {"anchor": [1.0, 1.0], "positive": [0.9, 1.1], "negatives": [[-1.0, 0.0]]},
    None,  # a bad line
    {"anchor": [1.0, 0.0], "positive": [0.5, 0.5], "negatives": [[0.0, -1.0]]},
]
BAD_LINE = "{bad json"


def _text(lines: list) -> str:
    return "".join((BAD_LINE if doc is None else json.dumps(doc)) + "\n" for doc in lines)


def _records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _loss(doc: dict) -> float:
    return float(losscli.evaluate("triplet", doc).value)


@pytest.fixture(autouse=True)
def _interpreted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOSSCLI_JIT", "never")  # small inputs: no compilation


# ---------------------------------------------------------------- JSON Lines by content


@pytest.mark.parametrize("name", ["lines_noext", "bad.json", "lines.txt"])
def test_json_lines_whatever_the_name_is_a_record_per_line(name: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / name
    path.write_text(_text(LINES))
    code, out, err = _cli(capsys, "batch", "triplet", str(path))
    assert code == 7
    records = _records(out)
    assert [r["file"] for r in records] == [f"{path}:{i}" for i in range(1, 6)]
    assert [r["error"] is not None for r in records] == [False, False, False, True, False]
    for record, doc in zip(records, LINES, strict=True):
        if doc is not None:
            assert record["value"] == pytest.approx(_loss(doc), rel=1e-12)
            assert len(record["per_example"]) == 1
    assert err.count("error: ") == 1 and f"{path}:4: invalid JSON" in err


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_bad_line_says_where_in_that_line(newline: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    # QA: a truncated line 3 said "invalid JSON at line 2 column 1" (the position past the
    # line's own line break), where compute says "line 1 column 68" for the same text
    truncated = json.dumps(LINES[0])[:-1]
    path = tmp_path / "bad3.jsonl"
    path.write_bytes(newline.join([json.dumps(LINES[0]), json.dumps(LINES[1]), truncated,
                                   ""]).encode())
    code, out, err = _cli(capsys, "batch", "triplet", str(path))
    assert code == 7
    where = f"column {len(truncated) + 1}"  # QA22b L5: not "line 1" after FILE:3
    assert f"{path}:3: invalid JSON at {where}: " in _records(out)[2]["error"], err
    assert "line 1" not in _records(out)[2]["error"]
    assert _records(out)[2]["error"].endswith("; fix the JSON on this line (one object per line)")
    (tmp_path / "one.json").write_text(truncated)
    code, _, err = _cli(capsys, "compute", "triplet", str(tmp_path / "one.json"))
    assert code == 4 and f"invalid JSON at line 1 {where}: " in err, err  # a file: its line


def test_json_lines_in_a_directory_under_a_json_name(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "bad.json").write_text(_text(LINES))
    code, out, _ = _cli(capsys, "batch", "triplet", str(tmp_path / "d"))
    assert code == 7
    assert len(_records(out)) == 5


def test_a_broken_first_line_fails_only_itself(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "first_bad"
    path.write_text(_text([None, LINES[0], LINES[1]]))
    code, out, _ = _cli(capsys, "batch", "triplet", str(path))
    assert code == 7
    assert [r["error"] is None for r in _records(out)] == [False, True, True]


@pytest.mark.parametrize("text", [
    json.dumps({"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.9, 0.1], [0.1, 0.9]],
                "negatives": [[[0.0, 1.0]], [[1.0, 0.0]]]}) + "\n\n",
    json.dumps({"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.9, 0.1], [0.1, 0.9]],
                "negatives": [[[0.0, 1.0]], [[1.0, 0.0]]]}, indent=2) + "\n",
], ids=["one-line", "pretty-printed"])
def test_one_json_document_stays_one_input(text: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "doc"
    path.write_text(text)
    code, out, _ = _cli(capsys, "batch", "triplet", str(path))
    assert code == 0
    [record] = _records(out)
    assert record["file"] == str(path) and len(record["per_example"]) == 2


def test_compute_still_stacks_the_lines(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "good_noext"
    path.write_text(_text(LINES[:3]))
    code, out, _ = _cli(capsys, "compute", "triplet", str(path), "-f", "json")
    assert code == 0
    assert len(json.loads(out)["per_example"]) == 3
    code, out, _ = _cli(capsys, "batch", "triplet", str(path))
    assert code == 0
    assert [len(r["per_example"]) for r in _records(out)] == [1, 1, 1]


def test_one_example_with_a_class_index_is_evaluated_as_compute_does(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # A number per example (a class index, a label) stays a number: batch once made the 0-d
    # target (1,), which softmax-ce refused beside (C,) logits, on every line of JSON Lines.
    doc = {"logits": [1.0, 2.0, 3.0], "target": 2}
    (tmp_path / "one.json").write_text(json.dumps(doc))
    (tmp_path / "lines.jsonl").write_text(json.dumps(doc) + "\n" + json.dumps(doc) + "\n")
    want = losscli.evaluate("softmax-ce", doc).value
    for name, records in (("one.json", 1), ("lines.jsonl", 2)):
        code, out, err = _cli(capsys, "batch", "softmax-ce", str(tmp_path / name), "-f", "jsonl")
        assert code == 0, err
        assert [r["value"] for r in _records(out)] == [want] * records


def _bash(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """`losscli` inside bash, for its own process substitution `<(...)`."""
    py = shlex.quote(sys.executable)
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run(["bash", "-c", command.replace("LOSSCLI", f"{py} -m losscli")],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bash <(...)")
def test_json_lines_through_a_pipe_are_read_once_a_record_per_line(tmp_path: Path) -> None:
    (tmp_path / "lines.jsonl").write_text(_text(LINES))
    (tmp_path / "one.json").write_text(json.dumps(LINES[0], indent=1))
    proc = _bash("LOSSCLI batch triplet <(cat lines.jsonl) <(cat one.json) -f jsonl", tmp_path)
    assert proc.returncode == 7, proc.stderr
    records = _records(proc.stdout)
    assert len(records) == 6
    pipe = records[0]["file"].rsplit(":", 1)[0]
    assert [r["file"] for r in records[:5]] == [f"{pipe}:{i}" for i in range(1, 6)]
    assert [r["error"] is not None for r in records[:5]] == [False, False, False, True, False]
    assert records[0]["value"] == pytest.approx(_loss(LINES[0]), rel=1e-12)
    assert records[5]["error"] is None and ":" not in records[5]["file"]  # one document
    assert records[5]["value"] == pytest.approx(_loss(LINES[0]), rel=1e-12)


# ---------------------------------------------------------------- an input given twice


@pytest.fixture
def emb_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "d"
    d.mkdir()
    rng = np.random.default_rng(0)
    for stem in ("emb0", "emb1"):
        np.savez(d / f"{stem}.npz", anchor=rng.normal(size=(3, 2)),
                 positive=rng.normal(size=(3, 2)), negatives=rng.normal(size=(3, 2, 2)))
    return d


def test_an_input_given_four_times_is_evaluated_once(emb_dir: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    code, out, err = _cli(capsys, "batch", "triplet", "d/emb0.npz", "d/emb0.npz", "d/emb0.*",
                          "d/", "--summary")
    assert code == 0
    [summary] = _records(out)
    assert summary["files"] == 2 and summary["count"] == 6
    assert err.splitlines() == ["warning: d/emb0.npz: given 4 times; evaluated once"]
    code, out, _ = _cli(capsys, "batch", "triplet", "d/emb0.npz", "./d/emb0.npz")
    [record] = _records(out)
    assert record["file"] == "d/emb0.npz"
    assert "d/emb0.npz: given 2 times; evaluated once" in record["warnings"]


def test_a_role_set_by_a_member_and_its_directory_is_evaluated_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkdir("r")
    rng = np.random.default_rng(1)
    for role, shape in (("anchor", (3, 2)), ("positive", (3, 2)), ("negatives", (3, 2, 2))):
        np.save(f"r/s1.{role}.npy", rng.normal(size=shape))
    code, out, err = _cli(capsys, "batch", "triplet", "r/s1.anchor.npy", "r")
    assert code == 0
    assert len(_records(out)) == 1
    assert err.splitlines() == ["warning: r/s1.*.npy: given 2 times; evaluated once"]
    # each member named once (a shell's expansion of r/s1.*): one input, no warning
    code, out, err = _cli(capsys, "batch", "triplet", "r/s1.anchor.npy", "r/s1.negatives.npy",
                          "r/s1.positive.npy")
    assert code == 0 and len(_records(out)) == 1 and err == ""


def test_json_lines_given_twice_are_evaluated_once(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(_text(LINES[:2]))
    code, out, err = _cli(capsys, "batch", "triplet", str(path), str(path))
    assert code == 0
    assert [r["file"] for r in _records(out)] == [f"{path}:1", f"{path}:2"]
    assert err.splitlines() == [f"warning: {path}: given 2 times; evaluated once"]


# ---------------------------------------------------------------- a misspelt name


def test_a_misspelt_input_gets_a_did_you_mean(emb_dir: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    code, out, err = _cli(capsys, "batch", "triplet", "d/emb0.npzz")
    assert code == 7
    assert err.splitlines() == ["error: d/emb0.npzz: no such file; did you mean d/emb0.npz?"]
    code, _, _ = _cli(capsys, "batch", "triplet", "d/emb0.npzz", "--fail-fast")
    assert code == 3
    code, _, err = _cli(capsys, "batch", "triplet", "d/nothing-like-it.npz")
    assert err.splitlines() == ["error: d/nothing-like-it.npz: no such file; check the path"]


def test_compute_and_role_options_get_the_same_did_you_mean(
        emb_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """One place (io.formats.open_binary) says it for every command and option."""
    code, out, err = _cli(capsys, "compute", "triplet", "d/emb1.npzz")
    assert (code, out) == (3, "")
    assert err.splitlines() == ["error: d/emb1.npzz: no such file; did you mean d/emb1.npz?"]
    code, _, err = _cli(capsys, "compute", "triplet", "d/emb0.npz", "--anchor", "d/emb0.np")
    assert code == 3 and "did you mean d/emb0.npz?" in err


# ---------------------------------------------------------------- the summary's non-finite


def test_the_summary_warns_about_the_non_finite_examples_it_leaves_out(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    x = np.zeros((3, 4, 2))
    x[0, :3] = 1e200  # example 0: a . p = a . n_0 = inf, the softmax gets inf - inf
    x[1:] = np.random.default_rng(2).normal(size=(2, 4, 2))
    path = tmp_path / "big.npy"
    np.save(path, x)
    code, out, err = _cli(capsys, "batch", "infonce", str(path), "--summary")
    assert code == 0
    [summary] = _records(out)
    assert summary["non_finite"] == 1 and summary["count"] == 2
    assert ("warning: 1 example(s) with a non-finite loss are left out of the summary's "
            "count, mean and quantiles (--strict makes them an error)") in err.splitlines()
    code, _, err = _cli(capsys, "batch", "infonce", str(path), "--summary", "-q")
    assert code == 0 and err == ""


# ---------------------------------------------------------------- an unreadable directory


def _deny_listing(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """`directory` cannot be listed: chmod 311 (enter, not list), and, since root ignores
    modes, os.scandir and os.listdir refusing it (glob lists through os.scandir)."""
    directory.chmod(0o311)
    for name in ("scandir", "listdir"):
        real = getattr(os, name)

        def refusing(path: object = ".", _real=real) -> object:
            if os.path.realpath(os.fsdecode(path)) == str(directory.resolve()):
                raise PermissionError(13, "Permission denied", os.fsdecode(path))
            return _real(path)

        monkeypatch.setattr(os, name, refusing)


def test_an_unreadable_directory_is_a_failed_record_as_an_unreadable_file_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """QA11 H1: os.listdir's PermissionError was an internal error (exit 1) that lost the
    other inputs' records."""
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "in.json").write_text(json.dumps(LINES[0]))
    (tmp_path / "ok.json").write_text(json.dumps(LINES[1]))
    monkeypatch.chdir(tmp_path)
    _deny_listing(monkeypatch, locked)
    try:
        code, out, err = _cli(capsys, "batch", "triplet", "locked", "ok.json")
        assert code == 7
        records = _records(out)
        assert [r["file"] for r in records] == ["locked", "ok.json"]
        assert records[1]["error"] is None
        assert err.splitlines() == ["error: locked: permission denied (the directory cannot "
                                    "be read); check the directory's permissions"]
        code, out, _ = _cli(capsys, "batch", "triplet", "locked")  # alone: as a lone file
        assert code == 7 and len(_records(out)) == 1
        code, _, _ = _cli(capsys, "batch", "triplet", "locked", "ok.json", "--fail-fast")
        assert code == 3
        # a glob into it says that the directory cannot be read, not "no file matches"
        code, out, err = _cli(capsys, "batch", "triplet", "locked/*.json")
        assert code == 7
        assert err.splitlines() == ["error: locked/*.json: permission denied (the directory "
                                    "'locked' cannot be read); check the directory's "
                                    "permissions"]
    finally:
        locked.chmod(0o755)
