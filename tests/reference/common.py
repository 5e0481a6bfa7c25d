"""What every family's reference uses: dot, cosine, the distances, LSE, softplus, reductions."""

from __future__ import annotations

import math


def dot(x, y):
    return math.fsum(a * b for a, b in zip(x, y, strict=True))


def norm(x):
    return math.sqrt(math.fsum(a * a for a in x))


def cosine(x, y):
    """0 for a zero vector (LOSSES.md), clamped to [-1, 1]."""
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
    """log sum e^v, shifted by the largest."""
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def log1p_sum_exp(values):
    """log(1 + sum e^x) = LSE([0, x...])."""
    return lse([0.0] + list(values))


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def reduce(per_example, reduction):
    if reduction == "none":
        return list(per_example)
    total = math.fsum(per_example)
    return total if reduction == "sum" else total / len(per_example)
