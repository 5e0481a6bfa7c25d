"""Every file losscli writes goes through one atomic writer (issue 12.14): compute's and the
explorer's --out, sweep's --png and batch's --out all get the mode a plain file would
(0644 under umask 022, 0600 under 077; the old file's when --force replaces one), and none is
ever left half-written (a failure leaves no file and no temporary file). Through the real
CLI, its umask set in the child."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.render import atomic_file
from losscli.render.atomic_file import AtomicFile

OK = {"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.8, 0.6], [0.6, 0.8]],
      "negatives": [[[0.6, 0.8]], [[0.8, 0.6]]]}
SWEEP = ["sweep", "triplet", "ok.json", "--param", "margin", "--from", "0.1", "--to", "1",
         "--steps", "3"]
WRITERS = {
    "compute": ["compute", "triplet", "ok.json", "--out", "out.json"],
    "batch": ["batch", "triplet", "ok.json", "--out", "out.jsonl"],
    "batch-table": ["batch", "triplet", "ok.json", "--out", "out.txt"],
    "stats": ["stats", "triplet", "ok.json", "--out", "out.csv"],
    "compare": ["compare", "triplet", "ok.json", "--out", "out.json"],
    "sweep": [*SWEEP, "--out", "out.jsonl"],
    "png": [*SWEEP, "--png", "out.png", "-f", "json"],
}


def cli(args: list[str], cwd: Path, umask: int = 0o022) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180,
                          preexec_fn=lambda: os.umask(umask))


@pytest.fixture
def here(tmp_path: Path) -> Path:
    (tmp_path / "ok.json").write_text(json.dumps(OK))
    return tmp_path


def target(args: list[str]) -> str:
    flag = "--png" if "--png" in args else "--out"
    return args[args.index(flag) + 1]


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_file_gets_a_plain_files_mode(writer: str, umask: int, mode: int,
                                            here: Path) -> None:
    args = WRITERS[writer]
    proc = cli(args, here, umask)
    assert proc.returncode == 0, proc.stderr
    written = here / target(args)
    assert stat.S_IMODE(written.stat().st_mode) == mode
    assert sorted(os.listdir(here)) == sorted(["ok.json", target(args)])  # no temporary left


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_force_keeps_the_replaced_files_mode(writer: str, here: Path) -> None:
    args = WRITERS[writer]
    old = here / target(args)
    old.write_text("old")
    os.chmod(old, 0o640)
    refused = cli(args, here)
    assert refused.returncode == 6 and old.read_text() == "old"
    proc = cli([*args, "--force"], here)
    assert proc.returncode == 0, proc.stderr
    assert old.read_bytes() != b"old" and stat.S_IMODE(old.stat().st_mode) == 0o640


def test_a_batch_that_fails_half_way_leaves_nothing(here: Path) -> None:
    (here / "bad.json").write_text("{")
    proc = cli(["batch", "triplet", "ok.json", "bad.json", "ok.json", "--fail-fast", "--out",
                "out.jsonl"], here)
    assert proc.returncode == 4
    assert sorted(os.listdir(here)) == ["bad.json", "ok.json"]


def test_the_png_target_is_checked_like_out(here: Path) -> None:
    for name, code, expect in (("ok.json", 2, "has suffix '.json', but --png writes PNG"),
                               ("adir.png", 6, "is a directory")):
        (here / "adir.png").mkdir(exist_ok=True)
        proc = cli([*SWEEP, "--png", name, "--force", "-f", "json"], here)
        assert proc.returncode == code and expect in proc.stderr, proc.stderr
    assert json.loads((here / "ok.json").read_text()) == OK


# ---------------------------------------------------------------- the writer itself


@pytest.mark.parametrize("binary", [False, True])
def test_a_failing_write_removes_the_temporary_file(binary: bool, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = []

    def full(fd: int) -> None:
        sizes.append(os.fstat(fd).st_size)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_file.os, "fsync", full)
    out = AtomicFile(str(tmp_path / "f"), binary=binary, option="--png")
    out.write(b"x" * 1000 if binary else "x" * 1000)
    with pytest.raises(Exception, match="disk full") as caught:
        out.commit()
    assert "--png" in str(caught.value.fix)
    assert sizes == [1000]  # the data had reached the temporary file
    assert os.listdir(tmp_path) == []


def test_an_exception_inside_the_block_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt), AtomicFile(str(path), force=True) as out:
        out.write("new, half")
        raise KeyboardInterrupt
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["f.json"]
