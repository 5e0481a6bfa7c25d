"""infonce under --emulate: every candidate's similarity a matmul in the format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from losscli.losses.emulation import Format, Trace, divide, exact_similarity, log_softmax, matmul
from losscli.losses.emulation import normalize as unit
from losscli.losses.roles import embedding_batch
from losscli.model import Inputs


def candidates(inputs: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """anchor (B, D) and its candidates (B, 1 + K, D): the positive first."""
    batch = embedding_batch(inputs, negatives="optional")
    B, D = batch.anchor.shape
    negatives = np.broadcast_to(batch.negatives, (B, batch.k, D))
    return batch.anchor, np.concatenate([batch.positive[:, None, :], negatives], axis=1)


def infonce(inputs: Inputs, params: Mapping[str, Any], fmt: Format) -> Trace:
    """cross_entropy(einsum('bd,bkd->bk', a, [p; n]) / t, 0) with a, p, n in the format
    (normalized in it under cosine)."""
    a, cand = candidates(inputs)
    cosine = params.get("similarity") == "cosine"
    t = float(params["temperature"])
    a_low, c_low = fmt.round(a), fmt.round(cand)
    if cosine:
        a_low, c_low = unit(a_low, fmt), unit(c_low, fmt)
    logits = divide(matmul("bd,bkd->bk", a_low, c_low, fmt), t, fmt)
    exact = exact_similarity(a, cand, "bd,bkd->bk", cosine)
    if cand.shape[1] == 1:  # K = 0: the loss is 0
        per = np.zeros(a.shape[0], np.float32)
    else:
        per = -log_softmax(logits)[:, 0]
    return Trace(per, {"inputs": np.concatenate([a.ravel(), cand.ravel()]),
                       "similarities": exact, "logits": exact / t})


EMULATORS = {"infonce": infonce}
