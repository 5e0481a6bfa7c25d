"""`losscli batch` on a Dask LocalCluster against local `batch --jobs N`, in the same run.

    python benchmarks/dask_batch.py                        # 64 shards x 64 MiB (4 GiB)
    python benchmarks/dask_batch.py --shards 16 --shard-mb 16 --rounds 5    # scaled down
    python benchmarks/dask_batch.py --dir /big/disk --keep  # reuse shards on a later run

Shards are per-anchor InfoNCE .npz files (anchor (B, D), positive (B, D), negatives
(B, K, D), float32, K = 64, D = 128). Both sides run the real command line in a child
process, writing JSON Lines to /dev/null:

    losscli batch infonce DIR --jobs N                       (local: its process pool)
    losscli batch infonce DIR --scheduler tcp://127.0.0.1:P  (a LocalCluster of N worker
                                                              processes x 1 thread, started
                                                              once by this script)

so the cluster's start-up (processes, and the workers' numba warm-up on the first run) is
outside the Dask figures and reported on its own line; each Dask run still pays its own
client connection and scheduling. `--scheduler local` (start-up included) is a third row.
Rounds are interleaved (local, Dask, local, ...), medians reported, the shards read once
beforehand so both sides read from the page cache, and the load average printed with the
figures: on a shared machine, rerun when it was busy. Shards are deleted at the end unless
--keep.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, median, table  # noqa: E402

K, D = 64, 128


def make_shards(directory: Path, count: int, shard_bytes: int) -> tuple[int, int]:
    """`count` .npz shards of about `shard_bytes` each; (B per shard, bytes in all)."""
    row = (2 + K) * D * 4
    B = max(1, shard_bytes // row)
    rng = np.random.default_rng(0)
    total = 0
    for i in range(count):
        path = directory / f"shard-{i:04d}.npz"
        if not path.exists():
            x = rng.standard_normal((B, 2 + K, D), dtype=np.float32) * 0.1
            np.savez(path, anchor=x[:, 0], positive=x[:, 1], negatives=x[:, 2:])
        total += path.stat().st_size
    return B, total


def read_all(directory: Path) -> float:
    """Seconds to read every shard once (fills the page cache; a floor for reference)."""
    started = time.perf_counter()
    buf = bytearray(8 << 20)
    view = memoryview(buf)
    for path in sorted(directory.iterdir()):
        with open(path, "rb", buffering=0) as fh:
            while fh.readinto(view):
                pass
    return time.perf_counter() - started


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--shard-mb", type=float, default=64, help="MiB per shard")
    parser.add_argument("--workers", type=int, default=2, help="N: --jobs N and N workers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the shards go [a temp dir]")
    parser.add_argument("--keep", action="store_true", help="leave the shards in --dir")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from losscli.batch.cluster import LOOPBACK_NO_DASHBOARD
    from losscli.batch.workers import THREAD_VARIABLES

    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="losscli-dask-"))
    shards = base / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    print(f"# {machine()}")
    print(f"# {load()} (before)")
    try:
        started = time.perf_counter()
        B, total = make_shards(shards, args.shards, int(args.shard_mb * 2**20))
        print(f"# {args.shards} shards of B={B}, K={K}, D={D} float32: {total / 2**30:.2f} GiB "
              f"({time.perf_counter() - started:.1f} s to make)")
        read_s = min(read_all(shards) for _ in range(2))
        losscli = [sys.executable, "-m", "losscli", "batch", "infonce", str(shards), "-q",
                   "-f", "jsonl"]  # stdout to /dev/null (timed)
        n = args.workers

        started = time.perf_counter()
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               scheduler_kwargs=LOOPBACK_NO_DASHBOARD,
                               silence_logs=logging.ERROR,
                               env={name: "1" for name in THREAD_VARIABLES})
        client = Client(cluster, set_as_default=False)
        cluster_start = time.perf_counter() - started
        try:
            address = cluster.scheduler_address
            local_s, dask_s, loads = [], [], []
            first_dask = timed(losscli + ["--scheduler", address])  # workers' warm-up
            for _ in range(args.rounds):
                local_s.append(timed(losscli + ["--jobs", str(n)]))
                dask_s.append(timed(losscli + ["--scheduler", address]))
                loads.append(os.getloadavg()[0])
        finally:
            client.close()
            cluster.close()
        own = [timed(losscli + ["--scheduler", "local", "--workers", str(n)])
               for _ in range(max(1, args.rounds // 2))]

        gb = total / 1e9
        local_m, dask_m = median(local_s), median(dask_s)

        def row(name: str, runs: list[float], base: float | None) -> list[str]:
            m = median(runs)
            return [name, f"{m:.2f}", f"{min(runs):.2f}", f"{gb / m:.2f}",
                    "-" if base is None else f"{base / m:.2f}"]

        rows = [
            row("plain sequential read (page cache, 1 thread)", [read_s], None),
            row(f"local `batch --jobs {n}`", local_s, local_m),
            row(f"Dask LocalCluster {n}x1 (`--scheduler tcp://...`)", dask_s, local_m),
            row(f"`--scheduler local --workers {n}` (start-up included)", own, local_m),
        ]
        print()
        print(table(["run", "seconds (median)", "best", "GB/s (median)",
                     "throughput vs local (medians)"], rows))
        print()
        print(f"cluster start-up (LocalCluster + client, excluded above): {cluster_start:.2f} s;"
              f" first Dask run, with the workers' numba warm-up: {first_dask:.2f} s")
        print(f"rounds: local {', '.join(f'{s:.2f}' for s in local_s)}; "
              f"Dask {', '.join(f'{s:.2f}' for s in dask_s)}; 1-min load after each round "
              f"{', '.join(f'{v:.2f}' for v in loads)}")
        ratio = local_m / dask_m
        print(f"Dask / local throughput: {ratio:.2f}x of medians, {min(local_s) / min(dask_s):.2f}x"
              f" of bests (target >= 0.80x): {'met' if ratio >= 0.8 else 'NOT met'}")
        print(f"# {load()} (after)")
    finally:
        if not args.keep:
            shutil.rmtree(shards, ignore_errors=True)
            if not args.dir:
                shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
