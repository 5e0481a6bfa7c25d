"""Kernels over tiles of a similarity matrix: the softmax family of LOSSES-MORE.md at any B.

A tile is rows r0 .. r0 + R - 1 of a similarity matrix S (R, C), as BLAS wrote it (float32
or float64; every element is read as float64). Row g = r0 + r scores one anchor (or view)
against C candidates: `pos[g]` is the column of its positive (or partner), `skip[g]` a column
left out of the row altogether (the view itself in the two-view batch; -1 for none). So:

- explicit:  rows = examples, columns = [p, n_0 .. n_{K-1}], pos = 0, skip = -1;
- paired:    rows = anchors, columns = positives, pos = g, skip = -1 (column j's positive is
             row j: the column direction of clip);
- two-view:  rows = columns = the 2B views, pos = partner, skip = g;
- multi-view (SupContrast): rows = columns = the B V views stacked view by view (every
             example's anchor, then every example's first positive, ...), view v's
             positives the other views of its example (v % B).

Cosine tiles arrive clamped to [-1, 1]. Each loss takes three passes of the same shape:

- statistics: per-row numbers (and per-column ones, merged tile by tile) from which every
  loss, probability and gradient follows. A row's softmax is kept relative to its positive:
  with x_j = (S_j - S_pos) * scale over the other candidates, m = max(0, max_j x_j) and
  s = sum_j e^{x_j - m}, the loss LSE_j(L_j) - L_pos is m + log(e^{-m} + s), log1p(s) when
  the positive leads, so tiny losses keep their relative precision (as infonce's do). The
  softmax rows get (m, s) from one exponential per similarity, shifted by the tile's largest
  (the shifted kernels below; clip's columns sum the same exponentials down every tile at a
  running shift); the exact two passes (relative_row_stats, relative_column_stats) remain
  for a tile with a non-finite similarity and for sums that may have underflowed.
- terms: the per-term breakdown of a few rows (compute's examples, on demand);
- gradient: the tile overwritten in place by d(sum of losses)/dS, for BLAS to carry back.

Exponentials of arguments <= 0 go through exp_nonpositive (plain arithmetic that LLVM
vectorises; numba's np.exp is a scalar libm call). A row or column with a non-finite
similarity (dot products that overflow) gets NaN statistics: its loss is null with a warning,
as a non-finite loss is everywhere.
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange
from losscli.kernels.softmax import sigmoid, softplus
from losscli.kernels.stream import (
    block_sum,
    exp_nonpositive,
    sigmoid_given,
    sigmoid_unrolled,
    softplus_given,
    softplus_unrolled,
)

COLUMN_BLOCK = 256  # columns per prange iteration of a column pass (their accumulators stay hot)


@kernel(stream=True, parallel=True)
def row_dots(X, Y, out):
    """out[i] = X[i] . Y[i] accumulated in float64 (the positives' similarities)."""
    D = X.shape[1]
    for i in prange(X.shape[0]):
        total = 0.0
        for k in range(D):
            total += np.float64(X[i, k]) * np.float64(Y[i, k])
        out[i] = total


# ------------------------------------------------------------- softmax relative to the positive


@kernel
def relative_row(S, r, t, x, base, scale):
    """(m, s) of tile row r by two exact passes: x_j = (S_rj - base) scale over j not in
    {t, x}; m = max(0, max x), s = sum e^{x_j - m}; NaN for a NaN or +inf among them."""
    C = S.shape[1]
    top = 0.0
    bad = False
    for j in range(C):
        if j != t and j != x:
            v = (S[r, j] - base) * scale
            if v > top:
                top = v
            elif not v <= top:
                bad = True
    if bad or not top < np.inf:
        return np.nan, np.nan
    total = 0.0
    for j in range(C):
        if j != t and j != x:
            total += exp_nonpositive((S[r, j] - base) * scale - top)
    return top, total


@kernel(parallel=True)
def relative_row_stats(S, r0, pos, skip, ref, scale, m, s):
    """Row g: x_j = (S_gj - ref_g) scale over j not in {pos_g, skip_g}; m_g = max(0, max x),
    s_g = sum e^{x_j - m_g}. ref_g is the positive's similarity. (The exact two passes; the
    tiles whose similarities are all finite take the one-exponential kernels below.)"""
    for r in prange(S.shape[0]):
        g = r0 + r
        m[g], s[g] = relative_row(S, r, pos[g], skip[g], ref[g], scale)


# One exponential per similarity: shifted by the tile's largest similarity, not the positive.
#
# With the tile's maximum `shift` (finite: else the exact passes above run), row g's negatives
# sum N_g = sum_j e^{(S_gj - shift) scale} holds the row's (m, s): with d_g = (shift - ref_g)
# scale, sum_j e^{x_j} = N_g e^{d_g}, so m = 0 and s = N_g e^{d_g} where log N_g + d_g <= 0
# (the positive leads: the loss is log1p(s), tiny losses keep their relative precision),
# m = log N_g + d_g and s = 1 otherwise (m >= max x, as the gradient needs). Clip's columns
# sum the same exponentials down every tile at one running shift (shifted_pair_sums), and
# get their (m, s) at the end (shifted_column_stats). A row whose sum, or a column whose
# total, is under SUM_FLOOR may have lost terms to underflow (its similarities lie far below
# the tile's largest, at a large scale): it takes the exact passes.

SHIFT_BLOCK = 256  # columns whose exponentials are taken into one scratch block (in L1)
# The block's similarities are read at np.uint64 indices: numba adds no wraparound code for
# an unsigned index, so LLVM loads them as one vector instead of gathering lane by lane
# (measured 1.3-1.8x faster).
# Each term lost to underflow is under 2.2e-308; above this floor they sum to < 1e-100 of it.
SUM_FLOOR = 1e-200


@kernel
def shifted_block(S, r, j0, n, shift, scale, buf):
    """buf[k] = e^{(S[r, j0 + k] - shift) scale} for k < n, the argument capped at 0 (the
    shift's own entry may round above it)."""
    for k in range(n):
        a = (np.float64(S[r, np.uint64(j0 + k)]) - shift) * scale
        buf[k] = exp_nonpositive(a if a < 0.0 else 0.0)


@kernel
def block_sum_without(buf, j0, n, t, x):
    """sum buf[:n], a block of columns j0 .. j0 + n - 1, with columns t and x (the positive
    and the skipped column, either outside the block or -1) zeroed first."""
    if t >= j0 and t < j0 + n:
        buf[t - j0] = 0.0
    if x >= j0 and x < j0 + n:
        buf[x - j0] = 0.0
    return block_sum(buf, 0, n)


@kernel
def shifted_stats(total, shift, base, scale):
    """(m, s) of a row from its negatives' sum N = total shifted by `shift` (see above)."""
    d = (shift - base) * scale
    lead = np.log(total) + d
    if lead <= 0.0:
        return 0.0, total * np.exp(d)
    if lead < np.inf:
        return lead, 1.0
    return np.nan, np.nan


@kernel(parallel=True)
def shifted_row_stats(S, r0, pos, skip, ref, scale, shift, m, s):
    """relative_row_stats with one exponential per similarity, `shift` the tile's (finite)
    maximum: N_g over blocks of SHIFT_BLOCK columns (exponentials into a scratch block, then
    summed), the positive and the skipped column zeroed."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        buf = np.empty(SHIFT_BLOCK)
        total = 0.0
        for j0 in range(0, C, SHIFT_BLOCK):
            n = min(C, j0 + SHIFT_BLOCK) - j0
            shifted_block(S, r, j0, n, shift, scale, buf)
            total += block_sum_without(buf, j0, n, t, x)
        if total < SUM_FLOOR:
            m[g], s[g] = relative_row(S, r, t, x, ref[g], scale)
        else:
            m[g], s[g] = shifted_stats(total, shift, ref[g], scale)


ROW_GROUPS = 8  # a paired tile's rows in this many groups, each with its own column sums


@kernel(parallel=True)
def shifted_pair_sums(S, r0, shift, ref, scale, m, s, columns, lift):
    """A paired tile (row g's positive in column g, column g's in row g), `shift` its finite
    maximum, one exponential per similarity: the rows' (m, s) as shifted_row_stats, and
    columns[j] += lift sum over the tile's rows i != j of e^{(S_ij - shift) scale} (lift
    carries the tile's shift to the columns' running one). prange over ROW_GROUPS groups of
    rows, each read in order with its own column sums, added in group order afterwards:
    the same bits on any number of threads."""
    R = S.shape[0]
    C = S.shape[1]
    G = min(ROW_GROUPS, R)
    acc = np.zeros((G, C))
    for grp in prange(G):
        buf = np.empty(SHIFT_BLOCK)
        for r in range(grp * R // G, (grp + 1) * R // G):
            g = r0 + r
            total = 0.0
            for j0 in range(0, C, SHIFT_BLOCK):
                n = min(C, j0 + SHIFT_BLOCK) - j0
                shifted_block(S, r, j0, n, shift, scale, buf)
                if g >= j0 and g < j0 + n:
                    buf[g - j0] = 0.0
                total += block_sum(buf, 0, n)
                for k in range(n):
                    acc[grp, np.uint64(j0 + k)] += buf[k]
            if total < SUM_FLOOR:
                m[g], s[g] = relative_row(S, r, g, -1, ref[g], scale)
            else:
                m[g], s[g] = shifted_stats(total, shift, ref[g], scale)
    for j in range(C):
        total = 0.0
        for grp in range(G):
            total += acc[grp, j]
        columns[j] += lift * total


@kernel(parallel=True)
def shifted_column_stats(columns, shift, ref, scale, m, s):
    """Each column's (m, s) from its sum over every tile, shifted by `shift` (each at least
    SUM_FLOOR: the caller checks), as a row's from its negatives' sum."""
    for j in prange(columns.shape[0]):
        m[j], s[j] = shifted_stats(columns[j], shift, ref[j], scale)


@kernel(parallel=True)
def relative_column_stats(S, r0, ref, scale, m, s):
    """Column j of a paired tile, its positive in row j: merges x_ij = (S_ij - ref_j) scale
    over the tile's rows i != j into (m_j, s_j) (start both at 0; NaN marks a column that
    met a non-finite similarity and stays NaN)."""
    R = S.shape[0]
    C = S.shape[1]
    blocks = (C + COLUMN_BLOCK - 1) // COLUMN_BLOCK
    for blk in prange(blocks):
        j0 = blk * COLUMN_BLOCK
        j1 = min(C, j0 + COLUMN_BLOCK)
        top = np.empty(j1 - j0)
        for j in range(j0, j1):
            top[j - j0] = m[j]
        for r in range(R):
            g = r0 + r
            for j in range(j0, j1):
                if j != g:
                    v = (S[r, j] - ref[j]) * scale
                    if v > top[j - j0]:
                        top[j - j0] = v
                    elif not v <= top[j - j0]:
                        top[j - j0] = np.nan
        for j in range(j0, j1):
            new = top[j - j0]
            if not new < np.inf:
                m[j] = np.nan
                s[j] = np.nan
            elif new > m[j]:
                s[j] = s[j] * exp_nonpositive(m[j] - new)
                m[j] = new
        for r in range(R):
            g = r0 + r
            for j in range(j0, j1):
                if j != g and m[j] == m[j]:
                    s[j] += exp_nonpositive((S[r, j] - ref[j]) * scale - m[j])


@kernel(parallel=True)
def relative_row_terms(S, r0, pos, skip, ref, scale, m, s, weight, logit, prob, grad):
    """The breakdown of rows: logit = scale S; prob = the row's softmax (0 at skip);
    grad = weight_g (prob - [j = pos]), with prob_pos - 1 = -s / (e^{-m} + s) exactly.

    A row's exponentials are the gradient's (relative_tile_grad: exp_nonpositive, in one
    vectorised pass over the row, an argument above 0 only by rounding taken as 0); the
    positive's and the skipped column's cells are set after it."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        base = ref[g]
        mg = m[g]
        lead = np.exp(-mg)
        den = lead + s[g]
        w = weight[g]
        for j in range(C):
            v = np.float64(S[r, j])
            logit[r, j] = v * scale
            a = (v - base) * scale - mg
            p = exp_nonpositive(a if a < 0.0 else 0.0) / den
            prob[r, j] = p
            grad[r, j] = w * p
        prob[r, t] = lead / den
        grad[r, t] = -w * (s[g] / den)
        if x >= 0:
            prob[r, x] = 0.0
            grad[r, x] = 0.0


@kernel(parallel=True)
def relative_tile_grad(S, r0, pos, skip, ref, scale, m, inv, at_pos, columns, cref, cm, cinv,
                       cat_pos):
    """S becomes d(sum of losses)/dS in place: inv_g e^{x_gj - m_g} off the positive, at_pos_g
    on it, 0 at skip (the rows' softmax; inv_g = weight_g / (e^{-m_g} + s_g), at_pos_g =
    -weight_g s_g / (e^{-m_g} + s_g)); with `columns`, plus the same for column j's softmax
    over the rows (its positive in row j: clip)."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        base = ref[g]
        mg = m[g]
        w = inv[g]
        for j in range(C):
            v = np.float64(S[r, j])
            if j == x:
                G = 0.0
            elif j == t:
                G = at_pos[g]
            else:
                a = (v - base) * scale - mg
                G = w * exp_nonpositive(a if a < 0.0 else 0.0)
            if columns:
                if j == g:
                    G += cat_pos[j]
                else:
                    a = (v - cref[j]) * scale - cm[j]
                    G += cinv[j] * exp_nonpositive(a if a < 0.0 else 0.0)
            S[r, j] = G


# ------------------------------------------------------------- sums over a row's negatives


@kernel
def powers_block(S, r, j0, n, shift, scale, factors, f, buf):
    """buf[k] = e^{factors[f] d} with d = (S[r, j0 + k] - shift) scale capped at 0, for k < n
    (indexed as shifted_block is, to load vectors)."""
    c = factors[f]
    for k in range(n):
        a = (np.float64(S[r, np.uint64(j0 + k)]) - shift) * scale
        buf[k] = exp_nonpositive(c * (a if a < 0.0 else 0.0))


@kernel(parallel=True)
def negative_power_sums(S, r0, pos, skip, scale, factors, shift, top, sums):
    """sums[g, f] = sum_j e^{factors[f] d_j} over the negatives of row g (every j but pos and
    skip), d_j = (S_gj - top_g) scale, each factor finite and >= 0; NaN for a NaN or +inf
    among them. top_g is shift[r], the row's largest similarity over all its columns, so
    one pass of exponentials in vectorised blocks of SHIFT_BLOCK columns serves (pos and
    skip zeroed): every later use reads d_j against top_g, which need not be a negative's.
    A row with a non-finite shift, or a sum under SUM_FLOOR (its negatives far below its
    positive: their exponentials may underflow), takes the exact two passes against its
    negatives' own largest."""
    C = S.shape[1]
    F = factors.shape[0]
    for r in prange(S.shape[0]):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        high = np.float64(shift[r])
        fast = high * scale < np.inf and high * scale > -np.inf
        if fast:
            buf = np.empty(SHIFT_BLOCK)
            for f in range(F):
                total = 0.0
                for j0 in range(0, C, SHIFT_BLOCK):
                    n = min(C, j0 + SHIFT_BLOCK) - j0
                    powers_block(S, r, j0, n, high, scale, factors, f, buf)
                    total += block_sum_without(buf, j0, n, t, x)
                sums[g, f] = total
                fast = fast and total >= SUM_FLOOR
        if fast:
            top[g] = high
            continue
        high = -np.inf
        bad = False
        for j in range(C):
            if j != t and j != x:
                v = np.float64(S[r, j])
                if v > high:
                    high = v
                elif not v <= high:
                    bad = True
        if bad or not (high * scale < np.inf and high * scale > -np.inf):
            top[g] = np.nan
            for f in range(F):
                sums[g, f] = np.nan
            continue
        top[g] = high
        for f in range(F):
            total = 0.0
            for j in range(C):
                if j != t and j != x:
                    total += exp_nonpositive(factors[f] * ((S[r, j] - high) * scale))
            sums[g, f] = total


# ------------------------------------------------------------- dcl: the negatives' log-sum-exp


@kernel(parallel=True)
def masked_lse_rows(S, r0, pos, skip, scale, mask, lse):
    """The DCL port's row LSE: lse_g = LSE_j of scale S_gj over every column, with `mask`
    added to the logits of pos and skip (the negatives alone: negative_power_sums)."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        big = -np.inf
        bad = False
        for j in range(C):
            v = np.float64(S[r, j]) * scale + (mask if (j == t or j == x) else 0.0)
            if v > big:
                big = v
            elif not v <= big:
                bad = True
        if bad or not (big < np.inf and big > -np.inf):
            lse[g] = np.nan
            continue
        total = 0.0
        for j in range(C):
            v = np.float64(S[r, j]) * scale + (mask if (j == t or j == x) else 0.0)
            total += exp_nonpositive(v - big)
        lse[g] = big + np.log(total)


@kernel(parallel=True)
def negatives_lse_terms(S, r0, pos, skip, scale, leak, mask, lse, weight, logit, share, grad):
    """dcl's breakdown of rows: share = softmax among the negatives (the masked pos and skip
    too under `leak`, else 0 there), grad = share, and -weight_g (+ its share) at pos.

    The negatives' exponentials are the gradient's (negatives_lse_tile_grad:
    exp_nonpositive, in one vectorised pass over the row, an argument above 0 only by
    rounding taken as 0); the positive's and the skipped column's cells are set after it."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        top = lse[g]
        for j in range(C):
            v = np.float64(S[r, j]) * scale
            logit[r, j] = v
            a = v - top
            e = exp_nonpositive(a if a < 0.0 else 0.0)
            share[r, j] = e
            grad[r, j] = e
        if not top == top:  # a row without statistics: NaN throughout, as np.exp gave
            for j in range(C):
                share[r, j] = np.nan
                grad[r, j] = np.nan
        for j in (t, x):
            if j >= 0:
                share[r, j] = np.exp(np.float64(S[r, j]) * scale + mask - top) if leak else 0.0
                grad[r, j] = share[r, j]
        grad[r, t] = share[r, t] - weight[g]


@kernel(parallel=True)
def negatives_lse_tile_grad(S, r0, pos, skip, scale, leak, mask, lse, half, at_pos):
    """S becomes d(sum)/dS in place for dcl: half scale share on the negatives (and on the
    masked skip under `leak`), at_pos_g on the positive (its coefficient, already in
    similarity units, plus half scale its share under `leak`)."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        top = lse[g]
        w = half * scale
        for j in range(C):
            v = np.float64(S[r, j]) * scale
            if j == t:
                G = at_pos[g]
                if leak:
                    a = v + mask - top
                    G += w * exp_nonpositive(a if a < 0.0 else 0.0)
            elif j == x:
                G = 0.0
                if leak:
                    a = v + mask - top
                    G = w * exp_nonpositive(a if a < 0.0 else 0.0)
            else:
                a = v - top
                G = w * exp_nonpositive(a if a < 0.0 else 0.0)
            if not top == top:
                G = np.nan
            S[r, j] = G


# ------------------------------------------------------------- hard-infonce (HCL) in log space


@kernel
def hard_rows_finish(v0, top, sum_b, sum_1b, count, scale, beta, tau_plus, clamp, r_value,
                     ng_raw, floor, binds, loss, c_neg, g_pos):
    """HCL's debiased loss per row from its statistics (LOSSES-MORE.md, hard-infonce):

        log R  = log N + LSE((1 + beta) v) - LSE(beta v)
        Ng     = max((R - tau+ N e^{v_0}) / (1 - tau+), N e^{-1/t})   (scale = 1/t)
        loss   = softplus(log Ng - v_0)
    The gradient per logit, q differentiated: unclamped, with c = R / ((1 - tau+)(e^{v_0} +
    Ng)), d/dv_0 = -c and d/dv_k = c ((1 + beta) r_k - beta q_k); while the floor binds,
    d/dv_0 = -Ng / (e^{v_0} + Ng) and the negatives get 0 (c_neg = 0). Without the clamp an
    Ng <= 0 gives NaN (the caller warns).
    """
    log_n = np.log(count)
    log_floor = log_n - scale
    for g in range(v0.shape[0]):
        v = v0[g]
        log_r = log_n + top[g] * scale + np.log(sum_1b[g]) - np.log(sum_b[g])
        positive = True
        log_ng = log_r
        raw = 0.0
        if tau_plus > 0.0:
            ex = np.log(tau_plus) + log_n + v - log_r
            if ex >= 0.0:
                positive = False
                raw = (np.exp(log_r) - tau_plus * np.exp(log_n + v)) / (1.0 - tau_plus)
            else:
                log_ng = log_r + np.log1p(-np.exp(ex)) - np.log1p(-tau_plus)
        bound = clamp and ((not positive) or log_ng < log_floor)
        r_value[g] = np.exp(log_r)
        ng_raw[g] = np.exp(log_ng) if positive else raw
        floor[g] = np.exp(log_floor)
        binds[g] = bound
        if not bound and not positive:
            loss[g] = np.nan
            c_neg[g] = np.nan
            g_pos[g] = np.nan
            continue
        chosen = log_floor if bound else log_ng
        loss[g] = softplus(chosen - v)
        den = max(v, chosen) + np.log1p(np.exp(-abs(v - chosen)))
        if bound:
            c_neg[g] = 0.0
            g_pos[g] = -np.exp(chosen - den)
        else:
            c = np.exp(log_r - np.log1p(-tau_plus) - den)
            c_neg[g] = c
            g_pos[g] = -c


@kernel(parallel=True)
def hard_row_terms(S, r0, pos, skip, scale, beta, top, sum_b, sum_1b, c_neg, g_pos, weight,
                   logit, importance, share, grad):
    """hard-infonce's breakdown of rows: importance = N q_k, share = r_k (the negative's share
    of R), grad = weight_g (d loss / d logit); pos and skip get 0 importance and share.

    A row's exponentials are the gradient's (hard_tile_grad: exp_nonpositive of
    d = (s - top) scale, a d above 0 only by rounding taken as 0, in one vectorised pass
    over the row); the positive's and the skipped column's cells are set after it."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        count = C - 1 - (1 if (x >= 0 and x != t) else 0)
        w = weight[g]
        high = top[g]
        for j in range(C):
            v = np.float64(S[r, j])
            logit[r, j] = v * scale
            d = (v - high) * scale
            d = d if d < 0.0 else 0.0
            q = exp_nonpositive(beta * d) / sum_b[g]
            k = exp_nonpositive((1.0 + beta) * d) / sum_1b[g]
            importance[r, j] = count * q
            share[r, j] = k
            grad[r, j] = w * c_neg[g] * ((1.0 + beta) * k - beta * q)
        if not high == high:  # a row without statistics: NaN throughout, as np.exp gave
            for j in range(C):
                importance[r, j] = np.nan
                share[r, j] = np.nan
                grad[r, j] = np.nan
        for j in (t, x):
            if j >= 0:
                importance[r, j] = 0.0
                share[r, j] = 0.0
                grad[r, j] = 0.0
        grad[r, t] = w * g_pos[g]
        if not g_pos[g] == g_pos[g]:
            for j in range(C):
                grad[r, j] = np.nan


@kernel(parallel=True)
def hard_tile_grad(S, r0, pos, skip, scale, beta, top, sum_b, sum_1b, c_neg, g_pos, weight):
    """S becomes d(sum)/dS in place for hard-infonce: weight (the gradient per logit)."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        cb = c_neg[g] / sum_b[g]
        c1 = c_neg[g] / sum_1b[g]
        high = top[g]
        for j in range(C):
            if j == t:
                G = weight * g_pos[g]
            elif j == x:
                G = 0.0
            else:
                d = (S[r, j] - high) * scale
                d = d if d < 0.0 else 0.0
                G = weight * ((1.0 + beta) * c1 * exp_nonpositive((1.0 + beta) * d)
                              - beta * cb * exp_nonpositive(beta * d))
            if not g_pos[g] == g_pos[g]:
                G = np.nan
            S[r, j] = G


@kernel(parallel=True)
def hard_linear_rows(S, r0, pos, skip, scale, beta, tau_plus, loss):
    """HCL's hard estimator as its code computes it, in linear space (LOSSES-MORE.md):

        neg = e^{s/t}, imp = e^{beta log neg}, R = sum(imp neg) / mean(imp)
        Ng = max((R - tau+ N e^{v_0}) / (1 - tau+), N e^{-1/t});  loss = -log(pos / (pos + Ng))

    Nothing is shifted: e^{s/t} overflows above s/t = 709.78 and underflows below -745 where
    HCL's does, and a NaN passes the clamp as torch.clamp lets it.
    """
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        t = pos[g]
        x = skip[g]
        count = 0
        total_imp = 0.0
        total = 0.0
        for j in range(C):
            if j == x or j == t:
                continue
            neg = np.exp(np.float64(S[r, j]) * scale)
            imp = np.exp(beta * np.log(neg))
            total_imp += imp
            total += imp * neg
            count += 1
        positive = np.exp(np.float64(S[r, t]) * scale)
        reweight = total / (total_imp / count)
        ng = (-tau_plus * count * positive + reweight) / (1.0 - tau_plus)
        floor = count * np.e ** (-scale)
        if ng < floor:
            ng = floor
        loss[g] = -np.log(positive / (positive + ng))


# ------------------------------------------------------------- siglip: a sigmoid per pair


@kernel
def softplus_block(S, r, j0, n, scale, bias, buf):
    """buf[k] = softplus(x), x = scale S[r, j0 + k] + bias, for k < n (softplus_unrolled, so
    the loop vectorises; indexed as shifted_block is)."""
    for k in range(n):
        buf[k] = softplus_unrolled(np.float64(S[r, np.uint64(j0 + k)]) * scale + bias)


@kernel(parallel=True)
def sigmoid_row_losses(S, r0, scale, bias, loss):
    """SigLIP's rows of a paired tile: sum_j softplus(-z x), x = scale S + bias, z = +1 at
    j = g (the row's own positive) and -1 elsewhere. The negatives' terms go in blocks of
    SHIFT_BLOCK columns, the positive's column zeroed; its own term (libm's) is added last."""
    C = S.shape[1]
    for r in prange(S.shape[0]):
        g = r0 + r
        buf = np.empty(SHIFT_BLOCK)
        total = 0.0
        for j0 in range(0, C, SHIFT_BLOCK):
            n = min(C, j0 + SHIFT_BLOCK) - j0
            softplus_block(S, r, j0, n, scale, bias, buf)
            total += block_sum_without(buf, j0, n, g, -1)
        loss[g] = total + softplus(-(np.float64(S[r, g]) * scale + bias))


@kernel(parallel=True)
def sigmoid_row_terms(S, r0, scale, bias, logit, sig, term, grad):
    """SigLIP's breakdown of rows: x, sigma(x), softplus(-z x) and d term / d x = sigma(x) -
    [z = +1] (as -sigma(-x) on the positive, so it stays exact near 0).

    One vectorised pass a row, one exponential e^{-|x|} a cell shared by sigma and softplus
    (libm's exp twice and log1p once a cell kept the loop scalar); the positive's cells are
    set after it."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        for j in range(C):
            v = np.float64(S[r, j]) * scale + bias
            e = exp_nonpositive(-abs(v))
            s = sigmoid_given(v, e)
            logit[r, j] = v
            sig[r, j] = s
            term[r, j] = softplus_given(v, e)
            grad[r, j] = s
        g = r0 + r
        if g < C:  # libm's, as sigmoid_row_losses takes the positive's term
            v = logit[r, g]
            term[r, g] = softplus(-v)
            grad[r, g] = -sigmoid(-v)


@kernel(parallel=True)
def sigmoid_tile_grad(S, r0, scale, bias, weight):
    """S becomes d(sum)/dS in place for SigLIP: weight (sigma(x) - [j = g]), the positive's
    as -weight sigma(-x) (libm's, exact near 0), the others by sigmoid_unrolled (a loop of
    libm's exp was scalar)."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        g = r0 + r
        v_g = np.float64(S[r, g]) * scale + bias if g < C else 0.0
        for j in range(C):
            S[r, j] = weight * sigmoid_unrolled(np.float64(S[r, j]) * scale + bias)
        if g < C:
            S[r, g] = weight * -sigmoid(-v_g)


# ------------------------------------------------------------- SupContrast's multi-view rows


@kernel
def scaled_block(S, r, j0, n, big, scale, buf):
    """buf[k] = e^{scale S[r, j0 + k] - big} for k < n, the argument capped at 0 (SupContrast's
    own order of operations: the logit, then its row's largest taken off)."""
    for k in range(n):
        a = np.float64(S[r, np.uint64(j0 + k)]) * scale - big
        buf[k] = exp_nonpositive(a if a < 0.0 else 0.0)


@kernel(parallel=True)
def multiview_row_stats(S, r0, B, V, scale, eps, shift, at, big, top, log_den, pos_mean):
    """SupContrast's SupConLoss over the Gram tile of the B V views, view by view as SupContrast
    stacks them (view v is view v // B of example v % B: every example's anchor, then every
    example's first positive, ...): big = max_u scale S_vu over every column, the view itself
    included (its logits_max), and top the first column that holds it; log_den = log(sum_{u
    != v} e^{scale S_vu - big} + eps); pos_mean = the mean logit over the example's other
    V - 1 views. The view's loss is -factor (pos_mean - big - log_den).

    shift[r] and at[r] are the row's largest similarity and its first column (numpy's
    vectorised max and argmax; scaling keeps the order, and a float32 tile's ties); where
    it is finite the exponentials go in vectorised blocks of SHIFT_BLOCK columns, the view
    itself zeroed; a NaN or +inf takes the exact passes, which find it."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        v = r0 + r
        own = v % B
        high = np.float64(shift[r])
        if high * scale < np.inf and high * scale > -np.inf:
            buf = np.empty(SHIFT_BLOCK)
            total = 0.0
            for j0 in range(0, C, SHIFT_BLOCK):
                n = min(C, j0 + SHIFT_BLOCK) - j0
                scaled_block(S, r, j0, n, high * scale, scale, buf)
                total += block_sum_without(buf, j0, n, v, -1)
            top[v] = at[r]
            high = high * scale
        else:
            high = -np.inf
            best = 0
            bad = False
            for u in range(C):
                w = np.float64(S[r, u]) * scale
                if w > high:
                    high = w
                    best = u
                elif not w <= high:
                    bad = True
            top[v] = best
            if bad or not (high < np.inf and high > -np.inf):
                big[v] = np.nan
                log_den[v] = np.nan
                pos_mean[v] = np.nan
                continue
            total = 0.0
            for u in range(C):
                if u != v:
                    total += exp_nonpositive(np.float64(S[r, u]) * scale - high)
        acc = 0.0
        for k in range(V):
            u = own + k * B
            if u != v:
                acc += np.float64(S[r, u]) * scale
        big[v] = high
        log_den[v] = np.log(total + eps)
        pos_mean[v] = acc / (V - 1)


@kernel
def max_share(eps, log_den):
    """d loss_v / d big over factor: eps / (sum + eps). The eps in the log keeps the row
    maximum from cancelling, so the logit that holds it (top) has this on top of its share
    (SupContrast's autograd detaches the maximum and leaves it out; the loss it reports
    depends on it: dot similarity puts |z|^2 / t there, and where the shifted sum is not
    far above eps the two differ)."""
    return eps * np.exp(-log_den)


@kernel(parallel=True)
def multiview_row_terms(S, r0, B, V, scale, factor, eps, big, top, log_den, logit, prob, grad):
    """The breakdown of multi-view rows (views as multiview_row_stats stacks them): prob =
    e^{logit - big - log_den} (0 on the view itself), grad = d loss_v / d logit = factor (prob
    - [u positive] / (V - 1)), plus factor max_share at the column holding the maximum (top).

    A row with finite statistics takes its exponentials in one vectorised pass
    (exp_nonpositive: prob <= 1, so an argument above 0 comes only by rounding and is taken
    as 0); a row without (a NaN or +inf in it, or a sum of 0 with eps = 0) libm's. The
    positives' and the view's own cells are set after the pass."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        v = r0 + r
        high = big[v]
        lower = log_den[v]
        exact = not (high - lower < np.inf and high - lower > -np.inf)
        for u in range(C):
            w = np.float64(S[r, u]) * scale
            logit[r, u] = w
            a = w - high - lower
            p = np.exp(a) if exact else exp_nonpositive(a if a < 0.0 else 0.0)
            prob[r, u] = p
            grad[r, u] = factor * p
        multiview_fix_row(prob, grad, r, v, B, V, factor)
        grad[r, top[v]] += factor * max_share(eps, lower)


@kernel
def multiview_fix_row(prob, grad, r, v, B, V, factor):
    """The cells a multi-view row's pass leaves: each positive's gradient takes its
    1 / (V - 1) off (factor (prob - 1 / (V - 1))), the view itself has neither."""
    for k in range(V):
        u = v % B + k * B
        grad[r, u] = factor * (prob[r, u] - 1.0 / (V - 1))
    prob[r, v] = 0.0
    grad[r, v] = 0.0


@kernel(parallel=True)
def multiview_tile_grad(S, r0, B, V, scale, eps, big, top, log_den, weight):
    """S becomes d(sum)/dS in place for the multi-view rows: weight (prob - [u positive] /
    (V - 1)), 0 on the view itself, plus weight max_share at the maximum's column (top).
    Exponentials as multiview_row_terms takes them (one vectorised pass where the row's
    statistics are finite); the positives' cells, read before the pass, are set after it."""
    R = S.shape[0]
    C = S.shape[1]
    for r in prange(R):
        v = r0 + r
        own = v % B
        shift = big[v] + log_den[v]
        exact = not (shift < np.inf and shift > -np.inf)
        positives = np.empty(V)
        for k in range(V):
            a = np.float64(S[r, own + k * B]) * scale - shift
            p = np.exp(a) if exact else exp_nonpositive(a if a < 0.0 else 0.0)
            positives[k] = weight * (p - 1.0 / (V - 1))
        for u in range(C):
            a = np.float64(S[r, u]) * scale - shift
            S[r, u] = weight * (np.exp(a) if exact else exp_nonpositive(a if a < 0.0 else 0.0))
        for k in range(V):
            S[r, own + k * B] = positives[k]
        S[r, v] = 0.0
        S[r, top[v]] += weight * max_share(eps, log_den[v])


# ------------------------------------------------------------- a breakdown's term order


@kernel(parallel=True)
def first_then_rest(values, first, left_out, out):
    """out[r] = values[r, first[r]], then row r's other columns in order without column
    left_out[r] (-1: none, else a column other than first[r]): the order in which a breakdown
    lists an example's terms, its positive first. Three contiguous copies per row, where
    numpy's take_along_axis gathered through an index array (~7 ns a term: 40% of
    `compute clip --terms top` at B = 8,192)."""
    C = values.shape[1]
    for r in prange(values.shape[0]):
        f = first[r]
        skip = left_out[r]
        out[r, 0] = values[r, f]
        lo = f
        hi = C
        if skip >= 0:
            lo = min(f, skip)
            hi = max(f, skip)
        for c in range(lo):
            out[r, 1 + c] = values[r, c]
        for c in range(lo + 1, hi):
            out[r, c] = values[r, c]
        for c in range(hi + 1, C):
            out[r, c - 1] = values[r, c]
