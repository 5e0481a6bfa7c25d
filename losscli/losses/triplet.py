"""The triplet margin loss: [d(a, p) - d(a, n_k) + m]+ per negative, reduced over K.

Library conventions (`--like`) change the eps in the distance, the normalization, the soft
term's margin (PML) and the reduction (triplet_variant).
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
    REGIME_NAMES,
    check_embedding_breakdown,
    nonfinite_warning,
    reduce,
    shape_dict,
)
from losscli.losses.roles import check_magnitudes, embedding_batch
from losscli.losses.spec import Convention
from losscli.losses.specs.explicit_negatives import TRIPLET
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
from losscli.losses.thresholds import relative_to_d_ap
from losscli.losses.variants import TERM_CODES, eps_args
from losscli.losses.vectors import DISTANCE_KINDS, embedding_gradients, to_unit
from losscli.model import Inputs, Result, Threshold


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, *, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """triplet per example: the terms [d(a, p) - d(a, n_k) + m]+ reduced over k (mean, sum,
    max, or the mean of the active terms); soft: softplus(d(a, p) - d(a, n_k)); swap:
    d(a, n_k) -> min(d(a, n_k), d(p, n_k)).
    """
    batch = embedding_batch(inputs)
    if not is_lazy(batch.batch, batch.k, grad):
        check_embedding_breakdown(batch, batch.k, TRIPLET.name, grad)
    warnings: list[str] = []
    check_magnitudes(batch, warnings)
    params = dict(params)
    unit = params["distance"] == "cosine" or (convention is not None and convention.normalize)
    original = batch
    if unit:
        batch = to_unit(batch, warnings, "distance")
    if convention is not None:
        params["negatives_reduction"] = term_reduction(convention, reduction)
    B, K = batch.batch, batch.k
    kind = DISTANCE_KINDS[params["distance"]]
    margin = float(params["margin"])
    swap, soft = bool(params["swap"]), bool(params["soft"])
    soft_margin = soft and convention is not None and convention.soft_margin
    reduce_by = TERM_CODES[params["negatives_reduction"]]
    eps, eps_mode = eps_args(convention)
    work = batch.work() * (2 if swap else 1)

    def rows(start: int, stop: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n = stop - start
        d_ap = np.empty(n)
        d_an = np.empty((n, K))
        violation = np.empty_like(d_an)
        term = np.empty_like(d_an)
        regimes = np.empty((n, K), dtype=np.int64)
        loss = np.empty(n)
        vectors = (batch.anchor[start:stop], batch.positive[start:stop],
                   example_rows(batch.negatives, start, stop))
        if convention is None:
            _jit.run(kern.triplet, work, *vectors, margin, kind, swap, soft, reduce_by, d_ap,
                     d_an, violation, term, regimes, loss)
        else:
            _jit.run(kern.triplet_variant, work, *vectors, margin, kind, swap, soft,
                     soft_margin, reduce_by, eps, eps_mode, d_ap, d_an, violation, term,
                     regimes, loss)
        columns = {"d_ap": np.repeat(d_ap[:, None], K, axis=1), "d_an": d_an,
                   "violation": violation, "term": term, "regime": REGIME_NAMES[regimes]}
        examples = {"loss": loss, "d_ap": d_ap}
        if nonzero:
            examples.update(active_parts(term))
        return examples, columns

    nonzero = reduction == "mean-nonzero"  # PML's AvgNonZeroReducer over every term
    examples, terms = by_rows(B, ("negative",) * K, tuple(range(K)), rows, grad)
    loss = examples["loss"]
    nonfinite_warning(loss, warnings)
    value = mean_of_active(examples) if nonzero else reduce(loss, reduction)
    gradients = None
    if grad:
        ga = np.empty((B, batch.dim))
        gp = np.empty_like(ga)
        gn = np.empty((B, K, batch.dim))
        columns = terms.columns
        _jit.run(kern.triplet_grad, work, batch.anchor, batch.positive, batch.negatives,
                 margin, kind, swap, soft, soft_margin, reduce_by, eps, eps_mode,
                 examples["d_ap"], columns["violation"], columns["term"], ga, gp, gn)
        gradients = embedding_gradients(original, unit, ga, gp, gn)
    return Result(
        loss=TRIPLET.name, params=params, reduction=reduction, per_example=loss,
        value=value, shape=shape_dict(B, K, batch.dim), terms=terms,
        warnings=tuple(warnings), gradients=gradients,
    )


def stream(params: dict[str, Any]) -> Callable[..., int] | None:
    """The loss-only stream kernel for the euclidean and squared distances (losses/streams.py);
    it returns the number of active terms."""
    if params["distance"] not in STREAM_DISTANCES:
        return None
    return partial(_stream, params)


def _stream(params: dict[str, Any], rows: StreamRows, loss: np.ndarray, flags: np.ndarray,
            warnings: list[str]) -> int:
    swap = bool(params["swap"])
    active = np.zeros(rows.batch, dtype=np.int64)
    _jit.run(sk.triplet_loss, rows.work * (2 if swap else 1), rows.A, rows.ia, rows.P, rows.ip,
             rows.N, rows.n0, rows.K, float(params["margin"]),
             STREAM_DISTANCES[params["distance"]], swap, bool(params["soft"]),
             TERM_CODES[params["negatives_reduction"]], rows.check, loss, active,
             flags, parallel=rows.parallel)
    return int(active.sum())



# ---------------------------------------------------------------- sweep's limits


def sweep_limits(param: str, values: np.ndarray, results: list[Result]) -> Limits:
    """Piecewise linear in the margin, with a kink where m crosses a d_an - d_ap (hinge);
    smooth (or constant) under --soft."""
    if param != "margin":
        return no_limits()
    first = results[0]
    columns, limits = no_limits()
    if first.params.get("soft"):
        limits["notes"].append("soft: softplus(d_ap - d_an + m), smooth in the margin"
                               if flag(first, "soft_margin") else
                               "soft: the margin is unused, the loss is constant in it")
    else:
        found = kinks(block_values(first, lambda cols: cols["d_an"] - cols["d_ap"]),
                      float(values.min()), float(values.max()))
        limits["kinks"] = found
        limits["notes"].append("piecewise linear in the margin: a term turns on where m "
                               f"crosses d_an - d_ap; kinks in range: {listed(found)}")
    columns["active_share"] = active_share(results, "term")
    return columns, limits


def active_thresholds(params: dict[str, Any], records: list[dict[str, Any]],
                      ) -> list[Threshold]:
    """A negative's term is active below d_ap + m (its own anchor's d_ap: the median stands
    in); the soft form's terms are all active, its margin unused: no line."""
    return [] if params["soft"] else relative_to_d_ap(records, params["margin"])
