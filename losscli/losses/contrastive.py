"""The pairwise margin loss of Hadsell, Chopra and LeCun (2006), Eq. 4, mean over pairs.

Library conventions (`--like`) change the squares and 1/2 factors, the eps in the distance,
the normalization and how the pairs are averaged (contrastive_variant).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import margins as kern
from losscli.kernels import stream as sk
from losscli.losses.conventions import term_reduction
from losscli.losses.explicit_terms import (
    active_parts,
    by_rows,
    example_rows,
    is_lazy,
    mean_of_active,
)
from losscli.losses.results import (
    check_embedding_breakdown,
    mean_nonzero,
    nonfinite_warning,
    reduce,
    shape_dict,
)
from losscli.losses.roles import check_magnitudes, embedding_batch
from losscli.losses.spec import Convention
from losscli.losses.specs.explicit_negatives import CONTRASTIVE
from losscli.losses.streams import STREAM_DISTANCES, StreamRows
from losscli.losses.sweeps import (
    Limits,
    active_share,
    block_values,
    flag,
    kinks,
    listed,
    no_limits,
)
from losscli.losses.variants import TERM_CODES, eps_args, single_pair_zero
from losscli.losses.vectors import DISTANCE_KINDS, embedding_gradients, to_unit
from losscli.model import Inputs, Result, Threshold


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, *, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """contrastive per example: the mean over its 1 + K pairs of 1/2 d(a, p)^2 and
    1/2 [m - d(a, n_k)]+^2 (Hadsell, Chopra, LeCun 2006, Eq. 4).

    A convention changes the squares, the 1/2 factors, the eps, the normalization and how the
    pairs are averaged.
    """
    batch = embedding_batch(inputs)
    if not is_lazy(batch.batch, batch.k + 1, grad):  # by blocks nothing B x (1 + K) is held
        check_embedding_breakdown(batch, batch.k + 1, CONTRASTIVE.name, grad)
    warnings: list[str] = []
    check_magnitudes(batch, warnings)
    unit = params["distance"] == "cosine" or (convention is not None and convention.normalize)
    original = batch
    if unit:
        batch = to_unit(batch, warnings, "distance")
    B, K = batch.batch, batch.k
    kind = DISTANCE_KINDS[params["distance"]]
    margin = float(params["margin"])
    eps, eps_mode = eps_args(convention)
    half = True if convention is None else convention.half
    squared = True if convention is None else convention.squared
    per_example = TERM_CODES[term_reduction(convention, reduction)]
    work = batch.work()
    split = reduction == "mean-nonzero-split"

    def rows(start: int, stop: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        n = stop - start
        dist = np.empty((n, K + 1))
        hinge = np.empty_like(dist)
        term = np.empty_like(dist)
        loss = np.empty(n)
        vectors = (batch.anchor[start:stop], batch.positive[start:stop],
                   example_rows(batch.negatives, start, stop))
        if convention is None:
            _jit.run(kern.contrastive, work, *vectors, margin, kind, dist, hinge, term, loss)
        else:
            _jit.run(kern.contrastive_variant, work, *vectors, margin, kind, eps, eps_mode,
                     half, squared, per_example, dist, hinge, term, loss)
        kind_col = np.empty((n, K + 1), dtype=object)
        kind_col[:, 0] = "similar"
        kind_col[:, 1:] = "dissimilar"
        examples = {"loss": loss}
        if split:
            # PML's split mean over the batch from each example's own terms (the same bits
            # whole or by blocks): its similar term, its dissimilar terms > 0 summed, counted
            examples.update(similar=term[:, 0].copy(), **active_parts(term[:, 1:]))
        return examples, {"kind": kind_col, "distance": dist, "hinge": hinge, "term": term,
                          "active": term > 0}

    examples, terms = by_rows(B, ("positive",) + ("negative",) * K, (0,) + tuple(range(K)),
                              rows, grad)
    loss = examples["loss"]
    zeroed = single_pair_zero(convention, B, K, warnings, loss)
    nonfinite_warning(loss, warnings)
    if split:
        value: float | list[float] = 0.0 if zeroed else split_mean_nonzero(examples)
    else:
        value = reduce(loss, reduction)
    gradients = None
    if grad:
        ga = np.empty((B, batch.dim))
        gp = np.empty_like(ga)
        gn = np.empty((B, K, batch.dim))
        columns = terms.columns
        _jit.run(kern.contrastive_grad, work, batch.anchor, batch.positive,
                 batch.negatives, margin, kind, eps, eps_mode, half, squared, per_example,
                 columns["distance"], columns["hinge"], columns["term"], ga, gp, gn)
        single_pair_zero(convention, B, K, [], ga, gp, gn)
        gradients = embedding_gradients(original, unit, ga, gp, gn)
    return Result(
        loss=CONTRASTIVE.name, params=dict(params), reduction=reduction, per_example=loss,
        value=value, shape=shape_dict(B, K, batch.dim), terms=terms,
        warnings=tuple(warnings), gradients=gradients,
    )


def split_mean_nonzero(examples: dict[str, np.ndarray]) -> float:
    """PML's split AvgNonZeroReducer: the mean of the similar terms > 0 plus the mean of the
    dissimilar terms > 0 (each 0 when none is), the latter from each example's sum and count
    of them, so that blocks of examples give the whole batch's bits."""
    return mean_nonzero(examples["similar"]) + mean_of_active(examples)


def stream(params: dict[str, Any]) -> Callable[..., int] | None:
    """The loss-only stream kernel for the euclidean and squared distances (losses/streams.py);
    it returns the number of active dissimilar terms."""
    if params["distance"] not in STREAM_DISTANCES:
        return None
    return partial(_stream, float(params["margin"]), STREAM_DISTANCES[params["distance"]])


def _stream(margin: float, kind: int, rows: StreamRows, loss: np.ndarray, flags: np.ndarray,
            warnings: list[str]) -> int:
    active = np.zeros(rows.batch, dtype=np.int64)
    _jit.run(sk.contrastive_loss, rows.work, rows.A, rows.ia, rows.P, rows.ip, rows.N, rows.n0,
             rows.K, margin, kind, rows.check, loss, active, flags, parallel=rows.parallel)
    return int(active.sum())



# ---------------------------------------------------------------- sweep's limits


def sweep_limits(param: str, values: np.ndarray, results: list[Result]) -> Limits:
    """Piecewise quadratic in the margin (linear without the squares, --like): a dissimilar
    term turns on where m crosses its distance."""
    if param != "margin":
        return no_limits()
    first = results[0]
    columns, limits = no_limits()
    found = kinks(block_values(first, lambda cols: cols["distance"][:, 1:]),
                  float(values.min()), float(values.max()))
    limits["kinks"] = found
    shape = "quadratic" if flag(first, "squared", True) else "linear"
    limits["notes"].append(f"piecewise {shape} in the margin: a dissimilar term turns on "
                           f"where m crosses its d_an; kinks in range: {listed(found)}")
    columns["active_share"] = active_share(results, "term", first=1)
    return columns, limits


def active_thresholds(params: dict[str, Any], records: list[dict[str, Any]],
                      ) -> list[Threshold]:
    """A dissimilar pair's term [m - d]+ is active below the margin."""
    return [Threshold(params["margin"], "margin m", "negative")]
