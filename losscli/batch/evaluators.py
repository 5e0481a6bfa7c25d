"""How a chunk of examples becomes per-example losses.

- `FastEvaluator`: the loss-only stream kernels (InfoNCE with dot similarity, triplet and
  contrastive with euclidean or sqeuclidean distance), in the input's float32 or float64,
  checks riding along in the same pass; InfoNCE with a shared negatives bank goes through a
  BLAS product per block of anchors with the exponentials done on the block while it is hot.
- `GenericEvaluator`: everything else, through `api.evaluate` on the chunk (exactly what
  `compute` runs), keeping the per-example losses and the active margin terms.

Both give the same numbers as `compute` on the same data (to rounding) and the same
warnings; errors name the file, the role and the index in the whole file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.batch.tables import STACK, Chunk
from losscli.errors import BadData
from losscli.kernels import _jit
from losscli.kernels import stream as sk
from losscli.losses import get_spec
from losscli.losses._common import HUGE_ENTRY, embedding_batch
from losscli.model import Inputs

NONFINITE_WARNING = "example loss(es) not finite (first: example"
NONFINITE_FIX = "remove or replace NaN and infinite values"
FAST_DISTANCES = {"euclidean": sk.EUCLIDEAN, "sqeuclidean": sk.SQEUCLIDEAN}
NEGATIVES_REDUCTIONS = {"mean": 0, "sum": 1, "max": 2, "mean-active": 3}
TINY_TEMPERATURE = 1e-3
GEMM_BLOCK_BYTES = 4 * 2**20  # one block of logits: stays in the L3 cache (32 MiB)


@dataclass
class Part:
    """The losses of one chunk, and what the file-level record needs from it."""

    loss: np.ndarray
    active: int | None = None
    margin_terms: int | None = None
    warnings: list[str] = field(default_factory=list)
    params: dict[str, Any] | None = None
    shape: dict[str, int | None] | None = None
    denominator: float | None = None
    all_ignored: bool = False  # softmax-ce: every target of the chunk is --ignore-index


def check_finite(arr: np.ndarray, where: str, offset: int) -> None:
    """BadData naming the first NaN or inf by its index in the whole file."""
    if arr.dtype.kind != "f" or np.isfinite(arr).all():
        return
    first = [int(i) for i in np.argwhere(~np.isfinite(arr))[0]]
    value = arr[tuple(first)].item()
    if offset and first:
        first[0] += offset
    raise BadData(f"non-finite value {value!r} at index {first}", NONFINITE_FIX, where=where)


def choose(spec_name: str, params: dict[str, Any]) -> str:
    """"fast" when a stream kernel computes this loss with these parameters, else "generic"."""
    if spec_name == "infonce":
        return "fast" if params["similarity"] == "dot" else "generic"
    if spec_name in ("triplet", "contrastive"):
        return "fast" if params["distance"] in FAST_DISTANCES else "generic"
    return "generic"


class GenericEvaluator:
    """api.evaluate on each chunk, in float64 (what compute runs)."""

    def __init__(self, spec_name: str, given: dict[str, Any]) -> None:
        self.spec = get_spec(spec_name)
        self.given = given

    def __call__(self, chunk: Chunk) -> Part:
        from losscli import api

        arrays = chunk.role_arrays()
        sources = {}
        for role, arr in arrays.items():
            sources[role] = chunk.where.get(role, role)
            offset = chunk.start if (role in chunk.per_example or chunk.stack is not None
                                     and role in ("anchor", "positive", "negatives")) else 0
            check_finite(arr, sources[role], offset)
        arrays = {r: np.ascontiguousarray(a, dtype=np.float64) for r, a in arrays.items()}
        inputs = Inputs(arrays=arrays, sources=sources)
        denominator = None
        if self.spec.name == "softmax-ce":
            skipped = self._all_ignored(inputs, chunk.n)
            if skipped is not None:
                return skipped
            denominator = self._denominator(inputs)
        result = api.evaluate(self.spec.name, inputs, reduction="none", **self.given)
        active, terms = _active_terms(result)
        warnings = [w for w in result.warnings if NONFINITE_WARNING not in w]
        return Part(result.per_example, active, terms, warnings, dict(result.params),
                    dict(result.shape), denominator)

    def _ignore(self) -> int | None:
        return self.given.get("ignore_index")

    def _index_targets(self, inputs: Inputs) -> np.ndarray | None:
        if "target" not in inputs or "logits" not in inputs:
            return None
        target, logits = inputs["target"], inputs["logits"]
        if target.ndim == logits.ndim - 1 and target.shape == logits.shape[:-1]:
            return target.reshape(-1)
        return None

    def _all_ignored(self, inputs: Inputs, n: int) -> Part | None:
        """A chunk whose every target is ignored: losses 0 (the file may have others)."""
        idx = self._index_targets(inputs)
        ignore = self._ignore()
        if idx is None or ignore is None or not np.all(idx == ignore) or n == 0:
            return None
        return Part(np.zeros(idx.shape[0]), denominator=0.0, all_ignored=True)

    def _denominator(self, inputs: Inputs) -> float | None:
        """The mean's divisor for this chunk: sum of the kept targets' weights (index targets)."""
        idx = self._index_targets(inputs)
        if idx is None:
            return None
        ignore = self._ignore()
        keep = np.ones(idx.shape[0], dtype=bool) if ignore is None else idx != ignore
        kept = idx[keep]
        kept = kept[(kept >= 0) & (kept < inputs["logits"].shape[-1])].astype(np.int64)
        if "weight" in inputs:
            return float(inputs["weight"][kept].sum())
        return float(kept.size)


def _active_terms(result: Any) -> tuple[int | None, int | None]:
    cols = result.terms.columns
    if result.loss == "triplet":
        term = cols["term"]
        return int((term > 0).sum()), int(term.size)
    if result.loss == "contrastive":
        hinge = cols["hinge"][:, 1:]
        return int((hinge > 0).sum()), int(hinge.size)
    if result.loss == "quadruplet":
        trip, pair = cols["triplet_term"], cols["pair_term"]
        return int((trip > 0).sum() + (pair > 0).sum()), int(trip.size + pair.size)
    return None, None


class FastEvaluator:
    """The loss-only stream kernels; see the module docstring."""

    def __init__(self, spec_name: str, params: dict[str, Any], dtype: str) -> None:
        self.spec = get_spec(spec_name)
        self.params = params
        self.float32 = dtype == "float32"

    def _kernel_array(self, arr: np.ndarray) -> np.ndarray:
        if self.float32:
            return np.ascontiguousarray(arr, dtype=np.float32)
        if arr.dtype in (np.float32, np.float64):
            return np.ascontiguousarray(arr)
        return np.ascontiguousarray(arr, dtype=np.float64)

    def __call__(self, chunk: Chunk) -> Part:
        spec = self.spec
        if chunk.stack is not None:
            x = self._kernel_array(chunk.stack)
            B, R, D = x.shape
            A, ia, P, ip, N, n0, K = x, 0, x, 1, x, 2, R - 2
            shared = False
        else:
            arrays = chunk.arrays
            inputs = Inputs(arrays=arrays, sources={r: chunk.where.get(r, r) for r in arrays})
            batch = embedding_batch(inputs, negatives="optional" if spec.name == "infonce"
                                    else "required")
            B, D = batch.anchor.shape
            K = batch.k
            A = self._kernel_array(batch.anchor).reshape(B, 1, D)
            P = self._kernel_array(batch.positive).reshape(B, 1, D)
            N = self._kernel_array(batch.negatives)
            ia = ip = n0 = 0
            shared = N.shape[0] == 1 and B > 1
        check = any(a.dtype == np.float64 for a in (A, P, N))
        loss = np.empty(B)
        flags = np.zeros(B, dtype=np.int8)
        warnings: list[str] = []
        params = self.params
        # With the read-ahead thread copying the next chunk on one core, a parallel kernel's
        # barrier waits for a descheduled thread: 20x slower measured; serial keeps pace.
        parallel = False if chunk.streamed else None
        active = terms = None
        work = B * (K + 2) * D
        if spec.name == "infonce":
            t = float(params["temperature"])
            if t < TINY_TEMPERATURE:
                warnings.append(f"temperature {t:g} is below {TINY_TEMPERATURE:g}: the softmax "
                                "is nearly a max and the loss nearly (max s_n - s_p)+ / t")
            if shared and _jit.path_for(work) != "py":
                shared_bank_infonce(A[:, ia, :], P[:, ip, :], N[0, n0:n0 + K, :], t, loss,
                                    flags, parallel)
            else:
                _jit.run(sk.infonce_loss, work, A, ia, P, ip, N, n0, K, t, check, loss, flags,
                         parallel=parallel)
        else:
            kind = FAST_DISTANCES[params["distance"]]
            act = np.zeros(B, dtype=np.int64)
            if spec.name == "triplet":
                swap = bool(params["swap"])
                _jit.run(sk.triplet_loss, work * (2 if swap else 1), A, ia, P, ip, N, n0, K,
                         float(params["margin"]), kind, swap, bool(params["soft"]),
                         NEGATIVES_REDUCTIONS[params["negatives_reduction"]], check, loss,
                         act, flags, parallel=parallel)
            else:
                _jit.run(sk.contrastive_loss, work, A, ia, P, ip, N, n0, K,
                         float(params["margin"]), kind, check, loss, act, flags,
                         parallel=parallel)
            active, terms = int(act.sum()), B * K
        self._flags(flags, chunk, warnings)
        shape = {"batch": B, "negatives": K, "dim": D, "classes": None, "positives": None}
        return Part(loss, active, terms, warnings, dict(params), shape)

    def _flags(self, flags: np.ndarray, chunk: Chunk, warnings: list[str]) -> None:
        combined = int(np.bitwise_or.reduce(flags)) if flags.size else 0
        if not combined:
            return
        roles = chunk.role_arrays()
        for bit, role in ((sk.ANCHOR, "anchor"), (sk.POSITIVE, "positive"),
                          (sk.NEGATIVES, "negatives")):
            if combined & (bit << sk.NONFINITE_SHIFT):
                per_example = role in chunk.per_example or STACK in chunk.per_example
                check_finite(roles[role], chunk.where.get(role, role),
                             chunk.start if per_example else 0)
        for bit, role in ((sk.ANCHOR, "anchor"), (sk.POSITIVE, "positive"),
                          (sk.NEGATIVES, "negatives")):
            if combined & bit:
                warnings.append(f"{role} has entries above {HUGE_ENTRY:g} in magnitude; "
                                "distances and similarities may overflow")


def shared_bank_infonce(anchor: np.ndarray, positive: np.ndarray, bank: np.ndarray,
                        temperature: float, loss: np.ndarray, flags: np.ndarray,
                        parallel: bool | None = None) -> None:
    """InfoNCE (dot) against one bank (K, D): logits by BLAS, a block of anchors at a time.

    Per block of about GEMM_BLOCK_BYTES of logits (it stays in the L3 cache): the GEMM
    S = A_blk @ bank.T on BLAS's threads, then the kernel `infonce_logit_rows` (prange over
    rows, vectorised exp, compute's softmax branches) on numba's, with BLAS limited to one
    thread meanwhile. (Splitting blocks over Python threads with single-threaded BLAS each
    does not work: numpy's OpenBLAS serialises concurrent calls.) float32 input stays
    float32 in the GEMM (error ~1e-6 relative); the softmax is in float64.
    """
    B, D = anchor.shape
    K = bank.shape[0]
    dtype = np.result_type(anchor.dtype, positive.dtype, bank.dtype)
    a = np.ascontiguousarray(anchor, dtype=dtype)
    p = np.ascontiguousarray(positive, dtype=dtype)
    bank_t = np.ascontiguousarray(bank, dtype=dtype).T
    _bank_flags(bank, flags)
    check = dtype == np.float64
    rows = max(64, GEMM_BLOCK_BYTES // max(1, K * np.dtype(dtype).itemsize))
    logits = np.empty((min(rows, B), K), dtype=dtype)
    A3 = a.reshape(B, 1, D)
    P3 = p.reshape(B, 1, D)
    for start in range(0, B, rows):
        stop = min(B, start + rows)
        block = logits[:stop - start]
        np.matmul(a[start:stop], bank_t, out=block)
        _jit.run(sk.infonce_logit_rows, (stop - start) * (K + 2) * D, block, A3[start:stop],
                 P3[start:stop], temperature, check, loss[start:stop], flags[start:stop],
                 parallel=parallel)


def _bank_flags(bank: np.ndarray, flags: np.ndarray) -> None:
    top = float(np.max(np.abs(bank))) if bank.size else 0.0
    if not math.isfinite(top):
        flags |= sk.NEGATIVES << sk.NONFINITE_SHIFT
    elif top > HUGE_ENTRY:
        flags |= sk.NEGATIVES
