"""How long the first compiled run waits for numba: `losscli compute LOSS` with
LOSSCLI_JIT=always, first with an empty numba cache (every kernel compiled), then again with
that cache (loaded), for every loss of the registry; the difference is the compile time the
CLI's notice ("about N s") states (cli/_output.py: COMPILE_SECONDS).

    python benchmarks/compile_time.py [--losses infonce triplet ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, median, table  # noqa: E402

from losscli.losses import LOSSES  # noqa: E402

B, K, P, D, C = 8, 4, 2, 16, 5
SCORES = {"margin-ranking": ("x1", "x2"), "hinge-embedding": ("x1",)}
STACKED = ("infonce", "contrastive", "triplet", "quadruplet", "lifted-structure")


def inputs(loss: str, rng: np.random.Generator) -> dict:
    """A small valid input for every role the loss needs (roles by the registry)."""
    shapes = {"anchor": (B, D), "positive": (B, D), "negatives": (B, K, D),
              "negatives2": (B, K, D), "positives": (B, P, D), "logits": (B, C),
              "x1": (B, D), "x2": (B, D)}
    spec = LOSSES[loss]
    out = {}
    for role in spec.required:
        if role == "target":
            out[role] = rng.integers(0, C, size=B).tolist()
        elif role == "label":
            out[role] = rng.choice([-1.0, 1.0], size=B).tolist()
        else:
            out[role] = rng.standard_normal(shapes[role]).tolist()
    for role in SCORES.get(loss, ()):  # these take one number per pair, not vectors
        out[role] = rng.standard_normal(B).tolist()
    return out


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: {proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--losses", nargs="*", default=list(LOSSES))
    args = parser.parse_args()
    print(f"machine: {machine()}; {load()}")
    rng = np.random.default_rng(0)
    rows, compiles = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for loss in args.losses:
            path = Path(tmp) / f"{loss}.json"
            path.write_text(json.dumps(inputs(loss, rng)))
            cache = Path(tmp) / f"cache-{loss}"
            env = dict(os.environ, LOSSCLI_JIT="always", NUMBA_CACHE_DIR=str(cache))
            argv = [sys.executable, "-m", "losscli", "compute", loss, str(path), "-f", "json"]
            cold = timed(argv, env)
            warm = median([timed(argv, env) for _ in range(3)])
            compiles.append(cold - warm)
            rows.append([loss, f"{cold:.2f}", f"{warm:.2f}", f"{cold - warm:.2f}",
                         f"{cold / warm:.1f}x"])
        print(table(["compute LOSS (small input)", "first run, s (compiles)", "cached run, s",
                     "compile, s", "ratio"], rows))
        print(f"compile time over {len(compiles)} losses: median {median(compiles):.1f} s, "
              f"min {min(compiles):.1f} s, max {max(compiles):.1f} s")
        rows, batch = [], []
        big = Path(tmp) / "stack.npy"  # parallel kernels: the work is above PARALLEL_THRESHOLD
        np.save(big, rng.standard_normal((8192, 2 + 8, 64)).astype(np.float32))
        for loss in [name for name in args.losses if name in STACKED]:
            cache = Path(tmp) / f"batch-cache-{loss}"
            env = dict(os.environ, LOSSCLI_JIT="auto", NUMBA_CACHE_DIR=str(cache))
            argv = [sys.executable, "-m", "losscli", "batch", loss, str(big), "-f", "jsonl"]
            cold = timed(argv, env)
            warm = median([timed(argv, env) for _ in range(3)])
            batch.append(cold - warm)
            rows.append([loss, f"{cold:.2f}", f"{warm:.2f}", f"{cold - warm:.2f}",
                         f"{cold / warm:.1f}x"])
        if rows:
            print(table(["batch LOSS (8192 x 10 x 64 stack)", "first run, s (compiles)",
                         "cached run, s", "compile, s", "ratio"], rows))
            print(f"batch compile time: median {median(batch):.1f} s, min {min(batch):.1f} s, "
                  f"max {max(batch):.1f} s")


if __name__ == "__main__":
    main()
