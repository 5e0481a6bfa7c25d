"""Per-anchor kernels of LOSSES-MORE.md's explicit losses, and their distances.

Shapes: anchor-like rows (B, D); candidate banks (Bc, C, D) with Bc = 1 (shared by every
anchor) or B (per anchor). Similarity and distance rows arrive as (B, C) with the P positives
first and the K negatives after them, where a loss has both. Outputs are preallocated by the
caller and filled in place. Each kernel returns nothing; the per-example loss goes in `loss`.

The distance helpers are defined here, not imported from kernels/embedding.py: numba's cache
only notices edits to the file of the function it compiled.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange

EUCLIDEAN = 0
SQEUCLIDEAN = 1
COSINE = 2

# Squared sums outside (TINY, HUGE) may have under- or overflowed: recompute them scaled.
_TINY = 1e-280
_HUGE = 1e280


@kernel(stream=True)
def _squared_distance(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        diff = x[i] - y[i]
        total += diff * diff
    return total


@kernel(stream=True)
def _dot(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] * y[i]
    return total


@kernel
def _euclidean(x, y):
    """sqrt(sum (x_i - y_i)^2), exact (no eps) and free of intermediate over/underflow."""
    total = _squared_distance(x, y)
    if total == 0.0 or (total > _TINY and total < _HUGE):
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
                out[b, c] = _euclidean(x[b], bank[nb, c])
            elif kind == SQEUCLIDEAN:
                out[b, c] = _squared_distance(x[b], bank[nb, c])
            else:
                cos = _dot(x[b], bank[nb, c])
                cos = min(max(cos, -1.0), 1.0)
                out[b, c] = 1.0 - cos


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
def _log1p_sum_exp(x, start, stop):
    """log(1 + sum_{j in [start, stop)} e^{x_j}) = LSE([0, x...]); 0 for an empty range.

    log1p when 0 is the largest exponent, else m + log1p(e^{-m} + the other terms).
    """
    top = -1
    for j in range(start, stop):
        if top < 0 or x[j] > x[top]:
            top = j
    if top < 0:
        return 0.0
    m = x[top]
    if m <= 0.0:
        total = 0.0
        for j in range(start, stop):
            total += np.exp(x[j])
        return np.log1p(total)
    rest = np.exp(-m)
    for j in range(start, stop):
        if j != top:
            rest += np.exp(x[j] - m)
    return m + np.log1p(rest)


@kernel
def _lse(x, start, stop, share):
    """LSE over x[start:stop] (log1p of the rest beside the largest); share = softmax."""
    top = start
    for j in range(start, stop):
        if x[j] > x[top]:
            top = j
    rest = 0.0
    for j in range(start, stop):
        if j != top:
            share[j] = np.exp(x[j] - x[top])
            rest += share[j]
    share[top] = 1.0
    total = 1.0 + rest
    for j in range(start, stop):
        share[j] = share[j] / total
    return x[top] + np.log1p(rest)


@kernel
def supcon_rows(sim, P, scale, factor, logit, prob, grad, loss):
    """L_out per row: factor (1/P) sum_{p < P} (LSE_j(v) - v_p), v = scale sim.

    With m the largest logit and rest the others' sum of e^{v_j - m}, each LSE - v_p is
    (m - v_p) + log1p(rest): exact to the last digits when the one positive dominates.
    grad = factor (prob_j - [j < P] / P).
    """
    n = sim.shape[1]
    for b in prange(sim.shape[0]):
        top = 0
        for j in range(n):
            logit[b, j] = sim[b, j] * scale
            if sim[b, j] > sim[b, top]:
                top = j
        rest = 0.0
        for j in range(n):
            if j == top:
                continue
            e = np.exp((sim[b, j] - sim[b, top]) * scale)
            prob[b, j] = e
            rest += e
        prob[b, top] = 1.0
        total = 1.0 + rest
        gaps = 0.0
        for j in range(n):
            prob[b, j] = prob[b, j] / total
            if j < P:
                gaps += (sim[b, top] - sim[b, j]) * scale
                if P == 1 and j == top:
                    grad[b, j] = factor * (-rest / total)
                else:
                    grad[b, j] = factor * (prob[b, j] - 1.0 / P)
            else:
                grad[b, j] = factor * prob[b, j]
        loss[b] = factor * (gaps / P + np.log1p(rest))


@kernel
def multi_similarity_rows(sim, P, alpha, beta, base, keep, exponent, weight, grad, pos_loss,
                          neg_loss, loss):
    """(1/alpha) log(1 + sum_p e^{-alpha (s_p - base)}) + (1/beta) log(1 + sum_k e^{beta (s_k
    - base)}); weight w = e^x / (1 + sum e^x) within its set; d loss / d s = -w_p or +w_k.

    Only the pairs with keep[b, j] enter the sums (all of them unless a library mines pairs
    inside the loss); the others get weight 0.
    """
    n = sim.shape[1]
    for b in prange(sim.shape[0]):
        for j in range(n):
            if j < P:
                exponent[b, j] = -alpha * (sim[b, j] - base)
            else:
                exponent[b, j] = beta * (sim[b, j] - base)
            weight[b, j] = exponent[b, j] if keep[b, j] else -np.inf
        lp = _log1p_sum_exp(weight[b], 0, P)
        ln = _log1p_sum_exp(weight[b], P, n)
        for j in range(n):
            if not keep[b, j]:
                weight[b, j] = 0.0
                grad[b, j] = 0.0
            elif j < P:
                weight[b, j] = np.exp(exponent[b, j] - lp)
                grad[b, j] = -weight[b, j]
            else:
                weight[b, j] = np.exp(exponent[b, j] - ln)
                grad[b, j] = weight[b, j]
        pos_loss[b] = lp / alpha
        neg_loss[b] = ln / beta
        loss[b] = pos_loss[b] + neg_loss[b]


@kernel
def circle_rows(sim, P, margin, gamma, threshold, alpha, logit, share, grad, lse_pos, lse_neg,
                loss):
    """softplus(LSE_k(gamma alpha_n (s_n - m)) + LSE_p(-gamma alpha_p (s_p - (1 - m)))).

    alpha_p = [1 + m - s_p]+ and alpha_n = [s_n + m]+ are held constant in the gradient:
    d loss / d s = sigma(inner) share (-gamma alpha_p | +gamma alpha_n). Above `threshold`
    (inf for none; torch.nn.Softplus' 20 under PML) softplus(x) is x and its slope 1.
    """
    n = sim.shape[1]
    for b in prange(sim.shape[0]):
        for j in range(n):
            s = sim[b, j]
            if j < P:
                a = 1.0 + margin - s
                a = a if a > 0.0 else 0.0
                logit[b, j] = -gamma * a * (s - (1.0 - margin))
            else:
                a = s + margin
                a = a if a > 0.0 else 0.0
                logit[b, j] = gamma * a * (s - margin)
            alpha[b, j] = a
        lp = _lse(logit[b], 0, P, share[b])
        ln = _lse(logit[b], P, n, share[b])
        inner = lp + ln
        lse_pos[b] = lp
        lse_neg[b] = ln
        loss[b] = max(inner, 0.0) + np.log1p(np.exp(-abs(inner)))
        if inner > threshold:
            loss[b] = inner
            sg = 1.0
        elif inner >= 0.0:
            sg = 1.0 / (1.0 + np.exp(-inner))
        else:
            e = np.exp(inner)
            sg = e / (1.0 + e)
        for j in range(n):
            if j < P:
                grad[b, j] = -sg * share[b, j] * gamma * alpha[b, j]
            else:
                grad[b, j] = sg * share[b, j] * gamma * alpha[b, j]


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
        lse = _lse(exponent[b], 0, 2 * K, share[b])
        j = lse + d_ap[b] - pos_margin
        h = j if j > 0.0 else 0.0
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
        v = _lse(exponent[b], 0, P, share[b]) + _lse(exponent[b], P, n, share[b])
        inner[b] = v
        on = 1.0 if v > 0.0 else 0.0
        loss[b] = v if v > 0.0 else 0.0
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
        p = d_ap[b] - beta + margin
        p = p if p > 0.0 else 0.0
        pos_term[b] = p
        count = K if p > 0.0 else 0
        total = K * p
        for k in range(K):
            q = beta - d_an[b, k] + margin
            q = q if q > 0.0 else 0.0
            neg_term[b, k] = q
            total += q
            if q > 0.0:
                count += 1
        if count == 0:
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
