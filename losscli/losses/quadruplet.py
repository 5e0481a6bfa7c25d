"""The quadruplet loss of Chen, Chen, Zhang and Huang (CVPR 2017)."""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import BadData
from losscli.kernels import _jit
from losscli.kernels import margins as kern
from losscli.losses.explicit_terms import by_rows, example_rows, is_lazy
from losscli.losses.results import (
    REGIME_NAMES,
    check_embedding_breakdown,
    nonfinite_warning,
    reduce,
    shape_dict,
)
from losscli.losses.roles import check_magnitudes, embedding_batch
from losscli.losses.specs.explicit_negatives import QUADRUPLET
from losscli.losses.sweeps import Limits, active_share, block_values, kinks, listed, no_limits
from losscli.losses.thresholds import relative_to_d_ap
from losscli.losses.vectors import DISTANCE_KINDS, embedding_gradients, to_unit
from losscli.model import Inputs, Result, Threshold


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, *, grad: bool = False,
             convention: object = None) -> Result:
    """quadruplet per example (LOSSES.md):

        mean_k [d(a, p) - d(a, n_k) + m1]+ + mean_k [d(a, p) - d(n2_k, n_k) + m2]+

    Without negatives2 the partner of n_k is the next negative (rolled).
    """
    batch = embedding_batch(inputs, negatives2=True)
    if not is_lazy(batch.batch, batch.k, grad):  # by blocks nothing B x K is held
        check_embedding_breakdown(batch, batch.k, QUADRUPLET.name, grad)
    warnings: list[str] = []
    params = dict(params)
    rolled = batch.negatives2 is None
    if rolled:
        if batch.k < 2:
            raise BadData(
                "no negatives2 given and only K = 1 negative to pair it with",
                "give negatives2 (a second negative per negative), or K >= 2 negatives",
                where=inputs.where("negatives"),
            )
        batch.negatives2 = batch.negatives
        params["pairing"] = "rolled"
        warnings.append("no negatives2: each negative is paired with the next one "
                        "(n2_k = n_{(k+1) mod K})")
    else:
        params["pairing"] = "given"
    if params["margin2"] > params["margin"]:
        warnings.append(f"margin2 {params['margin2']:g} > margin {params['margin']:g}: "
                        "the paper asks for margin2 < margin")
    check_magnitudes(batch, warnings)
    unit = params["distance"] == "cosine"
    original = batch
    if unit:
        batch = to_unit(batch, warnings, "distance")
    B, K = batch.batch, batch.k
    shift = 1 if rolled else 0
    kind = DISTANCE_KINDS[params["distance"]]
    margin, margin2 = float(params["margin"]), float(params["margin2"])
    work = batch.work()

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = stop - start
        d_ap = np.empty(n)
        d_an = np.empty((n, K))
        d_nn = np.empty_like(d_an)
        trip = np.empty_like(d_an)
        pair = np.empty_like(d_an)
        regimes = np.empty((n, K), dtype=np.int64)
        loss = np.empty(n)
        _jit.run(kern.quadruplet, work, batch.anchor[start:stop], batch.positive[start:stop],
                 example_rows(batch.negatives, start, stop),
                 example_rows(batch.negatives2, start, stop), shift, margin, margin2, kind,
                 d_ap, d_an, d_nn, trip, pair, regimes, loss)
        columns = {"d_ap": np.repeat(d_ap[:, None], K, axis=1), "d_an": d_an, "d_nn": d_nn,
                   "triplet_term": trip, "pair_term": pair, "regime": REGIME_NAMES[regimes]}
        return {"loss": loss, "d_ap": d_ap}, columns

    examples, terms = by_rows(B, ("negative",) * K, tuple(range(K)), rows, grad)
    loss = examples["loss"]
    nonfinite_warning(loss, warnings)
    gradients = None
    if grad:
        ga = np.empty((B, batch.dim))
        gp = np.empty_like(ga)
        gn = np.empty((B, K, batch.dim))
        # rolled: the partner is another negative, so its gradient lands in gn as well
        gn2 = gn if rolled else np.empty_like(gn)
        columns = terms.columns
        _jit.run(kern.quadruplet_grad, work, batch.anchor, batch.positive, batch.negatives,
                 batch.negatives2, shift, kind, examples["d_ap"], columns["d_an"],
                 columns["d_nn"], columns["triplet_term"], columns["pair_term"], ga, gp, gn,
                 gn2)
        gradients = embedding_gradients(original, unit, ga, gp, gn,
                                        None if rolled else gn2)
    return Result(
        loss=QUADRUPLET.name, params=params, reduction=reduction, per_example=loss,
        value=reduce(loss, reduction), shape=shape_dict(B, K, batch.dim), terms=terms,
        warnings=tuple(warnings), gradients=gradients,
    )



# ---------------------------------------------------------------- sweep's limits


def sweep_limits(param: str, values: np.ndarray, results: list[Result]) -> Limits:
    """Piecewise linear in each margin: a triplet term turns on where m crosses d_an - d_ap,
    a pair term where m2 crosses d_nn - d_ap."""
    if param not in ("margin", "margin2"):
        return no_limits()
    first = results[0]
    columns, limits = no_limits()
    lo, hi = float(values.min()), float(values.max())
    if param == "margin":
        found = kinks(block_values(first, lambda cols: cols["d_an"] - cols["d_ap"]), lo, hi)
        limits["notes"].append("piecewise linear in the margin: a term turns on where m "
                               f"crosses d_an - d_ap; kinks in range: {listed(found)}")
        columns["active_share"] = active_share(results, "triplet_term")
    else:
        found = kinks(block_values(first, lambda cols: cols["d_nn"] - cols["d_ap"]), lo, hi)
        limits["notes"].append("piecewise linear in margin2: a pair term turns on where m2 "
                               f"crosses d_nn - d_ap; kinks in range: {listed(found)}")
        columns["active_share"] = active_share(results, "pair_term")
    limits["kinks"] = found
    return columns, limits


def active_thresholds(params: dict[str, Any], records: list[dict[str, Any]],
                      ) -> list[Threshold]:
    """A triplet term is active where d_an < d_ap + m1 (the median d_ap standing in)."""
    return relative_to_d_ap(records, params["margin"], "median d_ap + m1 (triplet terms)")
