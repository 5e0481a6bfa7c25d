"""What a run imports and how it ends: `--help`, a loss's help, `losses` and `explain` import
neither numpy nor numba; a small compute neither numba nor pydantic (nor the other commands'
modules); OpenBLAS's idle threads sleep at once; `main` skips the interpreter's teardown only
when no worker process ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from losscli.losses import LOSSES
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


# The commands that read only the registry, which a person runs to look something up: each
# must start without numpy (~60 ms of imports, with the kernels' modules it pulls in) and
# without numba. A loss's help once imported numpy to hide --emulate, and `losses` and
# `explain` (JSON, the default in a pipe) by writing through compute's render/jsonout.
REGISTRY_ONLY = [
    ["--help"], ["compute", "--help"], ["explain", "--help"], ["losses", "--help"],
    ["losses"], ["losses", "-f", "json"], ["losses", "-f", "jsonl"], ["losses", "-f", "csv"],
    ["losses", "-f", "table"], ["explain", "triplet", "-f", "table"],
    ["explain", "clip", "--batch-size", "8"],  # with reference values
    *(["compute", loss, "--help"] for loss in LOSSES),
    *([command, "infonce", "--help"] for command in ("batch", "sweep", "stats", "compare")),
    *(["explain", loss] for loss in LOSSES),
]


def _modules_after(args: list[str], cwd: str | None = None) -> tuple[int, list[str]]:
    """`losscli args` in a fresh interpreter: its exit code, and which of numpy and numba
    it imported (sys.modules once the run is done)."""
    code = ("import json, sys; from losscli.cli import run; rc = run(sys.argv[1:]); "
            "print(); print(json.dumps([rc, [m for m in ('numpy', 'numba') "
            "if m in sys.modules]]))")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "LOSSCLI_JIT": "auto"}, timeout=60)
    assert done.stdout, done.stderr
    rc, imported = json.loads(done.stdout.splitlines()[-1])
    return rc, imported


@pytest.mark.parametrize("args", REGISTRY_ONLY, ids=" ".join)
def test_registry_only_commands_import_neither_numpy_nor_numba(args):
    assert _modules_after(args) == (0, [])


def test_losses_written_to_a_file_import_neither_numpy_nor_numba(tmp_path):
    for args in (["losses", "-f", "table", "-o", "losses.txt"],
                 ["explain", "triplet", "-o", "triplet.json"]):
        assert _modules_after(args, cwd=str(tmp_path)) == (0, []), args
    assert (tmp_path / "losses.txt").stat().st_size and (tmp_path / "triplet.json").stat().st_size

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
