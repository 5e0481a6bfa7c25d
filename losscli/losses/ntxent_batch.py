"""SimCLR's NT-Xent over the two-view batch (Chen et al. 2020).

    views z_i = a_i, z_{B+i} = p_i; partner pi(v) = v +- B
    l_v = LSE_{u != v}( s(z_v, z_u) / t ) - s(z_v, z_pi(v)) / t
    example i: (l_i + l_{B+i}) / 2

`--like pytorch-metric-learning` takes -log(p + finfo.tiny) of each view's probability p.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import BadData
from losscli.kernels import _jit
from losscli.kernels import inbatch as kern
from losscli.losses.forms import two_view_batch
from losscli.losses.results import result, shape_dict
from losscli.losses.roles import check_temperature
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import NTXENT_BATCH
from losscli.losses.variants import probability_eps
from losscli.model import Inputs, Result, Terms


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """ntxent-batch per example i: (l_i + l_{B+i}) / 2 over the views z = [a; p], with
    l_v = LSE_{u != v}(s(z_v, z_u) / t) - s(z_v, z_partner) / t (SimCLR's NT-Xent).
    """
    if "negatives" in inputs:
        raise BadData("ntxent-batch takes its negatives from the batch, not from negatives",
                      "drop negatives, or use infonce for explicit negatives",
                      where=inputs.where("negatives"))
    warnings: list[str] = []
    t = params["temperature"]
    check_temperature(t, warnings)
    views = two_view_batch(inputs, NTXENT_BATCH.name, params["similarity"] == "cosine",
                           warnings)
    B, n = views.batch, views.views
    pos, skip = views.layout()
    logit = np.empty((n, n))
    prob = np.empty_like(logit)
    dlogit = np.empty_like(logit)
    view_loss = np.empty(n)
    _jit.run(kern.softmax_rows, n * n * 4, views.sim, 1.0 / t, pos, skip, logit, prob,
             dlogit, view_loss)
    view_loss, factor = probability_eps(convention, view_loss)
    if factor is not None:
        dlogit *= factor[:, None]
    loss = 0.5 * (view_loss[:B] + view_loss[B:])
    order = views.order()
    role, index, labels = views.term_labels(order)
    columns = dict(labels)
    columns.update({
        "similarity": views.per_example(views.sim, order),
        "logit": views.per_example(logit, order),
        "probability": views.per_example(prob, order),
        "gradient": 0.5 * views.per_example(dlogit, order),
    })
    gradients = views.backward(0.5 * dlogit / t) if grad else None
    return result(NTXENT_BATCH.name, params, reduction, loss,
                  shape_dict(B, n - 2, views.dim), Terms(role, index, columns), warnings,
                  gradients)
