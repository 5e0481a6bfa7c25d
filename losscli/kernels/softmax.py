"""Kernels of softmax cross entropy over a batch of logits (B, C)."""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange


@kernel
def log_softmax_row(x, logp, prob):
    """log p_c = x_c - LSE(x), accurate when one class takes nearly all the mass.

    LSE(x) = m + log1p(sum of exp(x_j - m) over every j but the largest), so that
    -log p_y of a confident correct class comes out to full relative precision.
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


@kernel
def softmax_ce(logits, target, weight, keep, prob, logp, contribution, grad, loss):
    """Per example: loss = -sum_c w_c q_c log p_c; grad_c = p_c sum_k w_k q_k - w_c q_c.

    target (B, C) holds each example's target mass q (label smoothing already applied);
    examples with keep[b] false are ignored: zero contribution, zero gradient, loss 0.
    """
    C = logits.shape[1]
    for b in prange(logits.shape[0]):
        log_softmax_row(logits[b], logp[b], prob[b])
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
            grad[b, c] = prob[b, c] * mass - weight[c] * target[b, c]
        loss[b] = total


# ---------------------------------------------------------------------------------------------
# Library-convention variants and their gradients (issue 5). Appended below the forward
# kernels, which stay as they are. (softmax_ce already returns d loss / d logits, the
# gradient of its inputs: `--grad` reuses that column.)
# ---------------------------------------------------------------------------------------------


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
