"""A --jobs run ends without a traceback at exit: the process pool's manager thread is
finished when the results are (CPython 3.11's exit hook raced its pipe and printed
"Exception ignored in: <module 'threading'>" about once in 30 runs)."""

from __future__ import annotations

import concurrent.futures.process as pool_module
import os
import subprocess
import sys
from pathlib import Path

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
