"""Row kernels over an anchor's candidates: its P positives first, then its negatives.

supcon_rows, multi_similarity_rows and circle_rows take similarities (B, C), each anchor's
P positives first and its negatives after them, computed by BLAS (losses/candidates.py), and
do the rest fused, one pass per row. Every exponential is taken of a difference to the
row's largest logit, so nothing overflows when the loss is representable, and log1p keeps
tiny losses exact (as infonce does, LOSSES.md).

The in-batch forms' kernels (the batch as its own candidates, by tiles) are kernels/tiles.py.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange
from losscli.kernels.softmax import (
    difference_times,
    log1p_sum_exp,
    log_sum_exp,
    sigmoid,
    softplus,
)


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
            e = np.exp(difference_times(sim[b, j], sim[b, top], scale))
            prob[b, j] = e
            rest += e
        prob[b, top] = 1.0
        total = 1.0 + rest
        gaps = 0.0
        for j in range(n):
            prob[b, j] = prob[b, j] / total
            if j < P:
                gaps += difference_times(sim[b, top], sim[b, j], scale)
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
        lp = log1p_sum_exp(weight[b], 0, P)
        ln = log1p_sum_exp(weight[b], P, n)
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
                v = -gamma * a * (s - (1.0 - margin))
                if not abs(v) < np.inf:  # gamma alpha overflowed, the logit need not
                    v = -gamma * (a * (s - (1.0 - margin)))
                logit[b, j] = v
            else:
                a = s + margin
                a = a if a > 0.0 else 0.0
                v = gamma * a * (s - margin)
                if not abs(v) < np.inf:
                    v = gamma * (a * (s - margin))
                logit[b, j] = v
            alpha[b, j] = a
        lp = log_sum_exp(logit[b], 0, P, share[b])
        ln = log_sum_exp(logit[b], P, n, share[b])
        inner = lp + ln
        lse_pos[b] = lp
        lse_neg[b] = ln
        loss[b] = softplus(inner)
        if inner > threshold:
            loss[b] = inner
            sg = 1.0
        else:
            sg = sigmoid(inner)
        for j in range(n):
            if j < P:
                grad[b, j] = -sg * share[b, j] * gamma * alpha[b, j]
            else:
                grad[b, j] = sg * share[b, j] * gamma * alpha[b, j]
