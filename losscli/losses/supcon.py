"""Supervised contrastive loss with several positives per anchor (Khosla et al. 2020, L_out).

    v_j = s(a, c_j) / t over the P positives and K negatives
    loss = -(t / t_b) (1/P) sum_p ( v_p - LSE_j(v_j) )

Library conventions: PML's SupConLoss gives 0 to an anchor without a negative (and to a call
with at most one pair of each kind); SupContrast's makes every view an anchor (the anchor and
its positives are one example's views, the other examples' views its negatives) and adds 1e-9
to the partition after subtracting a row max that includes the self-similarity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import UsageError
from losscli.kernels import _jit
from losscli.kernels import inbatch as kern
from losscli.losses.results import check_breakdown, result, shape_dict
from losscli.losses.roles import (
    anchor_rows,
    check_huge,
    check_temperature,
    negatives_bank,
    positives_bank,
)
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import SUPCON
from losscli.losses.variants import pml_single_call_zero, zero_rows
from losscli.losses.vectors import similarity_backward, similarity_rows, vectors
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """supcon per example: -(t / t_b) (1/P) sum_p (v_p - LSE_j v_j) with v_j = s(a, c_j) / t
    over its P positives and K negatives (Khosla et al. 2020, L_out).
    """
    anchor, single = anchor_rows(inputs)
    B, D = anchor.shape
    positives, pos_role = positives_bank(inputs, B, D, single)
    negatives = negatives_bank(inputs, B, D, single, required=False, allow_empty=True)
    P, K = positives.shape[1], negatives.shape[1]
    multi_view = convention is not None and convention.negatives_form == "multi-view"
    if multi_view:  # every view a row: (1 + P) rows of B (1 + P) - 1 candidates
        check_breakdown(B, (1 + P) * (B * (1 + P) - 1), SUPCON.name)
    else:
        check_breakdown(B, P + K, SUPCON.name, B * (1 + P + K) * D if grad else 0)
    warnings: list[str] = []
    check_huge({"anchor": anchor, pos_role: positives, "negatives": negatives}, warnings)
    params = dict(params)
    t = params["temperature"]
    if params["base_temperature"] is None:
        params["base_temperature"] = t
    factor = t / params["base_temperature"]
    check_temperature(t, warnings)
    cosine = params["similarity"] == "cosine"
    if multi_view:
        return _multi_view(anchor, positives, pos_role, params, reduction, grad, convention,
                           warnings)
    a = vectors(anchor, cosine, warnings, "anchor")
    pos = vectors(positives, cosine, warnings, pos_role)
    neg = vectors(negatives, cosine, warnings, "negatives")
    # The positives' columns first, then the negatives'; each bank stays as given (shared
    # banks are never broadcast to one copy per anchor).
    sim = np.ascontiguousarray(np.concatenate(
        [similarity_rows(a.used, pos.used, cosine), similarity_rows(a.used, neg.used, cosine)],
        axis=1))
    C = P + K
    logit = np.empty((B, C))
    prob = np.empty_like(logit)
    dlogit = np.empty_like(logit)
    loss = np.empty(B)
    _jit.run(kern.supcon_rows, B * C * 4, sim, P, 1.0 / t, factor, logit, prob, dlogit, loss)
    kind = np.empty((B, C), dtype=object)
    kind[:, :P] = "positive"
    kind[:, P:] = "negative"
    terms = Terms(
        role=("positive",) * P + ("negative",) * K,
        index=tuple(range(P)) + tuple(range(K)),
        columns={"kind": kind, "similarity": sim, "logit": logit, "probability": prob,
                 "gradient": dlogit},
    )
    gradients = None
    if grad:
        dsim = dlogit / t
        grad_a, grad_pos = similarity_backward(dsim[:, :P], a, pos)
        grad_a_neg, grad_neg = similarity_backward(dsim[:, P:], a, neg)
        gradients = {"anchor": grad_a + grad_a_neg}
        gradients[pos_role] = grad_pos[:, 0, :] if pos_role == "positive" else grad_pos
        if "negatives" in inputs:
            gradients["negatives"] = grad_neg
    if convention is not None:
        per_anchor = positives.shape[0] > 1 or negatives.shape[0] > 1
        if pml_single_call_zero(convention, B, per_anchor, P, K, warnings):
            zero_rows(loss, gradients)
        elif convention.zero_without_pairs and K == 0:
            warnings.append(f"no negatives (K = 0): {convention.library} gives 0 to an anchor "
                            "without a negative pair")
            zero_rows(loss, gradients)
    return result(SUPCON.name, params, reduction, loss, shape_dict(B, K, D, positives=P),
                  terms, warnings, gradients)


def _multi_view(anchor: np.ndarray, positives: np.ndarray, pos_role: str,
                params: dict[str, Any], reduction: str, grad: bool, convention: Convention,
                warnings: list[str]) -> Result:
    """SupContrast's SupConLoss with every view an anchor: example i's views are a_i and its
    P positives (one SupContrast sample of 1 + P views); each view's positives are its
    example's other views, its negatives every other example's views. An example's loss is
    the mean over its views' rows (the batch's mean is SupContrast's)."""
    B, D = anchor.shape
    if positives.shape[0] != B:
        raise UsageError(f"{convention.library} needs each anchor's own positives: found a "
                         f"shared bank {positives.shape[1:]} for {B} anchors",
                         "give positive (B, D) or positives (B, P, D), one set per anchor")
    P = positives.shape[1]
    V = 1 + P
    N = B * V
    t = params["temperature"]
    scale = 1.0 / t
    factor = t / params["base_temperature"]
    cosine = params["similarity"] == "cosine"
    a = vectors(anchor, cosine, warnings, "anchor")
    pos = vectors(positives, cosine, warnings, pos_role)
    z = np.concatenate([a.used[:, None, :], pos.used], axis=1).reshape(N, D)
    sim = z @ z.T
    if cosine:
        np.clip(sim, -1.0, 1.0, out=sim)
    sim = np.ascontiguousarray(sim)
    group = np.repeat(np.arange(B, dtype=np.int64), V)
    logit = np.empty((N, N))
    prob = np.empty_like(logit)
    dlogit = np.empty_like(logit)
    view_loss = np.empty(N)
    _jit.run(kern.multiview_rows, N * N * 4, sim, group, scale, factor,
             float(convention.eps), logit, prob, dlogit, view_loss)
    loss = view_loss.reshape(B, V).mean(axis=1)
    # Each view's candidates as the breakdown lists them: its example's other views (the
    # positives), then every other example's views in order (the negatives).
    views = np.arange(N)
    order = np.empty((N, N - 1), dtype=np.int64)
    for v in range(N):
        own = views[(group == group[v]) & (views != v)]
        order[v] = np.concatenate([own, views[group != group[v]]])
    width = (N - 1) * V

    def per_example(rows: np.ndarray) -> np.ndarray:
        return np.take_along_axis(rows, order, axis=1).reshape(B, width)

    names = np.array(["anchor"] + [f"positive {k}" for k in range(P)], dtype=object)
    view_name = np.repeat(names, N - 1)
    candidates = per_example(np.broadcast_to(views, (N, N)))
    kind = np.where(group[candidates] == np.repeat(np.arange(B), width).reshape(B, width),
                    "positive", "negative").astype(object)
    terms = Terms(
        role=(("positive",) * (V - 1) + ("negative",) * (N - V)) * V,
        index=(tuple(range(V - 1)) + tuple(range(N - V))) * V,
        columns={"view": np.broadcast_to(view_name, (B, width)).copy(),
                 "candidate_role": np.where(candidates % V == 0, "anchor",
                                            "positive").astype(object),
                 "candidate_index": candidates // V, "candidate_view": candidates % V,
                 "kind": kind,
                 "similarity": per_example(sim), "logit": per_example(logit),
                 "probability": per_example(prob), "gradient": per_example(dlogit) / V},
    )
    gradients = None
    if grad:
        m = dlogit * (scale / V)
        grad_z = ((m + m.T) @ z).reshape(B, V, D)
        grad_pos = pos.backward(grad_z[:, 1:, :])
        gradients = {"anchor": a.backward(grad_z[:, 0, :]),
                     pos_role: grad_pos[:, 0, :] if pos_role == "positive" else grad_pos}
    return result(SUPCON.name, {**params, "form": "multi-view batch"}, reduction, loss,
                  shape_dict(B, N - V, D, positives=P), terms, warnings, gradients)

