"""compute --png's similarity map at large B: time and peak memory of the tiled block means,
beside the size of the B x B matrix it never holds.

    python benchmarks/similarity_map.py [B ...]      (default: 4096 32768)

Prints, for each B (paired batch, D = 32): the grid, the seconds, the peak of numpy's
allocations (tracemalloc) and the ratio of the B x B float64 matrix to that peak.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

from losscli.losses.similarity_map import similarity_map
from losscli.model import Inputs


def main(sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    print(f"{'B':>7} {'grid':>9} {'seconds':>8} {'peak MiB':>9} {'B x B MiB':>10} {'ratio':>7}")
    for B in sizes:
        inputs = Inputs({"anchor": rng.normal(size=(B, 32)), "positive": rng.normal(size=(B, 32))})
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        sim = similarity_map(inputs, True, B - 1)
        seconds = time.perf_counter() - started
        peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
        tracemalloc.stop()
        full = B * B * 8 / 2**20
        grid = f"{sim.grid.shape[0]}x{sim.grid.shape[1]}"
        print(f"{B:>7} {grid:>9} {seconds:>8.2f} {peak:>9.1f} {full:>10.0f} {full / peak:>7.0f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [4096, 32768])
