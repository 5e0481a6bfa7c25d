"""End-to-end CLI cost: wall time on the seed example against the bare imports, and `batch`
over a large per-anchor .npy against a plain sequential read of the same file.

    python benchmarks/cli_wall.py                 # both parts, 8 GB file
    python benchmarks/cli_wall.py --part startup --runs 30
    python benchmarks/cli_wall.py --part stream --size-gb 2

Each figure is the median of interleaved runs (round-robin, so drifts of the machine hit
every command alike). Peak RSS is the child's own high-water mark (VmHWM, via a wrapper that
reads /proc/self/status at exit; ru_maxrss would include the parent's pages at fork).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PEAK, load, machine, median, table, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "samples" / "seed-example-1.json"

READ = r"""
import os, sys
buf = bytearray(8 << 20)
view = memoryview(buf)
total = 0
with open(sys.argv[1], "rb", buffering=0) as fh:
    while True:
        n = fh.readinto(view)
        if not n:
            break
        total += n
print(total)
"""


def startup(runs: int) -> None:
    py = sys.executable
    commands = {
        "python -c 'import numpy, typer, rich'": [py, "-c", "import numpy, typer, rich"],
        "losscli compute infonce seed-example-1.json (table)": [
            py, "-m", "losscli", "compute", "infonce", str(SEED), "--format", "table"],
        "losscli compute infonce seed-example-1.json (json)": [
            py, "-m", "losscli", "compute", "infonce", str(SEED), "--format", "json"],
        "losscli batch infonce seed-example-1.json": [
            py, "-m", "losscli", "batch", "infonce", str(SEED)],
        "python -c 'import numpy, numba, typer, rich'": [
            py, "-c", "import numpy, numba, typer, rich"],
    }
    for argv in commands.values():  # warm the page cache and numba's cache
        timed(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(timed(argv)[0])
    base = median(times["python -c 'import numpy, typer, rich'"])
    rows = [[name, f"{median(t) * 1e3:.0f}", f"{min(t) * 1e3:.0f}", f"{median(t) / base:.2f}"]
            for name, t in times.items()]
    print(f"\n## Start-up: median of {runs} interleaved runs ({load()})\n")
    print(table(["command", "median ms", "min ms", "x imports"], rows))
    print("\ntarget: compute on the seed example <= 1.5x the bare imports")


def make_file(path: Path, size_gb: float, K: int = 64, D: int = 256) -> tuple[int, int, int]:
    """Per-anchor negatives (B, K, D) float32 of about size_gb, plus anchor and positive."""
    import numpy as np

    B = max(16, int(size_gb * 1e9 / (K * D * 4)))
    if path.exists() and np.load(path, mmap_mode="r").shape == (B, K, D):
        return B, K, D
    rng = np.random.default_rng(0)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(B, K, D))
    step = max(1, (256 << 20) // (K * D * 4))
    for start in range(0, B, step):
        stop = min(B, start + step)
        block = rng.standard_normal((stop - start, K, D), dtype=np.float32)
        block *= 1 / np.sqrt(D)
        out[start:stop] = block
    out.flush()
    del out
    for role in ("anchor", "positive"):
        x = rng.standard_normal((B, D), dtype=np.float32) * (1 / np.sqrt(D))
        np.save(path.parent / f"{role}.npy", x)
    return B, K, D


def drop_caches() -> bool:
    """Empty the page cache (root on Linux), so that reads come from the disk."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def stream(size_gb: float, runs: int, directory: str | None, cold: bool = False) -> None:
    workdir = Path(directory or tempfile.gettempdir()) / "losscli-bench"
    workdir.mkdir(parents=True, exist_ok=True)
    negatives = workdir / "negatives.npy"
    print(f"\nwriting {negatives} ({size_gb:g} GB) ...", flush=True)
    B, K, D = make_file(negatives, size_gb)
    total_bytes = sum((workdir / f).stat().st_size for f in
                      ("anchor.npy", "positive.npy", "negatives.npy"))
    py = sys.executable
    batch = [py, "-c", PEAK, "-m", "losscli", "batch", "infonce",
             "--anchor", str(workdir / "anchor.npy"), "--positive", str(workdir / "positive.npy"),
             "--negatives", str(negatives), "--quiet", "--format", "jsonl"]
    commands = {
        "plain sequential read (python readinto, 8 MiB)": [py, "-c", READ, str(negatives)],
        "losscli batch infonce (float32, per-anchor K=64 D=256)": batch,
        "losscli batch --dtype float32": [*batch, "--dtype", "float32"],
    }
    timed([py, "-c", READ, str(negatives)])  # page cache: both read from memory alike
    timed(batch)
    times: dict[str, list[float]] = {name: [] for name in commands}
    inside: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[int]] = {name: [] for name in commands}
    if cold and not drop_caches():
        print("cannot drop the page cache (needs root on Linux): measuring warm")
        cold = False
    for _ in range(runs):
        for name, argv in commands.items():
            if cold:
                drop_caches()
            elapsed, out, err = timed(argv)
            times[name].append(elapsed)
            for line in err.splitlines():
                if line.startswith("peak-rss "):
                    peaks[name].append(int(line.split()[1]))
            if "batch" in name:
                record = json.loads(out.splitlines()[-1])
                assert record["error"] is None and record["n"] == B, record
                inside[name].append(record["seconds"])
    base = median(times["plain sequential read (python readinto, 8 MiB)"])
    rows = []
    for name, t in times.items():
        peak = f"{max(peaks[name]) / 2**20:.0f}" if peaks[name] else "-"
        own = median(inside[name]) if inside[name] else None
        rows.append([name, f"{median(t):.2f}", f"{total_bytes / median(t) / 1e9:.1f}",
                     peak, f"{median(t) / base:.2f}",
                     f"{own:.2f} ({own / base:.2f}x)" if own else "-"])
    where = "from the disk (page cache dropped before each run)" if cold else \
        "from the page cache"
    print(f"\n## batch over a {total_bytes / 1e9:.1f} GB per-anchor input (B={B}, K={K}, D={D},"
          f" float32), {where}, median of {runs} interleaved runs ({load()})\n")
    print(table(["command", "seconds", "GB/s", "peak RSS MiB", "x read",
                 "evaluation alone s (x read)"], rows))
    print("\ntargets: peak RSS < 1 GB; batch <= 1.3x the plain read of the same file")
    print(f"(the read covers negatives.npy only, {negatives.stat().st_size / 1e9:.2f} GB; "
          "batch also reads anchor and positive)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "startup", "stream"), default="all")
    parser.add_argument("--runs", type=int, default=21, help="start-up runs per command")
    parser.add_argument("--stream-runs", type=int, default=3)
    parser.add_argument("--size-gb", type=float, default=8.0)
    parser.add_argument("--dir", default=None, help="where the large file goes [tmp]")
    parser.add_argument("--cold", action="store_true",
                        help="also measure from the disk: drop the page cache before each "
                        "run (root only)")
    args = parser.parse_args()
    print(f"machine: {machine()}; {load()}")
    print("env: " + ", ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                              if k.startswith(("OPENBLAS_", "NUMBA_", "OMP_", "PYTHONDONTWRITE"))))
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # a source tree then has no .pyc: every run compiles losscli's modules (2.1x the bare
        # imports on the seed example where the installed package, byte-compiled by pip,
        # took 1.43x; docs/benchmarks.md)
        print("note: PYTHONDONTWRITEBYTECODE is set: time an installed package, or unset it")
    if args.part in ("all", "startup"):
        startup(args.runs)
    if args.part in ("all", "stream"):
        stream(args.size_gb, args.stream_runs, args.dir)
        if args.cold:
            stream(args.size_gb, args.stream_runs, args.dir, cold=True)


if __name__ == "__main__":
    main()
