"""Row kernels over a similarity matrix: the softmax losses of LOSSES-MORE.md.

One layout serves the explicit form and both in-batch forms (softmax_rows, dcl_rows and the
hard_rows pair; sigmoid_pairs and multiview_rows take the square matrix of a batch). `sim` is
(R, C): row r scores one anchor (or one view) against C candidates; `pos[r]` is the column
of its positive (or partner) and `skip[r]` a column left out of the row altogether (the view
itself in the two-view batch; -1 for none). So:

- explicit:  rows = examples, columns = [p, n_0 .. n_{K-1}], pos = 0, skip = -1;
- paired:    rows = anchors, columns = positives (or the transpose), pos = r, skip = -1;
- two-view:  rows = columns = the 2B views, pos = partner, skip = r.

The similarity matrices themselves come from BLAS (losses/forms.py); these kernels do the
rest of the work fused, one pass per row. Logits are `scale * sim`, and every exponential is
taken of a similarity difference (s_j - s_top) * scale, so no logit overflows when the loss
is representable, and log1p keeps tiny losses exact (as infonce does, LOSSES.md).

supcon_rows, multi_similarity_rows and circle_rows take rows (B, C) with each anchor's P
positives first and its negatives after them.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange
from losscli.kernels.softmax import log1p_sum_exp, log_sum_exp, sigmoid, softplus


@kernel
def softmax_rows(sim, scale, pos, skip, logit, prob, grad, loss):
    """loss_r = LSE_{j != skip}(scale sim_rj) - scale sim_r,pos, the infonce of each row.

    prob is the softmax over the row's candidates (0 at skip); grad = d loss / d logit =
    prob - [j = pos]. When the positive is the largest, loss = log1p(sum of the others).
    """
    n = sim.shape[1]
    for r in prange(sim.shape[0]):
        t = pos[r]
        x = skip[r]
        top = t
        for j in range(n):
            logit[r, j] = sim[r, j] * scale
            if j != x and sim[r, j] > sim[r, top]:
                top = j
        rest = 0.0
        for j in range(n):
            if j == x or j == top:
                prob[r, j] = 0.0
                continue
            e = np.exp((sim[r, j] - sim[r, top]) * scale)
            prob[r, j] = e
            rest += e
        total = 1.0 + rest
        prob[r, top] = 1.0
        for j in range(n):
            prob[r, j] = prob[r, j] / total
            grad[r, j] = prob[r, j]
        if top == t:
            grad[r, t] = -rest / total
            loss[r] = np.log1p(rest)
        else:
            grad[r, t] = prob[r, t] - 1.0
            loss[r] = (sim[r, top] - sim[r, t]) * scale + np.log1p(rest)


@kernel
def dcl_rows(sim, scale, pos, skip, weight, leak, mask, logit, share, grad, loss):
    """loss_r = -w_r v_pos + LSE over the negatives (every column but pos and skip).

    share is each negative's softmax share among the negatives (its gradient); the positive's
    gradient with w held fixed is -w_r. Rows need at least one negative.

    leak (the DCL port's masking): pos and skip stay in the LSE with `mask` added to their
    logits; their shares are then theirs too, and the positive's gradient is -w_r + share.
    """
    n = sim.shape[1]
    for r in prange(sim.shape[0]):
        t = pos[r]
        x = skip[r]
        if leak:
            big = -np.inf
            for j in range(n):
                logit[r, j] = sim[r, j] * scale
                v = logit[r, j] + mask if (j == t or j == x) else logit[r, j]
                share[r, j] = v
                if v > big:
                    big = v
            total = 0.0
            for j in range(n):
                e = np.exp(share[r, j] - big)
                share[r, j] = e
                total += e
            for j in range(n):
                share[r, j] = share[r, j] / total
                grad[r, j] = share[r, j]
            grad[r, t] = share[r, t] - weight[r]
            loss[r] = big + np.log(total) - weight[r] * logit[r, t]
            continue
        top = -1
        for j in range(n):
            logit[r, j] = sim[r, j] * scale
            if j != x and j != t and (top < 0 or sim[r, j] > sim[r, top]):
                top = j
        rest = 0.0
        for j in range(n):
            share[r, j] = 0.0
            if j == x or j == t or j == top:
                continue
            e = np.exp((sim[r, j] - sim[r, top]) * scale)
            share[r, j] = e
            rest += e
        share[r, top] = 1.0
        total = 1.0 + rest
        for j in range(n):
            share[r, j] = share[r, j] / total
            grad[r, j] = share[r, j]
        grad[r, t] = -weight[r]
        lse = sim[r, top] * scale + np.log1p(rest)
        loss[r] = lse - weight[r] * (sim[r, t] * scale)


@kernel
def hard_rows(sim, scale, pos, skip, beta, tau_plus, clamp, logit, importance, share, grad,
              r_value, ng_raw, floor, binds, loss):
    """HCL's debiased hard-negative loss per row, in log space (LOSSES-MORE.md, hard-infonce).

    With the N negatives' logits v (every column but pos and skip), q = softmax(beta v) and
    r = softmax((1 + beta) v):
        log R  = log N + LSE((1 + beta) v) - LSE(beta v)
        Ng     = max((R - tau+ N e^{v_0}) / (1 - tau+), N e^{-1/t})   (scale = 1/t)
        loss   = softplus(log Ng - v_0)
    Gradient per logit, q differentiated: unclamped, with c = R / ((1 - tau+)(e^{v_0} + Ng)),
    d/dv_0 = -c and d/dv_k = c ((1 + beta) r_k - beta q_k); while the floor binds,
    d/dv_0 = -Ng / (e^{v_0} + Ng) and the negatives get 0. Without the clamp an Ng <= 0 gives
    NaN (the caller warns).
    """
    n = sim.shape[1]
    for r in prange(sim.shape[0]):
        t = pos[r]
        x = skip[r]
        top = -1
        count = 0
        for j in range(n):
            logit[r, j] = sim[r, j] * scale
            importance[r, j] = 0.0
            share[r, j] = 0.0
            grad[r, j] = 0.0
            if j != x and j != t:
                count += 1
                if top < 0 or sim[r, j] > sim[r, top]:
                    top = j
        log_n = np.log(count)
        sum_b = 0.0
        sum_1b = 0.0
        for j in range(n):
            if j == x or j == t:
                continue
            d = (sim[r, j] - sim[r, top]) * scale
            eb = np.exp(beta * d)
            e1 = np.exp((1.0 + beta) * d)
            importance[r, j] = eb
            share[r, j] = e1
            sum_b += eb
            sum_1b += e1
        v0 = sim[r, t] * scale
        vmax = sim[r, top] * scale
        log_r = log_n + vmax + np.log(sum_1b) - np.log(sum_b)
        log_floor = log_n - scale
        positive = True
        log_ng = log_r
        raw = 0.0
        if tau_plus > 0.0:
            ex = np.log(tau_plus) + log_n + v0 - log_r
            if ex >= 0.0:
                positive = False
                raw = (np.exp(log_r) - tau_plus * np.exp(log_n + v0)) / (1.0 - tau_plus)
            else:
                log_ng = log_r + np.log1p(-np.exp(ex)) - np.log1p(-tau_plus)
        bound = clamp and ((not positive) or log_ng < log_floor)
        r_value[r] = np.exp(log_r)
        ng_raw[r] = np.exp(log_ng) if positive else raw
        floor[r] = np.exp(log_floor)
        binds[r] = bound
        for j in range(n):
            if j == x or j == t:
                continue
            q = importance[r, j] / sum_b
            s = share[r, j] / sum_1b
            importance[r, j] = count * q
            share[r, j] = s
            grad[r, j] = (1.0 + beta) * s - beta * q  # times c below
        if not bound and not positive:
            loss[r] = np.nan
            for j in range(n):
                grad[r, j] = np.nan
            continue
        chosen = log_floor if bound else log_ng
        loss[r] = softplus(chosen - v0)
        den = max(v0, chosen) + np.log1p(np.exp(-abs(v0 - chosen)))
        if bound:
            for j in range(n):
                grad[r, j] = 0.0
            grad[r, t] = -np.exp(chosen - den)
        else:
            c = np.exp(log_r - np.log1p(-tau_plus) - den)
            for j in range(n):
                if j != x and j != t:
                    grad[r, j] = c * grad[r, j]
            grad[r, t] = -c


@kernel
def hard_rows_linear(sim, scale, pos, skip, beta, tau_plus, loss):
    """HCL's hard estimator as its code computes it, in linear space (LOSSES-MORE.md):

        neg = e^{s/t}, imp = e^{beta log neg}, R = sum(imp neg) / mean(imp)
        Ng = max((R - tau+ N e^{v_0}) / (1 - tau+), N e^{-1/t});  loss = -log(pos / (pos + Ng))

    Nothing is shifted: e^{s/t} overflows above s/t = 709.78 and underflows below -745 where
    HCL's does, and a NaN passes the clamp as torch.clamp lets it.
    """
    n = sim.shape[1]
    for r in prange(sim.shape[0]):
        t = pos[r]
        x = skip[r]
        count = 0
        total_imp = 0.0
        total = 0.0
        for j in range(n):
            if j == x or j == t:
                continue
            neg = np.exp(sim[r, j] * scale)
            imp = np.exp(beta * np.log(neg))
            total_imp += imp
            total += imp * neg
            count += 1
        positive = np.exp(sim[r, t] * scale)
        reweight = total / (total_imp / count)
        ng = (-tau_plus * count * positive + reweight) / (1.0 - tau_plus)
        floor = count * np.e ** (-scale)
        if ng < floor:
            ng = floor
        loss[r] = -np.log(positive / (positive + ng))


@kernel
def sigmoid_pairs(sim, scale, bias, logit, sig, term, grad, loss):
    """SigLIP over a square (B, B) matrix: x = scale s + bias, label +1 on the diagonal.

    term = softplus(-z x); grad = d term / d x = sigma(x) - [z = +1] (as -sigma(-x) on the
    diagonal, so it stays exact near 0); loss_i = sum_j term_ij.
    """
    n = sim.shape[1]
    for i in prange(sim.shape[0]):
        total = 0.0
        for j in range(n):
            v = sim[i, j] * scale + bias
            logit[i, j] = v
            sig[i, j] = sigmoid(v)
            if i == j:
                term[i, j] = softplus(-v)
                grad[i, j] = -sigmoid(-v)
            else:
                term[i, j] = softplus(v)
                grad[i, j] = sig[i, j]
            total += term[i, j]
        loss[i] = total


@kernel
def multiview_rows(sim, group, scale, factor, eps, logit, prob, grad, loss):
    """SupContrast's SupConLoss row by row over the Gram matrix of all the views.

    Row v: m = max_u s_vu / t over every column, the view itself included (SupContrast's
    logits_max); S = sum_{u != v} e^{s_vu / t - m}; log p_u = s_vu / t - m - log(S + eps);
    loss_v = -factor mean over the positives u (u != v, group[u] = group[v]) of log p_u.
    prob = e^{log p_u} (0 on the diagonal); grad = d loss_v / d logit with m held fixed, as
    SupContrast detaches it: factor (e^{l_u - m} / (S + eps) - [u positive] / P_v).
    """
    n = sim.shape[1]
    for v in prange(sim.shape[0]):
        big = -np.inf
        for u in range(n):
            logit[v, u] = sim[v, u] * scale
            if logit[v, u] > big:
                big = logit[v, u]
        total = 0.0
        count = 0
        for u in range(n):
            if u == v:
                continue
            total += np.exp(logit[v, u] - big)
            if group[u] == group[v]:
                count += 1
        log_den = np.log(total + eps)
        acc = 0.0
        for u in range(n):
            if u == v:
                prob[v, u] = 0.0
                grad[v, u] = 0.0
                continue
            lp = logit[v, u] - big - log_den
            prob[v, u] = np.exp(lp)
            g = np.exp(logit[v, u] - big) / (total + eps)
            if group[u] == group[v]:
                acc += lp
                g -= 1.0 / count
            grad[v, u] = factor * g
        loss[v] = -factor * acc / count


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
                logit[b, j] = -gamma * a * (s - (1.0 - margin))
            else:
                a = s + margin
                a = a if a > 0.0 else 0.0
                logit[b, j] = gamma * a * (s - margin)
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
