"""Loss-only kernels for `batch`: one pass over the inputs at memory speed, no breakdown.

`compute` keeps every term (similarities, probabilities, gradients); over a whole embedding
dump only the per-example loss is wanted, so these kernels read each vector once and write
one number per example. They take float32 or float64 rows as they are and do all arithmetic
in float64 (each element is widened before it is multiplied), so float32 input costs half
the memory traffic and loses nothing to accumulation.

Layout: every role is a 3-D array indexed [example, row, dim] with the role's rows named
by index, so one kernel serves separate role arrays (anchor (B, 1, D), negatives (B, K, D)
or a shared bank (1, K, D)) and a stacked .npy (B, 2 + K, D) read as it lies on disk
(anchor row 0, positive row 1, negatives from row 2) without copying strided views.

The loops index arrays directly instead of taking row views: in a numba parallel loop each
view bumps the parent array's reference count, an atomic write that the two cores fight
over. The dot products run with fast-math {reassoc, contract} (these kernels only stream
memory); the softmax, distances and hinges are separate strict functions (no fast-math in
exp/log/sqrt paths). Results agree with `compute` to rounding: the order of sums differs.
The streams ask for their rows a few KiB before they read them (`prefetch_row`): a row of
dot products keeps fewer loads in flight than a plain read does.

Checks ride along: a NaN or infinity in a row makes its dot product or squared distance
non-finite, so only such rows are scanned again (flag NONFINITE: the input is refused, as
compute refuses it). With `check` (float64 input) anchors, positives and the distance
kernels' rows also keep their sum of squares, and a row above 1e300 is scanned for entries
above HUGE_ENTRY (compute's warning; float32 cannot hold such numbers); InfoNCE's negative
rows are scanned when their similarity is huge (see infonce_loss).
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import (
    float_from_bits,
    fused_multiply_add,
    kernel,
    prange,
    prefetch,
)
from losscli.kernels.codes import (
    ANCHOR,
    HUGE_ENTRY,
    HUGE_ROW_SQUARES,
    NEGATIVES,
    NONFINITE_SHIFT,
    POSITIVE,
    RESCALE_ABOVE,
    RESCALE_BELOW,
    SAFE_SIMILARITY,
    SQEUCLIDEAN,
    TERMS_MAX,
    TERMS_MEAN,
    TERMS_SUM,
)
from losscli.kernels.margins import hinge
from losscli.kernels.softmax import scaled_difference, softplus

BLOCK = 16  # anchors per prange iteration: one scratch row per block, not per anchor
# How far ahead of their reads the stream kernels ask for rows (`prefetch`): on the Intel
# hosts 2-16 KiB ahead all read per-anchor float64 rows at 92-102% of the floor, 4-8 KiB best
PREFETCH_BYTES = 4096
CACHE_LINE = 64

# exp on [-745.5, 709]: Cody-Waite reduction x = k ln2 + r, a degree-12 Taylor polynomial on
# |r| <= ln2 / 2 (truncation < 2e-16) and 2^k as two normal powers of two built from their
# bits (k >= -1076 splits into halves >= -538): within 1.5 ulp of libm's exp, and plain
# arithmetic, so LLVM vectorises it (numba's np.exp is a scalar libm call; a table of 2^k
# made every lane a gather, ~10% slower). The reduction and Horner's steps are explicit fused
# multiply-adds (each rounded once: no less accurate than a multiply and an add): the
# shared-bank kernel took 0.72-0.80x its time at K = 256, 0.84-0.90x at K = 64.
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_FLOOR = -745.5  # exp below this is 0 in float64
# exp(709) ~ 8.2e307 is finite and above OTHERS_LIMIT: a sum holding a capped term shows it
_EXP_CAP = 709.0
_EXPONENT_BIAS = 1023
# A sum of exp((s_j - s_0) / t) above this (a negative above the positive by more than ~690 t)
# is recomputed shifted by the largest similarity: below it the sum cannot have overflowed.
OTHERS_LIMIT = 1e300


@kernel
def exp_nonpositive(x):
    """exp(x) for x <= 0 (x = -inf gives 0); the caller guarantees x <= 0 and not NaN.

    (Within the same 1.5 ulp up to x = 709, where 2^k's halves are still normal: exp_capped.)
    """
    y = x if x > _EXP_FLOOR else _EXP_FLOOR
    k = np.floor(y * _LOG2E + 0.5)
    r = fused_multiply_add(-k, _LN2_LO, fused_multiply_add(-k, _LN2_HI, y))
    p = 1.0 / 479001600.0
    p = fused_multiply_add(p, r, 1.0 / 39916800.0)
    p = fused_multiply_add(p, r, 1.0 / 3628800.0)
    p = fused_multiply_add(p, r, 1.0 / 362880.0)
    p = fused_multiply_add(p, r, 1.0 / 40320.0)
    p = fused_multiply_add(p, r, 1.0 / 5040.0)
    p = fused_multiply_add(p, r, 1.0 / 720.0)
    p = fused_multiply_add(p, r, 1.0 / 120.0)
    p = fused_multiply_add(p, r, 1.0 / 24.0)
    p = fused_multiply_add(p, r, 1.0 / 6.0)
    p = fused_multiply_add(p, r, 0.5)
    p = fused_multiply_add(p, r, 1.0)
    p = fused_multiply_add(p, r, 1.0)
    whole = np.int64(k)
    half = whole >> 1
    value = p * float_from_bits((half + _EXPONENT_BIAS) << 52) * float_from_bits(
        (whole - half + _EXPONENT_BIAS) << 52)
    return value if x > _EXP_FLOOR else 0.0


@kernel
def exp_capped(x):
    """exp(min(x, 709)); 0 for x = -inf or NaN (the caller finds NaN by other means)."""
    return exp_nonpositive(_EXP_CAP if x > _EXP_CAP else x)


# log1p(y) = 2 atanh(u), u = y / (2 + y) in [0, 1/3] for y in [0, 1]: 2 u sum_k u^{2k} / (2k + 1);
# the terms past k = 16 are under 2^-53 of the sum.
_ATANH_TERMS = 17


@kernel
def log1p_unit(y):
    """log(1 + y) for 0 <= y <= 1 by plain arithmetic (libm's log1p is a scalar call, this
    vectorises): 2 atanh(y / (2 + y)) by its series, within a few ulp."""
    u = y / (2.0 + y)
    u2 = u * u
    p = 1.0 / (2 * _ATANH_TERMS - 1)
    for k in range(_ATANH_TERMS - 2, -1, -1):
        p = fused_multiply_add(p, u2, 1.0 / (2 * k + 1))
    return 2.0 * u * p


@kernel
def softplus_unrolled(x):
    """softplus(x) = max(x, 0) + log1p(e^{-|x|}) by exp_nonpositive and log1p_unit: no libm
    call, so a loop of them vectorises. NaN stays NaN, +-inf give inf and 0."""
    return softplus_given(x, exp_nonpositive(-abs(x)))


@kernel
def softplus_given(x, e):
    """softplus(x) = max(x, 0) + log1p(e) with e = e^{-|x|} taken by the caller (who may
    share it with sigmoid_given). NaN stays NaN."""
    lead = x if not x <= 0.0 else 0.0
    return lead + log1p_unit(e)


@kernel
def sigmoid_unrolled(x):
    """sigma(x) = 1 / (1 + e^{-x}) by exp_nonpositive: no libm call, so a loop of them
    vectorises. NaN stays NaN, +-inf give 1 and 0."""
    return sigmoid_given(x, exp_nonpositive(-abs(x)))


@kernel
def sigmoid_given(x, e):
    """sigma(x) with e = e^{-|x|} taken by the caller: 1 / (1 + e) for x >= 0, e / (1 + e)
    below, so neither side overflows or cancels. NaN stays NaN (exp_nonpositive gives 0)."""
    value = (1.0 if x >= 0.0 else e) / (1.0 + e)
    return value if x == x else x


@kernel
def shifted_exp(v, base, inverse):
    """exp_capped((v - base) / t), strict: the caller may be compiled with fast-math."""
    return exp_capped((v - base) * inverse)


@kernel
def rows_ahead(D, itemsize):
    """How many rows of D items a stream kernel asks for ahead of its reads: PREFETCH_BYTES."""
    return max(1, PREFETCH_BYTES // max(1, D * itemsize))


@kernel
def prefetch_row(X, b, r, D):
    """Ask the caches for every line of the row X[b, r, :D] (`prefetch`), if b is a row."""
    if b < X.shape[0]:
        for i in range(0, D, max(1, CACHE_LINE // X.itemsize)):
            prefetch(X, b, r, i)


@kernel
def cursor_ahead(b, ahead, K):
    """The negative row `ahead` rows past anchor b's first in a per-anchor stream of K rows
    each: (anchor, row) for prefetch_negatives."""
    return b + ahead // max(K, 1), ahead % max(K, 1)


@kernel
def prefetch_negatives(N, n0, K, count, hb, hk, D):
    """Ask for `count` rows of per-anchor negatives N[hb, n0 + hk] on (K rows an anchor);
    the cursor past them."""
    for _ in range(count):
        prefetch_row(N, hb, n0 + hk, D)
        hk += 1
        if hk == K:
            hk = 0
            hb += 1
    return hb, hk


@kernel
def block_sum(buf, start, stop):
    """sum buf[start:stop] by four running sums (a fixed order, whatever the threads)."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    quads = start + (stop - start) // 4 * 4
    for k in range(start, quads, 4):
        s0 += buf[k]
        s1 += buf[k + 1]
        s2 += buf[k + 2]
        s3 += buf[k + 3]
    for k in range(quads, stop):
        s0 += buf[k]
    return (s0 + s1) + (s2 + s3)


@kernel
def infonce_first(sim, scratch, temperature):
    """-log softmax(sim / t)_0 for finite similarities, branches as softmax.softmax_at.

    The positive on top: log1p(sum_{j>0} exp((s_j - s_0) / t)); otherwise
    (top - s_0) / t + log(sum_j exp((s_j - top) / t)).
    """
    n = sim.shape[0]
    # four running maxima (and block_sum's four partial sums): independent chains that pipeline
    m0 = sim[0]
    m1 = sim[0]
    m2 = sim[0]
    m3 = sim[0]
    quads = n // 4 * 4
    for j in range(0, quads, 4):
        if sim[j] > m0:
            m0 = sim[j]
        if sim[j + 1] > m1:
            m1 = sim[j + 1]
        if sim[j + 2] > m2:
            m2 = sim[j + 2]
        if sim[j + 3] > m3:
            m3 = sim[j + 3]
    for j in range(quads, n):
        if sim[j] > m0:
            m0 = sim[j]
    top = max(max(m0, m1), max(m2, m3))
    positive_on_top = sim[0] >= top
    base = sim[0] if positive_on_top else top
    # times 1/t, not / t: a divide per element costs more than the exp (the argument
    # then differs by an ulp, ~1e-15 relative in the loss)
    inverse = 1.0 / temperature
    for j in range(n):
        scratch[j] = exp_nonpositive((sim[j] - base) * inverse)
    total = block_sum(scratch, 1 if positive_on_top else 0, n)
    if positive_on_top:
        return np.log1p(total)
    return scaled_difference(top, sim[0], temperature) + np.log(total)


@kernel
def infonce_first_libm(sim, temperature):
    """The same loss with libm's exp and scaled differences, for rows where a similarity is
    not finite or above SAFE_SIMILARITY."""
    n = sim.shape[0]
    top = sim[0]
    for j in range(n):
        if sim[j] > top:
            top = sim[j]
    if sim[0] >= top:
        others = 0.0
        for j in range(1, n):
            others += np.exp(scaled_difference(sim[j], sim[0], temperature))
        return np.log1p(others)
    total = 0.0
    for j in range(n):
        total += np.exp(scaled_difference(sim[j], top, temperature))
    return scaled_difference(top, sim[0], temperature) + np.log(total)


@kernel
def row_flag(x, b, r, bit, squares):
    """The flag of row x[b, r]: bit << NONFINITE_SHIFT for NaN/inf, bit for a huge entry
    (only when `squares`, the row's sum of squares, is above 1e300). The rare path."""
    flag = 0
    for i in range(x.shape[2]):
        v = abs(np.float64(x[b, r, i]))
        if not v < np.inf:
            return bit << NONFINITE_SHIFT
        if v > HUGE_ENTRY and squares > HUGE_ROW_SQUARES:
            flag = bit
    return flag


@kernel
def plain_distance(total, kind):
    """The distance from its squared sum, or -1 when the sum may have under- or overflowed
    (0 included: differences whose squares all underflow), then `rescaled_distance`
    recomputes it from the rows, as distances.euclidean_distance does."""
    if kind == SQEUCLIDEAN:
        return total
    if total > RESCALE_BELOW and total < RESCALE_ABOVE:
        return np.sqrt(total)
    return -1.0


@kernel
def rescaled_distance(x, bx, rx, y, by, ry):
    """sqrt(sum (x - y)^2) with every difference divided by the largest first (rare path)."""
    scale = 0.0
    for i in range(x.shape[2]):
        diff = abs(np.float64(x[bx, rx, i]) - np.float64(y[by, ry, i]))
        if diff > scale:
            scale = diff
    if scale == 0.0 or not np.isfinite(scale):
        total = 0.0
        for i in range(x.shape[2]):
            diff = np.float64(x[bx, rx, i]) - np.float64(y[by, ry, i])
            total += diff * diff
        return np.sqrt(total)
    scaled = 0.0
    for i in range(x.shape[2]):
        diff = (np.float64(x[bx, rx, i]) - np.float64(y[by, ry, i])) / scale
        scaled += diff * diff
    return scale * np.sqrt(scaled)


@kernel
def triplet_term(dp, dn, margin, soft):
    """[dp - dn + m]+, or softplus(dp - dn) (strict arithmetic: the hinge cancels)."""
    if soft:
        return softplus(dp - dn)
    return hinge(dp - dn + margin)


@kernel
def contrastive_term(d, margin):
    """1/2 [m - d]+^2 of a dissimilar pair."""
    h = margin - d
    if not h > 0.0:
        h = 0.0
    return 0.5 * h * h


# The loops below index the arrays and pass only scalars and thread-local scratch to the
# functions they call: handing a shared array to a function in a prange loop costs an atomic
# reference-count update on it, and two cores updating one count ran 2-5x slower.


@kernel(stream=True, parallel=True)
def infonce_loss(A, ia, P, ip, N, n0, K, temperature, check, loss, flags):
    """InfoNCE with dot similarity: s_0 = A[b, ia] . P[b, ip], s_k = A[b, ia] . N[nb, n0 + k].

    N has one bank (N.shape[0] == 1, shared by every anchor) or one per anchor, each negative
    row's dot product in one vectorised pass (four rows per pass over the anchor, once 15-20%
    faster for float64, measured 2x slower with numba 0.68 at every size of
    benchmarks/kernels.py), against the anchor row widened to float64 once (float32 S1:
    22% faster, the same bits). A negative row is scanned for huge or non-finite entries only when
    its similarity is above HUGE_ENTRY or not finite: a huge entry that does not reach a
    similarity changes nothing (compute also warns about those; batch does not).
    """
    B = A.shape[0]
    D = A.shape[2]
    shared = N.shape[0] == 1
    ahead = rows_ahead(D, N.itemsize)
    blocks = (B + BLOCK - 1) // BLOCK
    for blk in prange(blocks):
        sim = np.empty(K + 1)
        scratch = np.empty(K + 1)
        anchor = np.empty(D)  # the anchor row widened once, not once per negative
        hb, hk = cursor_ahead(blk * BLOCK, ahead, K)
        for b in range(blk * BLOCK, min(B, (blk + 1) * BLOCK)):
            nb = 0 if shared else b
            flag = 0
            s = 0.0
            if check:
                qa = 0.0
                qp = 0.0
                for i in range(D):
                    va = np.float64(A[b, ia, i])
                    vp = np.float64(P[b, ip, i])
                    s += va * vp
                    qa += va * va
                    qp += vp * vp
                if not qa <= HUGE_ROW_SQUARES:
                    flag |= row_flag(A, b, ia, ANCHOR, qa)
                if not qp <= HUGE_ROW_SQUARES:
                    flag |= row_flag(P, b, ip, POSITIVE, qp)
            else:
                for i in range(D):
                    s += np.float64(A[b, ia, i]) * np.float64(P[b, ip, i])
            sim[0] = s
            s0 = s
            inverse = 1.0 / temperature
            for i in range(D):
                anchor[i] = np.float64(A[b, ia, i])
            for k in range(K):
                r = n0 + k
                if not shared:
                    hb, hk = prefetch_negatives(N, n0, K, 1, hb, hk, D)
                s = 0.0
                for i in range(D):
                    s += anchor[i] * np.float64(N[nb, r, i])
                sim[k + 1] = s
            # One vectorised pass after the stream, shifted by the positive, that also sums
            # the row (a NaN or inf makes the sum not finite), in place of infonce_first's
            # passes for the largest, the exps and their sum and the scan below (S1 float32:
            # 73-78% -> 81% of the read floor in one process, docs/benchmarks.md). Only a
            # float64 anchor or positive needs the scan for entries above HUGE_ENTRY.
            # (float64 rows once took each exp as its dot product ended, 87-92% against
            # 74-78% on the AMD Zen 5 hosts; on the Intel hosts with 512-bit vectors this
            # pass reads at 82-84% of the floor, that 69-70%.)
            others = 0.0
            row_sum = s0
            for j in range(1, K + 1):
                v = sim[j]
                row_sum += v
                others += shifted_exp(v, s0, inverse)
            scan = check or not (row_sum < np.inf and row_sum > -np.inf)
            bad = False
            if scan:
                for j in range(K + 1):
                    s = sim[j]
                    if not abs(s) <= HUGE_ENTRY:
                        # not finite, or so large that a difference may overflow
                        if not abs(s) <= SAFE_SIMILARITY:
                            bad = True
                        flag |= row_flag(A, b, ia, ANCHOR, np.inf)
                        if j == 0:
                            flag |= row_flag(P, b, ip, POSITIVE, np.inf)
                        else:
                            flag |= row_flag(N, nb, n0 + j - 1, NEGATIVES, np.inf)
            flags[b] = flag
            if bad:
                loss[b] = infonce_first_libm(sim, temperature)
            elif others <= OTHERS_LIMIT:  # -log p_0 = log(1 + sum_k e^{v_k - v_0})
                loss[b] = np.log1p(others)
            else:  # a negative far above the positive: shifted by the largest instead
                loss[b] = infonce_first(sim, scratch, temperature)


@kernel(stream=True, inline=True)
def positive_dot(A, P, r, check):
    """(A[r, 0] . P[r, 0] in float64 products, the row's flag). With `check` (float64 input)
    the rows' sums of squares flag huge entries (row_flag), as infonce_loss does."""
    D = A.shape[2]
    s = 0.0
    flag = 0
    if check:
        qa = 0.0
        qp = 0.0
        for i in range(D):
            va = np.float64(A[r, 0, i])
            vp = np.float64(P[r, 0, i])
            s += va * vp
            qa += va * va
            qp += vp * vp
        if not qa <= HUGE_ROW_SQUARES:
            flag |= row_flag(A, r, 0, ANCHOR, qa)
        if not qp <= HUGE_ROW_SQUARES:
            flag |= row_flag(P, r, 0, POSITIVE, qp)
    else:
        for i in range(D):
            s += np.float64(A[r, 0, i]) * np.float64(P[r, 0, i])
    return s, flag


@kernel(stream=True, parallel=True)
def positive_similarities(A, P, wide, check, s0, flags):
    """s0[r] = A[r, 0] . P[r, 0] (positive_dot) for a tile of the shared bank's rows, and,
    where `wide` has rows, A[r, 0] widened into wide[r] first: the GEMM's float64 operand
    and the positives' dot products in one pass over float32 anchors (numpy's widening of
    the whole array into a fresh buffer, and the positives read again beside each tile of
    logits, took S2 float32 to 2.33x the bare product; 1.06x this way, docs/benchmarks.md).
    """
    R = A.shape[0]
    D = A.shape[2]
    widen = wide.shape[0] == R
    wide3 = wide.reshape((wide.shape[0], 1, D))
    blocks = (R + BLOCK - 1) // BLOCK
    for blk in prange(blocks):
        for r in range(blk * BLOCK, min(R, (blk + 1) * BLOCK)):
            if widen:
                for i in range(D):
                    wide[r, i] = np.float64(A[r, 0, i])
                # the widened row, just written, is read back from L1 (float32 rows read and
                # widened again took the serial pass 1.08-1.19x as long)
                s, flag = positive_dot(wide3, P, r, check)
            else:
                s, flag = positive_dot(A, P, r, check)
            s0[r] = s
            flags[r] = flags[r] | flag


@kernel(stream=True, parallel=True)
def infonce_logit_rows(S, S0, A, P, take_positives, check, temperature, loss, flags):
    """InfoNCE from a block of negative similarities S (R, K) (a BLAS product against a
    shared bank) and the positives' similarities S0 (R,), on the block while it is still in
    cache:

        loss_r = log1p(sum_k exp((S[r, k] - S0[r]) / t))

    With `take_positives`, S0[r] is taken here first (positive_dot, with `check`'s flags):
    float64 anchors need no widening pass before the product, and their positives, read
    beside the row of logits, cost no pass of their own. Else S0 holds them
    (positive_similarities).

    One pass over the row of S sums the exponentials as it takes them and the sizes |s|
    beside them (a NaN or inf makes that size not finite). No largest logit is looked for
    first: the positive is the shift. On top, that is the shift by the largest; below it, a
    sum under OTHERS_LIMIT has not overflowed and log1p keeps its relative accuracy. The
    rare rows take infonce_first (a sum above OTHERS_LIMIT: shifted by the largest) or
    libm's softmax (a similarity not finite; A[r, 0] and P[r, 0] are read again only then,
    for their flags). The sum is the vector unit's (reassoc): within an ulp or two of
    infonce_first's four running sums, not always the same bits.
    """
    R = S.shape[0]
    K = S.shape[1]
    inverse = 1.0 / temperature
    blocks = (R + BLOCK - 1) // BLOCK
    for blk in prange(blocks):
        sim = np.empty(K + 1)
        scratch = np.empty(K + 1)
        for r in range(blk * BLOCK, min(R, (blk + 1) * BLOCK)):
            flag = 0
            if take_positives:
                s0, flag = positive_dot(A, P, r, check)
                S0[r] = s0
            else:
                s0 = S0[r]
            row_size = abs(s0)  # a sum of |s| at most SAFE_SIMILARITY: no difference overflows
            others = 0.0
            for k in range(K):
                v = np.float64(S[r, k])
                row_size += abs(v)
                others += shifted_exp(v, s0, inverse)
            if not (others <= OTHERS_LIMIT and row_size <= SAFE_SIMILARITY):
                sim[0] = s0
                finite = s0 < np.inf and s0 > -np.inf
                safe = abs(s0) <= SAFE_SIMILARITY
                for k in range(K):
                    v = np.float64(S[r, k])
                    sim[k + 1] = v
                    if not (v < np.inf and v > -np.inf):
                        finite = False
                    if not abs(v) <= SAFE_SIMILARITY:
                        safe = False
                if finite and safe:
                    loss[r] = infonce_first(sim, scratch, temperature)
                else:
                    if not finite:
                        flag |= (row_flag(A, r, 0, ANCHOR, np.inf)
                                 | row_flag(P, r, 0, POSITIVE, np.inf))
                    loss[r] = infonce_first_libm(sim, temperature)
            else:
                loss[r] = np.log1p(others)
            flags[r] = flags[r] | flag


@kernel(stream=True)
def entry_flag(X, bit):
    """The flag of a 2-D array's entries: bit << NONFINITE_SHIFT if one is NaN or inf, else
    bit if one is above HUGE_ENTRY in magnitude, else 0. One vectorised pass (a count of
    huge entries and the sum of magnitudes, which only a NaN, an inf or huge entries make
    not finite); a second, exact pass only when that sum is not finite. (numpy's max and
    min, two passes and a call each, took 22 us of the shared bank's 0.5 ms at S1 / 8.)"""
    huge = 0
    total = 0.0
    for r in range(X.shape[0]):
        for i in range(X.shape[1]):
            a = abs(np.float64(X[r, i]))
            huge += 1 if a > HUGE_ENTRY else 0
            total += a
    if not total < np.inf:
        for r in range(X.shape[0]):
            for i in range(X.shape[1]):
                if not abs(np.float64(X[r, i])) < np.inf:
                    return bit << NONFINITE_SHIFT
    return bit if huge > 0 else 0


@kernel(stream=True, parallel=True)
def triplet_loss(A, ia, P, ip, N, n0, K, margin, kind, swap, soft, reduce_by, check,
                 loss, active, flags):
    """Triplet loss per example (margins.triplet without the breakdown).

    reduce_by: a TERMS_ code (mean, sum, max, mean over active terms); active[b]: terms > 0.
    Every row's sum of squares is kept whatever `check` says (it also reveals NaN and inf,
    which a distance can hide: inf - inf); `check` is there for infonce_loss's signature.
    """
    B = A.shape[0]
    D = A.shape[2]
    shared = N.shape[0] == 1
    ahead = rows_ahead(D, N.itemsize)
    ahead_rows = rows_ahead(D, max(A.itemsize, P.itemsize))
    blocks = (B + BLOCK - 1) // BLOCK
    for blk in prange(blocks):
        hb, hk = cursor_ahead(blk * BLOCK, ahead, K)
        for b in range(blk * BLOCK, min(B, (blk + 1) * BLOCK)):
            nb = 0 if shared else b
            flag = 0
            prefetch_row(A, b + ahead_rows, ia, D)
            prefetch_row(P, b + ahead_rows, ip, D)
            if not shared:
                hb, hk = prefetch_negatives(N, n0, K, K, hb, hk, D)
            total = 0.0
            qa = 0.0
            qp = 0.0
            # the first negative's sums ride along in the positive's pass: the anchor is
            # read and widened once for both (float32 and float64 ~1.3x faster at K = 1)
            sq_first = 0.0
            qn_first = 0.0
            if K > 0:
                for i in range(D):
                    va = np.float64(A[b, ia, i])
                    vp = np.float64(P[b, ip, i])
                    vn = np.float64(N[nb, n0, i])
                    diff = va - vp
                    total += diff * diff
                    qa += va * va
                    qp += vp * vp
                    diff = va - vn
                    sq_first += diff * diff
                    qn_first += vn * vn
            else:
                for i in range(D):
                    va = np.float64(A[b, ia, i])
                    vp = np.float64(P[b, ip, i])
                    diff = va - vp
                    total += diff * diff
                    qa += va * va
                    qp += vp * vp
            if not (qa <= HUGE_ROW_SQUARES and qp <= HUGE_ROW_SQUARES):
                flag |= row_flag(A, b, ia, ANCHOR, qa) | row_flag(P, b, ip, POSITIVE, qp)
            dp = plain_distance(total, kind)
            if dp < 0.0:
                dp = rescaled_distance(A, b, ia, P, b, ip)
            total_terms = 0.0
            largest = 0.0
            count = 0
            for k in range(K):
                r = n0 + k
                sq = sq_first
                qn = qn_first
                if k > 0:
                    sq = 0.0
                    qn = 0.0
                    for i in range(D):
                        vn = np.float64(N[nb, r, i])
                        diff = np.float64(A[b, ia, i]) - vn
                        sq += diff * diff
                        qn += vn * vn
                if not qn <= HUGE_ROW_SQUARES:
                    flag |= row_flag(N, nb, r, NEGATIVES, qn)
                dn = plain_distance(sq, kind)
                if dn < 0.0:
                    dn = rescaled_distance(A, b, ia, N, nb, r)
                if swap:
                    sq = 0.0
                    for i in range(D):
                        diff = np.float64(P[b, ip, i]) - np.float64(N[nb, r, i])
                        sq += diff * diff
                    dpn = plain_distance(sq, kind)
                    if dpn < 0.0:
                        dpn = rescaled_distance(P, b, ip, N, nb, r)
                    if dpn < dn:
                        dn = dpn
                t = triplet_term(dp, dn, margin, soft)
                total_terms += t
                if k == 0 or t > largest:
                    largest = t
                if t > 0.0:
                    count += 1
            if reduce_by == TERMS_MEAN:
                loss[b] = total_terms / K
            elif reduce_by == TERMS_SUM:
                loss[b] = total_terms
            elif reduce_by == TERMS_MAX:
                loss[b] = largest
            else:
                loss[b] = total_terms / count if count > 0 else 0.0
            if total_terms != total_terms:  # a NaN term (inf - inf), whatever the reduction
                loss[b] = total_terms
            active[b] = count
            flags[b] = flag


@kernel(stream=True, parallel=True)
def contrastive_loss(A, ia, P, ip, N, n0, K, margin, kind, check, loss, active, flags):
    """Hadsell et al. Eq. 4, mean over the 1 + K pairs; active[b]: pairs with [m - d]+ > 0.

    Rows are checked as in triplet_loss (`check` unused)."""
    B = A.shape[0]
    D = A.shape[2]
    shared = N.shape[0] == 1
    ahead = rows_ahead(D, N.itemsize)
    ahead_rows = rows_ahead(D, max(A.itemsize, P.itemsize))
    blocks = (B + BLOCK - 1) // BLOCK
    for blk in prange(blocks):
        hb, hk = cursor_ahead(blk * BLOCK, ahead, K)
        for b in range(blk * BLOCK, min(B, (blk + 1) * BLOCK)):
            nb = 0 if shared else b
            flag = 0
            prefetch_row(A, b + ahead_rows, ia, D)
            prefetch_row(P, b + ahead_rows, ip, D)
            if not shared:
                hb, hk = prefetch_negatives(N, n0, K, K, hb, hk, D)
            total = 0.0
            qa = 0.0
            qp = 0.0
            for i in range(D):
                va = np.float64(A[b, ia, i])
                vp = np.float64(P[b, ip, i])
                diff = va - vp
                total += diff * diff
                qa += va * va
                qp += vp * vp
            if not (qa <= HUGE_ROW_SQUARES and qp <= HUGE_ROW_SQUARES):
                flag |= row_flag(A, b, ia, ANCHOR, qa) | row_flag(P, b, ip, POSITIVE, qp)
            d = plain_distance(total, kind)
            if d < 0.0:
                d = rescaled_distance(A, b, ia, P, b, ip)
            pairs = similar_term(d)
            count = 0
            for k in range(K):
                r = n0 + k
                sq = 0.0
                qn = 0.0
                for i in range(D):
                    vn = np.float64(N[nb, r, i])
                    diff = np.float64(A[b, ia, i]) - vn
                    sq += diff * diff
                    qn += vn * vn
                if not qn <= HUGE_ROW_SQUARES:
                    flag |= row_flag(N, nb, r, NEGATIVES, qn)
                d = plain_distance(sq, kind)
                if d < 0.0:
                    d = rescaled_distance(A, b, ia, N, nb, r)
                t = contrastive_term(d, margin)
                if t > 0.0:
                    count += 1
                pairs += t
            loss[b] = pairs / (K + 1)
            active[b] = count
            flags[b] = flag


@kernel
def similar_term(d):
    """contrastive's similar-pair term, 1/2 d^2."""
    return 0.5 * d * d


@kernel(stream=True, parallel=True)
def read_sum(x):
    """Sum of every element of a 2-D array, widened to float64 as the loss kernels do: the
    benchmarks' bandwidth floor (the same bytes, no arithmetic to speak of)."""
    B = x.shape[0]
    partial = np.zeros(B)
    for b in prange(B):
        total = 0.0
        for i in range(x.shape[1]):
            total += np.float64(x[b, i])
        partial[b] = total
    return partial.sum()
