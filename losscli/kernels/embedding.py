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


# ---------------------------------------------------------------------------------------------
# Gradients and library-convention variants (issue 5).
#
# Appended below the forward kernels on purpose: those stay as they are (and fast); what follows
# only reads their outputs. Gradients are analytic, per example: d loss_b / d input, with a
# defined subgradient of 0 at every kink (hinge at 0, d = 0 under euclidean, zero vectors).
# ---------------------------------------------------------------------------------------------

# Where a library puts its eps in the euclidean distance (CONTRACT.md: losscli adds none).
EPS_NONE = 0
EPS_DIFFERENCE = 1  # torch.pairwise_distance: ||x - y + eps||_2
EPS_ROOT = 2  # optax.triplet_margin_loss: (sum (x - y)^2 + eps)^(1/2)

# How a variant kernel reduces an example's terms (the triplet codes, plus PML's split).
TERMS_MEAN = 0
TERMS_SUM = 1
TERMS_MAX = 2
TERMS_MEAN_ACTIVE = 3
TERMS_SPLIT_MEAN_ACTIVE = 4  # PML contrastive: mean of active pos terms + mean of active neg


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
        for i in range(x.shape[0]):
            g = s * (x[i] - y[i] + shift)
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


@kernel
def infonce_grad(anchor, positive, negatives, temperature, grad_logit, ga, gp, gn):
    """InfoNCE with s = a.c (dot, or cosine on unit rows): with g_j = p_j - [j = 0],
    dL/da = sum_j g_j c_j / t, dL/dp = g_0 a / t, dL/dn_k = g_k a / t."""
    shared = negatives.shape[0] == 1
    D = anchor.shape[1]
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        c0 = grad_logit[b, 0] / temperature
        for i in range(D):
            ga[b, i] = c0 * positive[b, i]
            gp[b, i] = c0 * anchor[b, i]
        for k in range(negatives.shape[1]):
            ck = grad_logit[b, k + 1] / temperature
            for i in range(D):
                ga[b, i] += ck * negatives[nb, k, i]
                gn[b, k, i] = ck * anchor[b, i]


@kernel
def contrastive_variant(anchor, positive, negatives, margin, kind, eps, eps_mode, half,
                        squared, reduce_by, dist, hinge, term, loss):
    """The pairwise loss as the libraries write it (column 0 similar, 1 + k dissimilar):

    similar: c d^2 (squared) or [d]+ (not squared); dissimilar: c [m - d]+^2 or [m - d]+,
    c = 1/2 (half) or 1; distances with the library's eps. reduce_by: TERMS_MEAN or TERMS_SUM
    over the 1 + K pairs, or TERMS_SPLIT_MEAN_ACTIVE (PML: the similar term if > 0, plus the
    mean of the dissimilar terms > 0).
    """
    shared = negatives.shape[0] == 1
    K = negatives.shape[1]
    c = 0.5 if half else 1.0
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        a = anchor[b]
        d = distance_eps(a, positive[b], kind, eps, eps_mode)
        dist[b, 0] = d
        h = d if d > 0.0 else 0.0
        hinge[b, 0] = h
        term[b, 0] = c * h * h if squared else c * h
        pos = term[b, 0]
        neg = 0.0
        active = 0
        for k in range(K):
            d = distance_eps(a, negatives[nb, k], kind, eps, eps_mode)
            h = margin - d
            if not h > 0.0:
                h = 0.0
            dist[b, k + 1] = d
            hinge[b, k + 1] = h
            term[b, k + 1] = c * h * h if squared else c * h
            neg += term[b, k + 1]
            if term[b, k + 1] > 0.0:
                active += 1
        if reduce_by == TERMS_SUM:
            loss[b] = pos + neg
        elif reduce_by == TERMS_SPLIT_MEAN_ACTIVE:
            loss[b] = pos + (neg / active if active > 0 else 0.0)
        else:
            loss[b] = (pos + neg) / (K + 1)


@kernel
def contrastive_grad(anchor, positive, negatives, margin, kind, eps, eps_mode, half, squared,
                     reduce_by, dist, hinge, term, ga, gp, gn):
    """Gradients of contrastive (and contrastive_variant) per example.

    d term / d d: squared: 2 c d (similar), -2 c h (dissimilar); not squared: c and -c
    where the term is active; each weighted as the example's reduction weighs its term.
    """
    shared = negatives.shape[0] == 1
    K = negatives.shape[1]
    c = 0.5 if half else 1.0
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        a = anchor[b]
        for i in range(anchor.shape[1]):
            ga[b, i] = 0.0
            gp[b, i] = 0.0
        active = 0
        for k in range(K):
            for i in range(anchor.shape[1]):
                gn[b, k, i] = 0.0
            if term[b, k + 1] > 0.0:
                active += 1
        w_pos = 1.0 / (K + 1)
        w_neg = 1.0 / (K + 1)
        if reduce_by == TERMS_SUM:
            w_pos = 1.0
            w_neg = 1.0
        elif reduce_by == TERMS_SPLIT_MEAN_ACTIVE:
            w_pos = 1.0
            w_neg = 1.0 / active if active > 0 else 0.0
        h = hinge[b, 0]
        slope = 2.0 * c * h if squared else (c if h > 0.0 else 0.0)
        add_distance_grad(a, positive[b], kind, dist[b, 0], w_pos * slope, eps, eps_mode,
                          ga[b], gp[b])
        for k in range(K):
            h = hinge[b, k + 1]
            if not h > 0.0:
                continue
            slope = 2.0 * c * h if squared else c
            add_distance_grad(a, negatives[nb, k], kind, dist[b, k + 1], -w_neg * slope, eps,
                              eps_mode, ga[b], gn[b, k])


@kernel
def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow on either side."""
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@kernel
def triplet_variant(anchor, positive, negatives, margin, kind, swap, soft, soft_margin,
                    reduce_by, eps, eps_mode, d_ap, d_an, violation, term, regimes, loss):
    """The triplet loss as the libraries write it: distances with their eps, and (PML's
    smooth_loss) softplus(d_ap - d_an + m) when soft_margin; otherwise as `triplet`."""
    shared = negatives.shape[0] == 1
    K = negatives.shape[1]
    m = 0.0 if soft and not soft_margin else margin
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        a = anchor[b]
        p = positive[b]
        dp = distance_eps(a, p, kind, eps, eps_mode)
        d_ap[b] = dp
        total = 0.0
        largest = 0.0
        active = 0
        for k in range(K):
            dn = distance_eps(a, negatives[nb, k], kind, eps, eps_mode)
            if swap:
                dpn = distance_eps(p, negatives[nb, k], kind, eps, eps_mode)
                if dpn < dn:
                    dn = dpn
            v = dp - dn + m
            t = softplus(v) if soft else (v if v > 0.0 else 0.0)
            d_an[b, k] = dn
            violation[b, k] = v
            term[b, k] = t
            regimes[b, k] = regime(dp, dn, margin)
            total += t
            if k == 0 or t > largest:
                largest = t
            if t > 0.0:
                active += 1
        if reduce_by == TERMS_MEAN:
            loss[b] = total / K
        elif reduce_by == TERMS_SUM:
            loss[b] = total
        elif reduce_by == TERMS_MAX:
            loss[b] = largest
        else:
            loss[b] = total / active if active > 0 else 0.0


@kernel
def triplet_grad(anchor, positive, negatives, margin, kind, swap, soft, soft_margin,
                 reduce_by, eps, eps_mode, d_ap, violation, term, ga, gp, gn):
    """Gradients of triplet (and triplet_variant) per example.

    d term_k / d violation_k = [v_k > 0] (hinge; 0 at the kink) or sigmoid(v_k) (soft),
    weighted by the reduction: 1/K (mean), 1 (sum), the first largest term alone (max),
    1/#active on active terms (mean-active). Under swap the negative distance that won the
    min in the forward pass (d(p, n) only when strictly smaller) carries the gradient.
    """
    shared = negatives.shape[0] == 1
    K = negatives.shape[1]
    D = anchor.shape[1]
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        a = anchor[b]
        p = positive[b]
        for i in range(D):
            ga[b, i] = 0.0
            gp[b, i] = 0.0
        active = 0
        top = 0
        for k in range(K):
            for i in range(D):
                gn[b, k, i] = 0.0
            if term[b, k] > 0.0:
                active += 1
            if term[b, k] > term[b, top]:
                top = k
        c_ap = 0.0
        for k in range(K):
            if reduce_by == TERMS_MEAN:
                w = 1.0 / K
            elif reduce_by == TERMS_SUM:
                w = 1.0
            elif reduce_by == TERMS_MAX:
                w = 1.0 if k == top else 0.0
            else:
                w = 1.0 / active if term[b, k] > 0.0 else 0.0
            v = violation[b, k]
            if soft:
                slope = sigmoid(v)
            else:
                slope = 1.0 if v > 0.0 else 0.0
            c = w * slope
            if c == 0.0:
                continue
            c_ap += c
            n = negatives[nb, k]
            dn = distance_eps(a, n, kind, eps, eps_mode)
            if swap:
                dpn = distance_eps(p, n, kind, eps, eps_mode)
                if dpn < dn:
                    add_distance_grad(p, n, kind, dpn, -c, eps, eps_mode, gp[b], gn[b, k])
                    continue
            add_distance_grad(a, n, kind, dn, -c, eps, eps_mode, ga[b], gn[b, k])
        add_distance_grad(a, p, kind, d_ap[b], c_ap, eps, eps_mode, ga[b], gp[b])


@kernel
def quadruplet_grad(anchor, positive, negatives, negatives2, shift, kind, d_ap, d_an, d_nn,
                    triplet_term, pair_term, ga, gp, gn, gn2):
    """Gradients of the quadruplet loss per example: each active term weighs 1/K.

    The pair term's partner n2_k = negatives2[., (k + shift) mod K]; when rolled (shift 1,
    negatives2 is negatives) its gradient lands on that other negative, in gn.
    """
    shared = negatives.shape[0] == 1
    shared2 = negatives2.shape[0] == 1
    K = negatives.shape[1]
    D = anchor.shape[1]
    w = 1.0 / K
    for b in prange(anchor.shape[0]):
        nb = 0 if shared else b
        nb2 = 0 if shared2 else b
        a = anchor[b]
        for i in range(D):
            ga[b, i] = 0.0
            gp[b, i] = 0.0
        for k in range(K):
            for i in range(D):
                gn[b, k, i] = 0.0
                gn2[b, k, i] = 0.0
        c_ap = 0.0
        for k in range(K):
            n = negatives[nb, k]
            if triplet_term[b, k] > 0.0:
                c_ap += w
                add_distance_grad(a, n, kind, d_an[b, k], -w, 0.0, EPS_NONE, ga[b], gn[b, k])
            if pair_term[b, k] > 0.0:
                c_ap += w
                j = (k + shift) % K
                if shift == 0:
                    add_distance_grad(negatives2[nb2, j], n, kind, d_nn[b, k], -w, 0.0,
                                      EPS_NONE, gn2[b, j], gn[b, k])
                else:
                    add_distance_grad(negatives2[nb2, j], n, kind, d_nn[b, k], -w, 0.0,
                                      EPS_NONE, gn[b, j], gn[b, k])
        add_distance_grad(a, positive[b], kind, d_ap[b], c_ap, 0.0, EPS_NONE, ga[b], gp[b])


@kernel
def softmax_at(sim, target, temperature, logit, prob, grad):
    """-log softmax(sim / t)_target: softmax_first with the positive at any index."""
    n = sim.shape[0]
    s0 = sim[target]
    top = s0
    for j in range(n):
        logit[j] = sim[j] / temperature
        if sim[j] > top:
            top = sim[j]
    if s0 >= top:
        others = 0.0
        for j in range(n):
            if j != target:
                e = np.exp((sim[j] - s0) / temperature)
                prob[j] = e
                others += e
        total = 1.0 + others
        for j in range(n):
            if j != target:
                prob[j] = prob[j] / total
                grad[j] = prob[j]
        prob[target] = 1.0 / total
        grad[target] = -others / total
        return np.log1p(others)
    total = 0.0
    for j in range(n):
        e = np.exp((sim[j] - top) / temperature)
        prob[j] = e
        total += e
    for j in range(n):
        prob[j] = prob[j] / total
        grad[j] = prob[j]
    grad[target] = prob[target] - 1.0
    return (top - s0) / temperature + np.log(total)


@kernel
def infonce_in_batch(anchor, candidates, temperature, cosine, sim, logit, prob, grad, loss):
    """In-batch InfoNCE (sentence-transformers' MNRL): anchor b against every candidate
    (the B positives first, then the negatives), its own positive being candidate b."""
    M = candidates.shape[0]
    for b in prange(anchor.shape[0]):
        a = anchor[b]
        for m in range(M):
            if cosine:
                sim[b, m] = clamped_cosine(a, candidates[m])
            else:
                sim[b, m] = dot(a, candidates[m])
        loss[b] = softmax_at(sim[b], b, temperature, logit[b], prob[b], grad[b])


@kernel
def infonce_in_batch_grad(anchor, candidates, temperature, grad_logit, ga, gc):
    """Gradients of the batch's summed in-batch loss (every candidate serves every anchor):
    ga[b] = sum_m g[b, m] c_m / t, gc[m] = sum_b g[b, m] a_b / t."""
    B = anchor.shape[0]
    M = candidates.shape[0]
    D = anchor.shape[1]
    for b in prange(B):
        for i in range(D):
            ga[b, i] = 0.0
        for m in range(M):
            c = grad_logit[b, m] / temperature
            for i in range(D):
                ga[b, i] += c * candidates[m, i]
    for m in prange(M):
        for i in range(D):
            gc[m, i] = 0.0
        for b in range(B):
            c = grad_logit[b, m] / temperature
            for i in range(D):
                gc[m, i] += c * anchor[b, i]
