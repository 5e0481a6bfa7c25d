"""Slow, obvious float64 references for every loss: Python floats, loops, math.fsum.

Independent of the kernels on purpose: no numpy arithmetic, no shared helpers with losscli.
Inputs are plain nested lists; one example at a time.
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


def distance(x, y, kind):
    if kind == "euclidean":
        return math.sqrt(math.fsum((a - b) ** 2 for a, b in zip(x, y, strict=True)))
    if kind == "sqeuclidean":
        return math.fsum((a - b) ** 2 for a, b in zip(x, y, strict=True))
    if kind == "cosine":
        return 1.0 - cosine(x, y)
    raise ValueError(kind)


def logsumexp(values):
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def infonce(a, p, negatives, temperature=0.07, similarity="dot"):
    sim = dot if similarity == "dot" else cosine
    logits = [sim(a, p) / temperature] + [sim(a, n) / temperature for n in negatives]
    if not negatives:
        return 0.0
    return logsumexp(logits) - logits[0]


def contrastive(a, p, negatives, margin=1.0, distance_kind="euclidean"):
    d = distance(a, p, distance_kind)
    terms = [0.5 * d * d]
    for n in negatives:
        d = distance(a, n, distance_kind)
        terms.append(0.5 * max(margin - d, 0.0) ** 2)
    return math.fsum(terms) / len(terms)


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def triplet(a, p, negatives, margin=1.0, distance_kind="euclidean", negatives_reduction="mean",
            swap=False, soft=False):
    d_ap = distance(a, p, distance_kind)
    terms = []
    for n in negatives:
        d_an = distance(a, n, distance_kind)
        if swap:
            d_an = min(d_an, distance(p, n, distance_kind))
        terms.append(softplus(d_ap - d_an) if soft else max(d_ap - d_an + margin, 0.0))
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
    K = len(negatives)
    if negatives2 is None:
        negatives2 = [negatives[(k + 1) % K] for k in range(K)]
    d_ap = distance(a, p, distance_kind)
    trip = [max(d_ap - distance(a, n, distance_kind) + margin, 0.0) for n in negatives]
    pair = [max(d_ap - distance(n2, n, distance_kind) + margin2, 0.0)
            for n, n2 in zip(negatives, negatives2, strict=True)]
    return math.fsum(trip) / K + math.fsum(pair) / K


def softmax_ce_example(logits, target, weight=None, label_smoothing=0.0):
    """Per-example loss -sum_c w_c q_c log p_c; target an int or a list of probabilities."""
    C = len(logits)
    w = weight or [1.0] * C
    if isinstance(target, int):
        q = [1.0 if c == target else 0.0 for c in range(C)]
    else:
        q = list(target)
    q = [(1 - label_smoothing) * v + label_smoothing / C for v in q]
    lse = logsumexp(logits)
    return -math.fsum(w[c] * q[c] * (logits[c] - lse) for c in range(C))


def softmax_ce(logits, targets, weight=None, label_smoothing=0.0, ignore_index=None,
               reduction="mean"):
    """Batch softmax-ce with torch's reduction rules (weighted mean divides by sum w_y)."""
    C = len(logits[0])
    w = weight or [1.0] * C
    losses, denom = [], []
    for x, t in zip(logits, targets, strict=True):
        if isinstance(t, int) and ignore_index is not None and t == ignore_index:
            losses.append(0.0)
            continue
        losses.append(softmax_ce_example(x, t, weight, label_smoothing))
        denom.append(w[t] if isinstance(t, int) else 1.0)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return math.fsum(losses)
    if isinstance(targets[0], int):
        return math.fsum(losses) / math.fsum(denom)
    return math.fsum(losses) / len(targets)


def reduce(per_example, reduction):
    if reduction == "none":
        return list(per_example)
    total = math.fsum(per_example)
    return total if reduction == "sum" else total / len(per_example)
