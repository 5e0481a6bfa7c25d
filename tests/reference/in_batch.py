"""supcon, ntxent-batch, clip, npair, dcl, hard-infonce and siglip: the softmax over a batch
(or over explicit candidates, in the explicit forms)."""

from __future__ import annotations

import math

from tests.reference.common import lse, similarity, softplus


def supcon(a, positives, negatives, temperature=0.1, base_temperature=None,
           similarity_kind="cosine"):
    t = temperature
    tb = t if base_temperature is None else base_temperature
    sim = similarity(similarity_kind)
    v = [sim(a, c) / t for c in list(positives) + list(negatives)]
    z = lse(v)
    P = len(positives)
    return -(t / tb) * math.fsum(v[p] - z for p in range(P)) / P


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
