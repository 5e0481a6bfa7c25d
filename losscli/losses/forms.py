"""The batch forms of LOSSES-MORE.md, built once here for every loss that uses them.

- Paired batch (clip, siglip, npair without negatives): S_ij = s(a_i, p_j). Row i scores
  anchor i against every positive (p_i its positive, the others its negatives); column i
  scores positive i against every anchor.
- Two-view batch (ntxent-batch, dcl and hard-infonce without negatives): the 2B views
  z_i = a_i and z_{B+i} = p_i; view v's partner is v +- B and its negatives the other 2B - 2
  views. Example i's loss is the mean of its two views' losses.
- Multi-view batch (supcon like SupContrast): example i's 1 + P views a_i, p_i1 .. p_iP; each
  view's positives are its example's other views.

None of them holds its similarity matrix: each gives it by tiles of rows (losses/tiles.py),
a few rows at a time for a breakdown, and the way back, the gradient of the summed loss
with respect to each example's own vectors from d(sum of losses)/dS (a tile at a time).
The vectors live in one buffer Z (anchors, then positives), normalized in place when the
inputs are the evaluation's own (batch) and copied otherwise.

The explicit form (npair, dcl and hard-infonce with negatives) is an anchor against its
positive and explicit negatives, one similarity row per example, given for a block of
examples at a time (losses/explicit_terms.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from losscli.errors import BadData, BatchTooSmall
from losscli.kernels import _jit
from losscli.kernels import distances as dk
from losscli.kernels import tiles as tk
from losscli.kernels.codes import SAFE_SIMILARITY
from losscli.losses import tiles
from losscli.losses.explicit_terms import is_lazy
from losscli.losses.results import check_embedding_breakdown, text_where
from losscli.losses.roles import EmbeddingBatch, check_huge, check_temperature, embedding_batch
from losscli.losses.term_columns import Column, Filled, Joined, Mapped, Reordered, Shared
from losscli.losses.vectors import (
    SimilarityRows,
    Vectors,
    row_norms,
    similarity_backward,
    vectors,
    zero_vectors_warning,
)
from losscli.model import Inputs

ANCHOR, POSITIVE = "anchor", "positive"


def anchor_positive(inputs: Inputs, loss: str, minimum: int, form: str,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """anchor and positive (B, D) with B >= minimum, every mismatch named (LOSSES.md)."""
    batch = embedding_batch(inputs, negatives="optional")
    if batch.batch < minimum:
        raise BatchTooSmall(
            f"{loss}'s {form} needs a batch of B >= {minimum} examples, found B = "
            f"{batch.batch}",
            f"give anchor and positive as (B, D) with B >= {minimum}",
            where=inputs.where("anchor"),
        )
    return batch.anchor, batch.positive


def _joined(a: np.ndarray, p: np.ndarray) -> np.ndarray | None:
    """The one (2B, D) buffer a and p are the two halves of, if they are."""
    base = a.base
    if base is None or p.base is not base or not isinstance(base, np.ndarray):
        return None
    if base.shape != (a.shape[0] + p.shape[0], a.shape[1]) or not base.flags.c_contiguous:
        return None
    start = base.__array_interface__["data"][0]
    if (a.__array_interface__["data"][0] != start
            or p.__array_interface__["data"][0] != start + a.nbytes):
        return None
    return base


def _unit_rows(x: np.ndarray, out: np.ndarray) -> int:
    """out = x's rows at unit length (x may be out); the number of zero rows."""
    return _jit.run(dk.unit_rows, x.size, x, out) if x.size else 0


def stacked_vectors(parts: dict[str, np.ndarray], cosine: bool, warnings: list[str],
                    grad: bool, owned: bool, measure: str = "similarity",
                    repeats: dict[str, int] | None = None,
                    ) -> tuple[np.ndarray, dict[str, Vectors]]:
    """Z: the roles' rows one after another (anchors, then positives) as the similarity uses
    them, and each role's Vectors (a view of Z). Under cosine the rows are unit (zero rows
    stay zero, with a warning); the raw rows' norms are kept for the gradients. `repeats`:
    parts whose rows are the input's repeated n times (a shared bank, one copy per example),
    whose zero rows the warning counts once."""
    names = list(parts)
    arrays = list(parts.values())
    D = arrays[0].shape[-1]
    dtype = np.result_type(*arrays)
    joined = _joined(*arrays) if owned and len(arrays) == 2 else None
    if joined is not None and not grad:
        Z = joined
    else:
        Z = np.empty((sum(a.shape[0] for a in arrays), D), dtype=dtype)
    out: dict[str, Vectors] = {}
    start = 0
    for name, arr in zip(names, arrays, strict=True):
        rows = Z[start:start + arr.shape[0]]
        start += arr.shape[0]
        norms = row_norms(arr) if cosine and grad else None
        if cosine:
            zeros = _unit_rows(arr, rows) // (repeats or {}).get(name, 1)
            if zeros:
                warnings.append(zero_vectors_warning(name, zeros, measure))
        elif Z is not joined:
            rows[...] = arr
        # norms is None under cosine only when no gradient is asked for (never backward).
        out[name] = Vectors(arr if Z is not joined else rows, rows, norms)
    return Z, out


def _prepared(inputs: Inputs, loss: str, minimum: int, form: str, cosine: bool,
              warnings: list[str], grad: bool, views: int, differenced: bool = True,
              ) -> tuple[np.ndarray, Vectors, Vectors]:
    a, p = anchor_positive(inputs, loss, minimum, form)
    if a.dtype == np.float64:
        check_huge({ANCHOR: a, POSITIVE: p}, warnings)
        if differenced and not cosine:
            check_dot_range(a, p, inputs.where(ANCHOR))
    # The rows' kernels take the path of the whole matrix to come, not of their own O(B D)
    # work (interpreted, normalizing 2048 x 64 rows took 40x the whole float32 product).
    n = views * a.shape[0]
    with _jit.job(tiles.work(n, n, a.shape[1])):
        Z, vecs = stacked_vectors({ANCHOR: a, POSITIVE: p}, cosine, warnings, grad,
                                  inputs.owned)
    return Z, vecs[ANCHOR], vecs[POSITIVE]


def check_dot_range(a: np.ndarray, p: np.ndarray, where: str | None) -> None:
    """Refuse dot products that may pass SAFE_SIMILARITY: the tile kernels take differences
    of similarities before scaling them by 1/t, and past it those overflow (clip at
    s = +-1.5e308, t = 1e308 gave an example 0.3466 for 0.3709, exit 0). The bound D max|a|
    max|a, p| holds every a.a and a.p; only entries near 1e154 reach it (float32 never)."""
    top_a = float(np.max(np.abs(a))) if a.size else 0.0
    top = max(top_a, float(np.max(np.abs(p))) if p.size else 0.0)
    with np.errstate(over="ignore"):
        bound = a.shape[-1] * top_a * top
    if bound > SAFE_SIMILARITY:
        raise BadData(f"dot products may reach {bound:.3g}, beyond {SAFE_SIMILARITY:g}: the "
                      "differences of the batch's similarities would overflow",
                      "use --similarity cosine, or divide the embeddings by c and t by c^2 "
                      "(the same loss under dot)", where=where)


def positive_similarities(x: np.ndarray, y: np.ndarray, cosine: bool) -> np.ndarray:
    """s(x_i, y_i) (B,) in float64, clamped to [-1, 1] under cosine."""
    out = np.empty(x.shape[0])
    if out.size:
        _jit.run(tk.row_dots, x.size, x, y, out)
    if cosine:
        np.clip(out, -1.0, 1.0, out=out)
    return out


@dataclass
class PairedBatch:
    """S (B, B) = s(a_i, p_j) over the anchors and positives as the similarity uses them,
    given by tiles of rows."""

    Z: np.ndarray
    anchor: Vectors
    positive: Vectors
    cosine: bool

    @property
    def batch(self) -> int:
        """B, the pairs (anchor i with positive i)."""
        return self.anchor.used.shape[0]

    @property
    def dim(self) -> int:
        """D, the length of every vector."""
        return self.Z.shape[1]

    @property
    def work(self) -> int:
        """Multiply-adds of the B x B product (sets the kernels' path)."""
        return tiles.work(self.batch, self.batch, self.dim)

    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """pos and skip for the row kernels: row i's positive is column i, nothing skipped."""
        return paired_layout(self.batch)

    def diagonal(self) -> np.ndarray:
        """s(a_i, p_i) (B,): each row's positive (and each column's)."""
        with _jit.job(self.work):
            return positive_similarities(self.anchor.used, self.positive.used, self.cosine)

    def tiles(self) -> Iterator[tiles.Tile]:
        """The B x B similarities a tile of rows at a time."""
        return tiles.tiles(self.anchor.used, self.positive.used, self.cosine)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """S[start:stop] in float64 (a view, valid until the next call)."""
        return self._rows(start, stop)

    def columns(self, start: int, stop: int) -> np.ndarray:
        """S[:, start:stop] transposed: column j as a row, in float64 (a view, valid until
        the next call)."""
        return self._columns(start, stop)

    @cached_property
    def _rows(self) -> tiles.RowReader:
        return tiles.RowReader(self.anchor.used, self.positive.used, self.cosine)

    @cached_property
    def _columns(self) -> tiles.RowReader:
        return tiles.RowReader(self.positive.used, self.anchor.used, self.cosine)

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(s(a_i, p_i), s(a_i, p_j) for j != i) by tiles of rows."""
        for r0, tile in self.tiles():
            R = tile.shape[0]
            diag = np.zeros(tile.shape, dtype=bool)
            diag[np.arange(R), r0 + np.arange(R)] = True
            yield np.asarray(tile[diag], dtype=np.float64), \
                np.asarray(tile[~diag], dtype=np.float64)

    def gradients(self, to_grad: Callable[[int, np.ndarray], None]) -> dict[str, np.ndarray]:
        """d(sum)/da = G P, d(sum)/dp = G^T A, from G = d(sum)/dS (tile by tile)."""
        grad_a, grad_p = tiles.backward(self.anchor.used, self.positive.used, self.cosine,
                                        to_grad)
        return {ANCHOR: self.anchor.backward(grad_a), POSITIVE: self.positive.backward(grad_p)}


def paired_batch(inputs: Inputs, loss: str, cosine: bool, warnings: list[str], *,
                 minimum: int, grad: bool = False, differenced: bool = True) -> PairedBatch:
    """Anchor i paired with positive i (B >= minimum, the loss's spec.min_batch), their
    similarities by tiles. `differenced`: the loss's kernels take differences of
    similarities (a softmax's), whose range is checked under dot; siglip's sigmoids do not."""
    Z, a, p = _prepared(inputs, loss, minimum, "paired batch", cosine, warnings, grad, 1,
                        differenced)
    return PairedBatch(Z, a, p, cosine)


@dataclass
class TwoViewBatch:
    """The 2B views Z = [A; P] and their Gram matrix s(z_v, z_u) (2B, 2B), by tiles."""

    Z: np.ndarray
    anchor: Vectors
    positive: Vectors
    cosine: bool

    @property
    def batch(self) -> int:
        """B, the examples (each two views)."""
        return self.anchor.used.shape[0]

    @property
    def dim(self) -> int:
        """D, the length of every vector."""
        return self.Z.shape[1]

    @property
    def views(self) -> int:
        """2B, the views the Gram matrix is over."""
        return 2 * self.batch

    @property
    def work(self) -> int:
        """Multiply-adds of the 2B x 2B product (sets the kernels' path)."""
        return tiles.work(self.views, self.views, self.dim)

    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """pos = each view's partner (v +- B), skip = the view itself."""
        B = self.batch
        v = np.arange(2 * B, dtype=np.int64)
        return (v + B) % (2 * B), v

    def partners(self) -> np.ndarray:
        """s(a_i, p_i) (B,): the partner similarity of views i and B + i."""
        with _jit.job(self.work):
            return positive_similarities(self.anchor.used, self.positive.used, self.cosine)

    def tiles(self) -> Iterator[tiles.Tile]:
        """The 2B x 2B Gram matrix a tile of rows at a time."""
        return tiles.tiles(self.Z, self.Z, self.cosine)

    def view_rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows of examples [start, stop)'s anchor views and positive views (float64;
        views, valid until the next call)."""
        B = self.batch
        return self._anchor_views(start, stop), self._positive_views(B + start, B + stop)

    @cached_property
    def _anchor_views(self) -> tiles.RowReader:
        return tiles.RowReader(self.Z, self.Z, self.cosine)

    @cached_property
    def _positive_views(self) -> tiles.RowReader:
        return tiles.RowReader(self.Z, self.Z, self.cosine)

    def per_example(self, anchor_rows: np.ndarray, positive_rows: np.ndarray, start: int,
                    ) -> Joined:
        """Rows of examples' two views as their (n, 2 (2B - 1)) terms: each view's partner
        first, then the other 2B - 2 views in order (the view itself left out)."""
        B = self.batch
        n = anchor_rows.shape[0]
        i = np.arange(start, start + n)
        width = self.views - 1
        return Joined([Reordered(anchor_rows, i + B, i), Reordered(positive_rows, i, i + B)],
                      [width, width])

    def term_labels(self, start: int, stop: int) -> dict[str, Column]:
        """The view, candidate_role and candidate_index columns of examples [start, stop)."""
        B, width = self.batch, self.views - 1
        n = stop - start
        view = Joined([Filled(n, width, ANCHOR, object), Filled(n, width, POSITIVE, object)],
                      [width, width])
        every = np.broadcast_to(np.arange(2 * B), (n, 2 * B))
        candidates = Shared(self.per_example(every, every, start))
        return {"view": view,
                "candidate_role": Mapped(candidates,
                                         lambda c: text_where(c >= B, POSITIVE, ANCHOR)),
                "candidate_index": Mapped(candidates, lambda c: c % B)}

    def roles(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Terms.role/index: for each view its partner (the positive), then negative k."""
        width = self.views - 1
        return (("positive",) + ("negative",) * (width - 1)) * 2, \
            ((0,) + tuple(range(width - 1))) * 2

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(partner similarities, the other pairs of distinct views), each pair once."""
        B = self.batch
        for r0, tile in self.tiles():
            R = tile.shape[0]
            v = r0 + np.arange(R)
            cols = np.arange(tile.shape[1])
            upper = cols[None, :] > v[:, None]
            partner = cols[None, :] == ((v + B) % (2 * B))[:, None]
            yield (np.asarray(tile[upper & partner], dtype=np.float64),
                   np.asarray(tile[upper & ~partner], dtype=np.float64))

    def gradients(self, to_grad: Callable[[int, np.ndarray], None]) -> dict[str, np.ndarray]:
        """d/dZ = (M + M^T) Z for M = d(sum)/dG (G symmetric), tile by tile."""
        B = self.batch
        rows, cols = tiles.backward(self.Z, self.Z, self.cosine, to_grad)
        grad_z = rows + cols
        return {ANCHOR: self.anchor.backward(grad_z[:B]),
                POSITIVE: self.positive.backward(grad_z[B:])}


def two_view_batch(inputs: Inputs, loss: str, cosine: bool, warnings: list[str], *,
                   minimum: int, grad: bool = False) -> TwoViewBatch:
    """The two-view batch of anchor and positive (B >= minimum, the loss's spec.min_batch):
    views Z = [A; P] as the similarity uses them; their Gram matrix is read by tiles, never
    held whole.
    """
    Z, a, p = _prepared(inputs, loss, minimum, "two-view batch", cosine, warnings, grad, 2)
    return TwoViewBatch(Z, a, p, cosine)


@dataclass
class Explicit:
    """An anchor against its positive and explicit negatives, the similarities of a block of
    examples at a time: row b is [s(a_b, p_b), s(a_b, n_b0) .. s(a_b, n_bK-1)]. The vectors
    are kept as the similarities use them (unit rows under cosine), for the gradients."""

    batch: EmbeddingBatch
    anchor: Vectors
    positive: Vectors
    negatives: Vectors
    cosine: bool

    def roles(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Terms.role/index: the positive, then negative k."""
        K = self.batch.k
        return ("positive",) + ("negative",) * K, (0,) + tuple(range(K))

    def similarities(self, start: int, stop: int) -> np.ndarray:
        """(stop - start, 1 + K) in float64: s(a, p), then s(a, n_k), of examples
        [start, stop), each row the same bits whatever block it is read in."""
        return np.ascontiguousarray(np.concatenate(
            [self._positive_rows(start, stop), self._negative_rows(start, stop)], axis=1))

    def positive_similarities(self) -> np.ndarray:
        """s(a_b, p_b) (B,): column 0 of every example's similarities, bit for bit."""
        return self._positive_rows(0, self.batch.batch)[:, 0]

    @cached_property
    def _positive_rows(self) -> SimilarityRows:
        return SimilarityRows(self.anchor.used, self.positive.used, self.cosine)

    @cached_property
    def _negative_rows(self) -> SimilarityRows:
        return SimilarityRows(self.anchor.used, self.negatives.used, self.cosine)

    def gradients(self, grad_sim: np.ndarray) -> dict[str, np.ndarray]:
        """The gradients by role from d loss_b / d sim (B, 1 + K), through the
        normalization under cosine."""
        grad_a, grad_p = similarity_backward(grad_sim[:, :1], self.anchor, self.positive)
        grad_a_n, grad_n = similarity_backward(grad_sim[:, 1:], self.anchor, self.negatives)
        return {"anchor": grad_a + grad_a_n, "positive": grad_p[:, 0, :], "negatives": grad_n}


def explicit_batch(inputs: Inputs, name: str, grad: bool, warnings: list[str],
                   negatives: str = "required") -> EmbeddingBatch:
    """The explicit form's batch in float64 (whatever the input's dtype, as compute), its
    breakdown of 1 + K terms an example checked against compute's limits (by blocks, above
    explicit_terms.EAGER_TERMS, nothing of that size is held), its entries' size warned."""
    batch = embedding_batch(float64_inputs(inputs), negatives=negatives)
    if not is_lazy(batch.batch, batch.k + 1, grad):
        check_embedding_breakdown(batch, batch.k + 1, name, grad)
    check_huge({"anchor": batch.anchor, "positive": batch.positive,
                "negatives": batch.negatives}, warnings)
    return batch


def explicit_vectors(batch: EmbeddingBatch, cosine: bool, warnings: list[str]) -> Explicit:
    """The batch's vectors as the similarity uses them: unit rows under cosine (zero rows
    warned of), prepared once, O((B + K) D)."""
    return Explicit(batch, vectors(batch.anchor, cosine, warnings, "anchor"),
                    vectors(batch.positive[:, None, :], cosine, warnings, "positive"),
                    vectors(batch.negatives, cosine, warnings, "negatives"), cosine)


def explicit_form(inputs: Inputs, params: dict[str, Any], name: str, grad: bool,
                  warnings: list[str]) -> Explicit:
    """The explicit form shared by dcl and hard-infonce, checked and warned as compute does
    (in float64 whatever the input's dtype)."""
    batch = explicit_batch(inputs, name, grad, warnings)
    check_temperature(params["temperature"], warnings)
    return explicit_vectors(batch, params["similarity"] == "cosine", warnings)


def float64_inputs(inputs: Inputs) -> Inputs:
    """The inputs in float64 (batch may hand an in-batch loss float32 arrays; its explicit
    form computes in float64 as compute does)."""
    if all(arr.dtype == np.float64 for arr in inputs.arrays.values()):
        return inputs
    return replace(inputs, arrays={r: np.ascontiguousarray(a, dtype=np.float64)
                                   for r, a in inputs.arrays.items()})


def paired_layout(batch: int) -> tuple[np.ndarray, np.ndarray]:
    """pos and skip of rows whose positive is their own column (row i's is column i): the
    paired batch, MNRL's candidates; nothing skipped."""
    return np.arange(batch, dtype=np.int64), np.full(batch, -1, dtype=np.int64)


def explicit_layout(batch: int) -> tuple[np.ndarray, np.ndarray]:
    """pos and skip of the explicit form's rows [p, n_0 ..]: the positive first, no skip."""
    return np.zeros(batch, dtype=np.int64), np.full(batch, -1, dtype=np.int64)
