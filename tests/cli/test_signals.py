"""SIGTERM and SIGHUP (`timeout`, a CI cancel, `kill PID`, a closed terminal) stop a run as
Ctrl-C does: the temporary file beside --out is removed, an existing --out is left as it was,
one line on stderr, exit 128 + the signal (143 for SIGTERM). QA7 M4."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import wait_until_reading_stdin

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="POSIX signals, FIFOs and /proc")

OK = {"anchor": [1.0, 0.0], "positive": [0.8, 0.6], "negatives": [[0.6, 0.8]]}



def start(args: list[str], cwd: Path, **kwargs: object) -> subprocess.Popen:
    env = dict(os.environ, LOSSCLI_JIT="never", PYTHONDONTWRITEBYTECODE="1")
    env.pop("LOSSCLI_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            **kwargs)  # type: ignore[call-overload]


def stalled_batch(root: Path) -> list[str]:
    """A batch whose last input is a FIFO nobody writes to: the run has begun its --out
    (a temporary file beside old.jsonl) and then waits on the FIFO until it is stopped."""
    (root / "ok.json").write_text(json.dumps(OK))
    os.mkfifo(root / "slow.json")
    (root / "old.jsonl").write_text("old contents\n")
    return ["batch", "triplet", "ok.json", "slow.json", "--out", "old.jsonl", "--force"]


def wait_for_temporary(root: Path, proc: subprocess.Popen) -> None:
    """Until the run holds its --out's temporary file: a named one beside it, or (O_TMPFILE)
    an unnamed one in its directory, which /proc shows as `DIR/#INODE (deleted)`."""
    deadline = time.monotonic() + 60
    while not list(root.glob(".old.jsonl.*.tmp")) and not holds_unnamed(proc.pid, root):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no temporary file appeared"
        time.sleep(0.02)


def holds_unnamed(pid: int, root: Path) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(f"{root}/#") and target.endswith(" (deleted)"):
            return True
    return False


def left_behind(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGTERM", "SIGHUP"])
def test_a_signalled_batch_removes_its_temporary_file(signum: int, code: int,
                                                      tmp_path: Path) -> None:
    proc = start(stalled_batch(tmp_path), tmp_path)
    wait_for_temporary(tmp_path, proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert proc.returncode == code, err
    assert err.decode().splitlines() == [
        f"error: interrupted ({name}); --out old.jsonl left unchanged"]
    assert out == b""
    assert left_behind(tmp_path) == []
    assert (tmp_path / "old.jsonl").read_text() == "old contents\n"


def test_workers_signalled_with_the_group_say_nothing(tmp_path: Path) -> None:
    """`timeout` signals the whole process group, --jobs workers included: only the main
    process speaks, once."""
    args = stalled_batch(tmp_path)
    (tmp_path / "ok2.json").write_text(json.dumps(OK))
    args[3:3] = ["ok2.json"]
    proc = start([*args, "--jobs", "2"], tmp_path, start_new_session=True)
    wait_for_temporary(tmp_path, proc)
    time.sleep(1.0)  # the workers spawned and busy or idle, the main process on the FIFO
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.decode().splitlines() == [
        "error: interrupted (SIGTERM); --out old.jsonl left unchanged"]
    assert left_behind(tmp_path) == []
    assert (tmp_path / "old.jsonl").read_text() == "old contents\n"


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(c) for c in fh.read().split()]


@pytest.mark.parametrize("attempt", range(3))
def test_ctrl_c_while_the_workers_start_says_one_line(tmp_path: Path, attempt: int) -> None:
    """Ctrl-C at a terminal signals the whole group while the --jobs workers are still
    importing: they never take it (QA15: their KeyboardInterrupt tracebacks and "Fatal
    Python error" lines reached stderr, and a run once hung); the main process stops the
    run, says so once and leaves no worker behind."""
    rng = np.random.default_rng(attempt)
    names = [f"s{i}.npy" for i in range(4)]
    for name in names:  # seconds of work each, interpreted (LOSSCLI_JIT=never)
        np.save(tmp_path / name, rng.normal(size=(4000, 5, 8)))
    (tmp_path / "old.jsonl").write_text("old contents\n")
    proc = start(["batch", "triplet", *names, "--out", "old.jsonl", "--force", "--jobs", "2"],
                 tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (workers := children(proc.pid)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no worker started"
            time.sleep(0.005)
        time.sleep(0.05 * attempt)  # a worker at the start of its imports, or further on
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:  # a failed wait leaves no run behind
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert err.decode().splitlines() == [
        "error: interrupted; --out old.jsonl left unchanged"]
    for worker in workers:
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{worker}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{worker}")
    assert left_behind(tmp_path) == []


@pytest.mark.parametrize("argv", [
    ["compute", "triplet", "-", "--out", "r.json"],
    ["stats", "triplet", "-", "--out", "r.jsonl"],
    ["sweep", "infonce", "-", "--param", "temperature", "--from", "0.1", "--to", "1",
     "--out", "r.jsonl"],
], ids=["compute", "stats", "sweep"])
def test_sigterm_stops_every_command_with_the_message(argv: list[str],
                                                      tmp_path: Path) -> None:
    proc = start(argv, tmp_path, stdin=subprocess.PIPE)
    wait_until_reading_stdin(proc.pid, 60)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert out == b""
    assert err.decode().splitlines() == ["error: interrupted (SIGTERM)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_signal_ignored_by_the_caller_stays_ignored(tmp_path: Path) -> None:
    """`nohup losscli ...` ignores SIGHUP: the run goes on and finishes its --out."""
    args = stalled_batch(tmp_path)
    proc = start(args, tmp_path,
                 preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    wait_for_temporary(tmp_path, proc)
    proc.send_signal(signal.SIGHUP)
    with open(tmp_path / "slow.json", "w") as fifo:
        fifo.write(json.dumps(OK))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len((tmp_path / "old.jsonl").read_text().splitlines()) == 2


def test_importing_the_library_leaves_signals_alone() -> None:
    """The handler is the script's (cli.main), not the library's: a notebook that imports
    losscli and evaluates keeps its own SIGTERM handling."""
    code = ("import signal, losscli\n"
            "from losscli.cli import run\n"
            "run(['losses', '-f', 'json'])\n"
            "print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,"
            " signal.getsignal(signal.SIGHUP) == signal.SIG_DFL)")
    env = dict(os.environ, LOSSCLI_JIT="never")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "True True"


def test_a_stop_before_the_output_is_guarded_still_removes_its_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signal between the temporary file's creation and the try-block that discards it
    (the batch writer being set up): the CLI removes what the run left, as the wait for a
    slow input in the tests above sometimes signalled just there."""
    import contextlib
    import io

    from losscli.cli import batch as batch_command
    from losscli.cli import run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOSSCLI_JIT", "never")
    (tmp_path / "ok.json").write_text(json.dumps(OK))
    (tmp_path / "old.jsonl").write_text("old contents\n")

    def stopped(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as the signal handler raises Terminated

    monkeypatch.setattr(batch_command._Writer, "__init__", stopped)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = run(["batch", "triplet", "ok.json", "--out", "old.jsonl", "--force"])
    assert code == 130
    assert err.getvalue().splitlines() == ["error: interrupted; --out old.jsonl left unchanged"]
    assert left_behind(tmp_path) == []
    assert (tmp_path / "old.jsonl").read_text() == "old contents\n"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_once_the_output_is_whole_keeps_the_runs_exit_code(signum: int,
                                                                   tmp_path: Path) -> None:
    """QA9 L3: after the run, the teardown where worker processes ran (sys.exit: 0.1-0.3 s)
    was killed by the default action, exit 143, though --out was written whole. Here a
    finaliser of that teardown (multiprocessing imported, as --jobs does) signals it."""
    code = ("import atexit, multiprocessing, os, signal, sys, time\n"
            f"atexit.register(lambda: (os.kill(os.getpid(), {int(signum)}), time.sleep(5)))\n"
            "sys.argv = ['losscli', 'explain', 'triplet', '-f', 'json', '--out', 'e.json']\n"
            "from losscli.cli import main\n"
            "main()\n")
    env = dict(os.environ, LOSSCLI_JIT="never")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json.loads((tmp_path / "e.json").read_text())["name"] == "triplet"


def test_a_signal_while_the_temporary_file_is_made_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temporary file's name is registered before the file exists: a signal that lands
    as it is created (the suite under load once left `.old.jsonl.*.tmp` behind: mkstemp
    names its file only once made) is still cleaned up."""
    from losscli.render import atomic_file

    real = atomic_file.open_exclusive
    monkeypatch.setattr(atomic_file, "UNNAMED", False)  # where the name is made first

    def created_then_interrupted(path: str) -> int:
        os.close(real(path))
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_file, "open_exclusive", created_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_file.AtomicFile(str(tmp_path / "r.json"))
    atomic_file.discard_unfinished()
    atomic_file.forget()
    assert list(tmp_path.iterdir()) == []


def test_a_teardown_that_hangs_does_not_keep_a_finished_run_alive(tmp_path: Path) -> None:
    """Where worker processes ran (multiprocessing imported), the interpreter's exit hooks
    run; one that never returns (a pool's manager thread left waiting by a Ctrl-C: QA16)
    ended the run only when killed. The run's own exit code, within seconds."""
    script = ("import atexit, sys, time, multiprocessing\n"
              "atexit.register(time.sleep, 120)\n"
              "from losscli.cli import main\n"
              "sys.argv = ['losscli', 'losses', '-f', 'json']\n"
              "main()\n")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["schema"] == 1
    assert time.monotonic() - started < 30


def test_the_teardown_limit_spares_a_caller_that_goes_on(tmp_path: Path) -> None:
    """A program (a test) that runs main and catches its SystemExit goes on past the
    teardown's limit: only the interpreter's own exit is cut short."""
    script = ("import sys, time, multiprocessing\n"
              "from losscli.cli import main\n"
              "import losscli.cli as cli\n"
              "cli.TEARDOWN_SECONDS = 0.2\n"
              "sys.argv = ['losscli', 'losses', '-f', 'json']\n"
              "try:\n"
              "    main()\n"
              "except SystemExit:\n"
              "    pass\n"
              "time.sleep(1.0)\n"
              "sys.stderr.write('still here')\n"
              "sys.exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          timeout=60)
    assert proc.returncode == 3 and proc.stderr.decode().endswith("still here")
