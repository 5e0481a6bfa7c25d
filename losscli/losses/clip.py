"""CLIP's symmetric cross entropy over the paired batch (Radford et al. 2021).

    L_ij = scale * s(a_i, p_j)   (scale = 1 / temperature)
    r_i = LSE_j(L_ij) - L_ii,  c_i = LSE_j(L_ji) - L_ii,  example i: (r_i + c_i) / 2

Library conventions: `directions` "rows" keeps the anchors' direction alone (example i: r_i,
PML's SelfSupervisedLoss(symmetric=False)), with -log(p + finfo.tiny) inside.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import inbatch as kern
from losscli.losses.forms import paired_batch
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import CLIP
from losscli.losses.variants import probability_eps
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """clip per example i, the mean of its row's and its column's cross entropy:

        L_ij = scale s(a_i, p_j)   (scale = 1 / temperature; the Result reports both)
        r_i = LSE_j L_ij - L_ii,  c_i = LSE_j L_ji - L_ii,  loss_i = (r_i + c_i) / 2
    """
    params = dict(params)
    if params["scale"] is None:
        scale = 1.0 / params["temperature"]
        params["scale"] = scale
    else:
        scale = params["scale"]
        params["temperature"] = 1.0 / scale
    warnings: list[str] = []
    check_temperature(params["temperature"], warnings)
    rows_only = convention is not None and convention.directions == "rows"
    pairs = paired_batch(inputs, CLIP.name, params["similarity"] == "cosine", warnings,
                         directions=1 if rows_only else 2)
    B = pairs.batch
    pos, skip = pairs.layout()
    # Rows (a->p) and columns (p->a) through the same row kernel: the columns are the rows
    # of S^T.
    out = {}
    for direction, sim in (("a->p", pairs.sim), ("p->a", np.ascontiguousarray(pairs.sim.T))):
        logit = np.empty((B, B))
        prob = np.empty_like(logit)
        dlogit = np.empty_like(logit)
        loss = np.empty(B)
        _jit.run(kern.softmax_rows, B * B * 4, sim, scale, pos, skip, logit, prob, dlogit, loss)
        loss, factor = probability_eps(convention, loss)
        if factor is not None:
            dlogit *= factor[:, None]
        out[direction] = (sim, logit, prob, dlogit, loss)
        if rows_only:
            return _rows_only(pairs, params, reduction, grad, scale, out[direction], warnings)
    rows, cols = out["a->p"], out["p->a"]
    loss = 0.5 * (rows[4] + cols[4])
    direction = np.empty((B, 2 * B), dtype=object)
    direction[:, :B] = "a->p"
    direction[:, B:] = "p->a"
    j = np.broadcast_to(np.concatenate([np.arange(B), np.arange(B)]), (B, 2 * B)).copy()
    terms = Terms(
        role=("positive",) * B + ("anchor",) * B,
        index=tuple(range(B)) * 2,
        columns={"direction": direction, "j": j,
                 **{name: np.concatenate([rows[k], cols[k]], axis=1) for k, name in
                    ((0, "similarity"), (1, "logit"), (2, "probability"))},
                 "gradient": 0.5 * np.concatenate([rows[3], cols[3]], axis=1)},
    )
    gradients = None
    if grad:
        # d(sum)/dS_ij: row i's softmax over j, plus column j's softmax over i (transposed).
        gradients = pairs.backward(0.5 * scale * (rows[3] + cols[3].T))
    return result(CLIP.name, params, reduction, loss, shape_dict(B, B - 1, pairs.dim),
                  terms, warnings, gradients)


def _rows_only(pairs, params: dict[str, Any], reduction: str, grad: bool, scale: float,
               rows: tuple, warnings: list[str]) -> Result:
    """The anchors' direction alone: example i's loss is r_i (PML, symmetric=False)."""
    sim, logit, prob, dlogit, loss = rows
    B = pairs.batch
    direction = np.full((B, B), "a->p", dtype=object)
    j = np.broadcast_to(np.arange(B), (B, B)).copy()
    terms = Terms(role=("positive",) * B, index=tuple(range(B)), columns={
        "direction": direction, "j": j, "similarity": sim, "logit": logit,
        "probability": prob, "gradient": dlogit})
    gradients = pairs.backward(scale * dlogit) if grad else None
    return result(CLIP.name, params, reduction, loss, shape_dict(B, B - 1, pairs.dim), terms,
                  warnings, gradients)
