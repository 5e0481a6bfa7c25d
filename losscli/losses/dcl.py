"""Decoupled contrastive loss, and its vMF-weighted form DCLW (Yeh et al. 2022).

    explicit:  loss = -w v_0 + LSE_k(v_k),  v_0 = s(a, p)/t, v_k = s(a, n_k)/t
    two-view:  l_v = -w_i s(z_v, z_pi(v))/t + LSE_{u not in {v, pi(v)}} s(z_v, z_u)/t
               example i: (l_i + l_{B+i}) / 2
    weighting none: w = 1;  vmf: w_i = 2 - B softmax_i(s(a_i, p_i) / sigma)

The vmf weight is differentiated (not detached): dw_i/ds_jj = -(B/sigma) q_i ([i = j] - q_j).

`--like dcl-port` (raminnakhli's port): the partner and the view itself stay in the negatives'
LSE with log(1e-45) added to their logits, w = 2 - softmax (no factor B), and an example's
loss is l_i + l_{B+i} (the two directions' means summed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import inbatch as kern
from losscli.losses.forms import explicit_similarities, two_view_batch
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import DCL
from losscli.losses.vectors import similarity_backward
from losscli.model import Inputs, Result, Terms


def vmf_weights(s_pos: np.ndarray, sigma: float, times_batch: bool = True,
                ) -> tuple[np.ndarray, np.ndarray]:
    """w = 2 - B softmax(s_pos / sigma) and q = that softmax (B = 1 gives w = 1);
    2 - softmax without the factor B when times_batch is False (the DCL port)."""
    z = s_pos / sigma
    e = np.exp(z - np.max(z))
    q = e / np.sum(e)
    return 2.0 - (s_pos.shape[0] if times_batch else 1) * q, q


def positive_coefficients(w: np.ndarray, q: np.ndarray | None, v0: np.ndarray, t: float,
                          sigma: float, times_batch: bool = True) -> np.ndarray:
    """d(sum of losses)/ds_ii for the positive term sum_i -w_i s_ii / t, w differentiated.

    -w_j / t + sum_i (v0_i) (c / sigma) q_i ([i = j] - q_j), the second part only for vmf,
    with c = B (or 1 without the factor B).
    """
    coef = -w / t
    if q is not None:
        c = w.shape[0] if times_batch else 1
        coef = coef + (c / sigma) * (v0 * q - q * np.sum(v0 * q))
    return coef


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """dcl per example: -w v_0 + LSE_k(v_k) over explicit negatives (v = s / t), or without
    them the two-view mean of -w s(z_v, z_partner)/t + LSE over the other 2B - 2 views.

    w = 1, or DCLW's w_i = 2 - B softmax_i(s(a_i, p_i) / sigma) (weighting vmf).
    """
    if "negatives" in inputs:
        return _explicit(inputs, params, reduction, grad)
    return _two_view(inputs, params, reduction, grad, convention)


def _times_batch(convention: Convention | None) -> bool:
    return convention is None or convention.vmf_times_batch


def _weights(s_pos: np.ndarray, params: dict[str, Any], times_batch: bool = True,
             ) -> tuple[np.ndarray, np.ndarray | None]:
    if params["weighting"] == "vmf":
        return vmf_weights(s_pos, params["sigma"], times_batch)
    return np.ones(s_pos.shape[0]), None


def _run(sim: np.ndarray, t: float, pos: np.ndarray, skip: np.ndarray, w: np.ndarray,
         mask: float | None = None):
    """dcl_rows; with `mask` (the DCL port's log(1e-45)) the partner and the view itself stay
    in the negatives' LSE with mask added to their logits."""
    R, C = sim.shape
    logit = np.empty((R, C))
    share = np.empty_like(logit)
    dlogit = np.empty_like(logit)
    loss = np.empty(R)
    _jit.run(kern.dcl_rows, R * C * 4, sim, 1.0 / t, pos, skip, np.ascontiguousarray(w),
             mask is not None, 0.0 if mask is None else float(mask), logit, share, dlogit,
             loss)
    return logit, share, dlogit, loss


def _explicit(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool) -> Result:
    warnings: list[str] = []
    ex = explicit_similarities(inputs, params, DCL.name, grad, warnings)
    B, K, D = ex.batch.batch, ex.batch.k, ex.batch.dim
    a, p, n, sim = ex.anchor, ex.positive, ex.negatives, ex.sim
    t = params["temperature"]
    w, q = _weights(sim[:, 0], params)
    logit, share, dlogit, loss = _run(sim, t, np.zeros(B, dtype=np.int64),
                                      np.full(B, -1, dtype=np.int64), w)
    weight = np.full((B, K + 1), np.nan)
    weight[:, 0] = w
    term = np.full((B, K + 1), np.nan)
    term[:, 0] = -w * logit[:, 0]
    share[:, 0] = np.nan
    terms = Terms(
        role=("positive",) + ("negative",) * K,
        index=(0,) + tuple(range(K)),
        columns={"similarity": sim, "logit": logit, "weight": weight, "term": term,
                 "share": share, "gradient": dlogit},
    )
    gradients = None
    if grad:
        dsim = dlogit / t
        dsim[:, 0] = positive_coefficients(w, q, logit[:, 0], t, params["sigma"])
        grad_a, grad_p = similarity_backward(dsim[:, :1], a, p)
        grad_a_n, grad_n = similarity_backward(dsim[:, 1:], a, n)
        gradients = {"anchor": grad_a + grad_a_n, "positive": grad_p[:, 0, :],
                     "negatives": grad_n}
    return result(DCL.name, {**params, "form": "explicit"}, reduction, loss,
                  shape_dict(B, K, D), terms, warnings, gradients)


def _two_view(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool,
              convention: Convention | None = None) -> Result:
    warnings: list[str] = []
    t = params["temperature"]
    check_temperature(t, warnings)
    views = two_view_batch(inputs, DCL.name, params["similarity"] == "cosine", warnings)
    B, n = views.batch, views.views
    pos, skip = views.layout()
    s_pos = views.sim[np.arange(B), np.arange(B) + B]
    times_batch = _times_batch(convention)
    w, q = _weights(s_pos, params, times_batch)
    w_views = np.concatenate([w, w])
    mask = None if convention is None else convention.mask_logit
    logit, share, dlogit, view_loss = _run(views.sim, t, pos, skip, w_views, mask)
    # Each example's two views: averaged (losscli), or summed (the port's two directions).
    half = 1.0 if convention is not None and convention.directions == "summed" else 0.5
    loss = half * (view_loss[:B] + view_loss[B:])
    order = views.order()
    role, index, columns = views.term_labels(order)
    width = n - 1
    weight = np.full((B, 2 * width), np.nan)
    weight[:, 0] = weight[:, width] = w
    share_terms = views.per_example(share, order)
    share_terms[:, 0] = share_terms[:, width] = np.nan
    logit_terms = views.per_example(logit, order)
    term = np.full((B, 2 * width), np.nan)
    term[:, 0] = -w * logit_terms[:, 0]
    term[:, width] = -w * logit_terms[:, width]
    columns.update({
        "similarity": views.per_example(views.sim, order),
        "logit": logit_terms,
        "weight": weight,
        "term": term,
        "share": share_terms,
        "gradient": half * views.per_example(dlogit, order),
    })
    gradients = None
    if grad:
        dsim = half * dlogit / t
        coef = positive_coefficients(w, q, s_pos / t, t, params["sigma"], times_batch)
        # Each view's partner entry carries half of d(sum)/ds_ii: backward adds M + M^T.
        # Under the port's masking the partner also sits in the LSE: its share adds there.
        rows = np.arange(n)
        leaked = 0.0 if mask is None else share[rows, pos] / t
        dsim[rows, pos] = half * (np.concatenate([coef, coef]) + leaked)
        gradients = views.backward(dsim)
    return result(DCL.name, {**params, "form": "two-view batch"}, reduction, loss,
                  shape_dict(B, n - 2, views.dim), Terms(role, index, columns), warnings,
                  gradients)

