"""infonce, contrastive, triplet and quadruplet: one anchor, its positive, its negatives."""

from __future__ import annotations

import math

from tests.reference.common import distance, lse, similarity, softplus


def infonce(a, p, negatives, temperature=0.07, similarity_kind="dot"):
    """LSE(v) - v_0 over v = s(a, p) / t, s(a, n_k) / t; 0 without negatives."""
    if not negatives:
        return 0.0
    sim = similarity(similarity_kind)
    logits = [sim(a, p) / temperature] + [sim(a, n) / temperature for n in negatives]
    return lse(logits) - logits[0]


def contrastive_terms(a, p, negatives, margin=1.0, distance_kind="euclidean"):
    """[1/2 d(a, p)^2, 1/2 [m - d(a, n_k)]+^2 ...]."""
    d = distance(a, p, distance_kind)
    terms = [0.5 * d * d]
    for n in negatives:
        d = distance(a, n, distance_kind)
        terms.append(0.5 * max(margin - d, 0.0) ** 2)
    return terms


def contrastive(a, p, negatives, margin=1.0, distance_kind="euclidean"):
    terms = contrastive_terms(a, p, negatives, margin, distance_kind)
    return math.fsum(terms) / len(terms)


def triplet_terms(a, p, negatives, margin=1.0, distance_kind="euclidean", swap=False,
                  soft=False):
    """[d_ap - d_an_k + m]+ (or softplus(d_ap - d_an_k)); swap: d_an = min(d(a, n), d(p, n))."""
    d_ap = distance(a, p, distance_kind)
    terms = []
    for n in negatives:
        d_an = distance(a, n, distance_kind)
        if swap:
            d_an = min(d_an, distance(p, n, distance_kind))
        terms.append(softplus(d_ap - d_an) if soft else max(d_ap - d_an + margin, 0.0))
    return terms


def triplet(a, p, negatives, margin=1.0, distance_kind="euclidean", negatives_reduction="mean",
            swap=False, soft=False):
    terms = triplet_terms(a, p, negatives, margin, distance_kind, swap, soft)
    if negatives_reduction == "mean":
        return math.fsum(terms) / len(terms)
    if negatives_reduction == "sum":
        return math.fsum(terms)
    if negatives_reduction == "max":
        return max(terms)
    active = [t for t in terms if t > 0]
    return math.fsum(active) / len(active) if active else 0.0


def quadruplet(a, p, negatives, negatives2=None, margin=1.0, margin2=0.5,
               distance_kind="sqeuclidean"):
    """Mean triplet term plus mean pair term [d_ap - d(n2_k, n_k) + m2]+; without
    negatives2 the partner of n_k is the next negative (rolled)."""
    K = len(negatives)
    if negatives2 is None:
        negatives2 = [negatives[(k + 1) % K] for k in range(K)]
    d_ap = distance(a, p, distance_kind)
    trip = [max(d_ap - distance(a, n, distance_kind) + margin, 0.0) for n in negatives]
    pair = [max(d_ap - distance(n2, n, distance_kind) + margin2, 0.0)
            for n, n2 in zip(negatives, negatives2, strict=True)]
    return math.fsum(trip) / K + math.fsum(pair) / K
