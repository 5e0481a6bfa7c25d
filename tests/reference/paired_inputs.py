"""cosine-embedding, hinge-embedding and margin-ranking: torch's losses on paired inputs."""

from __future__ import annotations

from tests.reference.common import cosine


def cosine_embedding(x1, x2, label, margin=0.0):
    c = cosine(x1, x2)
    return 1.0 - c if label == 1 else max(c - margin, 0.0)


def hinge_embedding(x, label, margin=1.0):
    return x if label == 1 else max(margin - x, 0.0)


def margin_ranking(x1, x2, label, margin=0.0):
    return max(-label * (x1 - x2) + margin, 0.0)
