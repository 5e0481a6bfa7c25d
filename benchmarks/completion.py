"""Shell completion and help: wall time of one Tab press (a fresh `losscli` process, as the
shell runs it) and of --version / --help, against a bare `python -c pass` and the imports a
run needs (numpy, typer, rich).

    python benchmarks/completion.py            # 15 interleaved rounds
    python benchmarks/completion.py --runs 30

Each figure is the median of interleaved runs (round-robin, so drifts of the machine hit
every command alike), with whether the process imported numpy (it must not: a completion
runs on every Tab).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, median, table  # noqa: E402

# Runs losscli's CLI in-process, then says on stderr whether numpy was imported.
PROBE = ("import sys\nfrom losscli.cli import run\ncode = run(sys.argv[1:])\n"
         "sys.stderr.write('numpy' + str('numpy' in sys.modules))\n")


def bash_completion(line: str) -> dict[str, str]:
    """The environment typer's bash script sets for completing the last word of `line`."""
    return {"_LOSSCLI_COMPLETE": "complete_bash", "COMP_WORDS": line,
            "COMP_CWORD": str(len(line.split(" ")) - 1)}


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env})
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(argv)}\n{done.stderr}")
    return elapsed, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    probe = [py, "-c", PROBE]
    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": ([py, "-c", "pass"], {}),
        "python -c 'import numpy, typer, rich'": ([py, "-c", "import numpy, typer, rich"], {}),
        "complete `losscli compute tri<Tab>`": (probe, bash_completion("losscli compute tri")),
        "complete `losscli compute triplet --like <Tab>`": (
            probe, bash_completion("losscli compute triplet x.json --like ")),
        "complete `losscli sweep infonce x --param <Tab>`": (
            probe, bash_completion("losscli sweep infonce x.json --param ")),
        "complete `losscli compute triplet --<Tab>`": (
            probe, bash_completion("losscli compute triplet --")),
        "losscli --version": ([*probe, "--version"], {}),
        "losscli --help": ([*probe, "--help"], {}),
        "losscli compute triplet --help": ([*probe, "compute", "triplet", "--help"], {}),
    }
    imports: dict[str, str] = {}
    for name, (argv, env) in cases.items():  # warm the page cache; which import numpy
        stderr = timed(argv, env)[1]
        imports[name] = stderr.rsplit("numpy", 1)[-1] if argv[:3] == probe else "-"
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (argv, env) in cases.items():
            times[name].append(timed(argv, env)[0])
    base = median(times["python -c 'import numpy, typer, rich'"])
    bare = median(times["python -c pass"])
    rows = [[name, f"{median(t) * 1e3:.0f}", f"{min(t) * 1e3:.0f}",
             f"{median(t) / base:.2f}", f"{(median(t) - bare) * 1e3:.0f}", imports[name]]
            for name, t in times.items()]
    print(f"\n## Completion and help: median of {args.runs} interleaved runs\n")
    print(f"{machine()}; {load()}\n")
    print(table(["command", "median ms", "min ms", "x imports", "ms over python",
                 "numpy imported"], rows))


if __name__ == "__main__":
    main()
