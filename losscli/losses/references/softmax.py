"""Reference values of softmax-ce (cross entropy over C classes)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from losscli.losses.references import ReferenceValue, Sizes, need


def softmax_ce(params: Mapping[str, Any], sizes: Sizes) -> list[ReferenceValue]:
    """Every logit equal gives log C whatever the target (its mass sums to 1); the least is
    the entropy of the (smoothed) target, reached when the softmax equals it."""
    C = need(sizes, "classes", "softmax-ce")
    e = float(params.get("label_smoothing") or 0.0)
    uniform = math.log(C)
    values = [
        ReferenceValue("collapse", uniform, "log C", "every logit equal",
                       "check each example's logits are not all equal"),
        ReferenceValue("chance", uniform, "log C", "a uniform guess over the C classes"),
    ]
    if e == 0:
        values.append(ReferenceValue("minimum", 0.0, "0", "the target's logit infinitely above "
                                     "the others (approached, never reached)"))
    else:
        high, low = 1 - e + e / C, e / C
        entropy = -high * math.log(high) - (C - 1) * low * math.log(low)
        values.append(ReferenceValue(
            "minimum", entropy, "H(q), q = (1 - e) onehot + e / C",
            "the softmax equal to the smoothed target: the loss never goes below its entropy"))
    return values


VALUES = {"softmax-ce": softmax_ce}
