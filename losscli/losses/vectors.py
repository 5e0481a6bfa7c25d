"""Vectors as a similarity or distance uses them, the similarity and distance rows, and the
gradients carried back from them (and from the unit normalization) to the input vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from losscli.kernels import _jit, codes
from losscli.kernels import distances as kern
from losscli.losses.roles import EmbeddingBatch

DISTANCE_KINDS = {"euclidean": codes.EUCLIDEAN, "sqeuclidean": codes.SQEUCLIDEAN,
                  "cosine": codes.COSINE}


def to_unit(batch: EmbeddingBatch, warnings: list[str], measure: str) -> EmbeddingBatch:
    """The batch with every vector scaled to unit length, for cosine similarity or distance."""
    out = {}
    for name in ("anchor", "positive", "negatives", "negatives2"):
        arr = getattr(batch, name)
        if arr is None:
            out[name] = None
            continue
        flat = arr.reshape(-1, arr.shape[-1])
        unit = np.empty_like(flat)
        zeros = _jit.run(kern.unit_rows, flat.size, flat, unit) if flat.size else 0
        if zeros:
            warnings.append(zero_vectors_warning(name, zeros, measure))
        out[name] = unit.reshape(arr.shape)
    return EmbeddingBatch(out["anchor"], out["positive"], out["negatives"],
                          out["negatives2"], batch.warnings)


def zero_vectors_warning(role: str, count: int, measure: str) -> str:
    """Phrased role first, so that several roles' warnings merge into one (notices.py)."""
    return (f"zero vectors in {role} ({count}) under cosine {measure}: their cosine is taken "
            "as 0")


@dataclass
class Vectors:
    """A role's vectors as a similarity or distance uses them.

    `used` is `raw` itself, or each row scaled to unit length (cosine); `norms` (cosine only)
    are the raw rows' lengths, which the gradient through the normalization divides by.
    """

    raw: np.ndarray
    used: np.ndarray
    norms: np.ndarray | None

    def backward(self, grad_used: np.ndarray) -> np.ndarray:
        """d/d raw from d/d used: (g - (g.u) u) / |x| under cosine (0 for a zero vector).

        grad_used may carry a leading batch axis over a shared bank ((B, K, D) for (1, K, D)).
        """
        if self.norms is None:
            return grad_used
        u = self.used
        radial = np.sum(grad_used * u, axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (grad_used - radial * u) / self.norms[..., None]
        return np.where(self.norms[..., None] > 0.0, out, 0.0)


def vectors(arr: np.ndarray, unit: bool, warnings: list[str], name: str,
            measure: str = "similarity") -> Vectors:
    """`arr` (..., D) prepared: unit rows under cosine (zero rows stay zero, with a warning)."""
    if not unit:
        return Vectors(arr, arr, None)
    flat = np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]))
    out = np.empty_like(flat)
    zeros = _jit.run(kern.unit_rows, flat.size, flat, out) if flat.size else 0
    if zeros:
        warnings.append(zero_vectors_warning(name, zeros, measure))
    return Vectors(arr, out.reshape(arr.shape), row_norms(arr))


def row_norms(arr: np.ndarray) -> np.ndarray:
    """Euclidean norms of the last axis, scaled by the largest |entry| so none overflows."""
    scale = np.max(np.abs(arr), axis=-1, keepdims=True) if arr.size else np.zeros(
        arr.shape[:-1] + (1,))
    safe = np.where(scale > 0.0, scale, 1.0)
    return (np.sqrt(np.sum((arr / safe) ** 2, axis=-1)) * scale[..., 0])


def similarity_rows(anchor: np.ndarray, bank: np.ndarray, cosine: bool) -> np.ndarray:
    """(B, C) similarities of each anchor row with its bank (1 or B, C, D), by BLAS.

    Cosine rows are unit already; their dot products are clamped to [-1, 1].
    """
    if bank.shape[0] == 1:
        sim = anchor @ bank[0].T
    else:
        sim = np.einsum("bd,bcd->bc", anchor, bank)
    if cosine:
        np.clip(sim, -1.0, 1.0, out=sim)
    return np.ascontiguousarray(sim)


# A shared bank's similarities are BLAS products of tiles of anchor rows on a fixed grid,
# about this many bytes a tile (at least GRID_MIN_ROWS rows, at most GRID_MAX_ROWS).
GRID_BYTES = 32 * 2**20
GRID_MIN_ROWS = 1  # a bank of millions of negatives: a row a product, 8 C bytes
GRID_MAX_ROWS = 512


class SimilarityRows:
    """s(a_b, c) of each anchor row (B, D) with its bank (1 or B, C, D), examples
    [start, stop) at a time, each row the same bits whatever rows are asked with it.

    BLAS picks its kernels by the matrices' shapes, so a row's dot products depend on the
    rows multiplied with it (a row alone goes by gemv; 600 x 5 against 1 x 5 rows differed
    in the last bit): a shared bank's products are taken by tiles of rows on a grid fixed by
    C, and a block's rows read from their tiles, the last one kept (blocks read in order pay
    one product a tile). A per-anchor bank's rows go through a kernel of dot products on the
    whole batch's path (einsum rounds a lone row apart; nothing is shared for BLAS to use).
    Under cosine (unit rows) the similarities are clamped to [-1, 1]. Against a kernel of
    dot products (every row in one order) BLAS took a third to an eighth of the time
    (B = 2,048, K = 16,384, D = 768: 0.49 s against 4.0 s).
    """

    def __init__(self, anchor: np.ndarray, bank: np.ndarray, cosine: bool) -> None:
        self.anchor, self.bank, self.cosine = anchor, bank, cosine
        C = bank.shape[1]
        self.grid = int(min(GRID_MAX_ROWS, max(GRID_MIN_ROWS, GRID_BYTES // max(1, 8 * C))))
        self.kept: tuple[int, np.ndarray] | None = None

    def __call__(self, start: int, stop: int) -> np.ndarray:
        """(stop - start, C): the similarities of examples [start, stop)."""
        if self.bank.shape[0] != 1:
            out = np.empty((stop - start, self.bank.shape[1]))
            work = self.bank.size  # the whole batch's: its path for every block
            _jit.run(kern.row_similarities, work, np.ascontiguousarray(self.anchor[start:stop]),
                     np.ascontiguousarray(self.bank[start:stop]), self.cosine, out)
            return out
        out = np.empty((stop - start, self.bank.shape[1]),
                       dtype=np.result_type(self.anchor.dtype, self.bank.dtype))
        for t0 in range(start - start % self.grid, stop, self.grid):
            tile = self._tile(t0)
            lo, hi = max(start, t0), min(stop, t0 + tile.shape[0])
            out[lo - start:hi - start] = tile[lo - t0:hi - t0]
        return out

    def _tile(self, t0: int) -> np.ndarray:
        if self.kept is None or self.kept[0] != t0:
            rows = self.anchor[t0:t0 + self.grid]
            self.kept = (t0, similarity_rows(rows, self.bank, self.cosine))
        return self.kept[1]


def distance_rows(x: np.ndarray, bank: np.ndarray, kind: str,
                  work: int | None = None) -> np.ndarray:
    """(B, C) exact distances of each row of x (B, D) to its bank (1 or B, C, D).

    `work` chooses the kernel's path (x's own by default): a block of a larger batch's rows
    passes the whole batch's, so that it runs as the whole batch would (the same bits).
    """
    out = np.empty((x.shape[0], bank.shape[1]))
    if work is None:
        work = x.shape[0] * bank.shape[1] * x.shape[1]
    _jit.run(kern.distances, work, np.ascontiguousarray(x), np.ascontiguousarray(bank),
             DISTANCE_KINDS[kind], out)
    return out


def similarity_backward(grad_sim: np.ndarray, anchor: Vectors, bank: Vectors,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """From d loss_b / d s(a_b, c) (B, C) to d/d a (B, D) and d/d c per example (B, C, D)."""
    a, c = anchor.used, bank.used
    if c.shape[0] == 1:
        grad_a = grad_sim @ c[0]
    else:
        grad_a = np.einsum("bc,bcd->bd", grad_sim, c)
    grad_c = grad_sim[:, :, None] * a[:, None, :]
    return anchor.backward(grad_a), bank.backward(grad_c)


def distance_backward(grad_dist: np.ndarray, x: Vectors, bank: Vectors, dist: np.ndarray,
                      kind: str) -> tuple[np.ndarray, np.ndarray]:
    """From d loss_b / d d(x_b, c) (B, C) to d/d x (B, D) and d/d c per example (B, C, D).

    Exact distances (LOSSES.md): euclidean (x - c) / d with 0 at d = 0; sqeuclidean
    2 (x - c); cosine (1 - cos) through the normalization of both rows.
    """
    xu, cu = x.used, bank.used
    if kind == "cosine":
        if cu.shape[0] == 1:
            gx = -(grad_dist @ cu[0])
        else:
            gx = -np.einsum("bc,bcd->bd", grad_dist, cu)
        gc = -grad_dist[:, :, None] * xu[:, None, :]
        return x.backward(gx), bank.backward(gc)
    diff = xu[:, None, :] - cu
    if kind == "sqeuclidean":
        g = (2.0 * grad_dist)[:, :, None] * diff
    else:
        g = euclidean_backward(grad_dist, diff, dist)
    # Through the normalization when a library normalizes first (PML's LpDistance).
    return x.backward(g.sum(axis=1)), bank.backward(-g)


def euclidean_backward(grad_dist: np.ndarray, diff: np.ndarray, dist: np.ndarray,
                       ) -> np.ndarray:
    """grad_dist (x - c) / d for each distance d = |x - c| of the differences `diff` (one
    more axis than the others), 0 at d = 0; where d is subnormal, (x - c) / d first (each at
    most 1): grad_dist / 5e-324 overflowed, and the finite gradient came out null."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = np.where(dist > 0.0, grad_dist / dist, 0.0)
        g = w[..., None] * diff
        lost = (dist > 0.0) & ~np.isfinite(w) & np.isfinite(grad_dist)
        if lost.any():
            g[lost] = grad_dist[lost][:, None] * (diff[lost] / dist[lost][:, None])
    return g


def through_unit(original: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """d loss / d x from d loss / d u, where u = x / |x| (the rows `to_unit` made).

    `original` may be a shared bank (1, K, D) for per-example gradients (B, K, D).
    """
    D = original.shape[-1]
    x = np.ascontiguousarray(original.reshape(-1, D))
    g = np.ascontiguousarray(grad.reshape(-1, D))
    out = np.empty_like(g)
    if g.size:
        _jit.run(kern.unit_rows_grad, g.size, x, g, out)
    return out.reshape(grad.shape)


def embedding_gradients(original, unit: bool, anchor: np.ndarray, positive: np.ndarray,
                        negatives: np.ndarray, negatives2: np.ndarray | None = None,
                        ) -> dict[str, np.ndarray]:
    """The gradients dict by role, carried through the normalization when one was applied.

    `original` is the EmbeddingBatch before `to_unit`.
    """
    grads = {"anchor": anchor, "positive": positive, "negatives": negatives}
    if negatives2 is not None:
        grads["negatives2"] = negatives2
    if not unit:
        return grads
    return {role: through_unit(getattr(original, role), g) for role, g in grads.items()}
