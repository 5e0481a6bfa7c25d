"""multi-similarity, circle, lifted-structure and margin: weighted pairs of an anchor."""

from __future__ import annotations

import math

from tests.reference.common import cosine, distance, log1p_sum_exp, lse, similarity, softplus


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
