"""`import losscli`: its own import time (python -X importtime, cumulative microseconds of
the `losscli` package) and whether numpy was loaded, for this tree and, side by side, for
another checkout given with --against (e.g. main), over interleaved runs.

    python benchmarks/import_time.py --against /work/main
    python benchmarks/import_time.py --runs 30

The ratio is the other tree's median over this tree's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
CASES = {
    "import losscli": "import losscli, sys; print('numpy' in sys.modules)",
}


def one(tree: Path, code: str) -> tuple[float, bool]:
    """(microseconds of the losscli package's import, numpy loaded) in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd="/",
                          capture_output=True, text=True, env=env, check=True)
    # the package's own line, "import time: self | cumulative | losscli": all it imported
    total = sum(int(line.split("|")[1]) for line in done.stderr.splitlines()
                if line.rstrip().endswith("| losscli"))
    return total, done.stdout.strip() == "True"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    trees = {"this tree": HERE}
    if args.against is not None:
        trees[f"{args.against}"] = args.against
    figures: dict[tuple[str, str], list[float]] = {}
    numpy: dict[tuple[str, str], bool] = {}
    for _ in range(args.runs):  # interleaved: drifts of the machine hit every case alike
        for label, tree in trees.items():
            for case, code in CASES.items():
                us, loaded = one(tree, code)
                figures.setdefault((label, case), []).append(us)
                numpy[(label, case)] = loaded
    print(f"{'case':<20} {'tree':<28} {'median ms':>10} {'numpy':>6}")
    base = None
    for case in CASES:
        for label in trees:
            ms = statistics.median(figures[(label, case)]) / 1000
            ratio = "" if base is None or case != base[0] else f"  x{ms / base[1]:.2f}"
            print(f"{case:<20} {label:<28} {ms:>10.2f} {str(numpy[(label, case)]):>6}{ratio}")
            if label == "this tree":
                base = (case, ms)


if __name__ == "__main__":
    main()
