"""A --jobs run ends without a traceback at exit: the process pool's manager thread is
finished when the results are (CPython 3.11's exit hook raced its pipe and printed
"Exception ignored in: <module 'threading'>" about once in 30 runs)."""

from __future__ import annotations

import concurrent.futures.process as pool_module
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from losscli.api import evaluate_files

SHARDS = Path(__file__).resolve().parents[2] / "samples" / "shards"


def test_the_pool_manager_has_exited_when_the_results_have() -> None:
    results = list(evaluate_files("triplet", [str(p) for p in sorted(SHARDS.glob("*.npz"))],
                                  jobs=2))
    assert len(results) >= 2 and all(r.error is None for r in results)
    alive = [t for t in list(pool_module._threads_wakeups) if t.is_alive()]
    assert alive == []


def test_jobs_runs_end_quietly(tmp_path: Path) -> None:
    env = dict(os.environ, LOSSCLI_JIT="never")
    for _ in range(6):
        proc = subprocess.run([sys.executable, "-m", "losscli", "batch", "dcl",
                               str(SHARDS / "*.npz"), "-f", "jsonl", "--jobs", "2"], env=env,
                              capture_output=True, text=True, timeout=180, cwd=tmp_path)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGHUP])
def test_workers_do_not_outlive_the_run(signum: int, tmp_path: Path) -> None:
    """QA10 F8, F9: after a SIGKILL of the run (the OOM killer, `kill -9`) its --jobs workers
    stayed forever, holding the caller's pipes; a SIGHUP to the group (a closed terminal)
    printed the resource tracker's tracebacks."""
    rng = np.random.default_rng(0)
    for n in range(2):  # interpreted (LOSSCLI_JIT=never), each keeps a worker busy for long
        np.savez(tmp_path / f"p{n}.npz", anchor=rng.normal(size=(3000, 8)),
                 positive=rng.normal(size=(3000, 8)))
    env = dict(os.environ, LOSSCLI_JIT="never")
    proc = subprocess.Popen([sys.executable, "-m", "losscli", "batch", "clip", "p0.npz",
                             "p1.npz", "--jobs", "2", "-q"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_children(proc.pid)) < 3:  # the resource tracker and two workers
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    time.sleep(1.0)  # the workers have begun their inputs
    started = _children(proc.pid)
    if signum == signal.SIGKILL:
        os.kill(proc.pid, signum)
    else:
        os.killpg(proc.pid, signum)
    _, err = proc.communicate(timeout=60)  # the pipes' ends: no child holds them any more
    deadline = time.monotonic() + 20
    while any(os.path.exists(f"/proc/{pid}") for pid in started):
        assert time.monotonic() < deadline, "workers outlived the run"
        time.sleep(0.2)
    if signum == signal.SIGHUP:
        assert proc.returncode == 129 and "Traceback" not in err.decode(), err.decode()
