"""SimCLR's NT-Xent over the two-view batch (Chen et al. 2020).

    views z_i = a_i, z_{B+i} = p_i; partner pi(v) = v +- B
    l_v = LSE_{u != v}( s(z_v, z_u) / t ) - s(z_v, z_pi(v)) / t
    example i: (l_i + l_{B+i}) / 2

By tiles of the views' Gram matrix (losses/tiles.py), each row's softmax kept relative to its
partner (relative_softmax.py). `--like pytorch-metric-learning` takes -log(p + finfo.tiny)
of each view's probability p.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import RoleRefused
from losscli.kernels import _jit
from losscli.losses import relative_softmax as rs
from losscli.losses import tiles
from losscli.losses.forms import TwoViewBatch, two_view_batch
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import NTXENT_BATCH
from losscli.losses.term_columns import Column
from losscli.losses.variants import probability_eps
from losscli.model import Inputs, LazyTerms, Result

NAMES = ("view", "candidate_role", "candidate_index", "similarity", "logit", "probability",
         "gradient")


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """ntxent-batch per example i: (l_i + l_{B+i}) / 2 over the views z = [a; p], with
    l_v = LSE_{u != v}(s(z_v, z_u) / t) - s(z_v, z_partner) / t (SimCLR's NT-Xent).
    """
    if "negatives" in inputs:
        raise RoleRefused("ntxent-batch takes its negatives from the batch, not from "
                          "negatives", "drop negatives, or use infonce for explicit negatives",
                          where=inputs.where("negatives"), role="negatives")
    warnings: list[str] = []
    t = params["temperature"]
    check_temperature(t, warnings)
    views = two_view_batch(inputs, NTXENT_BATCH.name, params["similarity"] == "cosine",
                           warnings, minimum=NTXENT_BATCH.min_batch, grad=grad)
    B = views.batch
    pos, skip = views.layout()
    partner = views.partners()
    ref = np.concatenate([partner, partner])
    with _jit.job(views.work):
        stats, _ = rs.statistics(views.tiles, pos, skip, ref, 1.0 / t, views.work)
    view_loss, factor = probability_eps(convention, stats.losses())
    # d loss_i / d logit = (p - [partner]) / 2, times the eps factor of the view's softmax.
    weight = 0.5 * (np.ones(2 * B) if factor is None else factor)
    loss = 0.5 * (view_loss[:B] + view_loss[B:])
    role, index = views.roles()
    breakdown = _Breakdown(views, 1.0 / t, ref, stats, weight)
    terms = LazyTerms(role, index, NAMES, B, tiles.on_demand(breakdown.block, views.work),
                      views.pairs)
    gradients = None
    if grad:
        with _jit.job(views.work):
            gradients = views.gradients(rs.tile_gradient(pos, skip, ref, 1.0 / t, stats,
                                                         weight, views.work))
    return result(NTXENT_BATCH.name, params, reduction, loss,
                  shape_dict(B, 2 * B - 2, views.dim), terms, warnings, gradients)


class _Breakdown:
    """Examples' terms on demand: the rows of views i and B + i, partner first."""

    def __init__(self, views: TwoViewBatch, scale: float, ref: np.ndarray,
                 stats: rs.Relative, weight: np.ndarray) -> None:
        self.views, self.scale, self.ref, self.stats, self.weight = (views, scale, ref, stats,
                                                                     weight)

    def block(self, start: int, stop: int) -> dict[str, Column]:
        views = self.views
        B = views.batch
        pos, skip = views.layout()
        out: list[dict[str, np.ndarray]] = []
        for S, r0 in zip(views.view_rows(start, stop), (start, B + start), strict=True):
            logit, prob, grad = rs.terms(S, r0, pos, skip, self.ref, self.scale, self.stats,
                                         self.weight)
            out.append({"similarity": S, "logit": logit, "probability": prob,
                        "gradient": grad})
        columns = views.term_labels(start, stop)
        for name in ("similarity", "logit", "probability", "gradient"):
            columns[name] = views.per_example(out[0][name], out[1][name], start)
        return {name: columns[name] for name in NAMES}


__all__ = ["evaluate"]
