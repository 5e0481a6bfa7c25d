"""The in-batch losses at training batch sizes (issue 11), figures and ratios side by side in
one run:

- part `batch`: clip and ntxent-batch on B pairs of D-dimensional float32 vectors as
  `batch --dtype float32` evaluates them (one (2B, D) float64 buffer: float32 input
  accumulates in float64 (CONTRACT.md), the GEMM's dot products too; tiles of the matrix),
  against the bare BLAS product the loss needs (A P^T for clip, Z Z^T over the 2B views for
  ntxent-batch) written tile by tile into one reused buffer (the same multiply-adds, without
  the B x B matrix), and numpy's best vectorised form (the whole matrix, log-sum-exp by rows
  and columns) and torch's (F.cross_entropy over the logits, in a process of its own:
  `--torch-python`) where B x B fits (`--numpy-max`); then the peak RSS of `losscli batch` over a
  role set of the same arrays (the child's own peak, its VmHWM) beside the inputs'
  size;
- part `compute`: `losscli compute clip` on B = 1500, D = 32 as JSON with every term, the top
  terms and `--terms none`: wall time and the child's own peak RSS; with `--baseline DIR`, the
  same runs of another version's package interleaved with these, and whether the bytes match.

    python benchmarks/in_batch.py                         # B = 32768, D = 512 (minutes)
    python benchmarks/in_batch.py --B 8192 --reps 3       # a quick look
    python benchmarks/in_batch.py --part compute
    python benchmarks/in_batch.py --part compute --reps 3 --baseline /tmp/main  # vs another
                                                    # version (git archive main | tar -x)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# As `import losscli` sets it for the CLI (it must come before numpy loads OpenBLAS): idle
# OpenBLAS workers spinning for ~0.1 s after each product slow the numba kernel that follows
# it two- to three-fold on two cores, which batch never sees.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, median, table  # noqa: E402

from losscli.losses import tiles  # noqa: E402
from losscli.losses.call import LossCall  # noqa: E402
from losscli.losses.run import run  # noqa: E402
from losscli.model import Inputs  # noqa: E402

# `python -m losscli ARGS` that writes its own peak RSS (VmHWM, KiB) to $BENCH_HWM_FILE as
# it exits. Not wait4's ru_maxrss: Linux carries the forking process's peak across exec into it,
# so a child of this (large) benchmark process would report the parent's memory.
PEAK_CHILD = """
import atexit, os, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(os.environ["BENCH_HWM_FILE"], "w") as out:
                    out.write(line.split()[1])
atexit.register(peak)
leave = os._exit  # the CLI skips the interpreter's teardown (and atexit) by os._exit
os._exit = lambda code: (peak(), leave(code))
sys.argv = ["losscli"] + sys.argv[1:]
runpy.run_module("losscli", run_name="__main__", alter_sys=True)
"""


def child(args: list[str], code: str | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of `python -m losscli ARGS` in a fresh process (the
    entry point a user runs, its own exit included; the peak its own VmHWM); `code`: a
    directory holding another version's `losscli` package to run instead (--baseline)."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([code, env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep)
    with tempfile.NamedTemporaryFile(suffix=".hwm") as hwm:
        env["BENCH_HWM_FILE"] = hwm.name
        start = time.perf_counter()
        # From the temporary directory: `python -m` puts the working directory first on
        # sys.path, before PYTHONPATH, and a checkout there would shadow --baseline's package.
        proc = subprocess.run([sys.executable, "-c", PEAK_CHILD, *args], env=env,
                              cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(proc.stderr.decode())
        return wall, int(Path(hwm.name).read_text()) / 1024


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def bare_product(Q: np.ndarray, C: np.ndarray) -> None:
    """Q C^T by the loss's tiles into one reused buffer: the BLAS floor of the loss."""
    for _ in tiles.tiles(Q, C, cosine=False):
        pass


def numpy_clip(a: np.ndarray, p: np.ndarray, t: float = 0.07) -> float:
    """numpy's vectorised CLIP: the whole matrix, row and column log-sum-exp."""
    S = (unit(a) @ unit(p).T) / t
    m_r = S.max(axis=1, keepdims=True)
    rows = np.log(np.exp(S - m_r).sum(axis=1)) + m_r[:, 0]
    m_c = S.max(axis=0, keepdims=True)
    cols = np.log(np.exp(S - m_c).sum(axis=0)) + m_c[0]
    d = np.diagonal(S)
    return float(np.mean(0.5 * ((rows - d) + (cols - d))))


def numpy_ntxent(a: np.ndarray, p: np.ndarray, t: float = 0.07) -> float:
    B = a.shape[0]
    Z = unit(np.concatenate([a, p]))
    S = (Z @ Z.T) / t
    np.fill_diagonal(S, -np.inf)
    m = S.max(axis=1, keepdims=True)
    lse = np.log(np.exp(S - m).sum(axis=1)) + m[:, 0]
    partner = np.concatenate([np.arange(B, 2 * B), np.arange(B)])
    return float(np.mean(lse - S[np.arange(2 * B), partner]))


# torch's forms, run by `--torch-python` in a process of its own (torch is no dependency of
# losscli, and its thread pool and allocator must not share a process with numba's and
# OpenBLAS's): argv = loss, anchor .npy, positive .npy, reps; prints the median seconds.
TORCH_CHILD = """
import sys, time, statistics
import numpy as np, torch
import torch.nn.functional as F
loss, a_path, p_path, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
a = torch.from_numpy(np.load(a_path)); p = torch.from_numpy(np.load(p_path))
B, t = a.shape[0], 0.07
def clip():
    a_n, p_n = F.normalize(a, dim=1), F.normalize(p, dim=1)
    logits = a_n @ p_n.T / t
    target = torch.arange(B)
    rows = F.cross_entropy(logits, target, reduction="none")
    cols = F.cross_entropy(logits.T, target, reduction="none")
    return (rows + cols) / 2
def ntxent():
    z = F.normalize(torch.cat([a, p]), dim=1)
    logits = z @ z.T / t
    logits.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(B, 2 * B), torch.arange(B)])
    return F.cross_entropy(logits, target, reduction="none")
fn = clip if loss == "clip" else ntxent
times = []
with torch.inference_mode():
    fn()
    for _ in range(reps):
        time.sleep(0.08)
        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def torch_seconds(python: str, loss: str, a: np.ndarray, p: np.ndarray, reps: int) -> float:
    """Median seconds of torch's form of `loss` in a fresh process of `python`."""
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "a.npy", a)
        np.save(Path(tmp) / "p.npy", p)
        out = subprocess.run([python, "-c", TORCH_CHILD, loss, f"{tmp}/a.npy", f"{tmp}/p.npy",
                              str(reps)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def has_torch(python: str) -> bool:
    return subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0


def timed(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        time.sleep(0.08)
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def part_batch(B: int, D: int, reps: int, numpy_max: int, torch_python: str | None) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((B, D), dtype=np.float32)
    p = (a + rng.standard_normal((B, D), dtype=np.float32)).astype(np.float32)
    inputs_mib = 2 * a.nbytes / 2**20
    print(f"\n### batch, B = {B:,}, D = {D}, float32 ({reps} rounds, medians; {load()})\n")
    rows = []
    for loss in ("clip", "ntxent-batch"):
        Z = unit(np.concatenate([a, p]).astype(np.float64))
        if loss == "clip":
            gemm = lambda Z=Z: bare_product(Z[:B], Z[B:])  # noqa: E731
        else:
            gemm = lambda Z=Z: bare_product(Z, Z)  # noqa: E731

        def tiled(loss=loss):
            z = np.concatenate([a, p]).astype(np.float64)  # batch's own buffer (normalized
            # in place)
            run(LossCall.of(loss, {}), Inputs({"anchor": z[:B], "positive": z[B:]},
                                              owned=True))

        tiled()  # compile / warm
        t_gemm = timed(gemm, reps)
        t_loss = timed(tiled, reps)
        t_np = t_torch = None
        if B <= numpy_max:
            fn = numpy_clip if loss == "clip" else numpy_ntxent
            t_np = timed(lambda fn=fn: fn(a, p), reps)
            if torch_python:
                t_torch = torch_seconds(torch_python, loss, a, p, reps)
        rows.append([loss, f"{t_gemm:.2f}", f"{t_loss:.2f}", f"{t_loss / t_gemm:.2f}",
                     "-" if t_np is None else f"{t_np:.2f}",
                     "-" if t_np is None else f"{t_np / t_loss:.2f}",
                     "-" if t_torch is None else f"{t_torch:.2f}",
                     "-" if t_torch is None else f"{t_torch / t_loss:.2f}"])
    print(table(["loss", "bare GEMM s", "losscli s", "losscli / GEMM", "numpy s",
                 "numpy / losscli", "torch s", "torch / losscli"], rows))
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "anchor.npy", a)
        np.save(Path(tmp) / "positive.npy", p)
        rss = []
        for loss in ("clip", "ntxent-batch"):
            wall, peak = child(["batch", loss, "--anchor", f"{tmp}/anchor.npy", "--positive",
                                f"{tmp}/positive.npy", "--dtype", "float32", "-q", "--out",
                                f"{tmp}/{loss}.jsonl"])
            rss.append([loss, f"{wall:.2f}", f"{peak:.0f}", f"{inputs_mib:.0f}",
                        f"{peak - inputs_mib:.0f}"])
    print(f"\n`losscli batch LOSS --anchor a.npy --positive p.npy --dtype float32` "
          f"(one run each; {load()})\n")
    print(table(["loss", "wall s", "peak RSS MiB", "inputs MiB", "peak - inputs MiB"], rss))


def part_compute(reps: int, baseline: str | None = None) -> None:
    rng = np.random.default_rng(1)
    versions = [("this", None)] + ([("baseline", baseline)] if baseline else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.npz"
        a = rng.normal(size=(1500, 32))
        np.savez(path, anchor=a, positive=a + rng.normal(size=a.shape))
        for _, code in versions:  # compile or load each version's kernels once, untimed
            child(["compute", "clip", str(path), "-f", "json", "-q", "--terms", "none"], code)
        rows = []
        for label, extra, count in (("JSON, --terms all", ["--terms", "all"], reps),
                                    ("JSON, --terms top (default here)", [], reps),
                                    ("JSON, --terms none", ["--terms", "none"], max(reps, 11))):
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in versions}
            sizes: dict[str, int] = {}
            for i in range(count):  # the versions interleaved, run by run
                for name, code in versions:
                    out = Path(tmp) / f"{name}{i}.json"
                    runs[name].append(child(["compute", "clip", str(path), "-f", "json",
                                             "-q", "--out", str(out), *extra], code))
                    sizes[name] = out.stat().st_size
                    if name != "this":
                        same = _same_bytes(out, Path(tmp) / f"this{i}.json")
                        sizes[name] = sizes[name] if same else -1
                    if name == versions[-1][0]:
                        for other, _ in versions:
                            (Path(tmp) / f"{other}{i}.json").unlink()
            row = [label]
            for name, _ in versions:
                row += [f"{median([r[0] for r in runs[name]]):.2f}",
                        f"{max(r[1] for r in runs[name]):.0f}"]
            if baseline:
                ratio = median([r[0] for r in runs["baseline"]]) \
                    / median([r[0] for r in runs["this"]])
                row += [f"{ratio:.2f}", "yes" if sizes["baseline"] >= 0 else "NO"]
            row.append(f"{sizes['this'] / 2**20:.1f}")
            rows.append(row)
    print(f"\n### compute clip, B = 1500, D = 32 ({reps} runs, --terms none "
          f"{max(reps, 11)}; median wall; {load()})\n")
    head = ["output", "wall s", "peak RSS MiB"]
    if baseline:
        head = ["output", "wall s", "peak RSS MiB", "baseline wall s", "baseline RSS MiB",
                "baseline / this", "same bytes"]
    print(table(head + ["output MiB"], rows))


def _same_bytes(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 24), fb.read(1 << 24)
            if x != y:
                return False
            if not x:
                return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "batch", "compute"], default="all")
    parser.add_argument("--B", type=int, default=32768)
    parser.add_argument("--D", type=int, default=512)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--baseline", metavar="DIR",
                        help="compute part: also run the losscli package in DIR (another "
                             "version, e.g. `git archive main | tar -x -C DIR`), same bytes?")
    parser.add_argument("--numpy-max", type=int, default=16384,
                        help="largest B for numpy's and torch's whole-matrix forms (they hold "
                             "B x B)")
    parser.add_argument("--torch-python", metavar="PYTHON",
                        help="an interpreter with torch, for torch's forms in a process of "
                             "their own (default: this one, if it has torch)")
    args = parser.parse_args()
    torch_python = args.torch_python or (sys.executable if has_torch(sys.executable)
                                         else None)
    print(f"{machine()}; OMP/BLAS threads as the environment sets them "
          f"({os.environ.get('OMP_NUM_THREADS', 'unset')})")
    if args.part in ("all", "batch"):
        part_batch(args.B, args.D, args.reps, args.numpy_max, torch_python)
    if args.part in ("all", "compute"):
        part_compute(max(1, args.reps), args.baseline)


if __name__ == "__main__":
    main()
