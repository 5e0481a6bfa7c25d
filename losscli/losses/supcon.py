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
from losscli.kernels import candidates as kern
from losscli.kernels import tiles as tk
from losscli.losses import tiles
from losscli.losses.candidates import Candidates
from losscli.losses.explicit_terms import by_rows, is_lazy
from losscli.losses.forms import stacked_vectors
from losscli.losses.results import check_breakdown, result, shape_dict, text_where
from losscli.losses.roles import (
    anchor_rows,
    check_huge,
    check_temperature,
    negatives_bank,
    positives_bank,
)
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import SUPCON
from losscli.losses.term_columns import Column, Filled, Gathered, Joined, Mapped, Shared
from losscli.losses.variants import pml_single_call_zero, zero_rows
from losscli.losses.vectors import vectors
from losscli.model import DeferredColumn, Inputs, LazyTerms, Result


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
    # the multi-view batch's breakdown is computed on demand, a large explicit one by blocks
    if not multi_view and not is_lazy(B, P + K, grad):
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
        return _multi_view(inputs, anchor, positives, pos_role, params, reduction, grad,
                           convention, warnings)
    if K == 0 and not (convention is not None and convention.zero_without_pairs):
        warnings.append(_without_negatives(P))
    # Each bank stays as given (shared banks are never broadcast to one copy per anchor).
    c = Candidates(vectors(anchor, cosine, warnings, "anchor"),
                   vectors(positives, cosine, warnings, pos_role),
                   vectors(negatives, cosine, warnings, "negatives"), pos_role,
                   "negatives" in inputs)
    C = P + K
    shifted = convention is not None and convention.shifted_log_prob

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = stop - start
        sim = c.similarities(cosine, start, stop)  # the positives' columns, then the negatives'
        logit = np.empty((n, C))
        prob = np.empty_like(logit)
        dlogit = np.empty_like(logit)
        loss = np.empty(n)
        _jit.run(kern.supcon_rows, B * C * 4, sim, P, 1.0 / t, factor, logit, prob, dlogit,
                 loss)
        if shifted:
            loss = shifted_log_prob_loss(sim, P, t, factor)
        return {"loss": loss}, {"kind": c.kinds(n), "similarity": sim, "logit": logit,
                                "probability": prob, "gradient": dlogit}

    examples, terms = by_rows(B, *c.role_index(), rows, grad)
    loss = examples["loss"]
    gradients = c.similarity_gradients(terms.columns["gradient"] / t) if grad else None
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


def shifted_log_prob_loss(sim: np.ndarray, P: int, t: float, factor: float) -> np.ndarray:
    """Each row's loss in PML's SupConLoss arithmetic (Convention.shifted_log_prob):

        v = s / t,  m = max_j v_j,  loss = -factor (1/P) sum_p ((v_p - m) - log sum_j e^{v_j - m})

    Equal to the exact loss to rounding, except that a confident anchor's (its positive
    the largest logit, the others' exponentials below half an ulp of 1) is exactly 0."""
    v = sim / t
    shifted = v - v.max(axis=1, keepdims=True)
    log_partition = np.log(np.exp(shifted).sum(axis=1))
    return 0.0 - factor * (shifted[:, :P] - log_partition[:, None]).sum(axis=1) / P  # +0


def _without_negatives(P: int) -> str:
    """Without negatives only the positives compete: with one, every loss is exactly 0, which
    is rarely what was meant (the other examples as negatives is SupContrast's form)."""
    if P == 1:
        return ("no negatives (K = 0) and one positive: each softmax has one candidate, so "
                "the loss is 0; for the batch's other examples as negatives, give negatives "
                "or --like supcontrast")
    return (f"no negatives (K = 0): only the {P} positives share each softmax; for the "
            "batch's other examples as negatives, give negatives or --like supcontrast")


def _multi_view(inputs: Inputs, anchor: np.ndarray, positives: np.ndarray, pos_role: str,
                params: dict[str, Any], reduction: str, grad: bool, convention: Convention,
                warnings: list[str]) -> Result:
    """SupContrast's SupConLoss with every view an anchor: example i's views are a_i and its
    P positives (one SupContrast sample of 1 + P views); each view's positives are its
    example's other views, its negatives every other example's views. An example's loss is
    the mean over its views' rows (the batch's mean is SupContrast's). By tiles of the
    views' Gram matrix (losses/tiles.py), the views stacked as SupContrast stacks them, view
    by view: Z = [A; P_1; ...; P_P], batch's own (2B, D) buffer when P = 1, normalized in
    place (Convention.tiled)."""
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
    given = inputs[pos_role]
    views = given if pos_role == "positive" and given.ndim == 2 else \
        positives.transpose(1, 0, 2).reshape(P * B, D)  # positive k of every example, k = 1..P
    work = tiles.work(N, N, D)
    with _jit.job(work):
        Z, vecs = stacked_vectors({"anchor": anchor, pos_role: views}, cosine, warnings, grad,
                                  inputs.owned)
    eps = float(convention.eps)
    big, log_den, pos_mean = np.empty(N), np.empty(N), np.empty(N)
    top = np.empty(N, dtype=np.int64)
    with _jit.job(work):
        for r0, tile in tiles.tiles(Z, Z, cosine):
            at = tile.argmax(axis=1)  # a NaN's column where there is one: the exact passes
            shift = tile[np.arange(at.shape[0]), at]
            _jit.run(tk.multiview_row_stats, work, tile, r0, B, V, scale, eps, shift, at, big,
                     top, log_den, pos_mean)
    view_loss = -factor * (pos_mean - big - log_den)
    loss = view_loss.reshape(V, B).mean(axis=0)
    views_of = _MultiView(Z, B, V, scale, factor, cosine, eps, (big, top, log_den))
    role = (("positive",) * (V - 1) + ("negative",) * (N - V)) * V
    index = (tuple(range(V - 1)) + tuple(range(N - V))) * V
    terms = LazyTerms(role, index, MULTI_VIEW_NAMES, B, tiles.on_demand(views_of.block, work),
                      views_of.pairs)
    gradients = None
    if grad:
        def to_grad(r0: int, tile: np.ndarray) -> None:
            _jit.run(tk.multiview_tile_grad, work, tile, r0, B, V, scale, eps, big, top,
                     log_den, factor * scale / V)

        with _jit.job(work):
            rows, cols = tiles.backward(Z, Z, cosine, to_grad)
        grad_z = rows + cols
        grad_pos = vecs[pos_role].backward(grad_z[B:])
        gradients = {"anchor": vecs["anchor"].backward(grad_z[:B]),
                     pos_role: grad_pos if pos_role == "positive"
                     else grad_pos.reshape(P, B, D).transpose(1, 0, 2)}
    return result(SUPCON.name, {**params, "form": "multi-view batch"}, reduction, loss,
                  shape_dict(B, N - V, D, positives=P), terms, warnings, gradients)


MULTI_VIEW_NAMES = ("view", "candidate_role", "candidate_index", "candidate_view", "kind",
                    "similarity", "logit", "probability", "gradient")


class _MultiView:
    """The multi-view rows of examples on demand: each view's candidates its example's other
    views (the positives), then every other example's views in order (the negatives). View
    k of example e is row k B + e of Z."""

    def __init__(self, Z: np.ndarray, B: int, V: int, scale: float, factor: float,
                 cosine: bool, eps: float,
                 rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        """rows: each view's (big, top, log_den) from multiview_row_stats."""
        self.Z, self.B, self.V, self.scale, self.factor = Z, B, V, scale, factor
        self.cosine, self.eps = cosine, eps
        self.big, self.top, self.log_den = rows
        # one reader per view: each serves its rows in order, a tile ahead
        self.read = [tiles.RowReader(Z[k * B:(k + 1) * B], Z, cosine) for k in range(V)]

    def candidates(self, k: int, start: int, stop: int) -> np.ndarray:
        """(stop - start, N - 1): view k's candidates as the breakdown lists them, each
        numbered e V + w (view w of example e): the example's other views, then every other
        example's views."""
        return self.candidates_at(k, start, stop, np.arange(self.B * self.V - 1)[None, :])

    def candidates_at(self, k: int, start: int, stop: int, positions: np.ndarray,
                      ) -> np.ndarray:
        """candidates(k, start, stop) at the positions (stop - start, m) of each row."""
        V = self.V
        e = np.arange(start, stop)[:, None]
        own = e * V + positions + (positions >= k)
        j = positions - (V - 1)
        other = j + V * (j // V >= e)
        return np.where(positions < V - 1, own, other)

    def block(self, start: int, stop: int) -> dict[str, Column]:
        B, V = self.B, self.V
        N = B * V
        n = stop - start
        parts: dict[str, list[Column]] = {"similarity": [], "logit": [], "probability": [],
                                          "gradient": []}
        numbered: list[Column] = []
        for k in range(V):
            S = self.read[k](start, stop)
            logit, prob, grad = np.empty_like(S), np.empty_like(S), np.empty_like(S)
            _jit.run(tk.multiview_row_terms, S.size * 8, S, k * B + start, B, V, self.scale,
                     self.factor, self.eps, self.big, self.top, self.log_den, logit, prob, grad)
            c = Shared(_Candidates(self, k, start, stop))
            # the candidates' rows of Z
            columns = Shared(Mapped(c, lambda c: (c % V) * B + c // V))
            for name, values in (("similarity", S), ("logit", logit), ("probability", prob),
                                 ("gradient", grad)):
                parts[name].append(Gathered(values, columns))
            numbered.append(c)
        # each view's N - 1 candidates side by side
        widths = [N - 1] * V
        names = ["anchor"] + [f"positive {k}" for k in range(V - 1)]
        candidates = Shared(Joined(numbered, widths))
        e = np.arange(start, stop)[:, None]
        return {"view": Joined([Filled(n, N - 1, name, object) for name in names], widths),
                "candidate_role": Mapped(candidates,
                                         lambda c: text_where(c % V == 0, "anchor", "positive")),
                "candidate_index": Mapped(candidates, lambda c: c // V),
                "candidate_view": Mapped(candidates, lambda c: c % V),
                "kind": Mapped(candidates,
                               lambda c: text_where(e == c // V, "positive", "negative")),
                "similarity": Joined(parts["similarity"], widths),
                "logit": Joined(parts["logit"], widths),
                "probability": Joined(parts["probability"], widths),
                "gradient": Mapped(Joined(parts["gradient"], widths), lambda g: g / V)}

    def pairs(self):
        """(same-example pairs of views, pairs from different examples), each pair once."""
        B = self.B
        for r0, tile in tiles.tiles(self.Z, self.Z, self.cosine):
            v = r0 + np.arange(tile.shape[0])[:, None]
            u = np.arange(tile.shape[1])[None, :]
            upper = u > v
            same = (u % B) == (v % B)
            yield (np.asarray(tile[upper & same], dtype=np.float64),
                   np.asarray(tile[upper & ~same], dtype=np.float64))


class _Candidates(DeferredColumn):
    """View k's candidates of examples [start, stop), numbered e V + w (_MultiView.candidates),
    at the positions asked for only."""

    def __init__(self, views: _MultiView, k: int, start: int, stop: int) -> None:
        self.views, self.k, self.start, self.stop = views, k, start, stop

    def full(self) -> np.ndarray:
        """The whole column (model.DeferredColumn)."""
        return self.views.candidates(self.k, self.start, self.stop)

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r (model.DeferredColumn)."""
        return self.views.candidates_at(self.k, self.start, self.stop, kept)
