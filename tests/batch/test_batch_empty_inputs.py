"""`batch -` with nothing on stdin, and an empty .jsonl: an error, never a silent exit 0
(issue 12.4). Through the real CLI in a subprocess, stdin a real pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def cli(args: list[str], cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run([sys.executable, "-m", "losscli", *args], input=stdin, cwd=cwd,
                          env=env, capture_output=True, timeout=120)


@pytest.mark.parametrize("stdin", [b"", b"\n", b"  \n\n"], ids=["empty", "newline", "blank"])
def test_empty_stdin_exits_4_with_one_line(stdin: bytes, tmp_path: Path) -> None:
    proc = cli(["batch", "infonce", "-"], tmp_path, stdin)
    assert proc.returncode == 4, proc.stderr
    assert proc.stdout == b""
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: <stdin>: stdin is empty"), lines


def test_empty_stdin_with_out_leaves_no_file(tmp_path: Path) -> None:
    proc = cli(["batch", "infonce", "-", "--out", "r.jsonl"], tmp_path)
    assert proc.returncode == 4
    assert os.listdir(tmp_path) == []


def test_lines_after_blank_lines_keep_their_numbers(tmp_path: Path) -> None:
    line = json.dumps({"anchor": [1.0, 0.0], "positive": [0.8, 0.6], "negatives": [[0.6, 0.8]]})
    for stdin, names in ((f"\n\n{line}\n", ["<stdin>:3"]),
                         (f"\n\n{line}\n\n{line}\n", ["<stdin>:3", "<stdin>:5"])):
        proc = cli(["batch", "triplet", "-", "-f", "jsonl"], tmp_path, stdin.encode())
        assert proc.returncode == 0, proc.stderr
        records = [json.loads(x) for x in proc.stdout.decode().splitlines()]
        assert [r["file"] for r in records] == names


def test_an_empty_jsonl_file_is_a_failed_input(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    ok = {"anchor": [1.0, 0.0], "positive": [0.8, 0.6], "negatives": [[0.6, 0.8]]}
    (tmp_path / "ok.json").write_text(json.dumps(ok))
    proc = cli(["batch", "triplet", "empty.jsonl", "ok.json", "-f", "jsonl"], tmp_path)
    assert proc.returncode == 7, proc.stderr
    records = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r["file"] for r in records] == ["empty.jsonl", "ok.json"]
    assert "empty" in records[0]["error"] and records[1]["error"] is None
    failfast = cli(["batch", "triplet", "empty.jsonl", "--fail-fast"], tmp_path)
    assert failfast.returncode == 4


def _npy_bytes() -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    # every byte of its values a newline (each 1.4e-260): newline-split into many pieces
    np.save(buffer, np.frombuffer(b"\n" * 480, dtype="<f8").reshape(3, 4, 5))
    return buffer.getvalue()


def test_another_format_on_stdin_is_one_failed_input(tmp_path: Path) -> None:
    """A .npy piped to `batch -` is one record that says what stdin holds, not a record of
    junk per piece of its bytes between newlines."""
    data = _npy_bytes()
    assert data.count(b"\n") > 1
    proc = cli(["batch", "triplet", "-", "-f", "jsonl"], tmp_path, data)
    assert proc.returncode == 7, proc.stderr
    records = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r["file"] for r in records] == ["<stdin>"]
    assert "a .npy array, not JSON Lines" in records[0]["error"]
    assert "give the file as INPUT" in records[0]["error"]


def test_a_utf16_jsonl_file_is_one_failed_input(tmp_path: Path) -> None:
    line = json.dumps({"anchor": [1.0, 0.0], "positive": [0.8, 0.6], "negatives": [[0.6, 0.8]]})
    (tmp_path / "u.jsonl").write_bytes(f"{line}\n{line}\n{line}\n".encode("utf-16"))
    proc = cli(["batch", "triplet", "u.jsonl", "-f", "jsonl"], tmp_path)
    assert proc.returncode == 7, proc.stderr
    records = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [r["file"] for r in records] == ["u.jsonl"]
    assert "UTF-16 text, not JSON Lines" in records[0]["error"]
