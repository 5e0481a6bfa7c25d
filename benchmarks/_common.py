"""Shared by the benchmark scripts: machine description, load, table printing, a command's
wall time and its own peak RSS."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs{mem}, Python {platform.python_version()}"


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    except OSError:
        return "load average unknown"


def median(values: list[float]) -> float:
    return statistics.median(values)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (pasteable into docs/benchmarks.md)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in  # noqa: E731
                                           zip(cells, widths, strict=True)) + " |"
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


# runs a command line in-process and reports its own peak RSS on stderr as the last line
PEAK = r"""
import os, runpy, sys
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
code = 0
try:
    if sys.argv[1:3] == ["-m", "losscli"]:  # losscli's main() ends with os._exit
        from losscli.cli import run
        code = run(sys.argv[3:])
    else:
        sys.argv = sys.argv[1:]
        runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
sys.stdout.flush()
sys.stderr.write(f"\npeak-rss {hwm()}\n")
sys.stderr.flush()
os._exit(code if isinstance(code, int) else 1)
"""


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, str, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(argv)}\n{done.stderr}")
    return elapsed, done.stdout, done.stderr


def run_losscli(argv: list[str], tree: Path) -> tuple[float, int | None, str]:
    """`python -m losscli ARGV` from the checkout `tree` in a fresh process: (wall seconds,
    peak RSS bytes, stdout), or the exit code's note as stdout on a failure (peak None)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, "-m", "losscli", *argv],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    elapsed = time.perf_counter() - start
    peak = next((int(line.split()[1]) for line in done.stderr.splitlines()
                 if line.startswith("peak-rss ")), None)
    if done.returncode != 0:
        return elapsed, None, f"exit {done.returncode}"
    return elapsed, peak, done.stdout
