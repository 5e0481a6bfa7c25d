"""Every in-batch loss through `batch` (or `compute --terms top`) at one batch size: wall
time and the child's own peak RSS per loss, each against the loss that builds the same
similarity matrix the plainest way (clip for the B x B losses, ntxent-batch for the 2B x 2B
of two views), beside another version of losscli in the same run.

    python benchmarks/in_batch_losses.py                       # B = 16,384, D = 64, float32
    python benchmarks/in_batch_losses.py --batch 65536 --runs 1
    python benchmarks/in_batch_losses.py --baseline /path/to/old/checkout --runs 2
    python benchmarks/in_batch_losses.py --command compute --batch 8192 --baseline DIR

The input is one `.npz` of anchor and positive (p = a + 0.5 noise). Each command runs in a
fresh process (`python -m losscli batch ...` with the peak-RSS wrapper of _common),
round-robin over the versions, `--runs` times; medians. The ratio column is the median over
the plainest loss's median from the same version. `--command compute` runs `compute LOSS
--terms top -f json` (the default breakdown above 100,000 terms) and compares the whole
output with the baseline's, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, median, run_losscli, table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# (label, batch's arguments after the loss's name, the plainest loss over the same matrix)
CASES = (
    ("clip", ["clip"], "clip"),
    ("clip --like open-clip", ["clip", "--like", "open-clip"], "clip"),
    ("infonce --like sentence-transformers", ["infonce", "--like", "sentence-transformers"],
     "clip"),
    ("npair", ["npair"], "clip"),
    ("siglip", ["siglip"], "clip"),
    ("ntxent-batch", ["ntxent-batch"], "ntxent-batch"),
    ("ntxent-batch --like pytorch-metric-learning",
     ["ntxent-batch", "--like", "pytorch-metric-learning"], "ntxent-batch"),
    ("dcl", ["dcl"], "ntxent-batch"),
    ("dcl --weighting vmf", ["dcl", "--weighting", "vmf"], "ntxent-batch"),
    ("supcon --like supcontrast", ["supcon", "--like", "supcontrast"], "ntxent-batch"),
    ("hard-infonce", ["hard-infonce"], "ntxent-batch"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16384)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--losses", default=None,
                        help="comma-separated labels of CASES to run (default: all)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--command", choices=["batch", "compute"], default="batch",
                        help="batch (the losses' values) or compute --terms top (the "
                        "breakdown's top terms, JSON)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="the root of another checkout, run beside this one")
    args = parser.parse_args()
    print(f"machine: {machine()}; {load()}")
    labels = [c[0] for c in CASES]
    asked = labels if args.losses is None else args.losses.split(",")
    unknown = [label for label in asked if label not in labels]
    if unknown:
        parser.error(f"--losses: no case {', '.join(map(repr, unknown))}; the cases: "
                     + ", ".join(labels))
    chosen = [c for c in CASES if c[0] in asked]
    plainest = {c[2] for c in chosen}
    missing = plainest - {c[0] for c in chosen}
    chosen = [c for c in CASES if c[0] in missing] + chosen
    work = Path(tempfile.mkdtemp(prefix="losscli-in-batch-"))
    rng = np.random.default_rng(0)
    B, D = args.batch, args.dim
    a = rng.standard_normal((B, D))
    p = a + 0.5 * rng.standard_normal((B, D))
    path = work / "pairs.npz"
    np.savez(path, anchor=a.astype(args.dtype), positive=p.astype(args.dtype))
    trees = {"this": ROOT} | ({"baseline": args.baseline} if args.baseline else {})
    seconds = {(label, name): [] for label, _, _ in chosen for name in trees}
    peaks: dict[tuple[str, str], list[int | None]] = {key: [] for key in seconds}
    values: dict[tuple[str, str], float | str] = {}
    for _ in range(args.runs):
        for label, extra, _ in chosen:
            argv = ["batch", *extra, str(path), "--dtype", args.dtype, "--format", "json"]
            if args.command == "compute":
                argv = ["compute", *extra, str(path), "--terms", "top", "-f", "json", "-q"]
            for name, tree in trees.items():
                elapsed, peak, out = run_losscli(argv, tree)
                seconds[label, name].append(elapsed)
                peaks[label, name].append(peak)
                values[label, name] = out if peak is None else \
                    json.loads(out)[0]["value"] if args.command == "batch" else \
                    hashlib.sha256(out.encode()).hexdigest()[:12]
            print(f"done: {label}", flush=True)
    rows = []
    for label, _, base in chosen:
        cells = [label]
        for name in trees:
            if None in peaks[label, name]:
                cells += [str(values[label, name]), "-", "-"]
                continue
            s = median(seconds[label, name])
            ratio = s / median(seconds[base, name])
            cells += [f"{s:.1f}", f"{max(peaks[label, name]) / 2**20:.0f}",
                      f"{ratio:.2f}x {base}" if base != label else "1.00x"]
        if args.baseline:
            this, old = values[label, "this"], values[label, "baseline"]
            cells.append("same" if this == old else f"{this!r} / {old!r}")
            speedup = median(seconds[label, "baseline"]) / median(seconds[label, "this"])
            cells.append(f"{speedup:.2f}x")
        rows.append(cells)
    header = ["loss", "s", "peak MiB", "vs the same matrix's plainest"]
    if args.baseline:
        header += ["baseline s", "baseline peak MiB", "baseline vs plainest",
                   "value (this / baseline)" if args.command == "batch" else
                   "output (this / baseline)", "baseline s / this s"]
    size = path.stat().st_size / 2**20
    command = "batch" if args.command == "batch" else "compute --terms top -f json"
    print(f"\n## {command}, every in-batch loss: B = {B}, D = {D}, {args.dtype}, an .npz of "
          f"{size:.0f} MiB; medians of {args.runs} run(s) ({load()})\n")
    print(table(header, rows))


if __name__ == "__main__":
    main()
