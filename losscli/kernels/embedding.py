"""Kernels of the embedding losses: similarities, distances, and the per-term loops.

All of them work on a whole batch in one call. Shapes: anchor and positive (B, D);
negatives (Bn, K, D) with Bn = 1 (one bank shared by every anchor) or Bn = B (per anchor).
Outputs are preallocated by the caller and filled in place; the per-example loss goes in
`loss` (B,). Distance kinds are small ints (EUCLIDEAN, SQEUCLIDEAN, COSINE); cosine kernels
expect rows already scaled to unit length by `unit_rows`.

Distances and similarities live here with the loops that call them because numba's cache
only notices edits to the file of the function it compiled.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange

EUCLIDEAN = 0
SQEUCLIDEAN = 1
COSINE = 2

HARD = 0
SEMI_HARD = 1
EASY = 2

# Squared sums outside (TINY, HUGE) may have under- or overflowed: recompute them scaled.
_TINY = 1e-280
_HUGE = 1e280


@kernel(stream=True)
def dot(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] * y[i]
    return total


@kernel(stream=True)
def squared_distance(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        diff = x[i] - y[i]
        total += diff * diff
    return total


@kernel
def euclidean_distance(x, y):
    """sqrt(sum (x_i - y_i)^2), exact (no eps) and free of intermediate over/underflow."""
    total = squared_distance(x, y)
    if total > _TINY and total < _HUGE:
        return np.sqrt(total)
    scale = 0.0
    for i in range(x.shape[0]):
        diff = abs(x[i] - y[i])
        if diff > scale:
            scale = diff
    if scale == 0.0:
        return 0.0
    if not np.isfinite(scale):
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
    if kind == EUCLIDEAN:
        return euclidean_distance(x, y)
    if kind == SQEUCLIDEAN:
        return squared_distance(x, y)
    return 1.0 - clamped_cosine(x, y)


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
def softmax_first(sim, temperature, logit, prob, grad):
    """-log softmax(sim / t)_0 for one row, with its probabilities and logit gradients.

    Works on similarity differences, (s_j - max s) / t, so no logit overflows when the loss
    is representable; when the positive has the largest similarity the loss is
    log1p(sum_{j>0} exp((s_j - s_0) / t)), accurate down to the tiniest losses.
    """
    n = sim.shape[0]
    top = sim[0]
    for j in range(n):
        logit[j] = sim[j] / temperature
        if sim[j] > top:
            top = sim[j]
    if sim[0] >= top:
        others = 0.0
        for j in range(1, n):
            e = np.exp((sim[j] - sim[0]) / temperature)
            prob[j] = e
            others += e
        total = 1.0 + others
        prob[0] = 1.0 / total
        grad[0] = -others / total
        for j in range(1, n):
            prob[j] = prob[j] / total
            grad[j] = prob[j]
        return np.log1p(others)
    total = 0.0
    for j in range(n):
        e = np.exp((sim[j] - top) / temperature)
        prob[j] = e
        total += e
    for j in range(n):
        prob[j] = prob[j] / total
        grad[j] = prob[j]
    grad[0] = prob[0] - 1.0
    return (top - sim[0]) / temperature + np.log(total)


@kernel
def infonce(anchor, positive, negatives, temperature, cosine, sim, logit, prob, grad, loss):
    """InfoNCE per example: sim[:, 0] = s(a, p), sim[:, 1 + k] = s(a, n_k)."""
    shared = negatives.shape[0] == 1
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        a = anchor[b]
        if cosine:
            sim[b, 0] = clamped_cosine(a, positive[b])
            for k in range(negatives.shape[1]):
                sim[b, k + 1] = clamped_cosine(a, negatives[nb, k])
        else:
            sim[b, 0] = dot(a, positive[b])
            for k in range(negatives.shape[1]):
                sim[b, k + 1] = dot(a, negatives[nb, k])
        loss[b] = softmax_first(sim[b], temperature, logit[b], prob[b], grad[b])


@kernel
def contrastive(anchor, positive, negatives, margin, kind, dist, hinge, term, loss):
    """Hadsell et al. Eq. 4 per pair; column 0 is the similar pair, 1 + k the dissimilar."""
    shared = negatives.shape[0] == 1
    pairs = negatives.shape[1] + 1
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        a = anchor[b]
        d = distance(a, positive[b], kind)
        dist[b, 0] = d
        hinge[b, 0] = d
        term[b, 0] = 0.5 * d * d
        total = term[b, 0]
        for k in range(negatives.shape[1]):
            d = distance(a, negatives[nb, k], kind)
            h = margin - d
            if not h > 0.0:
                h = 0.0
            dist[b, k + 1] = d
            hinge[b, k + 1] = h
            term[b, k + 1] = 0.5 * h * h
            total += term[b, k + 1]
        loss[b] = total / pairs


@kernel
def softplus(x):
    """log(1 + exp(x)) exactly: max(x, 0) + log1p(exp(-|x|)), no linear cut-off."""
    return max(x, 0.0) + np.log1p(np.exp(-abs(x)))


@kernel
def regime(d_ap, d_an, margin):
    if d_an < d_ap:
        return HARD
    if d_an < d_ap + margin:
        return SEMI_HARD
    return EASY


@kernel
def triplet(anchor, positive, negatives, margin, kind, swap, soft, reduce_by,
            d_ap, d_an, violation, term, regimes, loss):
    """Triplet terms [d_ap - d_an + m]+ (or softplus), reduced over the K negatives.

    reduce_by: 0 mean, 1 sum, 2 max, 3 mean over active terms (0 when none is active).
    """
    shared = negatives.shape[0] == 1
    K = negatives.shape[1]
    m = 0.0 if soft else margin
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        a = anchor[b]
        p = positive[b]
        dp = distance(a, p, kind)
        d_ap[b] = dp
        total = 0.0
        largest = 0.0
        active = 0
        for k in range(K):
            dn = distance(a, negatives[nb, k], kind)
            if swap:
                dpn = distance(p, negatives[nb, k], kind)
                if dpn < dn:
                    dn = dpn
            v = dp - dn + m
            if soft:
                t = softplus(dp - dn)
            else:
                t = v if v > 0.0 else 0.0
            d_an[b, k] = dn
            violation[b, k] = v
            term[b, k] = t
            regimes[b, k] = regime(dp, dn, m)
            total += t
            if k == 0 or t > largest:
                largest = t
            if t > 0.0:
                active += 1
        if reduce_by == 0:
            loss[b] = total / K
        elif reduce_by == 1:
            loss[b] = total
        elif reduce_by == 2:
            loss[b] = largest
        else:
            loss[b] = total / active if active > 0 else 0.0


@kernel
def quadruplet(anchor, positive, negatives, negatives2, shift, margin, margin2, kind,
               d_ap, d_an, d_nn, triplet_term, pair_term, regimes, loss):
    """Chen et al. 2017: mean_k [d_ap - d_an + m1]+ + mean_k [d_ap - d(n2_k, n_k) + m2]+.

    n2_k = negatives2[., (k + shift) mod K]: shift 0 for given partners, 1 for rolled ones.
    """
    shared = negatives.shape[0] == 1
    shared2 = negatives2.shape[0] == 1
    K = negatives.shape[1]
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        nb2 = 0 if shared2 else b
        a = anchor[b]
        dp = distance(a, positive[b], kind)
        d_ap[b] = dp
        trip_total = 0.0
        pair_total = 0.0
        for k in range(K):
            n = negatives[nb, k]
            dn = distance(a, n, kind)
            dnn = distance(negatives2[nb2, (k + shift) % K], n, kind)
            t = dp - dn + margin
            t = t if t > 0.0 else 0.0
            q = dp - dnn + margin2
            q = q if q > 0.0 else 0.0
            d_an[b, k] = dn
            d_nn[b, k] = dnn
            triplet_term[b, k] = t
            pair_term[b, k] = q
            regimes[b, k] = regime(dp, dn, margin)
            trip_total += t
            pair_total += q
        loss[b] = trip_total / K + pair_total / K
