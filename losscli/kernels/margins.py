"""Margin losses: hinges on distances, similarities and scores, and their gradients.

Shapes: anchor and positive (B, D); negatives (Bn, K, D) with Bn = 1 (one bank shared by
every anchor) or Bn = B (per anchor). Outputs are preallocated by the caller and filled in
place; the per-example loss goes in `loss` (B,). Distance kinds, regimes, eps placements
and term reductions are the codes of kernels/codes.py.

Gradients are analytic, per example: d loss_b / d input, with a defined subgradient of 0 at
every kink (hinge at 0, d = 0 under euclidean, zero vectors). The `_variant` kernels write a
loss as a library does (its eps, its 1/2 factors, its reduction); the others are losscli's.
The row kernels at the end (lifted structure, margin, cosine and hinge embedding, margin
ranking) take distances, similarities or scores computed by the caller.
"""

from __future__ import annotations

from losscli.kernels._jit import kernel, prange
from losscli.kernels.codes import (
    EASY,
    EPS_NONE,
    HARD,
    SEMI_HARD,
    TERMS_MAX,
    TERMS_MEAN,
    TERMS_SPLIT_MEAN,
    TERMS_SPLIT_MEAN_ACTIVE,
    TERMS_SUM,
)
from losscli.kernels.distances import add_distance_grad, distance, distance_eps
from losscli.kernels.softmax import log_sum_exp, sigmoid, softplus


@kernel
def hinge(v):
    """[v]+, NaN kept: inf - inf of two overflowed distances must reach the loss as NaN (null
    with a warning), where `v if v > 0 else 0` read it as 0, every constraint met."""
    return v if not v <= 0.0 else 0.0


@kernel
def regime(d_ap, d_an, margin):
    """A triplet's regime: HARD when d_an < d_ap, SEMI_HARD when d_an < d_ap + m, else EASY.

    The second test is the hinge's own d_ap - d_an + m > 0, so a term is active exactly when
    its regime is not easy (d_an < d_ap + m rounds d_ap + m to d_ap at 1e308, and an active
    term was labelled easy)."""
    if d_an < d_ap:
        return HARD
    if d_ap - d_an + margin > 0.0:
        return SEMI_HARD
    return EASY


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
def contrastive_variant(anchor, positive, negatives, margin, kind, eps, eps_mode, half,
                        squared, reduce_by, dist, hinge, term, loss):
    """The pairwise loss as the libraries write it (column 0 similar, 1 + k dissimilar):

    similar: c d^2 (squared) or [d]+ (not squared); dissimilar: c [m - d]+^2 or [m - d]+,
    c = 1/2 (half) or 1; distances with the library's eps. reduce_by: TERMS_MEAN or TERMS_SUM
    over the 1 + K pairs, or TERMS_SPLIT_MEAN_ACTIVE (PML: the similar term if > 0, plus the
    mean of the dissimilar terms > 0), or TERMS_SPLIT_MEAN (PML's MeanReducer: the similar
    term plus the mean of the K dissimilar terms).
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
        elif reduce_by == TERMS_SPLIT_MEAN:
            loss[b] = pos + (neg / K if K > 0 else 0.0)
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
        elif reduce_by == TERMS_SPLIT_MEAN:
            w_pos = 1.0
            w_neg = 1.0 / K if K > 0 else 0.0
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
def triplet(anchor, positive, negatives, margin, kind, swap, soft, reduce_by,
            d_ap, d_an, violation, term, regimes, loss):
    """Triplet terms [d_ap - d_an + m]+ (or softplus), reduced over the K negatives.

    reduce_by: TERMS_MEAN, TERMS_SUM, TERMS_MAX or TERMS_MEAN_ACTIVE (0 when none is active).
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
                t = hinge(v)
            d_an[b, k] = dn
            violation[b, k] = v
            term[b, k] = t
            regimes[b, k] = regime(dp, dn, margin)  # LOSSES.md's regimes, soft or not
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
        if total != total:  # a NaN term, whatever the reduction (max and mean-active skip it)
            loss[b] = total


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
            t = softplus(v) if soft else hinge(v)
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
        if total != total:  # a NaN term, whatever the reduction (max and mean-active skip it)
            loss[b] = total


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
            t = hinge(dp - dn + margin)
            q = hinge(dp - dnn + margin2)
            d_an[b, k] = dn
            d_nn[b, k] = dnn
            triplet_term[b, k] = t
            pair_term[b, k] = q
            regimes[b, k] = regime(dp, dn, margin)
            trip_total += t
            pair_total += q
        loss[b] = trip_total / K + pair_total / K


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
def lifted_song(d_ap, d_an, d_pn, margin, pos_margin, exponent, share, j_value, grad_d,
                grad_ap, loss):
    """1/2 [J]+^2 with J = log(sum_k e^{m - d_an_k} + sum_k e^{m - d_pn_k}) + d_ap - m_pos.

    Row layout (2K): the K anchor-negative terms, then the K positive-negative terms.
    grad_d = d loss / d distance of each term = -[J]+ share; grad_ap = [J]+.
    """
    K = d_an.shape[1]
    for b in prange(d_an.shape[0]):
        for k in range(K):
            exponent[b, k] = margin - d_an[b, k]
            exponent[b, K + k] = margin - d_pn[b, k]
        lse = log_sum_exp(exponent[b], 0, 2 * K, share[b])
        j = lse + d_ap[b] - pos_margin
        h = hinge(j)
        j_value[b] = j
        loss[b] = 0.5 * h * h
        grad_ap[b] = h
        for t in range(2 * K):
            grad_d[b, t] = -h * share[b, t]


@kernel
def lifted_generalized(dist, P, margin, pos_margin, exponent, share, grad, inner, loss):
    """[LSE_p(d_ap - m_pos) + LSE_k(m - d_an)]+; grad = d loss / d distance (0 at the kink)."""
    n = dist.shape[1]
    for b in prange(dist.shape[0]):
        for j in range(n):
            if j < P:
                exponent[b, j] = dist[b, j] - pos_margin
            else:
                exponent[b, j] = margin - dist[b, j]
        v = log_sum_exp(exponent[b], 0, P, share[b]) + log_sum_exp(exponent[b], P, n, share[b])
        inner[b] = v
        on = 1.0 if v > 0.0 else 0.0
        loss[b] = hinge(v)
        for j in range(n):
            grad[b, j] = on * share[b, j] if j < P else -on * share[b, j]


@kernel
def margin_rows(d_ap, d_an, margin, beta, nu, pos_term, neg_term, grad_ap, grad_an, loss):
    """(K pos + sum_k neg_k) / (active pair terms) + nu beta, per example (PML's divisor).

    pos = [d_ap - beta + m]+, neg_k = [beta - d_an_k + m]+. The divisor is piecewise
    constant: grad_ap = K [pos > 0] / count, grad_an_k = -[neg_k > 0] / count (0 if none).
    """
    K = d_an.shape[1]
    for b in prange(d_an.shape[0]):
        p = hinge(d_ap[b] - beta + margin)
        pos_term[b] = p
        count = K if p > 0.0 else 0
        total = K * p
        for k in range(K):
            q = hinge(beta - d_an[b, k] + margin)
            neg_term[b, k] = q
            total += q
            if q > 0.0:
                count += 1
        if count == 0 and total == 0.0:  # none active (a NaN term is not "none")
            loss[b] = nu * beta
            grad_ap[b] = 0.0
            for k in range(K):
                grad_an[b, k] = 0.0
            continue
        loss[b] = total / count + nu * beta
        grad_ap[b] = K / count if p > 0.0 else 0.0
        for k in range(K):
            grad_an[b, k] = -1.0 / count if neg_term[b, k] > 0.0 else 0.0


@kernel
def cosine_embedding(cos, label, margin, torch_labels, term, active, grad, loss):
    """label +1: 1 - c; label -1: [c - m]+ (subgradient 0 at the kink). grad = d term / d c.

    torch_labels: any other label gives 0, as torch's where(label == 1, ...) +
    where(label == -1, ...) does (losscli's own labels are +-1 only).
    """
    for b in prange(cos.shape[0]):
        c = cos[b]
        if torch_labels and label[b] != 1.0 and label[b] != -1.0:
            term[b] = 0.0
            active[b] = False
            grad[b] = 0.0
        elif label[b] > 0.0:
            term[b] = 1.0 - c
            active[b] = False
            grad[b] = -1.0
        else:
            v = c - margin
            on = v > 0.0
            term[b] = v if on else 0.0
            active[b] = on
            grad[b] = 1.0 if on else 0.0
        loss[b] = term[b]


@kernel
def hinge_embedding(x, label, margin, torch_labels, term, active, grad, loss):
    """label +1: x; label -1: [m - x]+. grad = d term / d x: 1, or -1 while x < m, else 0.

    torch_labels: torch's where(label != 1, [m - x]+, 0) + where(label != -1, x, 0), so a
    label that is neither +1 nor -1 gets both terms.
    """
    for b in prange(x.shape[0]):
        if torch_labels and label[b] != 1.0 and label[b] != -1.0:
            v = margin - x[b]
            on = v > 0.0
            term[b] = x[b] + (v if on else 0.0)
            active[b] = True
            grad[b] = 0.0 if on else 1.0
        elif label[b] > 0.0:
            term[b] = x[b]
            active[b] = True
            grad[b] = 1.0
        else:
            v = margin - x[b]
            on = v > 0.0
            term[b] = v if on else 0.0
            active[b] = on
            grad[b] = -1.0 if on else 0.0
        loss[b] = term[b]


@kernel
def margin_ranking(x1, x2, label, margin, signed, term, active, grad1, grad2, loss):
    """[-y (x1 - x2) + m]+; while active d/dx1 = -y and d/dx2 = +y, else 0 (kink included)."""
    for b in prange(x1.shape[0]):
        y = label[b]
        s = y * (x1[b] - x2[b])
        v = margin - s
        on = v > 0.0
        signed[b] = s
        term[b] = v if on else 0.0
        active[b] = on
        grad1[b] = -y if on else 0.0
        grad2[b] = y if on else 0.0
        loss[b] = term[b]
