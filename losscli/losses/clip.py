"""CLIP's symmetric cross entropy over the paired batch (Radford et al. 2021).

    L_ij = scale * s(a_i, p_j)   (scale = 1 / temperature)
    r_i = LSE_j(L_ij) - L_ii,  c_i = LSE_j(L_ji) - L_ii,  example i: (r_i + c_i) / 2

By tiles of rows (losses/tiles.py): each tile gives its rows' softmax statistics whole and
merges into every column's (relative_softmax.py), so S is never held at once. Library
conventions: `directions` "rows" keeps the anchors' direction alone (example i: r_i, PML's
SelfSupervisedLoss(symmetric=False)), with -log(p + finfo.tiny) inside.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.losses import relative_softmax as rs
from losscli.losses import tiles
from losscli.losses.forms import PairedBatch, paired_batch
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import CLIP
from losscli.losses.term_columns import Column, Filled, Joined, Reordered
from losscli.losses.variants import probability_eps
from losscli.model import Inputs, LazyTerms, Result

NAMES = ("direction", "j", "similarity", "logit", "probability", "gradient")


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
                         minimum=CLIP.min_batch, grad=grad)
    B = pairs.batch
    pos, skip = pairs.layout()
    diag = pairs.diagonal()
    with _jit.job(pairs.work):
        rows, cols = rs.statistics(pairs.tiles, pos, skip, diag, scale, pairs.work,
                                   None if rows_only else diag)
    row_loss, factor = probability_eps(convention, rows.losses())
    # d loss_i / d logit: (p - [j = i]) / 2 per direction, the eps factor on the rows alone.
    half = 1.0 if rows_only else 0.5
    row_weight = half * (np.ones(B) if factor is None else factor)
    col_weight = np.full(B, 0.5)
    if cols is None:
        loss = row_loss
    else:
        loss = 0.5 * (row_loss + cols.losses())
    breakdown = _Breakdown(pairs, scale, diag, rows, row_weight, cols, col_weight)
    directions = 1 if cols is None else 2
    terms = LazyTerms(
        role=(("positive",) + ("negative",) * (B - 1)) * directions,
        index=((0,) + tuple(range(B - 1))) * directions,
        names=NAMES, batch=B, compute=tiles.on_demand(breakdown.block, pairs.work),
        pairs=pairs.pairs)
    gradients = None
    if grad:
        with _jit.job(pairs.work):
            gradients = pairs.gradients(rs.tile_gradient(
                pos, skip, diag, scale, rows, row_weight, pairs.work, cols, col_weight))
    return result(CLIP.name, params, reduction, loss, shape_dict(B, B - 1, pairs.dim),
                  terms, warnings, gradients)


class _Breakdown:
    """Examples' terms on demand: row i of S (a->p) and column i (p->a), each with the
    positive first, from the statistics of the whole batch."""

    def __init__(self, pairs: PairedBatch, scale: float, diag: np.ndarray, rows: rs.Relative,
                 row_weight: np.ndarray, cols: rs.Relative | None, col_weight: np.ndarray,
                 ) -> None:
        self.pairs, self.scale, self.diag = pairs, scale, diag
        self.directions = [("a->p", pairs.rows, rows, row_weight)]
        if cols is not None:
            self.directions.append(("p->a", pairs.columns, cols, col_weight))

    def block(self, start: int, stop: int) -> dict[str, Column]:
        B = self.pairs.batch
        pos, skip = self.pairs.layout()
        first = np.arange(start, stop)
        parts: dict[str, list[Column]] = {name: [] for name in NAMES}
        for name, read, stats, weight in self.directions:
            S = read(start, stop)
            logit, prob, grad = rs.terms(S, start, pos, skip, self.diag, self.scale, stats,
                                         weight)
            every = np.broadcast_to(np.arange(B), S.shape)
            # the direction's one string shared by its cells (a str per cell, as np.full
            # makes, cost as much as the rest of a block)
            parts["direction"].append(Filled(stop - start, B, name, object))
            for column, values in (("j", every), ("similarity", S), ("logit", logit),
                                   ("probability", prob), ("gradient", grad)):
                parts[column].append(Reordered(values, first))
        widths = [B] * len(self.directions)
        return {name: Joined(v, widths) for name, v in parts.items()}


__all__ = ["evaluate"]
