"""What a run imports and how it ends: `--help`, `losses`, `explain` and a small compute import
neither numba nor pydantic (nor the other commands' modules); OpenBLAS's idle threads sleep at
once; `main` skips the interpreter's teardown only when no worker process ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import SAMPLES, SEED1

SEED = SEED1


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


def test_help_and_losses_do_not_import_numba():
    code = ("import sys; from losscli.cli import run; rc = run(sys.argv[1:]); "
            "assert 'numba' not in sys.modules, 'numba imported'; sys.exit(rc)")
    for args in (["--help"], ["compute", "--help"], ["losses", "-f", "json"],
                 ["explain", "triplet"], ["compute", "infonce", SEED1]):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              env={**os.environ, "LOSSCLI_JIT": "auto"}, timeout=60)
        assert proc.returncode == 0, (args, proc.stderr)


def test_numba_is_not_imported_by_a_small_compute():
    import subprocess
    import sys

    code = ("import sys; from losscli.cli import run; "
            "rc = run(['compute', 'clip', 'views.npz', '--format', 'json']); "
            "sys.stderr.write(f'rc={rc} numba={\"numba\" in sys.modules}')")
    out = subprocess.run([sys.executable, "-c", code], cwd=SAMPLES, capture_output=True,
                         text=True, env={**os.environ, "LOSSCLI_JIT": "auto"})
    assert out.stderr.strip().endswith("rc=0 numba=False"), out.stderr
    assert json.loads(out.stdout)["loss"] == "clip"


def test_openblas_idle_threads_sleep_at_once_unless_the_user_chose():
    code = "import losscli, os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "4"
    env["OPENBLAS_THREAD_TIMEOUT"] = "12"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "12"


def test_main_skips_teardown_only_when_no_worker_processes_ran(monkeypatch):
    """os._exit saves ~20 ms, but after --jobs or a Dask cluster multiprocessing's
    finalisers must run (the resource tracker would report leaked semaphores)."""
    import multiprocessing  # noqa: F401 - as after a --jobs or --scheduler run
    import warnings

    import losscli.cli as cli_module

    def no_fast_exit(code):
        raise AssertionError("os._exit called after multiprocessing ran")

    monkeypatch.setattr(cli_module, "run", lambda: 0)
    monkeypatch.setattr(cli_module.os, "_exit", no_fast_exit)
    with warnings.catch_warnings(), pytest.raises(SystemExit) as info:
        cli_module.main()
    assert info.value.code == 0
