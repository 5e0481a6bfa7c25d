"""Slow, obvious float64 references for LOSSES-MORE.md's losses: Python floats, loops, fsum.

Independent of losscli on purpose: no numpy arithmetic, no shared helpers. Inputs are plain
nested lists. Explicit losses take one example; in-batch losses take the whole batch and
return the per-example list. Each follows the formula as LOSSES-MORE.md writes it, not the
library's stable rearrangement (the tests choose inputs where the plain form is accurate).
"""

from __future__ import annotations

import math


def dot(x, y):
    return math.fsum(a * b for a, b in zip(x, y, strict=True))


def norm(x):
    return math.sqrt(math.fsum(a * a for a in x))


def cosine(x, y):
    nx, ny = norm(x), norm(y)
    if nx == 0.0 or ny == 0.0:
        return 0.0
    return max(-1.0, min(1.0, dot(x, y) / (nx * ny)))


def similarity(kind):
    return dot if kind == "dot" else cosine


def distance(x, y, kind):
    if kind == "euclidean":
        return math.sqrt(math.fsum((a - b) ** 2 for a, b in zip(x, y, strict=True)))
    if kind == "sqeuclidean":
        return math.fsum((a - b) ** 2 for a, b in zip(x, y, strict=True))
    if kind == "cosine":
        return 1.0 - cosine(x, y)
    raise ValueError(kind)


def lse(values):
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def log1p_sum_exp(values):
    """log(1 + sum e^x) = LSE([0, x...])."""
    return lse([0.0] + list(values))


# ---------------------------------------------------------------- softmax family


def supcon(a, positives, negatives, temperature=0.1, base_temperature=None,
           similarity_kind="cosine"):
    t = temperature
    tb = t if base_temperature is None else base_temperature
    sim = similarity(similarity_kind)
    v = [sim(a, c) / t for c in list(positives) + list(negatives)]
    z = lse(v)
    P = len(positives)
    return -(t / tb) * math.fsum(v[p] - z for p in range(P)) / P


def infonce(a, p, negatives, temperature=0.07, similarity_kind="dot"):
    sim = similarity(similarity_kind)
    v = [sim(a, p) / temperature] + [sim(a, n) / temperature for n in negatives]
    return lse(v) - v[0]


def ntxent_batch(A, P, temperature=0.07, similarity_kind="cosine"):
    sim = similarity(similarity_kind)
    B = len(A)
    z = list(A) + list(P)
    views = []
    for v in range(2 * B):
        partner = (v + B) % (2 * B)
        logits = [sim(z[v], z[u]) / temperature for u in range(2 * B) if u != v]
        views.append(lse(logits) - sim(z[v], z[partner]) / temperature)
    return [(views[i] + views[B + i]) / 2 for i in range(B)]


def clip(A, P, temperature=0.07, scale=None, similarity_kind="cosine"):
    sim = similarity(similarity_kind)
    s = 1.0 / temperature if scale is None else scale
    B = len(A)
    L = [[s * sim(A[i], P[j]) for j in range(B)] for i in range(B)]
    rows = [lse(L[i]) - L[i][i] for i in range(B)]
    cols = [lse([L[j][i] for j in range(B)]) - L[i][i] for i in range(B)]
    return [(rows[i] + cols[i]) / 2 for i in range(B)]


def npair(a, p, negatives, similarity_kind="dot"):
    sim = similarity(similarity_kind)
    s_ap = sim(a, p)
    return math.log1p(math.fsum(math.exp(sim(a, n) - s_ap) for n in negatives))


def npair_batch(A, P, similarity_kind="dot"):
    B = len(A)
    return [npair(A[i], P[i], [P[j] for j in range(B) if j != i], similarity_kind)
            for i in range(B)]


def vmf_weights(s_pos, sigma):
    B = len(s_pos)
    z = lse([s / sigma for s in s_pos])
    return [2.0 - B * math.exp(s / sigma - z) for s in s_pos]


def dcl(a, p, negatives, temperature=0.1, similarity_kind="cosine", w=1.0):
    sim = similarity(similarity_kind)
    return -w * sim(a, p) / temperature + lse([sim(a, n) / temperature for n in negatives])


def dcl_batch_explicit(A, P, N, temperature=0.1, similarity_kind="cosine", weighting="none",
                       sigma=0.5):
    """Explicit negatives over a batch (N[i] the negatives of example i); vmf couples them."""
    sim = similarity(similarity_kind)
    B = len(A)
    w = vmf_weights([sim(A[i], P[i]) for i in range(B)], sigma) if weighting == "vmf" \
        else [1.0] * B
    return [dcl(A[i], P[i], N[i], temperature, similarity_kind, w[i]) for i in range(B)]


def dcl_two_view(A, P, temperature=0.1, similarity_kind="cosine", weighting="none", sigma=0.5):
    sim = similarity(similarity_kind)
    B = len(A)
    z = list(A) + list(P)
    w = vmf_weights([sim(A[i], P[i]) for i in range(B)], sigma) if weighting == "vmf" \
        else [1.0] * B
    views = []
    for v in range(2 * B):
        partner = (v + B) % (2 * B)
        negs = [sim(z[v], z[u]) / temperature for u in range(2 * B) if u not in (v, partner)]
        views.append(-w[v % B] * sim(z[v], z[partner]) / temperature + lse(negs))
    return [(views[i] + views[B + i]) / 2 for i in range(B)]


def hard_infonce_logits(v0, v, temperature, beta, tau_plus, clamp=True):
    """HCL on logits: v0 the positive's, v the N negatives'."""
    N = len(v)
    imp = [math.exp(beta * x) for x in v]
    R = N * math.fsum(i * math.exp(x) for i, x in zip(imp, v, strict=True)) / math.fsum(imp)
    ng = (R - tau_plus * N * math.exp(v0)) / (1.0 - tau_plus)
    floor = N * math.exp(-1.0 / temperature)
    if clamp:
        ng = max(ng, floor)
    if ng <= 0:
        return math.nan
    return math.log1p(ng * math.exp(-v0))


def hard_infonce(a, p, negatives, temperature=0.5, beta=1.0, tau_plus=0.1,
                 similarity_kind="cosine", clamp=True):
    sim = similarity(similarity_kind)
    return hard_infonce_logits(sim(a, p) / temperature,
                               [sim(a, n) / temperature for n in negatives],
                               temperature, beta, tau_plus, clamp)


def hard_infonce_two_view(A, P, temperature=0.5, beta=1.0, tau_plus=0.1,
                          similarity_kind="cosine", clamp=True):
    sim = similarity(similarity_kind)
    B = len(A)
    z = list(A) + list(P)
    views = []
    for v in range(2 * B):
        partner = (v + B) % (2 * B)
        negs = [sim(z[v], z[u]) / temperature for u in range(2 * B) if u not in (v, partner)]
        views.append(hard_infonce_logits(sim(z[v], z[partner]) / temperature, negs,
                                         temperature, beta, tau_plus, clamp))
    return [(views[i] + views[B + i]) / 2 for i in range(B)]


def siglip(A, P, scale=10.0, bias=-10.0, similarity_kind="cosine"):
    sim = similarity(similarity_kind)
    B = len(A)
    out = []
    for i in range(B):
        terms = []
        for j in range(B):
            x = scale * sim(A[i], P[j]) + bias
            z = 1.0 if i == j else -1.0
            terms.append(softplus(-z * x))
        out.append(math.fsum(terms))
    return out


# ---------------------------------------------------------------- pair-weighting family


def multi_similarity(a, positives, negatives, alpha=2.0, beta=50.0, base=0.5,
                     similarity_kind="cosine"):
    sim = similarity(similarity_kind)
    pos = log1p_sum_exp([-alpha * (sim(a, p) - base) for p in positives]) / alpha
    neg = log1p_sum_exp([beta * (sim(a, n) - base) for n in negatives]) / beta
    return pos + neg


def circle(a, positives, negatives, margin=0.4, gamma=80.0, alphas=None):
    """alphas: optional (alpha_p list, alpha_n list) held fixed (the gradient's convention)."""
    sp = [cosine(a, p) for p in positives]
    sn = [cosine(a, n) for n in negatives]
    if alphas is None:
        ap = [max(1.0 + margin - s, 0.0) for s in sp]
        an = [max(s + margin, 0.0) for s in sn]
    else:
        ap, an = alphas
    lp = lse([-gamma * w * (s - (1.0 - margin)) for w, s in zip(ap, sp, strict=True)])
    ln = lse([gamma * w * (s - margin) for w, s in zip(an, sn, strict=True)])
    return softplus(ln + lp)


def lifted_song(a, p, negatives, margin=1.0, pos_margin=0.0, distance_kind="euclidean"):
    terms = [margin - distance(a, n, distance_kind) for n in negatives]
    terms += [margin - distance(p, n, distance_kind) for n in negatives]
    J = math.log(math.fsum(math.exp(t) for t in terms)) + distance(a, p, distance_kind) \
        - pos_margin
    return 0.5 * max(J, 0.0) ** 2


def lifted_generalized(a, positives, negatives, margin=1.0, pos_margin=0.0,
                       distance_kind="euclidean"):
    lp = lse([distance(a, p, distance_kind) - pos_margin for p in positives])
    ln = lse([margin - distance(a, n, distance_kind) for n in negatives])
    return max(lp + ln, 0.0)


def margin(a, p, negatives, margin=0.2, beta=1.2, nu=0.0, distance_kind="euclidean"):
    K = len(negatives)
    pos = max(distance(a, p, distance_kind) - beta + margin, 0.0)
    negs = [max(beta - distance(a, n, distance_kind) + margin, 0.0) for n in negatives]
    count = K * (pos > 0) + sum(q > 0 for q in negs)
    if count == 0:
        return nu * beta
    return math.fsum([K * pos] + negs) / count + nu * beta


# ---------------------------------------------------------------- torch's pair losses


def cosine_embedding(x1, x2, label, margin=0.0):
    c = cosine(x1, x2)
    return 1.0 - c if label == 1 else max(c - margin, 0.0)


def hinge_embedding(x, label, margin=1.0):
    return x if label == 1 else max(margin - x, 0.0)


def margin_ranking(x1, x2, label, margin=0.0):
    return max(-label * (x1 - x2) + margin, 0.0)
