"""The two in-batch forms of LOSSES-MORE.md, built once here for every loss that uses them.

- Paired batch (clip, siglip, npair without negatives): S_ij = s(a_i, p_j). Row i scores
  anchor i against every positive (p_i its positive, the others its negatives); column i
  scores positive i against every anchor.
- Two-view batch (ntxent-batch, dcl and hard-infonce without negatives): the 2B views
  z_i = a_i and z_{B+i} = p_i; view v's partner is v +- B and its negatives the other 2B - 2
  views. Example i's loss is the mean of its two views' losses.

Each form holds the similarity matrix (one BLAS product), the row layout the kernels of
kernels/inbatch.py read (pos, skip), and the way back: the gradient of the summed loss with
respect to each example's own a_i and p_i, from d(sum of losses)/dS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.errors import BadData
from losscli.losses.results import check_breakdown, check_embedding_breakdown
from losscli.losses.roles import EmbeddingBatch, check_huge, check_temperature, embedding_batch
from losscli.losses.vectors import Vectors, similarity_rows, vectors
from losscli.model import Inputs

ANCHOR, POSITIVE = "anchor", "positive"


def anchor_positive(inputs: Inputs, loss: str, minimum: int, form: str,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """anchor and positive (B, D) with B >= minimum, every mismatch named (LOSSES.md)."""
    batch = embedding_batch(inputs, negatives="optional")
    if batch.batch < minimum:
        raise BadData(
            f"{loss}'s {form} needs a batch of B >= {minimum} examples, found B = "
            f"{batch.batch}",
            f"give anchor and positive as (B, D) with B >= {minimum}",
            where=inputs.where("anchor"),
        )
    return batch.anchor, batch.positive


@dataclass
class PairedBatch:
    """S (B, B) = s(a_i, p_j) over the anchors and positives as the similarity uses them."""

    anchor: Vectors
    positive: Vectors
    sim: np.ndarray
    cosine: bool

    @property
    def batch(self) -> int:
        """B, the pairs (anchor i with positive i)."""
        return self.sim.shape[0]

    @property
    def dim(self) -> int:
        """D, the length of every vector."""
        return self.anchor.raw.shape[1]

    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """pos and skip for the row kernels: row i's positive is column i, nothing skipped."""
        B = self.batch
        return np.arange(B, dtype=np.int64), np.full(B, -1, dtype=np.int64)

    def backward(self, grad_sim: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the summed loss from G = d(sum)/dS: d/da = G P, d/dp = G^T A."""
        grad_a = grad_sim @ self.positive.used
        grad_p = grad_sim.T @ self.anchor.used
        return {ANCHOR: self.anchor.backward(grad_a), POSITIVE: self.positive.backward(grad_p)}


def paired_batch(inputs: Inputs, loss: str, cosine: bool, warnings: list[str],
                 minimum: int = 2, directions: int = 1) -> PairedBatch:
    """The paired batch; its breakdown holds `directions` x B terms per example (clip: the
    row and the column), checked against compute's limit first."""
    a, p = anchor_positive(inputs, loss, minimum, "paired batch")
    check_breakdown(a.shape[0], directions * a.shape[0], loss)
    check_huge({ANCHOR: a, POSITIVE: p}, warnings)
    av = vectors(a, cosine, warnings, ANCHOR)
    pv = vectors(p, cosine, warnings, POSITIVE)
    sim = av.used @ pv.used.T
    if cosine:
        np.clip(sim, -1.0, 1.0, out=sim)
    return PairedBatch(av, pv, np.ascontiguousarray(sim), cosine)


@dataclass
class TwoViewBatch:
    """The 2B views Z = [A; P] and their Gram matrix G = s(z_v, z_u) (2B, 2B)."""

    anchor: Vectors
    positive: Vectors
    sim: np.ndarray
    cosine: bool

    @property
    def batch(self) -> int:
        """B, the examples (each two views)."""
        return self.anchor.raw.shape[0]

    @property
    def dim(self) -> int:
        """D, the length of every vector."""
        return self.anchor.raw.shape[1]

    @property
    def views(self) -> int:
        """2B, the views the Gram matrix is over."""
        return 2 * self.batch

    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """pos = each view's partner (v +- B), skip = the view itself."""
        B = self.batch
        v = np.arange(2 * B, dtype=np.int64)
        return (v + B) % (2 * B), v

    def order(self) -> np.ndarray:
        """(2B, 2B - 1): each view's columns as the breakdown lists them, partner first, then
        the other 2B - 2 views in order."""
        n = self.views
        pos, _ = self.layout()
        cols = np.empty((n, n - 1), dtype=np.int64)
        everything = np.arange(n)
        for v in range(n):
            others = everything[(everything != v) & (everything != pos[v])]
            cols[v, 0] = pos[v]
            cols[v, 1:] = others
        return cols

    def per_example(self, rows: np.ndarray, order: np.ndarray) -> np.ndarray:
        """A (2B, 2B) per-row array as (B, 2 (2B - 1)) terms: the anchor view's row, then the
        positive view's, each in `order`."""
        B = self.batch
        picked = np.take_along_axis(rows, order, axis=1)
        return np.concatenate([picked[:B], picked[B:]], axis=1)

    def per_view(self, values: np.ndarray) -> np.ndarray:
        """A (2B,) per-view value repeated over each view's 2B - 1 terms: (B, 2 (2B - 1))."""
        B, width = self.batch, self.views - 1
        return np.concatenate([np.repeat(values[:B, None], width, axis=1),
                               np.repeat(values[B:, None], width, axis=1)], axis=1)

    def term_labels(self, order: np.ndarray) -> tuple[tuple[str, ...], tuple[int, ...],
                                                      dict[str, np.ndarray]]:
        """Terms.role/index (partner, then negative k) and the view/candidate columns."""
        B, width = self.batch, self.views - 1
        role = (("partner",) + ("negative",) * (width - 1)) * 2
        index = ((0,) + tuple(range(width - 1))) * 2
        view = np.empty((B, 2 * width), dtype=object)
        view[:, :width] = ANCHOR
        view[:, width:] = POSITIVE
        candidates = self.per_example(np.broadcast_to(np.arange(2 * B), (2 * B, 2 * B)), order)
        cand_role = np.full(candidates.shape, ANCHOR, dtype=object)  # no str-array detour
        cand_role[candidates >= B] = POSITIVE
        return role, index, {"view": view, "candidate_role": cand_role,
                             "candidate_index": candidates % B}

    def backward(self, grad_sim: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the summed loss from M = d(sum)/dG (G symmetric): d/dZ = (M + M^T) Z."""
        B = self.batch
        z = np.concatenate([self.anchor.used, self.positive.used])
        grad_z = (grad_sim + grad_sim.T) @ z
        return {ANCHOR: self.anchor.backward(grad_z[:B]),
                POSITIVE: self.positive.backward(grad_z[B:])}


def two_view_batch(inputs: Inputs, loss: str, cosine: bool, warnings: list[str],
                   ) -> TwoViewBatch:
    """The two-view batch of anchor and positive (B >= 2): views Z = [A; P] as the
    similarity uses them and their Gram matrix, refused before it is built when the breakdown
    would pass compute's limit.
    """
    a, p = anchor_positive(inputs, loss, 2, "two-view batch")
    B = a.shape[0]
    check_breakdown(B, 2 * (2 * B - 1), loss)
    check_huge({ANCHOR: a, POSITIVE: p}, warnings)
    av = vectors(a, cosine, warnings, ANCHOR)
    pv = vectors(p, cosine, warnings, POSITIVE)
    z = np.concatenate([av.used, pv.used])
    sim = z @ z.T
    if cosine:
        np.clip(sim, -1.0, 1.0, out=sim)
    return TwoViewBatch(av, pv, np.ascontiguousarray(sim), cosine)


@dataclass
class Explicit:
    """An anchor against its positive and explicit negatives: sim[:, 0] = s(a, p),
    sim[:, 1 + k] = s(a, n_k), with the vectors the similarities used (for gradients)."""

    batch: EmbeddingBatch
    anchor: Vectors
    positive: Vectors
    negatives: Vectors
    sim: np.ndarray


def explicit_similarities(inputs: Inputs, params: dict[str, Any], name: str, grad: bool,
                          warnings: list[str]) -> Explicit:
    """The explicit form shared by dcl and hard-infonce, checked and warned as compute does."""
    batch = embedding_batch(inputs)
    check_embedding_breakdown(batch, batch.k + 1, name, grad)
    check_huge({"anchor": batch.anchor, "positive": batch.positive,
                "negatives": batch.negatives}, warnings)
    check_temperature(params["temperature"], warnings)
    cosine = params["similarity"] == "cosine"
    a = vectors(batch.anchor, cosine, warnings, "anchor")
    p = vectors(batch.positive[:, None, :], cosine, warnings, "positive")
    n = vectors(batch.negatives, cosine, warnings, "negatives")
    sim = np.ascontiguousarray(np.concatenate(
        [similarity_rows(a.used, p.used, cosine), similarity_rows(a.used, n.used, cosine)],
        axis=1))
    return Explicit(batch, a, p, n, sim)
