"""Output that cannot be written whole is an output error (exit 6, one line), never a cut
file with exit 0 (QA15; tables QA16): a disk that fills in the middle of a large write to
stdout (a file size limit stands in for it: the same short write, then EFBIG), help to a
full device, a stdout whose encoding cannot write a file name, an --out in a removed working
directory, and an --out that another writer creates while the run writes it."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from losscli.errors import OutputError
from losscli.render.atomic_file import AtomicFile

LIMIT = 100_000  # bytes that stdout's file may hold


def cli(args: list[str], cwd: Path, stdout: object = subprocess.PIPE,
        limit: int | None = None, **env: str) -> subprocess.CompletedProcess:
    def child() -> None:
        if limit is not None:  # writes past it are cut short, then fail (EFBIG)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd,
                          env={**os.environ, "LOSSCLI_JIT": "never", **env}, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=300, preexec_fn=child)


@pytest.fixture
def big(tmp_path: Path) -> Path:
    """An input whose outputs are far larger than LIMIT."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", anchor=rng.normal(size=(600, 4)),
             positive=rng.normal(size=(600, 4)), negatives=rng.normal(size=(600, 3, 4)))
    np.save(tmp_path / "stack.npy", rng.normal(size=(3000, 5, 4)))
    return tmp_path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE, SIGXFSZ")
@pytest.mark.parametrize("args", [
    ["compute", "triplet", "big.npz", "-f", "csv"],
    ["compute", "triplet", "big.npz", "-f", "json"],
    ["batch", "triplet", "stack.npy", "--per-example", "-f", "jsonl"],
    ["batch", "triplet", "stack.npy", "--per-example", "-f", "csv"],
    ["compute", "triplet", "big.npz", "-f", "table", "--show", "0"],
    ["compare", "infonce", "big.npz", "-f", "table"],  # one table, written at once
], ids=["compute-csv", "compute-json", "per-example-jsonl", "per-example-csv",
        "compute-table", "compare-table"])
def test_a_stdout_that_fills_up_mid_write_is_an_output_error(big: Path, args: list[str]):
    limit = 1024 if args[0] == "compare" else LIMIT  # its table is ~1.5 KB
    with open(big / "out", "w") as out:
        proc = cli(args, big, stdout=out, limit=limit)
    assert (big / "out").stat().st_size == limit  # it was cut: the run must say so
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: <stdout>: cannot write: File too large; give --out FILE"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["compute", "--help"],
                                  ["compute", "triplet", "--help"]])
def test_help_to_a_full_device_is_an_output_error(tmp_path: Path, args: list[str]):
    with open("/dev/full", "w") as full:
        proc = cli(args, tmp_path, stdout=full)
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: <stdout>: cannot write: disk full (no space left on device); give --out FILE"]


def test_a_stdout_encoding_that_cannot_write_a_name_says_so(tmp_path: Path):
    """CSV cannot escape a name as JSON does (test_ascii_drawing.py): the name is written
    in Python's escapes and a warning says so once, where the run stopped after the rows
    before it with exit 6 (QA18 M5)."""
    name = "ü.json"
    for other in ("a.json", name):
        (tmp_path / other).write_text(json.dumps({
            "anchor": [[1.0, 0.0]], "positive": [[1.0, 0.1]], "negatives": [[[0.0, 1.0]]]}))
    proc = cli(["batch", "triplet", "a.json", name, "-f", "csv"], tmp_path,
               PYTHONIOENCODING="ascii")
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()
    assert [r.split(",")[0] for r in rows] == ["file", "a.json", "\\xfc.json"]
    assert proc.stderr.splitlines() == [
        "warning: <stdout>: its encoding (ascii) cannot write some characters: written as "
        "\\x, \\u escapes; set PYTHONIOENCODING=utf-8 to have them as they are"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a removed cwd")
def test_out_in_a_removed_working_directory(tmp_path: Path):
    (tmp_path / "ok.json").write_text(json.dumps({
        "anchor": [[1.0, 0.0]], "positive": [[1.0, 0.1]], "negatives": [[[0.0, 1.0]]]}))
    gone = tmp_path / "gone"
    gone.mkdir()
    script = (f"import os, sys; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); "
              "from losscli.cli import main; sys.argv = ['losscli', 'compute', 'triplet', "
              f"{str(tmp_path / 'ok.json')!r}, '--out', 'r.json']; main()")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "LOSSCLI_JIT": "never"}, timeout=120)
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: r.json: cannot create a file in the current directory: it no longer exists; "
        "cd to a directory that exists, or give --out as an absolute path"]


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    out = AtomicFile(str(path))
    out.write("the run's records\n")
    path.write_text("precious notes\n")  # another run, an editor
    with pytest.raises(OutputError, match="appeared while this run wrote it; refusing to "
                                          "overwrite; give --force, or another --out"):
        out.commit()
    assert path.read_text() == "precious notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temporary file


def test_without_force_the_written_file_is_the_only_name_left(tmp_path: Path):
    path = tmp_path / "out.json"
    with AtomicFile(str(path)) as out:
        out.write("{}\n")
    assert path.read_text() == "{}\n" and path.stat().st_nlink == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_force_still_replaces_a_file_that_appeared(tmp_path: Path):
    path = tmp_path / "out.jsonl"
    out = AtomicFile(str(path), force=True)
    out.write("the run's records\n")
    path.write_text("old\n")
    out.commit()
    assert path.read_text() == "the run's records\n"


@pytest.mark.parametrize("args", [
    ["compute", "triplet", "ok.json"], ["batch", "triplet", "ok.json"],
    ["stats", "triplet", "ok.json", "-f", "json"], ["losses", "-f", "json"]],
    ids=["compute", "batch", "stats", "losses"])
def test_a_closed_stdout_is_said_alike_by_every_command(tmp_path: Path, args: list[str]):
    (tmp_path / "ok.json").write_text(json.dumps({
        "anchor": [[1.0, 0.0]], "positive": [[1.0, 0.1]], "negatives": [[[0.0, 1.0]]]}))
    proc = subprocess.run([sys.executable, "-m", "losscli", *args], cwd=tmp_path,
                          env={**os.environ, "LOSSCLI_JIT": "never"}, stderr=subprocess.PIPE,
                          text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.splitlines() == [
        "error: <stdout>: stdout is closed; give --out FILE, or do not close stdout"]
