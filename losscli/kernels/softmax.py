"""Softmax and log-sum-exp: cross entropy over logits (B, C) and InfoNCE over candidates.

Every exponential is taken of a difference to the largest logit, so nothing overflows when
the loss is representable, and where the largest term is known to be the target (or 0) the
rest goes through log1p, so tiny losses keep their relative precision. softplus(x) is
LSE(0, x), sigmoid its derivative.

InfoNCE: anchor and positive (B, D), negatives (Bn, K, D) with Bn = 1 (one bank shared by
every anchor) or Bn = B (per anchor); outputs preallocated by the caller and filled in
place, the per-example loss in `loss` (B,). Cosine kernels expect unit rows
(distances.unit_rows).
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange
from losscli.kernels.distances import clamped_cosine, dot


@kernel
def softplus(x):
    """log(1 + exp(x)) exactly: max(x, 0) + log1p(exp(-|x|)), no linear cut-off."""
    return max(x, 0.0) + np.log1p(np.exp(-abs(x)))


@kernel
def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow on either side."""
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@kernel
def log1p_sum_exp(x, start, stop):
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
def log_sum_exp(x, start, stop, share):
    """LSE over x[start:stop] (log1p of the rest beside the largest); share = softmax.

    A term equal to the largest adds e^0 = 1, also when both are infinite: logits that
    overflowed to -inf (circle's gamma alpha (s - Delta) at a margin of 1e200) made
    exp(-inf - -inf) NaN, where their LSE is -inf (the true one is below -1.8e308 + log n)
    and they are tied, with equal shares as any tie."""
    top = start
    for j in range(start, stop):
        if x[j] > x[top]:
            top = j
    rest = 0.0
    for j in range(start, stop):
        if j != top:
            share[j] = 1.0 if x[j] == x[top] else np.exp(x[j] - x[top])
            rest += share[j]
    share[top] = 1.0
    total = 1.0 + rest
    for j in range(start, stop):
        share[j] = share[j] / total
    return x[top] + np.log1p(rest)


@kernel
def log_softmax_row(x, logp, prob):
    """log p_c = x_c - LSE(x), accurate when one class takes nearly all the mass.

    LSE(x) = m + log1p(sum of exp(x_j - m) over every j but the largest), so that
    -log p_y of a confident correct class comes out to full relative precision. Returns the
    largest class and that sum (`rest`): 1 - p_top = rest / (1 + rest), with no cancellation.
    """
    n = x.shape[0]
    top = 0
    for j in range(1, n):
        if x[j] > x[top]:
            top = j
    m = x[top]
    rest = 0.0
    for j in range(n):
        if j != top:
            rest += np.exp(x[j] - m)
    log_norm = np.log1p(rest)
    for j in range(n):
        logp[j] = (x[j] - m) - log_norm
        prob[j] = np.exp(logp[j])
    return top, rest


@kernel
def softmax_ce(logits, target, weight, keep, prob, logp, contribution, grad, loss):
    """Per example: loss = -sum_c w_c q_c log p_c; grad_c = p_c sum_k w_k q_k - w_c q_c.

    target (B, C) holds each example's target mass q (label smoothing already applied);
    examples with keep[b] false are ignored: zero contribution, zero gradient, loss 0.
    The gradient is taken as p_c (M - w_c q_c) - w_c q_c (1 - p_c), M = sum_k w_k q_k: the
    same number, but a confident target's p_y M - w_y q_y cancels to nothing (logits
    [50, -50, 0] gave 0 for -1.9e-22), where 1 - p_y is the other classes' mass, computed
    from their exponentials (log_softmax_row's `rest`).
    """
    C = logits.shape[1]
    for b in prange(logits.shape[0]):
        top, rest = log_softmax_row(logits[b], logp[b], prob[b])
        if not keep[b]:
            for c in range(C):
                contribution[b, c] = 0.0
                grad[b, c] = 0.0
            loss[b] = 0.0
            continue
        total = 0.0
        mass = 0.0
        for c in range(C):
            wq = weight[c] * target[b, c]
            mass += wq
            contribution[b, c] = -wq * logp[b, c] if wq != 0.0 else 0.0
            total += contribution[b, c]
        for c in range(C):
            wq = weight[c] * target[b, c]
            miss = rest / (1.0 + rest) if c == top else 1.0 - prob[b, c]
            grad[b, c] = prob[b, c] * (mass - wq) - wq * miss
        loss[b] = total


@kernel
def probability_ce(x, target, eps, normalize_first, ratio, logr, contribution, grad, loss):
    """Keras' cross entropy with from_logits=False: the inputs are read as probabilities.

    normalize_first (CategoricalCrossentropy): r_c = clip(x_c / sum_j x_j, eps, 1 - eps),
    loss = -sum_c q_c log r_c; d loss / d x_c = -q_c [r_c kept] / x_c
    + sum_j q_j [r_j kept] / sum_j x_j.
    Otherwise (SparseCategoricalCrossentropy, TF backend): r_c = clip(x_c, eps, 1 - eps), and
    the logs are softmaxed again: loss = -sum_c q_c log(r_c / R), R = sum_j r_j;
    d loss / d x_c = [r_c kept] (-q_c / x_c + sum_j q_j / R).
    A clipped entry is flat: its share of the gradient is 0. `ratio` holds r / R or r.
    """
    C = x.shape[1]
    for b in prange(x.shape[0]):
        total = 0.0
        for c in range(C):
            total += x[b, c]
        scale = total if normalize_first else 1.0
        kept = 0.0
        mass = 0.0
        r_sum = 0.0
        for c in range(C):
            r = x[b, c] / scale
            clipped = False
            if not r >= eps:
                r = eps
                clipped = True
            elif r > 1.0 - eps:
                r = 1.0 - eps
                clipped = True
            ratio[b, c] = r
            r_sum += r
            q = target[b, c]
            mass += q
            grad[b, c] = 0.0 if clipped or q == 0.0 else -q / x[b, c]
            if not clipped:
                kept += q
            logr[b, c] = -1.0 if clipped else 1.0  # remembered for the second pass
        norm = total if normalize_first else r_sum
        acc = 0.0
        for c in range(C):
            clipped = logr[b, c] < 0.0
            if not normalize_first:
                ratio[b, c] = ratio[b, c] / r_sum
            logr[b, c] = np.log(ratio[b, c])
            q = target[b, c]
            contribution[b, c] = -q * logr[b, c] if q != 0.0 else 0.0
            acc += contribution[b, c]
            if normalize_first:
                grad[b, c] += kept / norm
            elif not clipped:
                grad[b, c] += mass / norm
        loss[b] = acc


@kernel
def scaled_difference(x, y, temperature):
    """(x - y) / t, also where x - y overflows and the quotient does not (similarities near
    +-1.5e308 over t > 1: x / t - y / t then, at the cost of a rounding)."""
    d = x - y
    if abs(d) < np.inf:
        return d / temperature
    return x / temperature - y / temperature


@kernel
def difference_times(x, y, scale):
    """(x - y) * scale, also where x - y overflows and the product does not (x * scale -
    y * scale then): scaled_difference for the kernels that multiply by 1/t."""
    d = x - y
    if abs(d) < np.inf:
        return d * scale
    return x * scale - y * scale


@kernel
def softmax_at(sim, target, temperature, logit, prob, grad):
    """-log softmax(sim / t)_target for one row, with its probabilities and logit gradients.

    Works on similarity differences, (s_j - max s) / t, so no logit overflows when the loss
    is representable; when the target has the largest similarity the loss is
    log1p(sum_{j != target} exp((s_j - s_target) / t)), accurate down to the tiniest losses.
    """
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
                e = np.exp(scaled_difference(sim[j], s0, temperature))
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
        e = np.exp(scaled_difference(sim[j], top, temperature))
        prob[j] = e
        total += e
    for j in range(n):
        prob[j] = prob[j] / total
        grad[j] = prob[j]
    grad[target] = prob[target] - 1.0
    return scaled_difference(top, s0, temperature) + np.log(total)


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
        loss[b] = softmax_at(sim[b], 0, temperature, logit[b], prob[b], grad[b])


@kernel(parallel=True)
def softmax_rows(sim, temperature, logit, prob, grad, loss):
    """softmax_at on every row of similarities given whole (the positive first): a shared
    bank's, which BLAS computed (infonce's own kernel takes each dot product itself)."""
    for b in prange(sim.shape[0]):
        loss[b] = softmax_at(sim[b], 0, temperature, logit[b], prob[b], grad[b])


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
