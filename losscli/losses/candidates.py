"""An anchor against its positives and negatives: the shared setup of supcon-like losses.

multi-similarity, circle, lifted-structure and supcon (explicit) each score an anchor against
P positives (`positives`, or `positive` as P = 1) and K explicit negatives. Each bank keeps
its own layout (shared or per anchor): the two are never broadcast to one copy per anchor.
Their similarities and distances are computed a block of examples at a time where the
breakdown is large (explicit_terms.by_rows), by kernels whose rows do not depend on the block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from losscli.losses.explicit_terms import example_rows, is_lazy
from losscli.losses.results import check_breakdown
from losscli.losses.roles import anchor_rows, check_huge, negatives_bank, positives_bank
from losscli.losses.vectors import (
    SimilarityRows,
    Vectors,
    distance_backward,
    distance_rows,
    similarity_backward,
    vectors,
)
from losscli.model import Inputs


@dataclass
class Candidates:
    """An anchor (B, D) with its P positives and K negatives, each bank as given
    (shared, or one per anchor), as the similarity or distance uses them.
    """

    anchor: Vectors
    positives: Vectors
    negatives: Vectors
    positive_role: str  # "positive" or "positives": the gradients' key
    negatives_given: bool
    # (positives', negatives') SimilarityRows by cosine, made on first use
    similarity_rows: dict[bool, tuple[SimilarityRows, SimilarityRows]] = field(
        default_factory=dict, repr=False)

    @property
    def batch(self) -> int:
        """B, the number of anchors."""
        return self.anchor.raw.shape[0]

    @property
    def dim(self) -> int:
        """D, the length of every vector."""
        return self.anchor.raw.shape[1]

    @property
    def p(self) -> int:
        """P, the positives of each anchor."""
        return self.positives.raw.shape[1]

    @property
    def k(self) -> int:
        """K, the negatives of each anchor (0 where none were given)."""
        return self.negatives.raw.shape[1]

    def kinds(self, rows: int) -> np.ndarray:
        """(rows, P + K) the breakdown's `kind` column: positive, then negative."""
        kind = np.empty((rows, self.p + self.k), dtype=object)
        kind[:, :self.p] = "positive"
        kind[:, self.p:] = "negative"
        return kind

    def role_index(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The breakdown's term roles and indices: positive 0..P-1, then negative 0..K-1."""
        return (("positive",) * self.p + ("negative",) * self.k,
                tuple(range(self.p)) + tuple(range(self.k)))

    def used(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The used vectors of examples [start, stop): anchors (n, D), positives and negatives
        (1 or n, C, D), a shared bank whole."""
        return (self.anchor.used[start:stop], example_rows(self.positives.used, start, stop),
                example_rows(self.negatives.used, start, stop))

    def similarities(self, cosine: bool, start: int, stop: int) -> np.ndarray:
        """(stop - start, P + K): s(a, positives) then s(a, negatives), of examples
        [start, stop), each row the same bits whatever block it is read in."""
        if cosine not in self.similarity_rows:
            a = self.anchor.used
            self.similarity_rows[cosine] = (SimilarityRows(a, self.positives.used, cosine),
                                            SimilarityRows(a, self.negatives.used, cosine))
        positives, negatives = self.similarity_rows[cosine]
        return np.ascontiguousarray(np.concatenate(
            [positives(start, stop), negatives(start, stop)], axis=1))

    def distances(self, kind: str, start: int, stop: int) -> np.ndarray:
        """(stop - start, P + K): d(a, positives) then d(a, negatives), of examples
        [start, stop), the kernel on the path the whole batch's work chooses."""
        a, positives, negatives = self.used(start, stop)
        B, D = self.batch, self.dim
        return np.ascontiguousarray(np.concatenate(
            [distance_rows(a, positives, kind, B * self.p * D),
             distance_rows(a, negatives, kind, B * self.k * D)], axis=1))

    def gradients(self, grad_a: np.ndarray, grad_pos: np.ndarray, grad_neg: np.ndarray,
                  ) -> dict[str, np.ndarray]:
        """The Result's gradients by role from the (B, D), (B, P, D) and (B, K, D)
        ones: `positive` as (B, D) where the input had one, no `negatives` where none was given.
        """
        out = {"anchor": grad_a,
               self.positive_role: grad_pos[:, 0, :] if self.positive_role == "positive"
               else grad_pos}
        if self.negatives_given:
            out["negatives"] = grad_neg
        return out

    def similarity_gradients(self, dsim: np.ndarray) -> dict[str, np.ndarray]:
        """From d loss_b / d s (B, P + K) to the vectors' gradients per example."""
        P = self.p
        grad_a, grad_pos = similarity_backward(dsim[:, :P], self.anchor, self.positives)
        grad_a_n, grad_neg = similarity_backward(dsim[:, P:], self.anchor, self.negatives)
        return self.gradients(grad_a + grad_a_n, grad_pos, grad_neg)

    def distance_gradients(self, ddist: np.ndarray, dist: np.ndarray, kind: str,
                           ) -> dict[str, np.ndarray]:
        """From d loss_b / d d (B, P + K) to the vectors' gradients per example."""
        P = self.p
        grad_a, grad_pos = distance_backward(ddist[:, :P], self.anchor, self.positives,
                                             dist[:, :P], kind)
        grad_a_n, grad_neg = distance_backward(ddist[:, P:], self.anchor, self.negatives,
                                               dist[:, P:], kind)
        return self.gradients(grad_a + grad_a_n, grad_pos, grad_neg)


def candidates(inputs: Inputs, unit: bool, warnings: list[str], *, negatives_required: bool,
               loss: str, grad: bool, measure: str = "similarity",
               terms: Callable[[int, int], int] | None = None) -> Candidates:
    """The anchor, its positives and negatives, prepared for the similarity or distance.

    The breakdown (`terms(P, K)` per example; P + K by default) and the gradients are
    checked against compute's limits before anything is normalized; a breakdown computed
    by blocks (explicit_terms.is_lazy) holds a block at a time, and is not refused.
    """
    anchor, single = anchor_rows(inputs)
    B, D = anchor.shape
    positives, role = positives_bank(inputs, B, D, single)
    negatives = negatives_bank(inputs, B, D, single, required=negatives_required,
                               allow_empty=not negatives_required)
    P, K = positives.shape[1], negatives.shape[1]
    T = terms(P, K) if terms else P + K
    if not is_lazy(B, T, grad):  # by blocks (never with --grad) nothing B x T is held
        check_breakdown(B, T, loss, B * (1 + P + K) * D if grad else 0)
    check_huge({"anchor": anchor, role: positives, "negatives": negatives}, warnings)
    return Candidates(vectors(anchor, unit, warnings, "anchor", measure),
                      vectors(positives, unit, warnings, role, measure),
                      vectors(negatives, unit, warnings, "negatives", measure),
                      role, "negatives" in inputs)
