"""Row kernels over a similarity matrix: the softmax losses of LOSSES-MORE.md.

One layout serves the explicit form and both in-batch forms. `sim` is (R, C): row r scores
one anchor (or one view) against C candidates; `pos[r]` is the column of its positive (or
partner) and `skip[r]` a column left out of the row altogether (the view itself in the
two-view batch; -1 for none). So:

- explicit:  rows = examples, columns = [p, n_0 .. n_{K-1}], pos = 0, skip = -1;
- paired:    rows = anchors, columns = positives (or the transpose), pos = r, skip = -1;
- two-view:  rows = columns = the 2B views, pos = partner, skip = r.

The similarity matrices themselves come from BLAS (losses/forms.py); these kernels do the
rest of the work fused, one pass per row. Logits are `scale * sim`, and every exponential is
taken of a similarity difference (s_j - s_top) * scale, so no logit overflows when the loss
is representable, and log1p keeps tiny losses exact (as infonce does, LOSSES.md).

The helpers are defined here, not imported from kernels/embedding.py: numba's cache only
notices edits to the file of the function it compiled.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange


@kernel
def softplus(x):
    """log(1 + exp(x)) exactly: max(x, 0) + log1p(exp(-|x|)), no linear cut-off."""
    return max(x, 0.0) + np.log1p(np.exp(-abs(x)))


@kernel
def sigmoid(x):
    """The logistic function without overflow on either side."""
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


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
