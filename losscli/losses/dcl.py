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
from losscli.kernels import tiles as tk
from losscli.losses import tiles
from losscli.losses.explicit_terms import by_rows
from losscli.losses.forms import (
    TwoViewBatch,
    explicit_form,
    explicit_layout,
    two_view_batch,
)
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import DCL
from losscli.losses.term_columns import Cells, Column
from losscli.model import Inputs, LazyTerms, Result

NAMES = ("view", "candidate_role", "candidate_index", "similarity", "logit", "weight", "term",
         "share", "gradient")


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


def _negatives_lse(tile_list, pos: np.ndarray, skip: np.ndarray, scale: float,
                   mask: float | None, work: int) -> np.ndarray:
    """Each row's LSE over its negatives, top_g scale + log sum_j e^{(S_gj - top_g) scale}
    (tiles.negative_power_sums); with `mask` (the DCL port's log(1e-45)) the partner and
    the view itself stay in with mask added to their logits."""
    if mask is None:
        top, sums = tiles.negative_power_sums(tile_list, pos, skip, scale, [1.0], work)
        return top * scale + np.log(sums[:, 0])
    lse = np.empty(pos.shape[0])
    for r0, tile in tile_list:
        _jit.run(tk.masked_lse_rows, work, tile, r0, pos, skip, scale, float(mask), lse)
    return lse


def _terms(S: np.ndarray, start: int, pos: np.ndarray, skip: np.ndarray, scale: float,
           mask: float | None, lse: np.ndarray, w: np.ndarray, work: int | None = None,
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logit, share, gradient with w held fixed) of rows start.. of S; `work` chooses the
    kernel's path (S's own by default; a block of the explicit form passes the batch's)."""
    logit = np.empty_like(S)
    share = np.empty_like(S)
    dlogit = np.empty_like(S)
    _jit.run(tk.negatives_lse_terms, S.size * 8 if work is None else work, S, start, pos, skip,
             scale, mask is not None, 0.0 if mask is None else float(mask), lse, w, logit,
             share, dlogit)
    return logit, share, dlogit


def _explicit(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool) -> Result:
    """-w v_0 + LSE_k(v_k) per example, a block of examples at a time above
    explicit_terms.EAGER_TERMS (forms.Explicit)."""
    warnings: list[str] = []
    ex = explicit_form(inputs, params, DCL.name, grad, warnings)
    B, K, D = ex.batch.batch, ex.batch.k, ex.batch.dim
    t = params["temperature"]
    scale = 1.0 / t
    # vmf's weights are a softmax over the batch's positives: from their similarities alone,
    # before the blocks (each block's rows take theirs)
    w, q = _weights(ex.positive_similarities(), params)
    work = B * (K + 1) * 8

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        sim = ex.similarities(start, stop)
        n = stop - start
        pos, skip = explicit_layout(n)
        w_rows = w[start:stop]
        lse = _negatives_lse([(0, sim)], pos, skip, scale, None, work)
        logit, share, dlogit = _terms(sim, 0, pos, skip, scale, None, lse, w_rows, work)
        positive = -w_rows * logit[:, 0]
        weight = np.full((n, K + 1), np.nan)
        weight[:, 0] = w_rows
        term = np.full((n, K + 1), np.nan)
        term[:, 0] = positive
        share[:, 0] = np.nan
        return {"loss": lse + positive}, {"similarity": sim, "logit": logit, "weight": weight,
                                          "term": term, "share": share, "gradient": dlogit}

    examples, terms = by_rows(B, *ex.roles(), rows, grad)
    gradients = None
    if grad:
        columns = terms.columns
        dsim = columns["gradient"] / t
        dsim[:, 0] = positive_coefficients(w, q, columns["logit"][:, 0], t, params["sigma"])
        gradients = ex.gradients(dsim)
    return result(DCL.name, {**params, "form": "explicit"}, reduction, examples["loss"],
                  shape_dict(B, K, D), terms, warnings, gradients)


def _two_view(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool,
              convention: Convention | None = None) -> Result:
    warnings: list[str] = []
    t = params["temperature"]
    check_temperature(t, warnings)
    views = two_view_batch(inputs, DCL.name, params["similarity"] == "cosine", warnings,
                           minimum=DCL.min_batch, grad=grad)
    B = views.batch
    pos, skip = views.layout()
    s_pos = views.partners()
    times_batch = _times_batch(convention)
    w, q = _weights(s_pos, params, times_batch)
    w_views = np.concatenate([w, w])
    mask = None if convention is None else convention.mask_logit
    with _jit.job(views.work):
        lse = _negatives_lse(views.tiles(), pos, skip, 1.0 / t, mask, views.work)
    view_loss = lse - w_views * (np.concatenate([s_pos, s_pos]) / t)
    # Each example's two views: averaged (losscli), or summed (the port's two directions).
    half = 1.0 if convention is not None and convention.directions == "summed" else 0.5
    loss = half * (view_loss[:B] + view_loss[B:])
    role, index = views.roles()
    breakdown = _Breakdown(views, 1.0 / t, mask, lse, w_views, half)
    terms = LazyTerms(role, index, NAMES, B, tiles.on_demand(breakdown.block, views.work),
                      views.pairs)
    gradients = None
    if grad:
        coef = positive_coefficients(w, q, s_pos / t, t, params["sigma"], times_batch)
        # Each view's partner entry carries half of d(sum)/ds_ii: backward adds M + M^T.
        at_pos = half * np.concatenate([coef, coef])

        def to_grad(r0: int, tile: np.ndarray) -> None:
            _jit.run(tk.negatives_lse_tile_grad, views.work, tile, r0, pos, skip, 1.0 / t,
                     mask is not None, 0.0 if mask is None else float(mask), lse, half,
                     at_pos)

        with _jit.job(views.work):
            gradients = views.gradients(to_grad)
    return result(DCL.name, {**params, "form": "two-view batch"}, reduction, loss,
                  shape_dict(B, 2 * B - 2, views.dim), terms, warnings, gradients)


class _Breakdown:
    """Examples' terms on demand: the rows of views i and B + i, partner first."""

    def __init__(self, views: TwoViewBatch, scale: float, mask: float | None,
                 lse: np.ndarray, w_views: np.ndarray, half: float) -> None:
        self.views, self.scale, self.mask, self.lse = views, scale, mask, lse
        self.w_views, self.half = w_views, half

    def block(self, start: int, stop: int) -> dict[str, Column]:
        views = self.views
        B, width = views.batch, views.views - 1
        pos, skip = views.layout()
        n = stop - start
        w = self.w_views[start:stop]
        rows = np.arange(n)
        parts = []
        terms = {}
        for S, r0, first in zip(views.view_rows(start, stop), (start, B + start), (0, width),
                                strict=True):
            logit, share, dlogit = _terms(S, r0, pos, skip, self.scale, self.mask, self.lse,
                                          self.w_views)
            partner = pos[r0:r0 + n]  # the view's first term: its weighted positive
            share[rows, partner] = np.nan
            terms[first] = -w * logit[rows, partner]
            parts.append({"similarity": S, "logit": logit, "share": share,
                          "gradient": self.half * dlogit})
        columns = views.term_labels(start, stop)
        for name in ("similarity", "logit", "share", "gradient"):
            columns[name] = views.per_example(parts[0][name], parts[1][name], start)
        columns["weight"] = Cells(n, 2 * width, np.nan, {0: w, width: w})
        columns["term"] = Cells(n, 2 * width, np.nan, terms)
        return {name: columns[name] for name in NAMES}
