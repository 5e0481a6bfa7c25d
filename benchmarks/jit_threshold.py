"""Where compiling starts to pay: `losscli compute infonce` wall time per input size,
interpreted (LOSSCLI_JIT=never) against compiled (LOSSCLI_JIT=always, numba cache warm),
fresh processes, interleaved, median of --runs. _jit.JIT_THRESHOLD sits near the crossing.

    python benchmarks/jit_threshold.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, median, table  # noqa: E402

SIZES = [(4, 8, 16), (16, 16, 32), (32, 32, 64), (64, 64, 64), (128, 62, 128), (256, 126, 128)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}; {load()}")
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for B, K, D in SIZES:
            path = Path(tmp) / f"x{B}.npz"
            np.savez(path, anchor=rng.standard_normal((B, D)) * 0.1,
                     positive=rng.standard_normal((B, D)) * 0.1,
                     negatives=rng.standard_normal((B, K, D)) * 0.1)
            argv = [sys.executable, "-m", "losscli", "compute", "infonce", str(path), "-f",
                    "json"]
            times: dict[str, list[float]] = {"never": [], "always": []}
            for mode in times:  # warm the page cache and numba's cache
                subprocess.run(argv, capture_output=True, env={**os.environ, "LOSSCLI_JIT": mode})
            for _ in range(args.runs):
                for mode in times:
                    start = time.perf_counter()
                    subprocess.run(argv, capture_output=True, check=True,
                                   env={**os.environ, "LOSSCLI_JIT": mode})
                    times[mode].append(time.perf_counter() - start)
            never, always = median(times["never"]), median(times["always"])
            rows.append([f"B={B} K={K} D={D}", f"{B * (K + 2) * D:,}", f"{never * 1e3:.0f}",
                         f"{always * 1e3:.0f}", "interpreted" if never < always else "compiled"])
    print(f"\n## compute infonce, median of {args.runs} fresh processes ({load()})\n")
    print(table(["input", "work (multiply-adds)", "interpreted ms", "compiled ms", "faster"],
                rows))


if __name__ == "__main__":
    main()
