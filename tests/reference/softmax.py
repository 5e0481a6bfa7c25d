"""softmax-ce, with torch's reduction rules."""

from __future__ import annotations

import math

from tests.reference.common import lse


def softmax_ce_example(logits, target, weight=None, label_smoothing=0.0):
    """Per-example loss -sum_c w_c q_c log p_c; target an int or a list of probabilities."""
    C = len(logits)
    w = weight or [1.0] * C
    if isinstance(target, int):
        q = [1.0 if c == target else 0.0 for c in range(C)]
    else:
        q = list(target)
    q = [(1 - label_smoothing) * v + label_smoothing / C for v in q]
    z = lse(logits)
    return -math.fsum(w[c] * q[c] * (logits[c] - z) for c in range(C))


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
