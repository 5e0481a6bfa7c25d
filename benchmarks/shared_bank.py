"""`compute` over a shared bank of negatives: the explicit-negatives losses' breakdown of
B x K terms from O((B + K) D) of input (MoCo's queue), wall time and the child's own peak RSS
per loss and `--terms` mode, beside another version of losscli in the same run.

    python benchmarks/shared_bank.py                                  # B = K = 8,192, D = 64
    python benchmarks/shared_bank.py --baseline /path/to/old/checkout --terms none,top
    python benchmarks/shared_bank.py --losses infonce,triplet --batch 4096 --bank 65536

Each command runs in a fresh process (`python -m losscli compute ...` with the peak-RSS
wrapper of _common), round-robin over the versions, `--runs` times; medians. A version that
refuses the input (exit 4: a breakdown too large to hold) says so in its cells.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, median, run_losscli, table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOSSES = ("infonce", "triplet", "quadruplet", "contrastive", "margin", "npair", "dcl",
          "hard-infonce", "circle", "multi-similarity", "lifted-structure", "supcon")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--bank", type=int, default=8192)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--losses", default=",".join(LOSSES))
    parser.add_argument("--terms", default="none", help="comma-separated --terms modes")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="the root of another checkout, run beside this one")
    args = parser.parse_args()
    print(f"machine: {machine()}; {load()}")
    work = Path(tempfile.mkdtemp(prefix="losscli-shared-bank-"))
    rng = np.random.default_rng(0)
    B, K, D = args.batch, args.bank, args.dim
    for role, rows in (("anchor", B), ("positive", B), ("negatives", K), ("negatives2", K)):
        x = rng.standard_normal((rows, D)).astype(args.dtype) / np.sqrt(D)
        np.save(work / f"{role}.npy", x.astype(args.dtype))
    inputs = sum((work / f"{r}.npy").stat().st_size for r in ("anchor", "positive", "negatives"))
    trees = {"this": ROOT} | ({"baseline": args.baseline} if args.baseline else {})
    rows = []
    for loss in args.losses.split(","):
        for terms in args.terms.split(","):
            argv = ["compute", loss, "--anchor", str(work / "anchor.npy"), "--positive",
                    str(work / "positive.npy"), "--negatives", str(work / "negatives.npy"),
                    "--negatives-layout", "shared", "--terms", terms, "--format", "json"]
            if loss == "quadruplet":
                argv += ["--negatives2", str(work / "negatives2.npy")]
            seconds: dict[str, list[float]] = {name: [] for name in trees}
            peaks: dict[str, list[int | None]] = {name: [] for name in trees}
            values: dict[str, float | str] = {}
            for _ in range(args.runs):
                for name, tree in trees.items():
                    elapsed, peak, out = run_losscli(argv, tree)
                    seconds[name].append(elapsed)
                    peaks[name].append(peak)
                    values[name] = json.loads(out)["value"] if peak is not None else out
            cells = [loss, terms]
            for name in trees:
                if None in peaks[name]:
                    cells += [str(values[name]), "-"]
                else:
                    cells += [f"{median(seconds[name]):.2f}",
                              f"{max(peaks[name]) / 2**20:.0f}"]
            if args.baseline:
                same = values["this"] == values["baseline"]
                cells.append("same" if same else f"{values['this']!r} / {values['baseline']!r}")
            rows.append(cells)
            print(f"done: {loss} --terms {terms}", flush=True)
    header = ["loss", "--terms", "s", "peak MiB"]
    if args.baseline:
        header += ["baseline s", "baseline peak MiB", "value (this / baseline)"]
    print(f"\n## compute over a shared bank: B = {B}, K = {K}, D = {D}, {args.dtype}, "
          f"inputs {inputs / 2**20:.0f} MiB; medians of {args.runs} run(s) ({load()})\n")
    print(table(header, rows))
    print("\ntarget: peak RSS within ~0.5 GB of the inputs whatever B x K (issue 11: memory "
          "does not grow with B x T)")


if __name__ == "__main__":
    main()
