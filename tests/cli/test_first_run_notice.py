"""The first compiled run says so, on a terminal only (issue 12.15): one `note:` line on
stderr when numba really compiles (an empty cache), none when it loads the kernels from its
cache, none when stderr is not a terminal or with --quiet; and batch's progress bar shows the
number of inputs when it is known. stderr is a pseudo-terminal (pty), as a person's is."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NOTICE = "note: compiling losscli's numba kernels"


def on_terminal(args: list[str], env: dict, stdin: bytes | None = None) -> tuple[int, str]:
    """Run losscli with stderr on a pty; (exit code, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "losscli", *args], cwd=SAMPLES, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    proc.stdin.write(stdin or b"")
    proc.stdin.close()
    shown = []
    while select.select([master], [], [], 120)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        shown.append(data)
    proc.stdout.read()
    os.close(master)
    return proc.wait(timeout=120), b"".join(shown).decode(errors="replace")


def env_for(cache: Path, jit: str = "always") -> dict:
    return dict(os.environ, LOSSCLI_JIT=jit, NUMBA_CACHE_DIR=str(cache))


@pytest.mark.parametrize("command", [["compute", "triplet", "ex.json", "-f", "json"],
                                     ["batch", "triplet", "batch.npz", "-f", "jsonl"]])
def test_a_compiling_run_says_so_once_and_a_cached_one_does_not(command: list[str],
                                                                tmp_path: Path) -> None:
    code, first = on_terminal(command, env_for(tmp_path / "cache"))
    assert code == 0, first
    assert first.count(NOTICE) == 1, first
    assert "about 1 to 4 s" in first and "cache" in first
    code, second = on_terminal(command, env_for(tmp_path / "cache"))
    assert code == 0 and NOTICE not in second, second


def test_no_notice_off_a_terminal_or_quiet(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "losscli", "compute", "triplet", "ex.json", "-f", "json"]
    piped = subprocess.run(argv, cwd=SAMPLES, env=env_for(tmp_path / "a"), capture_output=True,
                           text=True, timeout=120)
    assert piped.returncode == 0 and piped.stderr == ""
    code, quiet = on_terminal(["compute", "triplet", "ex.json", "-f", "json", "-q"],
                              env_for(tmp_path / "b"))
    assert code == 0 and NOTICE not in quiet


def test_an_interpreted_run_compiles_nothing_and_says_nothing(tmp_path: Path) -> None:
    code, shown = on_terminal(["compute", "triplet", "ex.json", "-f", "json"],
                              env_for(tmp_path / "c", "never"))
    assert code == 0 and NOTICE not in shown


def test_the_progress_bar_counts_the_inputs(tmp_path: Path) -> None:
    code, shown = on_terminal(["batch", "triplet", "batch.npz", "ex.json", "batch.json", "-f",
                               "jsonl"], env_for(tmp_path / "d", "never"))
    assert code == 0
    assert "3/3" in shown, shown
    code, lines = on_terminal(["batch", "triplet", "-", "-f", "jsonl"],
                              env_for(tmp_path / "e", "never"),
                              stdin=(SAMPLES / "triplets.jsonl").read_bytes())
    assert code == 0 and "/1 " not in lines  # a JSON Lines stream's count is not known
