"""InfoNCE: -log softmax(v)_0 with v_0 = s(a, p) / t and v_k = s(a, n_k) / t (LOSSES.md).

Library conventions change the candidates (`negatives_form`): "in-batch" scores every anchor
against every example's positive and negatives (sentence-transformers' MNRL), "symmetric"
averages the anchor's loss and the positive's (optax.ntxent on [a, p, n_1, ...]).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from losscli.kernels import _jit, codes
from losscli.kernels import distances as dist
from losscli.kernels import softmax as kern
from losscli.kernels import stream as sk
from losscli.losses import relative_softmax as rs
from losscli.losses import tiles
from losscli.losses.explicit_terms import Rows, by_rows, example_rows, is_lazy
from losscli.losses.forms import (
    check_dot_range,
    paired_layout,
    positive_similarities,
    stacked_vectors,
)
from losscli.losses.results import check_embedding_breakdown, nonfinite_warning, reduce, shape_dict
from losscli.losses.roles import (
    TINY_TEMPERATURE,
    EmbeddingBatch,
    check_magnitudes,
    embedding_batch,
)
from losscli.losses.spec import Convention
from losscli.losses.specs.explicit_negatives import INFONCE
from losscli.losses.streams import StreamRows
from losscli.losses.sweeps import Limits, flag, no_limits, reduced
from losscli.losses.term_columns import Column, Mapped, Reordered, Shared
from losscli.losses.variants import single_pair_zero
from losscli.losses.vectors import embedding_gradients, to_unit
from losscli.model import DeferredColumn, Inputs, LazyTerms, Result, scan_blocks


def _check_temperature(t: float, warnings: list[str]) -> None:
    if t < TINY_TEMPERATURE:
        warnings.append(f"temperature {t:g} is below {TINY_TEMPERATURE:g}: the softmax is "
                        "nearly a max and the loss nearly (max s_n - s_p)+ / t")


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, *, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """infonce per example: LSE(v) - v_0 with v_0 = s(a, p) / t, v_k = s(a, n_k) / t
    (LOSSES.md); 0, with a warning, without negatives.

    A convention's negatives_form changes the candidates: in-batch (every example's positive
    and negatives) or symmetric (the anchor's and the positive's losses averaged).
    """
    batch = embedding_batch(inputs, negatives="optional")
    form = "explicit" if convention is None else convention.negatives_form
    if form == "in-batch":
        return _in_batch(inputs, batch, params, reduction, grad, convention)
    terms_each = 2 * (batch.k + 1) if form == "symmetric" else batch.k + 1
    if not is_lazy(batch.batch, terms_each, grad):
        check_embedding_breakdown(batch, terms_each, INFONCE.name, grad)
    warnings: list[str] = []
    t, cosine, unit = _setting(batch, params, convention, warnings)
    original = batch
    if unit:
        batch = to_unit(batch, warnings, "similarity")
    if batch.k == 0:
        warnings.append(_without_negatives(form, batch.batch))
    if form == "symmetric":
        loss, terms, grads = _symmetric(batch, t, cosine, grad)
    else:
        loss, terms, grads = _explicit(batch, t, cosine, grad)
    if grads is not None:
        single_pair_zero(convention, batch.batch, batch.k, [], *grads)
    single_pair_zero(convention, batch.batch, batch.k, warnings, loss)
    nonfinite_warning(loss, warnings)
    gradients = None
    if grads is not None:
        gradients = embedding_gradients(original, unit, *grads)
    return Result(
        loss=INFONCE.name, params=dict(params), reduction=reduction, per_example=loss,
        value=reduce(loss, reduction), shape=shape_dict(batch.batch, batch.k, batch.dim),
        terms=terms, warnings=tuple(warnings), gradients=gradients,
    )


def _setting(batch: EmbeddingBatch, params: dict[str, Any], convention: Convention | None,
             warnings: list[str]) -> tuple[float, bool, bool]:
    """(t, whether s is the cosine, whether the vectors go to unit length), after the
    vectors' magnitude and the temperature's warnings, in that order, whatever the form."""
    check_magnitudes(batch, warnings)
    t = params["temperature"]
    _check_temperature(t, warnings)
    cosine = params["similarity"] == "cosine"
    return float(t), cosine, cosine or (convention is not None and convention.normalize)


def _without_negatives(form: str, B: int) -> str:
    """K = 0 leaves one candidate, the positive: the loss is 0. (Under an in-batch
    convention the other examples' positives are candidates too, unless B = 1; a batch
    without negatives was probably meant as one.)"""
    if form == "in-batch":
        return "no negatives (K = 0) and one example: the loss is 0"
    if form == "explicit" and B > 1:
        return ("no negatives (K = 0): the loss is 0; for the batch's other positives as "
                "negatives, --like sentence-transformers (one direction) or clip (both)")
    return "no negatives (K = 0): the loss is 0"


class BankProducts:
    """Rows of S = A bank^T (examples' anchors against a shared bank of negatives), through
    BLAS in groups of rows fixed by the example's index, the last group kept.

    A row's bits then do not depend on which examples were asked for together: a GEMM can
    round a row apart from the rows computed beside it, and a row alone goes through gemv
    (an example shown alone, --worst, differed from its row in the batch by an ulp). A group
    is about GEMM_BLOCK_BYTES of similarities: a GEMM packs the whole bank each call, and
    blocks of 32 rows ran at 0.38x the speed of one product (B = 4,096, K = 16,384).
    """

    def __init__(self, anchor: np.ndarray, bank: np.ndarray) -> None:
        self.anchor = anchor
        self.bank = bank
        self.group = tiles.tile_rows(anchor.shape[0], bank.shape[0], 8, GEMM_BLOCK_BYTES)
        self._kept: tuple[int, np.ndarray | None] = (-1, None)

    def rows(self, start: int, stop: int, out: np.ndarray) -> None:
        """out[i] = S[start + i] for the examples [start, stop)."""
        G = self.group
        for first in range(start // G * G, stop, G):
            group = self._group(first)
            lo, hi = max(start, first), min(stop, first + G)
            out[lo - start:hi - start] = group[lo - first:hi - first]

    def _group(self, first: int) -> np.ndarray:
        at, kept = self._kept
        if at != first or kept is None:
            # a product past float64's range is inf, as the kernels' own sums were: the
            # breakdown's checks report it (not numpy's warning, an error under the CLI)
            with np.errstate(over="ignore", invalid="ignore"):
                kept = self.anchor[first:first + self.group] @ self.bank.T
            self._kept = (first, kept)
        return kept


def _rows(batch: EmbeddingBatch, anchor: np.ndarray, positive: np.ndarray, t: float,
          cosine: bool) -> Rows:
    """One InfoNCE pass (anchor against positive and the negatives) over examples
    [start, stop)."""
    K, negatives, work = batch.k, batch.negatives, batch.work()
    # A shared bank's similarities through BLAS: the kernel's own dot products, one pair at a
    # time, took compute 6.5 s where batch took 2.4 s (B = 4,096, K = 16,384, D = 128)
    bank = BankProducts(anchor, negatives[0]) if negatives.shape[0] == 1 and K > 0 else None

    def rows(start: int, stop: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n = stop - start
        sim = np.empty((n, K + 1))
        logit = np.empty_like(sim)
        prob = np.empty_like(sim)
        glogit = np.empty_like(sim)
        loss = np.empty(n)
        if bank is None:
            _jit.run(kern.infonce, work, anchor[start:stop], positive[start:stop],
                     example_rows(negatives, start, stop), t, cosine, sim, logit, prob,
                     glogit, loss)
        else:
            # the positive's in the kernels' one order (einsum rounds a lone row apart)
            _jit.run(dist.row_similarities, work, anchor[start:stop],
                     positive[start:stop].reshape(n, 1, -1), cosine, sim[:, :1])
            bank.rows(start, stop, sim[:, 1:])
            if cosine:  # unit rows: a cosine past 1 is rounding (distances.clamped_cosine)
                np.clip(sim[:, 1:], -1.0, 1.0, out=sim[:, 1:])
            _jit.run(kern.softmax_rows, work, sim, t, logit, prob, glogit, loss)
        false_negative = np.zeros((n, K + 1), dtype=np.bool_)
        false_negative[:, 1:] = sim[:, 1:] >= sim[:, :1]
        return {"loss": loss}, {"similarity": sim, "logit": logit, "probability": prob,
                      "gradient": glogit, "false_negative": false_negative}

    return rows


def _grads(batch: EmbeddingBatch, anchor: np.ndarray, positive: np.ndarray, t: float,
           glogit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    B, K = batch.batch, batch.k
    ga = np.empty((B, batch.dim))
    gp = np.empty_like(ga)
    gn = np.empty((B, K, batch.dim))
    _jit.run(kern.infonce_grad, batch.work(), anchor, positive, batch.negatives, t, glogit,
             ga, gp, gn)
    return ga, gp, gn


def _explicit(batch: EmbeddingBatch, t: float, cosine: bool, grad: bool) -> tuple:
    K = batch.k
    examples, terms = by_rows(batch.batch, ("positive",) + ("negative",) * K,
                              (0,) + tuple(range(K)),
                              _rows(batch, batch.anchor, batch.positive, t, cosine), grad)
    grads = None
    if grad:
        grads = _grads(batch, batch.anchor, batch.positive, t, terms.columns["gradient"])
    return examples["loss"], terms, grads


def _symmetric(batch: EmbeddingBatch, t: float, cosine: bool, grad: bool) -> tuple:
    """(loss(a; p, N) + loss(p; a, N)) / 2: both views of the pair are anchors."""
    K = batch.k
    of_anchor = _rows(batch, batch.anchor, batch.positive, t, cosine)
    of_positive = _rows(batch, batch.positive, batch.anchor, t, cosine)

    def rows(start: int, stop: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        (of_a, cols_a), (of_p, cols_p) = of_anchor(start, stop), of_positive(start, stop)
        view = np.empty((stop - start, 2 * (K + 1)), dtype=object)
        view[:, : K + 1] = "anchor"
        view[:, K + 1:] = "positive"
        columns = {"view": view}
        columns.update({n: np.concatenate([cols_a[n], cols_p[n]], axis=1) for n in cols_a})
        return {"loss": (of_a["loss"] + of_p["loss"]) / 2}, columns

    examples, terms = by_rows(batch.batch,
                          ("positive",) + ("negative",) * K + ("anchor",) + ("negative",) * K,
                          ((0,) + tuple(range(K))) * 2, rows, grad)
    grads = None
    if grad:
        glogit = terms.columns["gradient"]
        ga1, gp1, gn1 = _grads(batch, batch.anchor, batch.positive, t,
                               np.ascontiguousarray(glogit[:, : K + 1]))
        gp2, ga2, gn2 = _grads(batch, batch.positive, batch.anchor, t,
                               np.ascontiguousarray(glogit[:, K + 1:]))
        grads = ((ga1 + ga2) / 2, (gp1 + gp2) / 2, (gn1 + gn2) / 2)
    return examples["loss"], terms, grads


def _in_batch(inputs: Inputs, batch: EmbeddingBatch, params: dict[str, Any], reduction: str,
              grad: bool, convention: Convention) -> Result:
    """Every anchor against all B positives and all B K negatives (MNRL's candidates:
    positives, then negative column k of every example), anchor b's positive candidate b:
    the rows of S = A C^T softmaxed relative to their positive (losses/relative_softmax.py)
    by tiles, never whole (B = 8,192 held 3 GB; B = 32,768 would need ~50 GB). The vectors
    live in one buffer Z = [A; C], batch's own (2B, D) buffer normalized in place when there
    are no negatives (Convention.tiled). Gradients are of the summed loss (each candidate
    serves every anchor), by the row the vector came from."""
    B, K, D = batch.batch, batch.k, batch.dim
    warnings: list[str] = []
    t, cosine, unit = _setting(batch, params, convention, warnings)
    parts = {"anchor": batch.anchor, "positive": batch.positive}
    if K:  # negative column k of every example, k = 0 .. K - 1
        parts["negatives"] = np.broadcast_to(batch.negatives, (B, K, D)).transpose(
            1, 0, 2).reshape(K * B, D)
    work = tiles.work(B, B * (1 + K), D)
    with _jit.job(work):
        Z, vecs = stacked_vectors(parts, unit, warnings, grad, inputs.owned, "similarity",
                                  {"negatives": B // len(batch.negatives)})
    if B == 1 and K == 0:  # after the vectors' own warnings, as the explicit form orders them
        warnings.append(_without_negatives("in-batch", B))
    anchor, candidates = Z[:B], Z[B:]
    if not cosine:
        check_dot_range(anchor, candidates, inputs.where("anchor"))
    pos, skip = paired_layout(B)
    scale = 1.0 / t
    with _jit.job(work):
        diag = positive_similarities(anchor, candidates[:B], cosine)
        stats, _ = rs.statistics(lambda: tiles.tiles(anchor, candidates, cosine), pos, skip,
                                 diag, scale, work)
    loss = stats.losses()
    breakdown = _InBatchRows(anchor, candidates, K, cosine, diag, scale, stats, (pos, skip))
    M = B * (1 + K)
    terms = LazyTerms(("positive",) + ("negative",) * (M - 1), (0,) + tuple(range(M - 1)),
                      IN_BATCH_NAMES, B, tiles.on_demand(breakdown.block, work),
                      breakdown.pairs)
    gradients = None
    if grad:
        with _jit.job(work):
            ga, gc = tiles.backward(anchor, candidates, cosine,
                                    rs.tile_gradient(pos, skip, diag, scale, stats, np.ones(B),
                                                     work))
        gradients = {"anchor": vecs["anchor"].backward(ga),
                     "positive": vecs["positive"].backward(gc[:B])}
        gn = vecs["negatives"].backward(gc[B:]) if K else gc[B:]
        gradients["negatives"] = np.ascontiguousarray(gn.reshape(K, B, D).transpose(1, 0, 2))
        single_pair_zero(convention, B, K, [], *gradients.values())
    single_pair_zero(convention, B, K, warnings, loss)
    nonfinite_warning(loss, warnings)
    return Result(
        loss=INFONCE.name, params=dict(params), reduction=reduction, per_example=loss,
        value=reduce(loss, reduction), shape=shape_dict(B, M - 1, D), terms=terms,
        warnings=tuple(warnings), gradients=gradients,
    )


IN_BATCH_NAMES = ("candidate_role", "candidate_index", "similarity", "logit", "probability",
                  "gradient", "false_negative")


class _InBatchRows:
    """Anchor rows of the in-batch breakdown on demand: the anchor's own positive first (the
    matching pair, role positive), then every other candidate (role negative) in candidate
    order, each named by the role it was given in (positive, or negative k: column k of the
    negatives) and its example (candidate_index)."""

    def __init__(self, anchor: np.ndarray, candidates: np.ndarray, K: int, cosine: bool,
                 diag: np.ndarray, scale: float, stats: rs.Relative,
                 layout: tuple[np.ndarray, np.ndarray]) -> None:
        self.anchor, self.candidates, self.cosine = anchor, candidates, cosine
        self.diag, self.scale, self.stats, self.layout = diag, scale, stats, layout
        self.read = tiles.RowReader(anchor, candidates, cosine)
        self.labels = np.array(["positive"] + [f"negative {k}" for k in range(K)], dtype=object)

    def block(self, start: int, stop: int) -> dict[str, Column]:
        B, M = self.anchor.shape[0], self.candidates.shape[0]
        pos, skip = self.layout
        S = self.read(start, stop)
        logit, prob, grad = rs.terms(S, start, pos, skip, self.diag, self.scale, self.stats,
                                     np.ones(B))
        first = np.arange(start, stop)
        candidate = Shared(Reordered(np.broadcast_to(np.arange(M), S.shape), first))
        labels = self.labels
        similarity = Shared(Reordered(S, first))
        return {"candidate_role": Mapped(candidate, lambda c: labels[(c + B) // B - 1]),
                "candidate_index": Mapped(candidate, lambda c: c % B),
                "similarity": similarity, "logit": Reordered(logit, first),
                "probability": Reordered(prob, first), "gradient": Reordered(grad, first),
                "false_negative": _FalseNegatives(similarity, S[np.arange(stop - start),
                                                                first])}

    def pairs(self):
        """(s(a_b, p_b), every other candidate's similarity) by tiles of rows."""
        for r0, tile in tiles.tiles(self.anchor, self.candidates, self.cosine):
            R = tile.shape[0]
            own = np.zeros(tile.shape, dtype=bool)
            own[np.arange(R), r0 + np.arange(R)] = True
            yield (np.asarray(tile[own], dtype=np.float64),
                   np.asarray(tile[~own], dtype=np.float64))


class _FalseNegatives(DeferredColumn):
    """Where a candidate other than the positive scores at or above it: similarity >= the
    row's positive similarity, False at the positive itself (position 0)."""

    def __init__(self, similarity: Shared, positive: np.ndarray) -> None:
        self.similarity, self.positive = similarity, positive

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        similarity = self.similarity.full()
        out = similarity >= similarity[:, :1]
        out[:, 0] = False
        return out

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        out = self.similarity.take(kept) >= self.positive[:, None]
        out[kept == 0] = False
        return out


# ---------------------------------------------------------------- batch's stream form

# One block of logits. Each block costs a switch from BLAS's threads to numba's and back
# (threads waking after sleeping through the other pool's work), which costs more than
# re-reading anchors that fell out of the L3 cache: at B = 65,536, K = 64, D = 256, blocks of
# 16 MiB took 1.66x / 1.75x the bare product in float32 and 1.53x / 1.48x in float64 (two
# runs), blocks of 4 MiB 1.84x / 1.82x and 1.51x / 1.59x (docs/benchmarks.md).
GEMM_BLOCK_BYTES = 16 * 2**20
# What one logit costs infonce_logit_rows, in multiply-adds (_jit's unit of work): its
# vectorised exponential, summed as it is taken, ran at 1.05-1.10 ns a logit serially
# (K = 256, D = 128), ~0.5 ns a multiply-add.
EXP_WORK = 2


def stream(params: dict[str, Any]) -> Callable[..., int | None] | None:
    """The loss-only stream kernel for dot similarity (cosine needs evaluate's normalization).

    See losses/streams.py for the form's contract.
    """
    if params["similarity"] != "dot":
        return None
    return partial(_stream, float(params["temperature"]))


def _stream(t: float, rows: StreamRows, loss: np.ndarray, flags: np.ndarray,
            warnings: list[str]) -> None:
    _check_temperature(t, warnings)
    if rows.shared and _jit.path_for(rows.work) != "py":
        shared_bank_infonce(rows.A[:, rows.ia, :], rows.P[:, rows.ip, :],
                            rows.N[0, rows.n0:rows.n0 + rows.K, :], t, loss, flags,
                            rows.parallel)
    else:
        _jit.run(sk.infonce_loss, rows.work, rows.A, rows.ia, rows.P, rows.ip, rows.N,
                 rows.n0, rows.K, t, rows.check, loss, flags, parallel=rows.parallel)


def shared_bank_infonce(anchor: np.ndarray, positive: np.ndarray, bank: np.ndarray,
                        temperature: float, loss: np.ndarray, flags: np.ndarray,
                        parallel: bool | None = None) -> None:
    """InfoNCE (dot) against one bank (K, D): the tiles of S = A bank^T (losses/tiles.py, as
    the in-batch losses walk theirs), each turned into losses while it is in cache.

    Per tile of about GEMM_BLOCK_BYTES of logits: the GEMM on BLAS's threads, then the
    kernel `infonce_logit_rows` (prange over rows: each row's positive dot product, then one
    vectorised pass of exponentials shifted by it over the row of logits) on numba's, with
    BLAS limited to one thread meanwhile. float32 anchors first take a pass of their own
    (`positive_similarities`: the positives' dot products, and the anchors widened into the
    tile's float64 buffer, the GEMM's operand: CONTRACT.md has float32 input accumulate in
    float64, and sgemm's float32 dot products were ~1e-6 relative off compute's).
    (Splitting tiles over Python threads with single-threaded BLAS each ran the halves'
    products concurrently but the loss slower: a Python thread's handoff, and products at
    one thread's speed; docs/benchmarks.md.)
    """
    B, D = anchor.shape
    K = bank.shape[0]
    work = B * (K + 2) * D
    check = np.result_type(anchor.dtype, positive.dtype, bank.dtype) == np.float64
    # The kernels widen float32 rows themselves, as they read them
    A3 = np.ascontiguousarray(anchor, dtype=np.result_type(anchor.dtype, np.float32))
    A3 = A3.reshape(B, 1, D)
    P3 = np.ascontiguousarray(positive, dtype=np.result_type(positive.dtype, np.float32))
    P3 = P3.reshape(B, 1, D)
    bank64 = np.ascontiguousarray(bank, dtype=np.float64)
    flags |= _jit.run(sk.entry_flag, work, bank, codes.NEGATIVES)
    widen = A3.dtype != np.float64
    # about GEMM_BLOCK_BYTES of logits a tile, and as much of widened anchors at most: a
    # tile's own buffer, written where the GEMM reads it (the whole anchor array widened in
    # a fresh buffer cost S2 float32 ~10 ms of page faults alone, 128 MiB)
    rows = tiles.tile_rows(B, K, 8, GEMM_BLOCK_BYTES)
    if widen:
        rows = min(rows, tiles.tile_rows(B, D, 8, GEMM_BLOCK_BYTES))
    wide = np.empty((rows if widen else 0, D))  # a tile of the GEMM's float64 operand
    logits = np.empty((rows, K))
    positives = np.empty(B)
    for start in range(0, B, rows):
        stop = min(B, start + rows)
        n = stop - start
        # Serial or parallel by the kernels' own work, not the products' (BLAS did those)
        own = n * (EXP_WORK * K + 2 * D)
        in_parallel = parallel if parallel is not None else _jit.parallel_for(own)
        if widen:
            _jit.run(sk.positive_similarities, work, A3[start:stop], P3[start:stop],
                     wide[:n], check, positives[start:stop], flags[start:stop],
                     parallel=in_parallel)
        block = logits[:n]
        np.matmul(wide[:n] if widen else A3[start:stop, 0], bank64.T, out=block)
        _jit.run(sk.infonce_logit_rows, work, block, positives[start:stop], A3[start:stop],
                 P3[start:stop], not widen, check, temperature, loss[start:stop],
                 flags[start:stop], parallel=in_parallel)


# ---------------------------------------------------------------- sweep's limits


def sweep_limits(param: str, values: np.ndarray, results: list[Result]) -> Limits:
    """In the temperature (explicit candidates): LSE(v) - v_0 lies between the hardest
    negative's gap (max_k s_n - s_p)+ / t and that plus log(K + 1)."""
    first = results[0]
    if param != "temperature" or flag(first, "negatives_form", "explicit") != "explicit":
        return no_limits()
    columns, limits = no_limits()
    K = first.terms.count - 1
    gap = np.zeros(first.batch)
    if K:  # a block of examples at a time: the breakdown may be too large to hold whole
        for start, stop, block in scan_blocks(first.terms, first.batch):
            sim = block["similarity"]
            gap[start:stop] = np.maximum(sim[:, 1:].max(axis=1) - sim[:, 0], 0.0)
    g = reduced(gap, first.reduction)
    large = reduced(np.full(first.batch, math.log(K + 1)), first.reduction)
    columns["lower_bound"] = g / values  # LSE(v) - v_0 >= max_j v_j - v_0
    columns["upper_bound"] = g / values + large  # ... <= that + log(K + 1)
    limits.update({"large_temperature": large, "small_temperature_gap": g})
    limits["notes"].append(f"as t grows the loss tends to log(K + 1) = {large:.6g}"
                           + (" (summed over the batch)" if first.reduction == "sum" else ""))
    limits["notes"].append(f"as t shrinks it tends to (max s_n - s_p)+ / t = {g:.6g} / t; "
                           "lower_bound <= loss <= upper_bound = lower_bound + log(K + 1)")
    return columns, limits
