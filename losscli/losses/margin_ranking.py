"""torch's MarginRankingLoss: [-y (x1 - x2) + m]+ per pair of scores (LOSSES-MORE.md).

`--like torch` leaves the labels unchecked: any real y scales the difference, as torch's does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import BadData
from losscli.kernels import _jit
from losscli.kernels import margins as kern
from losscli.losses.results import check_breakdown, result, shape_dict
from losscli.losses.roles import labels, scores
from losscli.losses.spec import Convention
from losscli.losses.specs.paired_inputs import MARGIN_RANKING
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """margin-ranking per pair of scores: [-y (x1 - x2) + m]+, y = +1 when x1 should rank
    higher and -1 when x2 should.
    """
    x1 = np.ascontiguousarray(scores(inputs, "x1"))
    x2 = np.ascontiguousarray(scores(inputs, "x2"))
    if inputs["x2"].shape != inputs["x1"].shape:
        raise BadData(f"x2 {inputs['x2'].shape} does not match x1 {inputs['x1'].shape}",
                      "x1, x2 and label must have the same shape: one number each per pair "
                      "(no broadcasting)", where=inputs.where("x2"))
    B = x1.shape[0]
    check_breakdown(B, 1, MARGIN_RANKING.name)
    y = labels(inputs, B, checked=convention is None or not convention.unchecked_labels)
    if inputs["label"].shape != inputs["x1"].shape:
        raise BadData(f"label {inputs['label'].shape} does not match x1 {inputs['x1'].shape}",
                      "x1, x2 and label must have the same shape: one number each per pair "
                      "(no broadcasting)", where=inputs.where("label"))
    signed = np.empty(B)
    term = np.empty(B)
    active = np.empty(B, dtype=np.bool_)
    g1 = np.empty(B)
    g2 = np.empty(B)
    loss = np.empty(B)
    _jit.run(kern.margin_ranking, B * 4, x1, x2, y, float(params["margin"]), signed, term,
             active, g1, g2, loss)
    terms = Terms(("pair",), (0,), {
        "label": y[:, None], "x1": x1[:, None], "x2": x2[:, None],
        "signed_difference": signed[:, None], "term": term[:, None],
        "active": active[:, None]})
    gradients = {"x1": g1, "x2": g2} if grad else None
    return result(MARGIN_RANKING.name, params, reduction, loss, shape_dict(B), terms, [],
                  gradients)
