"""Dask is an optional extra: the core never imports it, and --scheduler without it says
how to install it (one line, exit 2). Runs whether or not the extra is installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=SAMPLES)


def test_help_and_a_local_batch_leave_dask_out():
    code = ("import sys, contextlib, io; from losscli.cli import run\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    a = run(['--help']); b = run(['batch', '--help'])\n"
            "    c = run(['batch', 'infonce', 'batch.npz', 'infonce-stack.npy', '-f', 'jsonl'])\n"
            "    d = run(['batch', 'triplet', 'batch.npz', '--jobs', '2', '-f', 'jsonl'])\n"
            "print(a, b, c, d, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')))")
    done = _python(code)
    assert done.stdout.strip().splitlines()[-1] == "0 0 0 0 []", done.stderr


def test_scheduler_without_the_extra_says_how_to_install_it():
    # None in sys.modules makes `import distributed` fail as if it were not installed.
    code = ("import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None\n"
            "from losscli.cli import run\n"
            "print(run(['batch', 'infonce', 'batch.npz', '--scheduler', 'local']))")
    done = _python(code)
    assert done.stdout.strip() == "2", done.stderr
    assert done.stderr == ("error: --scheduler needs Dask, which is not installed; "
                           "pip install 'losscli[dask]'\n")
