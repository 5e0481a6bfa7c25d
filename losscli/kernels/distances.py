"""Distances and similarities between rows, their gradients, and rows scaled to unit length.

Rows are 1-D views (D,) except where a kernel takes a batch: x (B, D) against a bank
(Bn, C, D) with Bn = 1 (one bank shared by every row) or Bn = B (per row). Distance kinds
are the small ints of kernels/codes.py (EUCLIDEAN, SQEUCLIDEAN, COSINE); cosine kernels
expect rows already scaled to unit length by `unit_rows`. The euclidean distance is exact
(no eps) and free of intermediate over- and underflow; `distance_eps` places a library's eps.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange
from losscli.kernels.codes import (
    EPS_DIFFERENCE,
    EPS_ROOT,
    EUCLIDEAN,
    RESCALE_ABOVE,
    RESCALE_BELOW,
    SQEUCLIDEAN,
)


@kernel(stream=True)
def dot(x, y):
    """The dot product x . y of two rows."""
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] * y[i]
    return total


@kernel(stream=True)
def squared_distance(x, y):
    """sum_i (x_i - y_i)^2, from the differences (no cancellation of |x|^2 + |y|^2 - 2 x.y)."""
    total = 0.0
    for i in range(x.shape[0]):
        diff = x[i] - y[i]
        total += diff * diff
    return total


@kernel
def euclidean_distance(x, y):
    """sqrt(sum (x_i - y_i)^2), exact (no eps) and free of intermediate over/underflow: a
    squared sum that may have under- or overflowed is taken again from the differences
    divided by the largest (differences below ~1e-162, whose squares all underflow to 0,
    keep their distance). Equal rows give 0, NaN differences NaN."""
    total = squared_distance(x, y)
    if total > RESCALE_BELOW and total < RESCALE_ABOVE:
        return np.sqrt(total)
    scale = 0.0
    for i in range(x.shape[0]):
        diff = abs(x[i] - y[i])
        if diff > scale:
            scale = diff
    if scale == 0.0 or not np.isfinite(scale):
        return np.sqrt(total)
    scaled = 0.0
    for i in range(x.shape[0]):
        diff = (x[i] - y[i]) / scale
        scaled += diff * diff
    return scale * np.sqrt(scaled)


@kernel
def clamped_cosine(x, y):
    """Cosine of two unit (or zero) rows, clamped to [-1, 1] against rounding."""
    c = dot(x, y)
    if c > 1.0:
        return 1.0
    if c < -1.0:
        return -1.0
    return c


@kernel
def distance(x, y, kind):
    """d(x, y) of a kind: euclidean (exact), sqeuclidean, or 1 - cos(x, y) clamped to [0, 2]
    (cosine rows arrive at unit length).
    """
    if kind == EUCLIDEAN:
        return euclidean_distance(x, y)
    if kind == SQEUCLIDEAN:
        return squared_distance(x, y)
    return 1.0 - clamped_cosine(x, y)


@kernel
def distance_eps(x, y, kind, eps, eps_mode):
    """A distance with a library's eps: added to the difference (torch) or under the root
    (optax); only the euclidean distance takes an eps, the others are `distance`."""
    if kind == EUCLIDEAN and eps_mode == EPS_DIFFERENCE:
        total = 0.0
        for i in range(x.shape[0]):
            diff = x[i] - y[i] + eps
            total += diff * diff
        return np.sqrt(total)
    if kind == EUCLIDEAN and eps_mode == EPS_ROOT:
        return np.sqrt(squared_distance(x, y) + eps)
    return distance(x, y, kind)


@kernel
def distances(x, bank, kind, out):
    """out[b, c] = d(x_b, bank[., c]) for a shared (1, C, D) or per-row (B, C, D) bank.

    kind: EUCLIDEAN, SQEUCLIDEAN, or COSINE (1 - cosine of rows already of unit length,
    clamped to [0, 2]).
    """
    shared = bank.shape[0] == 1
    for b in prange(x.shape[0]):
        nb = 0 if shared else b
        for c in range(bank.shape[1]):
            if kind == EUCLIDEAN:
                out[b, c] = euclidean_distance(x[b], bank[nb, c])
            elif kind == SQEUCLIDEAN:
                out[b, c] = squared_distance(x[b], bank[nb, c])
            else:
                cos = dot(x[b], bank[nb, c])
                cos = min(max(cos, -1.0), 1.0)
                out[b, c] = 1.0 - cos


@kernel
def row_similarities(x, bank, cosine, out):
    """out[b, c] = x_b . bank[b, c] for a per-row bank (B, C, D); under cosine (rows already
    of unit length) clamped to [-1, 1], NaN kept.

    Each dot product in one order whatever rows are computed with it: a block of a batch's
    rows comes out as the whole batch's did (numpy's einsum rounds a lone row apart).
    """
    for b in prange(x.shape[0]):
        for c in range(bank.shape[1]):
            s = dot(x[b], bank[b, c])
            if cosine:
                if s > 1.0:
                    s = 1.0
                elif s < -1.0:
                    s = -1.0
            out[b, c] = s


@kernel
def distances_eps_difference(x, y, eps, out):
    """out[b] = ||x_b - y_b + eps||_2, torch.pairwise_distance's eps placement (x, y (B, D))."""
    for b in prange(x.shape[0]):
        total = 0.0
        for i in range(x.shape[1]):
            diff = x[b, i] - y[b, i] + eps
            total += diff * diff
        out[b] = np.sqrt(total)


@kernel
def add_distance_grad(x, y, kind, d, coef, eps, eps_mode, gx, gy):
    """gx += coef * dd/dx and gy += coef * dd/dy, where d = distance_eps(x, y, kind, ...).

    euclidean: dd/dx = (x - y [+ eps]) / d, and 0 at d = 0 (the subgradient, never NaN);
    sqeuclidean: 2 (x - y); cosine on unit rows (d = 1 - x.y): dd/dx = -y, dd/dy = -x.
    """
    if coef == 0.0:
        return
    if kind == EUCLIDEAN:
        if not d > 0.0:
            return
        shift = eps if eps_mode == EPS_DIFFERENCE else 0.0
        s = coef / d
        if abs(s) < np.inf:
            for i in range(x.shape[0]):
                g = s * (x[i] - y[i] + shift)
                gx[i] += g
                gy[i] -= g
        else:  # a subnormal d (1/5e-324 overflows): each (x - y) / d is at most 1
            for i in range(x.shape[0]):
                g = coef * ((x[i] - y[i] + shift) / d)
                gx[i] += g
                gy[i] -= g
    elif kind == SQEUCLIDEAN:
        s = 2.0 * coef
        for i in range(x.shape[0]):
            g = s * (x[i] - y[i])
            gx[i] += g
            gy[i] -= g
    else:
        for i in range(x.shape[0]):
            xi = x[i]
            gx[i] -= coef * y[i]
            gy[i] -= coef * xi


@kernel
def unit_rows(x, out):
    """out[i] = x[i] / max(|x[i]|, 1e-8) after scaling x[i] by its largest |entry|.

    The scaling keeps huge and tiny norms exact; an all-zero row stays zero. Returns the
    number of zero rows.
    """
    zeros = 0
    for i in range(x.shape[0]):
        scale = 0.0
        for j in range(x.shape[1]):
            v = abs(x[i, j])
            if v > scale:
                scale = v
        if scale == 0.0:
            zeros += 1
            for j in range(x.shape[1]):
                out[i, j] = 0.0
            continue
        norm = 0.0
        for j in range(x.shape[1]):
            v = x[i, j] / scale
            norm += v * v
        norm = np.sqrt(norm)
        if norm < 1e-8:
            norm = 1e-8
        for j in range(x.shape[1]):
            out[i, j] = (x[i, j] / scale) / norm
    return zeros


@kernel
def unit_rows_grad(x, g, out):
    """The gradient through `unit_rows`: out[r] = (g[r] - (g[r].u) u) / |x| with u = x / |x|.

    Row r of g (and out) belongs to row r mod X of x (X = x.shape[0]), so one shared bank
    of K negatives serves B examples' gradients (B K rows). Norms are taken after scaling by
    the largest |entry|, as in unit_rows, so tiny and huge rows stay exact; a zero row has
    no direction and gets gradient 0.
    """
    X = x.shape[0]
    D = x.shape[1]
    for r in prange(g.shape[0]):
        i = r % X
        scale = 0.0
        for j in range(D):
            v = abs(x[i, j])
            if v > scale:
                scale = v
        if scale == 0.0:
            for j in range(D):
                out[r, j] = 0.0
            continue
        norm = 0.0
        for j in range(D):
            v = x[i, j] / scale
            norm += v * v
        norm = np.sqrt(norm)
        along = 0.0
        for j in range(D):
            along += g[r, j] * ((x[i, j] / scale) / norm)
        for j in range(D):
            u = (x[i, j] / scale) / norm
            out[r, j] = ((g[r, j] - along * u) / scale) / norm
