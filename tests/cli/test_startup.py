"""A small run imports neither numba nor pydantic; option values still convert and fail
like options (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.cli import run

SEED = str(Path(__file__).resolve().parents[2] / "samples" / "seed-example-1.json")


def test_small_compute_imports_neither_numba_nor_pydantic():
    code = ("import sys; from losscli.cli import run; "
            f"rc = run(['compute', 'infonce', {SEED!r}, '-f', 'json', '-t', '0.5', "
            "'--similarity', 'cosine']); "
            "print(rc, *(m in sys.modules for m in "
            "('numba', 'pydantic', 'zipfile', 'losscli.cli.batch', 'losscli.cli.sweep')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    # Nor zipfile (only .npz needs it) nor the other commands' modules.
    assert done.stdout.strip().splitlines()[-1] == "0 False False False False False", \
        done.stderr


@pytest.mark.parametrize("argv", [
    ["compute", "infonce", SEED, "-t", "abc"],
    ["compute", "softmax-ce", SEED, "--ignore-index", "2.5"],
    ["batch", "infonce", SEED, "--jobs", "two"],
    ["batch", "infonce", SEED, "--jobs", "0"],
    ["batch", "infonce", SEED, "--dtype", "float16"],
])
def test_bad_option_values_are_usage_errors(capsys, argv):
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_option_values_convert(capsys):
    assert run(["batch", "triplet", SEED, "--margin", "2", "--swap", "--chunk", "1",
                "-f", "jsonl"]) == 0
    assert '"margin": 2.0' in capsys.readouterr().out


def test_openblas_idle_threads_sleep_at_once_unless_the_user_chose():
    code = "import losscli, os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "4"
    env["OPENBLAS_THREAD_TIMEOUT"] = "12"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "12"
