"""torch's CosineEmbeddingLoss with the exact cosine (LOSSES-MORE.md).

    c = cos(x1, x2);  label +1: 1 - c;  label -1: [c - m]+

`--like torch`: c = x1.x2 / sqrt((|x1|^2 + eps)(|x2|^2 + eps)) with torch's float32 eps, as
plain sums (torch scales nothing), and a label other than +1/-1 gives 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import margins as kern
from losscli.losses.results import check_breakdown, result, shape_dict
from losscli.losses.roles import check_huge, labels, paired_rows
from losscli.losses.spec import Convention
from losscli.losses.specs.paired_inputs import COSINE_EMBEDDING
from losscli.losses.vectors import vectors
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """cosine-embedding per pair: 1 - cos(x1, x2) for label +1, [cos(x1, x2) - m]+ for -1.

    The cosine is exact; under `--like torch` it carries torch's eps in the squared norms and any
    other label gives 0.
    """
    x1, x2, _ = paired_rows(inputs)
    B, D = x1.shape
    torch_like = convention is not None and convention.eps_placement == "norms"
    torch_labels = convention is not None and convention.unchecked_labels
    y = labels(inputs, B, checked=not torch_labels)
    warnings: list[str] = []
    check_breakdown(B, 1, COSINE_EMBEDDING.name, 2 * B * D if grad else 0)
    check_huge({"x1": x1, "x2": x2}, warnings)
    if torch_like:
        eps = float(convention.eps)
        dot = np.einsum("bd,bd->b", x1, x2)
        m1 = np.einsum("bd,bd->b", x1, x1) + eps
        m2 = np.einsum("bd,bd->b", x2, x2) + eps
        den = np.sqrt(m1 * m2)
        cos = dot / den
    else:
        u1 = vectors(x1, True, warnings, "x1")
        u2 = vectors(x2, True, warnings, "x2")
        cos = np.clip(np.einsum("bd,bd->b", u1.used, u2.used), -1.0, 1.0)
    term = np.empty(B)
    active = np.empty(B, dtype=np.bool_)
    dcos = np.empty(B)
    loss = np.empty(B)
    _jit.run(kern.cosine_embedding, B * 4, cos, y, float(params["margin"]), torch_labels,
             term, active, dcos, loss)
    terms = Terms(("pair",), (0,), {"label": y[:, None], "cosine": cos[:, None],
                                    "term": term[:, None], "active": active[:, None]})
    gradients = None
    if grad and torch_like:
        # c = x1.x2 / sqrt(m1 m2): dc/dx1 = x2 / den - c x1 / m1, and the same for x2.
        g = dcos[:, None]
        gradients = {"x1": g * (x2 / den[:, None] - (cos / m1)[:, None] * x1),
                     "x2": g * (x1 / den[:, None] - (cos / m2)[:, None] * x2)}
    elif grad:
        gradients = {"x1": u1.backward(dcos[:, None] * u2.used),
                     "x2": u2.backward(dcos[:, None] * u1.used)}
    return result(COSINE_EMBEDDING.name, params, reduction, loss, shape_dict(B, dim=D), terms,
                  warnings, gradients)
