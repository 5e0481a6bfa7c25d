"""The explorer's engines: sweep one parameter, summarize a batch (stats), compare the
libraries' conventions on one input.

Each is a caller of `api.evaluate`: the losses are computed there and only there. What this
module adds is bookkeeping over Results: the known limits and kinks of a sweep (read off the
breakdown columns of one evaluation), quantiles and histograms, one row per convention.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli import api
from losscli.conventions import compared_for
from losscli.errors import LossCliError, UsageError
from losscli.io import inputs_from_arrays
from losscli.losses import get_spec
from losscli.model import Inputs, Result

QUANTILES = (("p5", 5), ("p25", 25), ("p50", 50), ("p75", 75), ("p95", 95))
MAX_STEPS = 10_000


# --------------------------------------------------------------------------------- sweep
@dataclass(frozen=True)
class Sweep:
    """One loss evaluated over a range of one parameter."""

    loss: str
    param: str
    values: np.ndarray  # (N,) the parameter's values
    losses: np.ndarray  # (N,) the reduced loss at each value
    per_example: np.ndarray  # (N, B)
    columns: dict[str, np.ndarray]  # extra per-step columns (bounds, active share)
    limits: dict[str, Any]  # known limits and kinks, with a sentence each in "notes"
    params: dict[str, Any]
    reduction: str
    convention: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()


def sweep_values(start: float, stop: float, steps: int, log: bool = False) -> np.ndarray:
    """`steps` values from start to stop inclusive, evenly spaced or (log) geometric."""
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise UsageError(f"--from {start} --to {stop}", "give finite numbers")
    if not 2 <= steps <= MAX_STEPS:
        raise UsageError(f"--steps got {steps}", f"give 2 to {MAX_STEPS} steps")
    if log:
        if not (start > 0 and stop > 0):
            raise UsageError(f"--log needs a positive range, got {start} to {stop}",
                             "give --from and --to > 0, or drop --log")
        return np.geomspace(start, stop, steps)
    return np.linspace(start, stop, steps)


def _as_inputs(name: str, inputs: Inputs | Mapping[str, Any]) -> Inputs:
    return inputs if isinstance(inputs, Inputs) else inputs_from_arrays(inputs, get_spec(name))


def sweep(name: str, inputs: Inputs | Mapping[str, Any], param: str, values: np.ndarray, *,
          reduction: str | None = None, like: str | None = None, **params: Any) -> Sweep:
    """Evaluate `name` at each value of `param` (the other parameters fixed)."""
    spec = get_spec(name)
    # Any numeric parameter: the four (temperature, margins, label smoothing) and
    # those of LOSSES-MORE.md (scale, bias, beta, tau_plus, ...).
    able = [p.name for p in spec.params if p.kind == "float"]
    param = param.replace("-", "_")
    if param not in able:
        raise UsageError(f"--param {param} cannot be swept for {spec.name}",
                         f"choose {' or '.join(a.replace('_', '-') for a in able)}" if able
                         else "it has no numeric parameter")
    if params.get(param) is not None:
        raise UsageError(f"--{param.replace('_', '-')} and --param {param} both given",
                         "drop one: the sweep sets it")
    if reduction == "none":
        raise UsageError("a sweep reduces over the batch", "use --reduction mean or sum "
                         "(each row carries the per-example losses too)")
    inputs = _as_inputs(spec.name, inputs)
    results = [api.evaluate(spec.name, inputs, reduction=reduction, like=like,
                            **{**params, param: float(v)}) for v in values]
    first = results[0]
    if isinstance(first.value, list):
        raise UsageError(f"{first.reduction} gives one value per example",
                         "give --reduction mean or sum for a sweep")
    losses = np.array([r.value for r in results], dtype=float)
    per_example = np.stack([r.per_example for r in results])
    columns, limits = _limits(spec.name, param, np.asarray(values, dtype=float), results)
    warnings = tuple(dict.fromkeys(w for r in results for w in r.warnings))
    base = dict(first.params)
    base.pop(param, None)
    return Sweep(spec.name, param, np.asarray(values, dtype=float), losses, per_example,
                 columns, limits, base, first.reduction, first.convention, warnings)


def _reduced(per_example: np.ndarray, reduction: str) -> float:
    return float(per_example.sum() if reduction == "sum" else per_example.mean())


def _kinks(candidates: np.ndarray, lo: float, hi: float) -> list[float]:
    inside = np.unique(candidates[np.isfinite(candidates)])
    return [float(v) for v in inside if lo <= v <= hi]


def _limits(loss: str, param: str, values: np.ndarray, results: list[Result]
            ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Per-step reference columns and the known limits of this loss in this parameter."""
    first = results[0]
    cols = first.terms.columns
    lo, hi = float(values.min()), float(values.max())
    reduction = first.reduction
    columns: dict[str, np.ndarray] = {}
    limits: dict[str, Any] = {"notes": []}
    notes: list[str] = limits["notes"]
    explicit = first.convention is None or first.convention["flags"].get(
        "negatives_form", "explicit") == "explicit"
    if loss == "infonce" and param == "temperature" and explicit:
        sim = cols["similarity"]
        K = sim.shape[1] - 1
        gap = np.zeros(sim.shape[0])
        if K:
            gap = np.maximum(sim[:, 1:].max(axis=1) - sim[:, 0], 0.0)
        g = _reduced(gap, reduction)
        large = _reduced(np.full(sim.shape[0], math.log(K + 1)), reduction)
        columns["lower_bound"] = g / values  # LSE(v) - v_0 >= max_j v_j - v_0
        columns["upper_bound"] = g / values + large  # ... <= that + log(K + 1)
        limits.update({"large_temperature": large, "small_temperature_gap": g})
        notes.append(f"as t grows the loss tends to log(K + 1) = {large:.6g}"
                     + (" (summed over the batch)" if reduction == "sum" else ""))
        notes.append(f"as t shrinks it tends to (max s_n - s_p)+ / t = {g:.6g} / t; "
                     "lower_bound <= loss <= upper_bound = lower_bound + log(K + 1)")
    elif loss in ("triplet", "quadruplet") and param == "margin":
        if loss == "triplet" and first.params.get("soft"):
            smooth = first.convention is not None and first.convention["flags"].get(
                "soft_margin")
            notes.append("soft: softplus(d_ap - d_an + m), smooth in the margin" if smooth
                         else "soft: the margin is unused, the loss is constant in it")
        else:
            d_ap = cols["d_ap"]
            kinks = _kinks((cols["d_an"] - d_ap).ravel(), lo, hi)
            limits["kinks"] = kinks
            notes.append("piecewise linear in the margin: a term turns on where m crosses "
                         f"d_an - d_ap; kinks in range: {_list(kinks)}")
        columns["active_share"] = np.array(
            [float((r.terms.columns["triplet_term" if loss == "quadruplet" else "term"] > 0)
                   .mean()) for r in results])
    elif loss == "quadruplet" and param == "margin2":
        kinks = _kinks((cols["d_nn"] - cols["d_ap"]).ravel(), lo, hi)
        limits["kinks"] = kinks
        notes.append("piecewise linear in margin2: a pair term turns on where m2 crosses "
                     f"d_nn - d_ap; kinks in range: {_list(kinks)}")
        columns["active_share"] = np.array(
            [float((r.terms.columns["pair_term"] > 0).mean()) for r in results])
    elif loss == "contrastive" and param == "margin":
        kinks = _kinks(cols["distance"][:, 1:].ravel(), lo, hi)
        limits["kinks"] = kinks
        squared = first.convention is None or first.convention["flags"].get("squared", True)
        shape = "quadratic" if squared else "linear"
        notes.append(f"piecewise {shape} in the margin: a dissimilar term turns on where m "
                     f"crosses its d_an; kinks in range: {_list(kinks)}")
        columns["active_share"] = np.array(
            [float((r.terms.columns["term"][:, 1:] > 0).mean()) for r in results])
    elif loss == "softmax-ce" and param == "label_smoothing":
        notes.append("linear in e: the target (1 - e) q + e / C moves the loss in a straight "
                     "line from plain cross entropy (e = 0) to the uniform target's (e = 1)")
    return columns, limits


def _list(values: list[float], shown: int = 8) -> str:
    if not values:
        return "none"
    text = ", ".join(f"{v:.6g}" for v in values[:shown])
    return text + (f", ... ({len(values)} in all)" if len(values) > shown else "")


# --------------------------------------------------------------------------------- stats
@dataclass(frozen=True)
class Stats:
    """A batch summarized: per-example losses, regimes, active share, distributions."""

    loss: str
    params: dict[str, Any]
    reduction: str
    value: Any
    records: list[dict[str, Any]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    convention: dict[str, Any] | None = None


def summary(values: np.ndarray) -> dict[str, Any]:
    """count, mean, std (ddof 0), min, p5 ... p95, max of the finite values."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    out: dict[str, Any] = {"count": int(v.size)}
    if not v.size:
        return out
    out.update({"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min())})
    for name, q in QUANTILES:
        out[name] = float(np.percentile(v, q))
    out["max"] = float(v.max())
    return out


def histogram(series: dict[str, np.ndarray], bins: int) -> dict[str, Any]:
    """Counts of each series over shared bin edges (so positives and negatives compare)."""
    finite = [np.asarray(s, dtype=float).ravel() for s in series.values()]
    finite = [s[np.isfinite(s)] for s in finite]
    joined = np.concatenate(finite) if finite else np.zeros(0)
    if not joined.size:
        return {"edges": [], "counts": {k: [] for k in series}}
    lo, hi = float(joined.min()), float(joined.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    counts = {k: np.histogram(s, bins=edges)[0].tolist() for k, s in zip(series, finite,
                                                                         strict=True)}
    return {"edges": edges.tolist(), "counts": counts}


def _positive_negative(result: Result) -> tuple[str, np.ndarray, np.ndarray] | None:
    """The positive and negative distances (or similarities) of the breakdown."""
    cols, role = result.terms.columns, np.array(result.terms.role)
    if "d_ap" in cols and "d_an" in cols:
        return "distance", cols["d_ap"][:, 0], cols["d_an"]
    if "distance" in cols:
        return "distance", cols["distance"][:, role == "positive"], \
            cols["distance"][:, role == "negative"]
    if "similarity" in cols:
        sim = cols["similarity"]
        if "target" in cols:  # in-batch candidates: the own positive is the target
            return "similarity", sim[cols["target"]], sim[~cols["target"]]
        return "similarity", sim[:, role == "positive"], sim[:, role == "negative"]
    return None


def stats(name: str, inputs: Inputs | Mapping[str, Any], *, bins: int = 20,
          reduction: str | None = None, like: str | None = None, **params: Any) -> Stats:
    """Summarize one evaluation of a batch (LOSSES.md regimes; CONTRACT.md's summary)."""
    if not 1 <= bins <= 200:
        raise UsageError(f"--bins got {bins}", "give 1 to 200 bins")
    result = api.evaluate(name, _as_inputs(name, inputs), reduction=reduction, like=like,
                          **params)
    cols = result.terms.columns
    records: list[dict[str, Any]] = [{"stat": "loss", **summary(result.per_example)}]
    if "regime" in cols:
        regime = cols["regime"]
        counts = {r: int((regime == r).sum()) for r in ("hard", "semi-hard", "easy")}
        records.append({"stat": "regimes", **counts, "terms": int(regime.size)})
    for column in ("term", "triplet_term", "pair_term"):
        if column in cols:
            terms = cols[column]
            if "kind" in cols:  # contrastive: the dissimilar pairs are the ones that switch
                terms = terms[:, 1:]
            active = int((terms > 0).sum())
            records.append({"stat": f"active {column}", "active": active,
                            "terms": int(terms.size),
                            "share": active / terms.size if terms.size else 0.0})
    if "false_negative" in cols:
        flagged = int(cols["false_negative"].sum())
        records.append({"stat": "false negatives", "flagged": flagged,
                        "examples": int(cols["false_negative"].any(axis=1).sum()),
                        "rule": "s(a, n_k) >= s(a, p)"})
    if "probability" in cols and "target_mass" in cols:
        prob, mass = cols["probability"], cols["target_mass"]
        hit = prob.argmax(axis=1) == mass.argmax(axis=1)
        records.append({"stat": "accuracy", "correct": int(hit.sum()), "examples": len(hit),
                        "share": float(hit.mean())})
        records.append({"stat": "p_target", **summary((prob * mass).sum(axis=1))})
    pn = _positive_negative(result)
    if pn is not None:
        what, pos, neg = pn
        short = "d" if what == "distance" else "s"
        hist = histogram({f"{short}_ap": pos, f"{short}_an": neg}, bins)
        records.append({"stat": f"{short}_ap", "quantity": f"positive {what}", **summary(pos)})
        records.append({"stat": f"{short}_an", "quantity": f"negative {what}", **summary(neg)})
        records.append({"stat": "histogram", "quantity": what, **hist})
        if "d_nn" in cols:
            records.append({"stat": "d_nn", "quantity": "negative-pair distance",
                            **summary(cols["d_nn"])})
    return Stats(result.loss, dict(result.params), result.reduction, result.value, records,
                 result.warnings, result.convention)


# ------------------------------------------------------------------------------- compare
@dataclass(frozen=True)
class Comparison:
    """One convention's evaluation of the input, or why it has none."""

    convention: str
    defined: bool
    api: str
    value: Any = None
    per_example: list[float] = field(default_factory=list)
    reduction: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    warnings: tuple[str, ...] = ()


def compare(name: str, inputs: Inputs | Mapping[str, Any], *, reduction: str | None = None,
            **params: Any) -> list[Comparison]:
    """losscli's own definition first, then each library in LIBRARIES order."""
    spec = get_spec(name)
    inputs = _as_inputs(spec.name, inputs)
    own = api.evaluate(spec.name, inputs, reduction=reduction, **params)
    rows = [Comparison("losscli", True, f"losscli {spec.name}", own.value,
                       own.per_example.tolist(), own.reduction, dict(own.params),
                       warnings=own.warnings)]
    for lib in compared_for(spec):
        try:
            r = api.evaluate(spec.name, inputs, reduction=reduction, like=lib, **params)
        except UsageError as exc:
            conv = spec.conventions.get(lib)
            api_name = getattr(conv, "api", "-")
            rows.append(Comparison(lib, False, api_name, reason=exc.message()))
            continue
        except LossCliError:
            raise
        conv = r.convention or {}
        rows.append(Comparison(lib, True, conv.get("api", lib), r.value,
                               r.per_example.tolist(), r.reduction, dict(r.params),
                               conv.get("changed", {}), conv.get("flags", {}),
                               warnings=r.warnings))
    return rows
