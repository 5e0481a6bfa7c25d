"""softmax-ce under --emulate: the logits in the format, cross_entropy in float32."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from losscli.errors import UsageError
from losscli.losses.emulation import Format, Trace, log_softmax
from losscli.model import Inputs


def softmax_ce(inputs: Inputs, params: Mapping[str, Any], fmt: Format) -> Trace:
    """F.cross_entropy(logits.to(format), target, label_smoothing=e, reduction='none')."""
    if "weight" in inputs or params.get("ignore_index") is not None:
        raise UsageError("--emulate does not cover class weights or --ignore-index",
                         "drop them to see the format's effect on the loss")
    exact = np.atleast_2d(inputs["logits"])
    B, C = exact.shape
    logp = log_softmax(fmt.round(exact))
    target = np.asarray(inputs["target"], dtype=np.float64)
    if target.ndim == exact.ndim and target.shape[-1] == C:  # probabilities
        q = np.atleast_2d(target).astype(np.float32)
    else:
        q = np.zeros((B, C), np.float32)
        q[np.arange(B), np.atleast_1d(target).astype(np.int64)] = 1
    e = np.float32(params.get("label_smoothing") or 0.0)
    q = (1 - e) * q + e / np.float32(C)
    with np.errstate(invalid="ignore"):
        per = -np.sum(np.where(q > 0, q * logp, 0), axis=1, dtype=np.float32)
    return Trace(per, {"logits": exact})


EMULATORS = {"softmax-ce": softmax_ce}
