"""Lifted structured loss (Song et al. 2016, as TF Addons implements it), and the
generalized variant (Hermans, Beyer, Leibe 2017; PML's GeneralizedLiftedStructureLoss).

    song:        J = log( sum_k e^{m - d(a, n_k)} + sum_k e^{m - d(p, n_k)} ) + d(a, p) - m_pos
                 loss = 1/2 [J]+^2
    generalized: loss = [LSE_p(d(a, p) - m_pos) + LSE_k(m - d(a, n_k))]+

`--like pytorch-metric-learning` normalizes the embeddings first (LpDistance's default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import BadData
from losscli.kernels import _jit
from losscli.kernels import margins as kern
from losscli.losses.candidates import Candidates, candidates
from losscli.losses.explicit_terms import by_rows
from losscli.losses.results import result, shape_dict
from losscli.losses.spec import Convention
from losscli.losses.specs.pairs import LIFTED_STRUCTURE
from losscli.losses.variants import pml_single_call_zero, unit_if, zero_rows
from losscli.losses.vectors import Vectors, distance_backward, distance_rows
from losscli.model import Inputs, Result


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """lifted-structure per example. song: 1/2 [J]+^2 with
    J = log(sum_k e^{m - d(a, n_k)} + sum_k e^{m - d(p, n_k)}) + d(a, p) - m_pos;
    generalized: [LSE_p(d(a, p) - m_pos) + LSE_k(m - d(a, n_k))]+ over several positives.
    """
    warnings: list[str] = []
    kind = params["distance"]
    song = params["variant"] == "song"
    c = candidates(inputs, unit_if(convention, kind == "cosine"), warnings,
                   negatives_required=True, measure="distance", loss=LIFTED_STRUCTURE.name,
                   grad=grad, terms=(lambda P, K: 2 * K) if song else None)
    if params["variant"] == "generalized":
        out = _generalized(c, params, reduction, grad, warnings)
        if pml_single_call_zero(convention, c.batch, c.positives.raw.shape[0] > 1
                                or c.negatives.raw.shape[0] > 1, c.p, c.k, warnings):
            loss = out.per_example.copy()
            gradients = None if out.gradients is None else {
                k: v.copy() for k, v in out.gradients.items()}
            zero_rows(loss, gradients)
            return result(LIFTED_STRUCTURE.name, params, reduction, loss, out.shape,
                          out.terms, warnings, gradients)
        return out
    if c.p != 1:
        raise BadData(f"variant song takes one positive per example, found P = {c.p}",
                      "give one positive per anchor, or use --variant generalized for several",
                      where=inputs.where(c.positive_role))
    return _song(c, params, reduction, grad, warnings)


def _song(c: Candidates, params: dict[str, Any], reduction: str, grad: bool,
          warnings: list[str]) -> Result:
    """1/2 [J]+^2 per example, J = log(sum_k e^{m - d(a, n_k)} + sum_k e^{m - d(p, n_k)})
    + d(a, p) - m_pos: 2K terms, the anchor's K then the positive's."""
    kind = params["distance"]
    B, K, D = c.batch, c.k, c.dim
    positive = c.positives
    # d(p, n_k): each example's positive row against the negatives.
    p_rows = _positive_rows(positive.used, B)
    margin, pos_margin = float(params["margin"]), float(params["pos_margin"])
    width = 2 * K

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = stop - start
        a, positives, negatives = c.used(start, stop)
        d_ap = distance_rows(a, positives, kind, B * D)[:, 0]
        d_an = distance_rows(a, negatives, kind, B * K * D)
        d_pn = distance_rows(p_rows[start:stop], negatives, kind, B * K * D)
        exponent = np.empty((n, width))
        share = np.empty_like(exponent)
        ddist = np.empty_like(exponent)
        j_value = np.empty(n)
        dap = np.empty(n)
        loss = np.empty(n)
        _jit.run(kern.lifted_song, B * K * 8, d_ap, d_an, d_pn, margin, pos_margin, exponent,
                 share, j_value, ddist, dap, loss)
        end = np.empty((n, width), dtype=object)
        end[:, :K] = "anchor"
        end[:, K:] = "positive"
        return {"loss": loss, "d_ap": d_ap, "dap": dap}, {
            "end": end, "distance": np.concatenate([d_an, d_pn], axis=1),
            "exponent": exponent, "share": share, "gradient": ddist,
            "d_ap": np.repeat(d_ap[:, None], width, axis=1),
            "j": np.repeat(j_value[:, None], width, axis=1),
            "active": np.repeat((j_value > 0)[:, None], width, axis=1)}

    examples, terms = by_rows(B, ("negative",) * width, tuple(range(K)) * 2, rows, grad)
    gradients = None
    if grad:
        columns = terms.columns
        dist, ddist = columns["distance"], columns["gradient"]
        d_ap = examples["d_ap"][:, None]
        p_vec = Vectors(_positive_rows(positive.raw, B), p_rows,
                        None if positive.norms is None else _positive_rows(positive.norms, B))
        ga_p, gp_a = distance_backward(examples["dap"][:, None], c.anchor, positive, d_ap,
                                       kind)
        ga_n, gn_a = distance_backward(ddist[:, :K], c.anchor, c.negatives, dist[:, :K], kind)
        gp_n, gn_p = distance_backward(ddist[:, K:], p_vec, c.negatives, dist[:, K:], kind)
        gradients = c.gradients(ga_p + ga_n, gp_a + gp_n[:, None, :], gn_a + gn_p)
    return result(LIFTED_STRUCTURE.name, params, reduction, examples["loss"],
                  shape_dict(B, K, D, positives=1), terms, warnings, gradients)


def _positive_rows(bank: np.ndarray, B: int) -> np.ndarray:
    """Each example's single positive, (B, ...) from a (1 or B, 1, ...) bank."""
    rows = bank[:, 0]
    return np.ascontiguousarray(np.broadcast_to(rows, (B,) + rows.shape[1:]))


def _generalized(c: Candidates, params: dict[str, Any], reduction: str, grad: bool,
                 warnings: list[str]) -> Result:
    """[LSE_p(d(a, p) - m_pos) + LSE_k(m - d(a, n_k))]+ per example: P + K terms."""
    kind = params["distance"]
    B, P, K = c.batch, c.p, c.k
    margin, pos_margin = float(params["margin"]), float(params["pos_margin"])

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = stop - start
        dist = c.distances(kind, start, stop)
        exponent = np.empty((n, P + K))
        share = np.empty_like(exponent)
        ddist = np.empty_like(exponent)
        inner = np.empty(n)
        loss = np.empty(n)
        _jit.run(kern.lifted_generalized, B * (P + K) * 4, dist, P, margin, pos_margin,
                 exponent, share, ddist, inner, loss)
        nan = np.full((n, P + K), np.nan)
        return {"loss": loss}, {
            "end": c.kinds(n), "distance": dist, "exponent": exponent, "share": share,
            "gradient": ddist, "d_ap": nan, "j": nan,
            "active": np.repeat((inner > 0)[:, None], P + K, axis=1)}

    examples, terms = by_rows(B, *c.role_index(), rows, grad)
    gradients = None
    if grad:
        columns = terms.columns
        gradients = c.distance_gradients(columns["gradient"], columns["distance"], kind)
    return result(LIFTED_STRUCTURE.name, params, reduction, examples["loss"],
                  shape_dict(B, K, c.dim, positives=P), terms, warnings, gradients)
