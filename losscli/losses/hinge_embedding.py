"""torch's HingeEmbeddingLoss, on given values or on distances d(x1, x2) (LOSSES-MORE.md).

    x = x1 (values), or x = d(x1, x2) (vectors);  label +1: x;  label -1: [m - x]+

`--like torch`: a label that is neither +1 nor -1 gets both terms, and the vector form's x is
torch.pairwise_distance, ||x1 - x2 + 1e-6||.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import distances as dist
from losscli.kernels import margins as kern
from losscli.losses.results import check_breakdown, result, shape_dict
from losscli.losses.roles import check_huge, labels, paired_rows, scores
from losscli.losses.spec import Convention
from losscli.losses.specs.paired_inputs import HINGE_EMBEDDING
from losscli.losses.vectors import (
    distance_backward,
    distance_rows,
    euclidean_backward,
    vectors,
)
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """hinge-embedding per pair: x for label +1, [m - x]+ for label -1, where x is x1 itself
    (values) or d(x1, x2) (vectors, when x2 is given).
    """
    warnings: list[str] = []
    kind = params["distance"]
    params = dict(params)
    vector_form = "x2" in inputs
    if vector_form:
        x1, x2, _ = paired_rows(inputs)
        B, D = x1.shape
        check_breakdown(B, 1, HINGE_EMBEDDING.name, 2 * B * D if grad else 0)
        check_huge({"x1": x1, "x2": x2}, warnings)
        v1 = vectors(x1, kind == "cosine", warnings, "x1", "distance")
        v2 = vectors(x2[:, None, :], kind == "cosine", warnings, "x2", "distance")
        eps = _difference_eps(convention, kind)
        if eps:
            x = np.empty(B)
            _jit.run(dist.distances_eps_difference, B * D, x1, x2, eps, x)
        else:
            x = distance_rows(v1.used, v2.used, kind)[:, 0]
        params["form"] = "vectors"
    else:
        x = np.ascontiguousarray(scores(inputs, "x1"))
        B, D = x.shape[0], None
        check_breakdown(B, 1, HINGE_EMBEDDING.name)
        params["form"] = "values"
        params["distance"] = None  # not used: the values are x itself
    torch_labels = convention is not None and convention.unchecked_labels
    y = labels(inputs, B, checked=not torch_labels)
    term = np.empty(B)
    active = np.empty(B, dtype=np.bool_)
    dx = np.empty(B)
    loss = np.empty(B)
    _jit.run(kern.hinge_embedding, B * 4, x, y, float(params["margin"]), torch_labels, term,
             active, dx, loss)
    terms = Terms(("pair",), (0,), {"label": y[:, None], "x": x[:, None],
                                    "term": term[:, None], "active": active[:, None]})
    gradients = None
    if grad:
        if vector_form and eps:
            # d ||x1 - x2 + eps|| / d x1 = (x1 - x2 + eps) / x (0 at x = 0)
            g1 = euclidean_backward(dx, x1 - x2 + eps, x)
            gradients = {"x1": g1, "x2": -g1}
        elif vector_form:
            g1, g2 = distance_backward(dx[:, None], v1, v2, x[:, None], kind)
            gradients = {"x1": g1, "x2": g2[:, 0, :]}
        else:
            gradients = {"x1": dx.copy()}
    return result(HINGE_EMBEDDING.name, params, reduction, loss, shape_dict(B, dim=D), terms,
                  warnings, gradients)


def _difference_eps(convention: Convention | None, kind: str) -> float:
    """torch.pairwise_distance's eps under --like torch (euclidean only), else none."""
    if convention is None or convention.eps_placement != "difference" or kind != "euclidean":
        return 0.0
    return float(convention.eps)
