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
