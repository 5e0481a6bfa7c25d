"""torch's CosineEmbeddingLoss with the exact cosine (LOSSES-MORE.md).

    c = cos(x1, x2);  label +1: 1 - c;  label -1: [c - m]+
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import pairs_more as kern
from losscli.losses._more_common import (
    check_huge,
    labels,
    paired_rows,
    result,
    shape_dict,
    vectors,
)
from losscli.losses._more_specs import COSINE_EMBEDDING
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str,
             grad: bool = False) -> Result:
    x1, x2, _ = paired_rows(inputs)
    B, D = x1.shape
    y = labels(inputs, B)
    warnings: list[str] = []
    check_huge({"x1": x1, "x2": x2}, warnings)
    u1 = vectors(x1, True, warnings, "x1")
    u2 = vectors(x2, True, warnings, "x2")
    cos = np.clip(np.einsum("bd,bd->b", u1.used, u2.used), -1.0, 1.0)
    term = np.empty(B)
    active = np.empty(B, dtype=np.bool_)
    dcos = np.empty(B)
    loss = np.empty(B)
    _jit.run(kern.cosine_embedding, B * 4, cos, y, float(params["margin"]), term, active,
             dcos, loss)
    terms = Terms(("pair",), (0,), {"label": y[:, None], "cosine": cos[:, None],
                                    "term": term[:, None], "active": active[:, None]})
    gradients = None
    if grad:
        gradients = {"x1": u1.backward(dcos[:, None] * u2.used),
                     "x2": u2.backward(dcos[:, None] * u1.used)}
    return result(COSINE_EMBEDDING.name, params, reduction, loss, shape_dict(B, dim=D), terms,
                  warnings, gradients)
