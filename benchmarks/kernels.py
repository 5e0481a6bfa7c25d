"""Loss kernels side by side: losscli's batch kernels, numpy's best vectorised form, torch
(when installed), and two floors: a parallel read-sum over the same bytes (memory) and the
bare BLAS product (shared negatives). Ratios within a case are measured in one run.

    python benchmarks/kernels.py                  # the issue's sizes (needs ~14 GB free)
    python benchmarks/kernels.py --scale 0.125    # every batch size divided by 8
    python benchmarks/kernels.py --cases triplet --dtypes float32 --reps 9

Method: implementations run round-robin, `--reps` rounds; before each timed call the
harness sleeps 80 ms and makes one untimed call, so thread pools spinning after the previous
implementation (OpenBLAS, torch's OpenMP, numba's) do not distort the next one. numba's
thread pool is started before the first case. Medians.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

# as the CLI does (losscli sets it when imported before numpy): OpenBLAS's idle threads
# sleep at once instead of spinning against numba's
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load, machine, median, table  # noqa: E402

from losscli.kernels import (
    _jit,  # noqa: E402
    codes,  # noqa: E402
)
from losscli.kernels import stream as sk  # noqa: E402
from losscli.losses.infonce import shared_bank_infonce  # noqa: E402

T = 0.07
SIZES = {"S1": (4096, 256, 128), "S2": (65536, 64, 256)}

try:  # torch is a reference only, never a dependency
    if "--no-torch" in sys.argv:
        raise ImportError
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(_jit.threads())
except ImportError:  # pragma: no cover
    torch = None


def run_case(impls: dict[str, Callable[[], object]], reps: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(reps):
        for name, fn in impls.items():
            time.sleep(0.08)
            fn()  # untimed: settles the thread pools of whatever ran before
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: median(t) for name, t in times.items()}


def read_floor(*arrays: np.ndarray) -> Callable[[], float]:
    """Sum every byte of the arrays with numba's prange, in long rows of 32 Ki elements (short
    rows would charge the floor a per-row cost that the loss kernels do not pay)."""
    parts = []
    for a in arrays:
        flat = a.reshape(-1)
        main = flat.size // 32768 * 32768
        parts.append((flat[:main].reshape(-1, 32768), flat[main:]))
    return lambda: sum(sk.read_sum.jit_parallel(body) + float(tail.sum())
                       for body, tail in parts)


# ---------------------------------------------------------------- InfoNCE per anchor


def infonce_numpy(a, p, n):
    logits = np.einsum("bkd,bd->bk", n, a)
    pos = np.einsum("bd,bd->b", a, p)
    top = np.maximum(logits.max(axis=1), pos)
    total = np.exp((logits - top[:, None]) / T).sum(axis=1) + np.exp((pos - top) / T)
    return (top - pos) / T + np.log(total)


def infonce_torch(a, p, n):
    with torch.no_grad():
        logits = torch.bmm(n, a.unsqueeze(2)).squeeze(2)
        pos = (a * p).sum(1, keepdim=True)
        full = torch.cat([pos, logits], dim=1) / T
        target = torch.zeros(a.shape[0], dtype=torch.long)
        return F.cross_entropy(full, target, reduction="none")


def per_anchor(B, K, D, dtype, reps):
    rng = np.random.default_rng(0)
    n = rng.standard_normal((B, K, D), dtype=np.float32)
    n *= 1 / np.sqrt(D)
    if dtype == np.float64:
        n = n.astype(np.float64)
        gc.collect()
    a = (rng.standard_normal((B, D)) / np.sqrt(D)).astype(dtype)
    p = (rng.standard_normal((B, D)) / np.sqrt(D)).astype(dtype)
    A, P = a.reshape(B, 1, D), p.reshape(B, 1, D)
    loss = np.empty(B)
    flags = np.zeros(B, dtype=np.int8)
    check = dtype == np.float64
    work = B * (K + 2) * D

    def ours():
        _jit.run(sk.infonce_loss, work, A, 0, P, 0, n, 0, K, T, check, loss, flags)
        return loss

    impls = {"losscli": ours, "numpy einsum": lambda: infonce_numpy(a, p, n),
             "read-sum floor": read_floor(a, p, n)}
    if torch is not None:
        ta, tp, tn = (torch.from_numpy(x) for x in (a, p, n))
        impls["torch bmm+cross_entropy"] = lambda: infonce_torch(ta, tp, tn)
    check_close(ours()[:512], infonce_numpy(a[:512].astype(np.float64),
                                            p[:512].astype(np.float64),
                                            n[:512].astype(np.float64)), dtype)
    res = run_case(impls, reps)
    return res, a.nbytes + p.nbytes + n.nbytes


# ---------------------------------------------------------------- InfoNCE shared bank


def shared_numpy(a, p, bank):
    logits = a @ bank.T
    pos = np.einsum("bd,bd->b", a, p)
    top = np.maximum(logits.max(axis=1), pos)
    total = np.exp((logits - top[:, None]) / T).sum(axis=1) + np.exp((pos - top) / T)
    return (top - pos) / T + np.log(total)


def shared_torch(a, p, bank):
    with torch.no_grad():
        logits = a @ bank.T
        pos = (a * p).sum(1, keepdim=True)
        full = torch.cat([pos, logits], dim=1) / T
        target = torch.zeros(a.shape[0], dtype=torch.long)
        return F.cross_entropy(full, target, reduction="none")


def shared(B, K, D, dtype, reps):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((B, D)) / np.sqrt(D)).astype(dtype)
    p = (rng.standard_normal((B, D)) / np.sqrt(D)).astype(dtype)
    bank = (rng.standard_normal((K, D)) / np.sqrt(D)).astype(dtype)
    loss = np.empty(B)
    flags = np.zeros(B, dtype=np.int8)
    # The product the loss needs: float64 whatever the input (float32 input accumulates in
    # float64, CONTRACT.md), so float32 rows are widened for it (outside the timing here)
    a64, bank64 = a.astype(np.float64), bank.astype(np.float64)
    out = np.empty((B, K))

    def ours():
        shared_bank_infonce(a, p, bank, T, loss, flags)
        return loss

    impls = {"losscli": ours, "numpy matmul": lambda: shared_numpy(a, p, bank),
             "BLAS a @ bank.T alone": lambda: np.matmul(a64, bank64.T, out=out)}
    if torch is not None:
        ta, tp, tb = (torch.from_numpy(x) for x in (a, p, bank))
        impls["torch matmul+cross_entropy"] = lambda: shared_torch(ta, tp, tb)
    check_close(ours()[:512], shared_numpy(a[:512].astype(np.float64),
                                           p[:512].astype(np.float64),
                                           bank.astype(np.float64)), dtype)
    return run_case(impls, reps), 2 * B * K * D + 2 * B * D


# ---------------------------------------------------------------- triplet


def triplet_numpy(a, p, n):
    dp = a - p
    dn = a - n
    return np.maximum(np.sqrt(np.einsum("ij,ij->i", dp, dp))
                      - np.sqrt(np.einsum("ij,ij->i", dn, dn)) + 1.0, 0.0)


def triplet(B, D, dtype, reps):
    rng = np.random.default_rng(2)
    a, p, n = ((rng.standard_normal((B, D), dtype=np.float32)).astype(dtype) for _ in range(3))
    A, P, N = (x.reshape(B, 1, D) for x in (a, p, n))
    loss = np.empty(B)
    active = np.zeros(B, dtype=np.int64)
    flags = np.zeros(B, dtype=np.int8)
    check = dtype == np.float64

    def ours():
        _jit.run(sk.triplet_loss, B * 3 * D, A, 0, P, 0, N, 0, 1, 1.0, codes.EUCLIDEAN, False,
                 False, 0, check, loss, active, flags)
        return loss

    impls = {"losscli": ours, "numpy (a-p, einsum)": lambda: triplet_numpy(a, p, n),
             "read-sum floor": read_floor(a, p, n)}
    if torch is not None:
        ta, tp, tn = (torch.from_numpy(x) for x in (a, p, n))

        def theirs():
            with torch.no_grad():
                return F.triplet_margin_loss(ta, tp, tn, margin=1.0, reduction="none")

        impls["torch triplet_margin_loss"] = theirs
    check_close(ours()[:4096], triplet_numpy(a[:4096].astype(np.float64),
                                             p[:4096].astype(np.float64),
                                             n[:4096].astype(np.float64)), dtype)
    return run_case(impls, reps), a.nbytes * 3


def check_close(got, want, dtype):
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.max(np.abs(got - want) / (np.abs(want) + rtol * scale)))
    if err > 1.0:
        raise SystemExit(f"losscli disagrees with numpy (float64): {err}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply batch sizes")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--cases", default="anchor,shared,triplet")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--sizes", default="S1,S2")
    parser.add_argument("--no-torch", action="store_true",
                        help="leave torch out (its OpenMP threads spin after each call)")
    args = parser.parse_args()
    cases = args.cases.split(",")
    print(f"machine: {machine()}; {load()}")
    print("env: " + ", ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                              if k.startswith(("OPENBLAS_", "NUMBA_", "OMP_"))))
    print(f"threads: numba {_jit.threads()}, torch "
          f"{torch.get_num_threads() if torch is not None else 'not installed'}; "
          f"scale {args.scale:g}; {args.reps} rounds\n")
    # numba's pool started first, as in any process that has evaluated something large (a
    # notebook, a training loop): no case's serial or parallel path hangs on which ran before
    # (a one-shot S1 / 8 call outside a job stays serial rather than start it; _jit.py)
    _jit.run(sk.read_sum, _jit.PARALLEL_THRESHOLD, np.zeros((2, 2)), parallel=True)
    rows = []
    summary = []
    for dtype_name in args.dtypes.split(","):
        dtype = np.dtype(dtype_name).type
        for size in args.sizes.split(","):
            B, K, D = SIZES[size]
            B = max(64, int(B * args.scale))
            if "anchor" in cases:
                res, nbytes = per_anchor(B, K, D, dtype, args.reps)
                emit(rows, summary, f"InfoNCE per-anchor {size} B={B} K={K} D={D}", dtype_name,
                     res, "GB/s", nbytes, "read-sum floor")
                gc.collect()
            if "shared" in cases:
                res, flops = shared(B, K, D, dtype, args.reps)
                emit(rows, summary, f"InfoNCE shared {size} B={B} K={K} D={D}", dtype_name,
                     res, "GFLOP/s", flops, "BLAS a @ bank.T alone")
        if "triplet" in cases:
            B = max(64, int(2**20 * args.scale))
            res, nbytes = triplet(B, 128, dtype, args.reps)
            emit(rows, summary, f"triplet B={B} D=128", dtype_name, res, "GB/s", nbytes,
                 "read-sum floor")
            gc.collect()
    print(table(["case", "dtype", "implementation", "ms", "rate", "vs losscli"], rows))
    print(f"\n## Ratios ({load()})\n")
    print(table(["case", "dtype", "losscli vs floor", "numpy / losscli", "torch / losscli"],
                summary))
    print("\ntargets: per-anchor InfoNCE and triplet >= 90% (float32) / 95% (float64) of the "
          "read floor, >= 1.3x numpy, >= 2x torch; shared InfoNCE <= 1.5x the BLAS product")


def emit(rows, summary, case, dtype, res, unit, amount, floor):
    ours = res["losscli"]
    for name, seconds in res.items():
        rate = amount / seconds / 1e9
        rows.append([case, dtype, name, f"{seconds * 1e3:.1f}", f"{rate:.1f} {unit}",
                     f"{seconds / ours:.2f}x"])
    numpy_name = next(n for n in res if n.startswith("numpy"))
    torch_name = next((n for n in res if n.startswith("torch")), None)
    if unit == "GB/s":
        vs_floor = f"{res[floor] / ours * 100:.0f}% of read bandwidth"
    else:
        vs_floor = f"{ours / res[floor]:.2f}x the GEMM"
    summary.append([case, dtype, vs_floor, f"{res[numpy_name] / ours:.2f}x",
                    f"{res[torch_name] / ours:.2f}x" if torch_name else "-"])
    print(f"done: {case} {dtype} (losscli {ours * 1e3:.1f} ms)", flush=True)


if __name__ == "__main__":
    main()
