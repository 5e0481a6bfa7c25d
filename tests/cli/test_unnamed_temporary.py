"""Where the system can (Linux, O_TMPFILE), the temporary file of an --out has no name until
it is complete: a run killed outright (SIGKILL, the OOM killer) leaves no `.NAME.*.tmp`
beside the target (QA15 L1). Elsewhere the named temporary file is used, as before."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.errors import OutputError
from losscli.render import atomic_file
from losscli.render.atomic_file import AtomicFile

unnamed_only = pytest.mark.skipif(not atomic_file.UNNAMED, reason="no O_TMPFILE here")


@pytest.fixture(autouse=True)
def fresh_run():
    atomic_file.forget()
    yield
    atomic_file.forget()


@unnamed_only
def test_the_file_being_written_has_no_name(tmp_path: Path):
    with AtomicFile(str(tmp_path / "out.json")) as out:
        out.write("{}")
        assert os.listdir(tmp_path) == []
    assert os.listdir(tmp_path) == ["out.json"]
    assert (tmp_path / "out.json").read_text() == "{}"


@unnamed_only
def test_a_run_killed_while_writing_leaves_nothing(tmp_path: Path):
    script = ("import os, signal\n"
              "from losscli.render.atomic_file import AtomicFile\n"
              "out = AtomicFile('out.json')\n"
              "out.write('x' * 1000000)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert os.listdir(tmp_path) == []


@unnamed_only
def test_force_replaces_the_old_file_and_keeps_its_mode(tmp_path: Path):
    target = tmp_path / "out.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    with AtomicFile(str(target), force=True) as out:
        out.write("new")
        assert os.listdir(tmp_path) == ["out.json"] and target.read_text() == "old"
    assert target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(tmp_path) == ["out.json"]


@unnamed_only
def test_a_file_that_appears_at_the_target_is_not_replaced(tmp_path: Path):
    target = tmp_path / "out.json"
    out = AtomicFile(str(target))
    out.write("mine")
    target.write_text("theirs")
    with pytest.raises(OutputError, match="appeared while this run wrote it"):
        out.commit()
    assert target.read_text() == "theirs" and os.listdir(tmp_path) == ["out.json"]


@unnamed_only
def test_an_aborted_file_leaves_nothing(tmp_path: Path):
    with pytest.raises(RuntimeError), AtomicFile(str(tmp_path / "out.json")) as out:
        out.write("half")
        raise RuntimeError
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("how", ["no O_TMPFILE", "a file system without it"])
def test_without_unnamed_files_a_named_temporary_file_is_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str):
    if how == "no O_TMPFILE":
        monkeypatch.setattr(atomic_file, "UNNAMED", False)
    else:
        monkeypatch.setattr(atomic_file, "open_unnamed", lambda directory: None)
    with AtomicFile(str(tmp_path / "out.json")) as out:
        out.write("{}")
        [name] = os.listdir(tmp_path)
        assert name.startswith(".out.json.") and name.endswith(".tmp")
    assert os.listdir(tmp_path) == ["out.json"]
