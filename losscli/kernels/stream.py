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

Checks ride along: a NaN or infinity in a row makes its dot product or squared distance
non-finite, so only such rows are scanned again (flag NONFINITE: the input is refused, as
compute refuses it). With `check` (float64 input) anchors, positives and the distance
kernels' rows also keep their sum of squares, and a row above 1e300 is scanned for entries
above HUGE_ENTRY (compute's warning; float32 cannot hold such numbers); InfoNCE's negative
rows are scanned when their similarity is huge (see infonce_loss).
"""

from __future__ import annotations

import numpy as np

from losscli.kernels._jit import kernel, prange

EUCLIDEAN = 0
SQEUCLIDEAN = 1

# flags[b]: bit (role) for an entry above HUGE_ENTRY, bit << NONFINITE_SHIFT for NaN or inf.
ANCHOR = 1
POSITIVE = 2
NEGATIVES = 4
NONFINITE_SHIFT = 3

BLOCK = 16  # anchors per prange iteration: one scratch row per block, not per anchor

HUGE_ENTRY = 1e150
_HUGE_SQUARES = 1e300
_TINY = 1e-280
_HUGE = 1e280

# exp on [-745.5, 0]: Cody-Waite reduction x = k ln2 + r, a degree-12 Taylor polynomial on
# |r| <= ln2 / 2 (truncation < 2e-16) and 2^k from a table: within 1.5 ulp of libm's exp,
# and plain arithmetic, so LLVM vectorises it (numba's np.exp is a scalar libm call).
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_POW2_LOW = 1080
_POW2 = np.ldexp(1.0, np.arange(-_POW2_LOW, 1))
_EXP_FLOOR = -745.5  # exp below this is 0 in float64


@kernel
def exp_nonpositive(x):
    """exp(x) for x <= 0 (x = -inf gives 0); the caller guarantees x <= 0 and not NaN."""
    y = x if x > _EXP_FLOOR else _EXP_FLOOR
    k = np.floor(y * _LOG2E + 0.5)
    r = (y - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    value = p * _POW2[int(k) + _POW2_LOW]
    return value if x > _EXP_FLOOR else 0.0


@kernel
def infonce_first(sim, scratch, temperature):
    """-log softmax(sim / t)_0 for finite similarities, branches as embedding.softmax_first.

    The positive on top: log1p(sum_{j>0} exp((s_j - s_0) / t)); otherwise
    (top - s_0) / t + log(sum_j exp((s_j - top) / t)).
    """
    n = sim.shape[0]
    top = sim[0]
    for j in range(n):
        if sim[j] > top:
            top = sim[j]
    positive_on_top = sim[0] >= top
    base = sim[0] if positive_on_top else top
    for j in range(n):
        scratch[j] = exp_nonpositive((sim[j] - base) / temperature)
    # four partial sums: the adds pipeline instead of waiting on one another
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    first = 1 if positive_on_top else 0
    stop = first + (n - first) // 4 * 4
    for j in range(first, stop, 4):
        s0 += scratch[j]
        s1 += scratch[j + 1]
        s2 += scratch[j + 2]
        s3 += scratch[j + 3]
    for j in range(stop, n):
        s0 += scratch[j]
    total = (s0 + s1) + (s2 + s3)
    if positive_on_top:
        return np.log1p(total)
    return (top - sim[0]) / temperature + np.log(total)


@kernel
def infonce_first_libm(sim, temperature):
    """The same loss with libm's exp, for rows where a similarity is not finite."""
    n = sim.shape[0]
    top = sim[0]
    for j in range(n):
        if sim[j] > top:
            top = sim[j]
    if sim[0] >= top:
        others = 0.0
        for j in range(1, n):
            others += np.exp((sim[j] - sim[0]) / temperature)
        return np.log1p(others)
    total = 0.0
    for j in range(n):
        total += np.exp((sim[j] - top) / temperature)
    return (top - sim[0]) / temperature + np.log(total)


@kernel
def row_flag(x, b, r, bit, squares):
    """The flag of row x[b, r]: bit << NONFINITE_SHIFT for NaN/inf, bit for a huge entry."""
    flag = 0
    for i in range(x.shape[2]):
        v = abs(np.float64(x[b, r, i]))
        if not v < np.inf:
            return bit << NONFINITE_SHIFT
        if v > HUGE_ENTRY and squares > _HUGE_SQUARES:
            flag = bit
    return flag


@kernel
def finish_distance(x, bx, rx, y, by, ry, total, kind):
    """The distance from its squared sum, exact and free of over/underflow (as compute)."""
    if kind == SQEUCLIDEAN:
        return total
    if total == 0.0 or (total > _TINY and total < _HUGE):
        return np.sqrt(total)
    scale = 0.0
    for i in range(x.shape[2]):
        diff = abs(np.float64(x[bx, rx, i]) - np.float64(y[by, ry, i]))
        if diff > scale:
            scale = diff
    if scale == 0.0 or not np.isfinite(scale):
        return np.sqrt(total)
    scaled = 0.0
    for i in range(x.shape[2]):
        diff = (np.float64(x[bx, rx, i]) - np.float64(y[by, ry, i])) / scale
        scaled += diff * diff
    return scale * np.sqrt(scaled)


@kernel
def hinge(violation):
    return violation if violation > 0.0 else 0.0


@kernel
def softplus(x):
    return max(x, 0.0) + np.log1p(np.exp(-abs(x)))


@kernel
def row_check(x, b, r, bit, check):
    """With `check`: x[b, r]'s flag when its sum of squares says it may hold a huge entry."""
    if not check:
        return 0
    squares = 0.0
    for i in range(x.shape[2]):
        v = np.float64(x[b, r, i])
        squares += v * v
    return 0 if squares <= _HUGE_SQUARES else row_flag(x, b, r, bit, squares)


@kernel(stream=True, parallel=True)
def infonce_loss(A, ia, P, ip, N, n0, K, temperature, check, loss, flags):
    """InfoNCE with dot similarity: s_0 = A[b, ia] . P[b, ip], s_k = A[b, ia] . N[nb, n0 + k].

    N has one bank (N.shape[0] == 1, shared by every anchor) or one per anchor. float64
    negatives are taken four rows per pass over the anchor (measured 15-20% faster there;
    no gain for float32). A negative row is scanned for huge or non-finite entries only when
    its similarity is above HUGE_ENTRY or not finite: a huge entry that does not reach a
    similarity changes nothing (compute also warns about those; batch does not).
    """
    B = A.shape[0]
    D = A.shape[2]
    shared = N.shape[0] == 1
    step = 4 if N.itemsize == 8 else 1
    blocks = (B + BLOCK - 1) // BLOCK
    for blk in prange(blocks):
        sim = np.empty(K + 1)
        scratch = np.empty(K + 1)
        for b in range(blk * BLOCK, min(B, (blk + 1) * BLOCK)):
            nb = 0 if shared else b
            flag = row_check(A, b, ia, ANCHOR, check) | row_check(P, b, ip, POSITIVE, check)
            s = 0.0
            for i in range(D):
                s += np.float64(A[b, ia, i]) * np.float64(P[b, ip, i])
            sim[0] = s
            k = 0
            if step == 4:
                while k + 4 <= K:
                    r = n0 + k
                    s0 = 0.0
                    s1 = 0.0
                    s2 = 0.0
                    s3 = 0.0
                    for i in range(D):
                        v = np.float64(A[b, ia, i])
                        s0 += v * np.float64(N[nb, r, i])
                        s1 += v * np.float64(N[nb, r + 1, i])
                        s2 += v * np.float64(N[nb, r + 2, i])
                        s3 += v * np.float64(N[nb, r + 3, i])
                    sim[k + 1] = s0
                    sim[k + 2] = s1
                    sim[k + 3] = s2
                    sim[k + 4] = s3
                    k += 4
            while k < K:
                r = n0 + k
                s = 0.0
                for i in range(D):
                    s += np.float64(A[b, ia, i]) * np.float64(N[nb, r, i])
                sim[k + 1] = s
                k += 1
            bad = False
            for j in range(K + 1):
                s = sim[j]
                if not abs(s) <= HUGE_ENTRY:
                    if not (s < np.inf and s > -np.inf):
                        bad = True
                    flag |= row_flag(A, b, ia, ANCHOR, np.inf)
                    if j == 0:
                        flag |= row_flag(P, b, ip, POSITIVE, np.inf)
                    else:
                        flag |= row_flag(N, nb, n0 + j - 1, NEGATIVES, np.inf)
            flags[b] = flag
            if bad:
                loss[b] = infonce_first_libm(sim, temperature)
            else:
                loss[b] = infonce_first(sim, scratch, temperature)


@kernel(stream=True)
def dot_rows(x, bx, rx, y, by, ry):
    total = 0.0
    for i in range(x.shape[2]):
        total += np.float64(x[bx, rx, i]) * np.float64(y[by, ry, i])
    return total


@kernel
def infonce_logit_rows(S, A, P, temperature, check, loss, flags):
    """InfoNCE from a block of negative similarities S (R, K) (a BLAS product against a
    shared bank): s_0 = A[r] . P[r] here, then the softmax of infonce_first per row.

    Serial on purpose: the caller runs one block per thread, each thread doing its own
    single-threaded GEMM then this, while the block is still in cache.
    """
    R = S.shape[0]
    K = S.shape[1]
    sim = np.empty(K + 1)
    scratch = np.empty(K + 1)
    for r in range(R):
        flag = row_check(A, r, 0, ANCHOR, check) | row_check(P, r, 0, POSITIVE, check)
        s0 = dot_rows(A, r, 0, P, r, 0)
        sim[0] = s0
        finite = s0 < np.inf and s0 > -np.inf
        for k in range(K):
            v = np.float64(S[r, k])
            sim[k + 1] = v
            if not (v < np.inf and v > -np.inf):
                finite = False
        if not finite:
            flag |= row_flag(A, r, 0, ANCHOR, np.inf) | row_flag(P, r, 0, POSITIVE, np.inf)
            loss[r] = infonce_first_libm(sim, temperature)
        else:
            loss[r] = infonce_first(sim, scratch, temperature)
        flags[r] = flags[r] | flag


@kernel(stream=True)
def squared_distance_rows(x, bx, rx, y, by, ry):
    total = 0.0
    for i in range(x.shape[2]):
        diff = np.float64(x[bx, rx, i]) - np.float64(y[by, ry, i])
        total += diff * diff
    return total


@kernel(stream=True)
def squared_distance_rows_sq(x, bx, rx, y, by, ry):
    """sum (x - y)^2 and sum y^2 of two rows in one pass."""
    total = 0.0
    squares = 0.0
    for i in range(x.shape[2]):
        v = np.float64(y[by, ry, i])
        diff = np.float64(x[bx, rx, i]) - v
        total += diff * diff
        squares += v * v
    return total, squares


@kernel
def distance_checked(x, bx, rx, y, by, ry, kind, check, bit):
    """(d(x_row, y_row), y_row's flag when its sum is non-finite or huge, else 0)."""
    flag = 0
    if check:
        total, squares = squared_distance_rows_sq(x, bx, rx, y, by, ry)
        if not squares <= _HUGE_SQUARES:
            flag = row_flag(y, by, ry, bit, squares)
    else:
        total = squared_distance_rows(x, bx, rx, y, by, ry)
    if not total < np.inf:
        flag |= row_flag(y, by, ry, bit, np.inf) | row_flag(x, bx, rx, ANCHOR, np.inf)
    return finish_distance(x, bx, rx, y, by, ry, total, kind), flag


@kernel(parallel=True)
def triplet_loss(A, ia, P, ip, N, n0, K, margin, kind, swap, soft, reduce_by, check,
                 loss, active, flags):
    """Triplet loss per example (embedding.triplet without the breakdown).

    reduce_by: 0 mean, 1 sum, 2 max, 3 mean over active terms; active[b]: terms > 0.
    """
    B = A.shape[0]
    shared = N.shape[0] == 1
    m = 0.0 if soft else margin
    blocks = (B + BLOCK - 1) // BLOCK
    for blk in prange(blocks):
        for b in range(blk * BLOCK, min(B, (blk + 1) * BLOCK)):
            nb = 0 if shared else b
            flag = row_check(A, b, ia, ANCHOR, check)
            dp, f = distance_checked(A, b, ia, P, b, ip, kind, check, POSITIVE)
            flag |= f
            total = 0.0
            largest = 0.0
            count = 0
            for k in range(K):
                dn, f = distance_checked(A, b, ia, N, nb, n0 + k, kind, check, NEGATIVES)
                flag |= f
                if swap:
                    dpn, f = distance_checked(P, b, ip, N, nb, n0 + k, kind, False, NEGATIVES)
                    if dpn < dn:
                        dn = dpn
                t = softplus(dp - dn) if soft else hinge(dp - dn + m)
                total += t
                if k == 0 or t > largest:
                    largest = t
                if t > 0.0:
                    count += 1
            if reduce_by == 0:
                loss[b] = total / K
            elif reduce_by == 1:
                loss[b] = total
            elif reduce_by == 2:
                loss[b] = largest
            else:
                loss[b] = total / count if count > 0 else 0.0
            active[b] = count
            flags[b] = flag


@kernel(parallel=True)
def contrastive_loss(A, ia, P, ip, N, n0, K, margin, kind, check, loss, active, flags):
    """Hadsell et al. Eq. 4, mean over the 1 + K pairs; active[b]: pairs with [m - d]+ > 0."""
    B = A.shape[0]
    shared = N.shape[0] == 1
    blocks = (B + BLOCK - 1) // BLOCK
    for blk in prange(blocks):
        for b in range(blk * BLOCK, min(B, (blk + 1) * BLOCK)):
            nb = 0 if shared else b
            flag = row_check(A, b, ia, ANCHOR, check)
            d, f = distance_checked(A, b, ia, P, b, ip, kind, check, POSITIVE)
            flag |= f
            total = 0.5 * d * d
            count = 0
            for k in range(K):
                d, f = distance_checked(A, b, ia, N, nb, n0 + k, kind, check, NEGATIVES)
                flag |= f
                h = hinge(margin - d)
                if h > 0.0:
                    count += 1
                total += 0.5 * h * h
            loss[b] = total / (K + 1)
            active[b] = count
            flags[b] = flag


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
