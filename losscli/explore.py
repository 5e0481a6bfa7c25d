"""The explorer's engines: sweep one parameter, summarize a batch (stats), compare the
libraries' conventions on one input.

Each takes a LossCall and evaluates it through losses.run: the losses are computed there
and only there. What this module adds is bookkeeping over Results: the known limits and kinks
of a sweep (the loss module's `sweep_limits`), quantiles and histograms, one row per
convention.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from losscli.errors import SURFACE, BadData, UsageError
from losscli.losses import Convention, module_of
from losscli.losses.call import LossCall
from losscli.losses.conventions import compared_for
from losscli.losses.histograms import add_counts, bin_width, edges
from losscli.losses.run import run
from losscli.losses.spec import Param, plain_number
from losscli.losses.sweeps import no_limits
from losscli.model import (
    Comparison,
    Inputs,
    LazyTerms,
    Result,
    Stats,
    Sweep,
    Terms,
    scan_blocks,
)

QUANTILES = (("p5", 5), ("p25", 25), ("p50", 50), ("p75", 75), ("p95", 95))
MAX_STEPS = 10_000


# --------------------------------------------------------------------------------- sweep
def sweep_values(start: float, stop: float, steps: int, log: bool = False) -> np.ndarray:
    """`steps` values from start to stop inclusive, evenly spaced or (log) geometric, in
    either direction (start > stop runs descending); start == stop is a usage error."""
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise UsageError(f"--from {start} --to {stop}", "give finite numbers")
    if start == stop:
        # The same point `steps` times is no sweep; a descending range (start > stop) is one.
        raise UsageError(f"--from and --to are equal ({start})",
                         "give two different values, or use compute for one value")
    if not 2 <= steps <= MAX_STEPS:
        raise UsageError(f"--steps got {steps}", f"give 2 to {MAX_STEPS} steps")
    if log:
        if not (start > 0 and stop > 0):
            raise UsageError(f"--log needs a positive range, got {start} to {stop}",
                             "give --from and --to > 0, or drop --log")
        return np.geomspace(start, stop, steps)
    return np.linspace(start, stop, steps)


def sweep(call: LossCall, inputs: Inputs, param: str, values: np.ndarray) -> Sweep:
    """Evaluate the call at each value of `param` (the other parameters fixed)."""
    spec = call.spec
    # Any numeric parameter: the four (temperature, margins, label smoothing) and
    # those of LOSSES-MORE.md (scale, bias, beta, tau_plus, ...).
    able = [p.name for p in spec.params if p.kind == "float"]
    param = param.replace("-", "_")
    if param not in able:
        raise UsageError(f"--param {param} cannot be swept for {spec.name}",
                         f"choose {' or '.join(a.replace('_', '-') for a in able)}" if able
                         else "it has no numeric parameter")
    if dict(call.given).get(param) is not None:
        raise UsageError(f"--{param.replace('_', '-')} and --param {param} both given",
                         "drop one: the sweep sets it")
    for name in spec.tied(param):  # another form of the swept one: it would be set twice
        if dict(call.given).get(name) is not None:
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} and --param {param} both given",
                             f"drop {option}: it is another form of {param}, which the sweep "
                             "sets")
    if call.requested == "none":
        raise UsageError("a sweep reduces over the batch", "use --reduction mean or sum "
                         "(each row carries the per-example losses too)")
    try:
        values = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise UsageError(f"the values to sweep are {values!r}",
                         f"give numbers for {param}") from None
    if values.size == 0:
        raise UsageError("no values to sweep", f"give at least one value of {param}")
    _check_values(spec.param(param), values)
    results = [run(call.with_params(**{param: float(v)}), inputs) for v in values]
    first = results[0]
    if isinstance(first.value, list):
        raise UsageError(f"{first.reduction} gives one value per example",
                         "give --reduction mean or sum for a sweep")
    losses = np.array([r.value for r in results], dtype=float)
    per_example = np.stack([r.per_example for r in results])
    limits = getattr(module_of(spec), "sweep_limits", None)
    columns, known = no_limits() if limits is None else limits(param, values, results)
    # The swept parameter was not given: a warning that it does not enter the value (a
    # margin under --soft) is the limits' note to say ("the loss is constant in it").
    setting = set(call.with_params(**{param: float(values[0])}).unused_given) - set(
        call.unused_given)
    warnings = tuple(dict.fromkeys(w for r in results for w in r.warnings
                                   if w not in setting))
    # The parameters held fixed: not the swept one, nor those that are another form of it
    # (clip's scale = 1/temperature) or default to it (supcon's base_temperature = t): they
    # move with it and would show their first value.
    base = {k: v for k, v in first.params.items() if k != param and k not in spec.tied(param)
            and all(np.array_equal(r.params.get(k), v) for r in results)}
    return Sweep(spec.name, param, values, losses, per_example, columns, known, base,
                 first.reduction, first.convention, warnings)


def _check_values(param: Param, values: np.ndarray) -> None:
    """On the command line, each value to sweep checked before the first run, the error
    naming the option it came from: the first and last are --from and --to (the parameter's
    own option, --temperature, was never given). The ends first: the values a parameter
    takes are an interval, so a sweep that leaves it has an end outside it, which the user
    typed. A library caller gave the values: the parameter's own error is in its words."""
    if SURFACE.get() != "cli":
        return
    last = values.size - 1
    for index in dict.fromkeys([0, last, *range(1, last)]):
        value = values[index].item()
        try:
            param.validate(value)
        except UsageError as exc:
            source, which = (("--from", "the first") if index == 0 else
                             ("--to", "the last") if index == last else (f"step {index}", "a"))
            raise UsageError(f"{source} got {value!r}, {which} {param.name} of the sweep",
                             exc.fix) from None


# --------------------------------------------------------------------------------- stats
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
    bounds = edges(lo, hi, bins)
    counts = {k: np.histogram(s, bins=bounds)[0].tolist() for k, s in zip(series, finite,
                                                                         strict=True)}
    return {"edges": bounds.tolist(), "counts": counts}


def positive_negative(result: Result, rows: Sequence[int],
                      ) -> tuple[str, np.ndarray, np.ndarray] | None:
    """The positive and negative distances (or similarities) of the examples `rows`, read a
    row at a time (an in-batch loss's whole breakdown does not fit in memory: MNRL's at
    B = 8,192 took 6 GB for a 40-row picture)."""
    terms = result.terms
    blocks = [terms.block(r, r + 1) for r in rows]
    cols = {name: np.concatenate([b[name] for b in blocks]) for name in terms.names} \
        if blocks else {name: np.empty((0, terms.count)) for name in terms.names}
    return _positive_negative(cols, np.array(terms.role))


def _positive_negative(cols: dict[str, np.ndarray], role: np.ndarray,
                       ) -> tuple[str, np.ndarray, np.ndarray] | None:
    """("distance" or "similarity", the positives, the negatives) of a block of columns."""
    if "d_ap" in cols and "d_an" in cols:
        return "distance", cols["d_ap"][:, 0], cols["d_an"]
    if "distance" in cols:
        positive = cols["distance"][:, role == "positive"]
        if not positive.size and "d_ap" in cols:  # each term carries its example's d_ap
            positive = cols["d_ap"][:, :1]
        return "distance", positive, cols["distance"][:, role == "negative"]
    if "similarity" in cols:
        sim = cols["similarity"]
        return "similarity", sim[:, role == "positive"], sim[:, role == "negative"]
    return None


def stats(call: LossCall, inputs: Inputs, bins: int = 20) -> Stats:
    """Summarize one evaluation of a batch (LOSSES.md regimes; CONTRACT.md's summary)."""
    if isinstance(bins, bool) or not isinstance(plain_number(bins), int) \
            or not 1 <= bins <= 200:
        raise UsageError(f"--bins got {bins!r}", "give a whole number of bins, 1 to 200")
    bins = int(bins)
    result = run(call, inputs)
    pairs = getattr(result.terms, "pairs", None)
    if pairs is not None:  # an in-batch loss: its breakdown is read by blocks, never whole
        notes: list[str] = []
        records = _in_batch_records(result, pairs, bins, call.spec.active_columns, notes)
        return Stats(result.loss, dict(result.params), result.reduction, result.value,
                     records, result.warnings + tuple(notes),
                     result.convention)
    notes: list[str] = []
    records = _explicit_records(result, bins, notes)
    thresholds = getattr(module_of(call.spec), "active_thresholds", None)
    return Stats(result.loss, dict(result.params), result.reduction, result.value, records,
                 result.warnings + tuple(notes), result.convention,
                 tuple(thresholds(result.params, records)) if thresholds else ())


ACTIVE_COLUMNS = ("term", "triplet_term", "pair_term", "pos_term", "neg_term")
REGIMES = ("hard", "semi-hard", "easy")


def _explicit_records(result: Result, bins: int, notes: list[str]) -> list[dict[str, Any]]:
    """stats of a breakdown with one row of terms per example, read a block of examples at
    a time (an explicit loss's over a shared bank of K = B = 8,192 negatives is 67 M terms):
    the example losses, regimes, active terms, flagged false negatives, a classifier's
    accuracy, then the positive and negative distances (or similarities) on one scale, held
    and sorted up to EXACT_PAIRS terms, above it streamed as an in-batch loss's are."""
    terms = result.terms
    role = np.array(terms.role)
    names = set(terms.names)
    held = result.batch * terms.count <= EXACT_PAIRS
    regimes = dict.fromkeys(REGIMES, 0)
    regime_terms = 0
    active = {c: [0, 0] for c in ACTIVE_COLUMNS if c in names}
    flagged = flagged_examples = 0
    hits: list[np.ndarray] = []
    p_target: list[np.ndarray] = []
    series: list[list[np.ndarray]] = [[], [], []]  # positives, negatives, d_nn
    what = None
    for _, _, cols in scan_blocks(terms, result.batch):
        if "regime" in cols:
            regime = cols["regime"]
            for r in REGIMES:
                regimes[r] += int((regime == r).sum())
            regime_terms += int(regime.size)
        for column, counts in active.items():
            values = cols[column]
            if "kind" in cols:  # contrastive: the dissimilar pairs are the ones that switch
                values = values[:, 1:]
            counts[0] += int((values > 0).sum())
            counts[1] += int(values.size)
        if "false_negative" in cols:
            flagged += int(cols["false_negative"].sum())
            flagged_examples += int(cols["false_negative"].any(axis=1).sum())
        if "probability" in cols and "target_mass" in cols:
            prob, mass = cols["probability"], cols["target_mass"]
            hits.append(prob.argmax(axis=1) == mass.argmax(axis=1))
            p_target.append((prob * mass).sum(axis=1))
        pn = _positive_negative(cols, role)
        if pn is not None:
            what = pn[0]
            if not held:
                continue
            series[0].append(np.ravel(pn[1]))
            series[1].append(np.ravel(pn[2]))
            if "d_nn" in cols:
                series[2].append(np.ravel(cols["d_nn"]))
    records: list[dict[str, Any]] = [{"stat": "loss", **summary(result.per_example)}]
    if "regime" in names:
        records.append({"stat": "regimes", **regimes, "terms": regime_terms})
    for column, (count, total) in active.items():
        records.append({"stat": f"active {column}", "active": count, "terms": total,
                        "share": count / total if total else 0.0})
    if "false_negative" in names:
        records.append(_false_negatives(flagged, flagged_examples))
    if hits:
        hit = np.concatenate(hits)
        records.append({"stat": "accuracy", "correct": int(hit.sum()), "examples": len(hit),
                        "share": float(hit.mean())})
        records.append({"stat": "p_target", **summary(np.concatenate(p_target))})
    if what is None:
        return records
    short = "d" if what == "distance" else "s"
    keys = (f"{short}_ap", f"{short}_an") + (("d_nn",) if "d_nn" in names else ())
    if held:
        values = [np.concatenate(v) for v in series[:len(keys)]]
        sums = [summary(v) for v in values]
        hist = histogram(dict(zip(keys[:2], values[:2], strict=True)), bins)
    else:
        sums, hist = _streamed_explicit(terms, result.batch, role, keys, bins)
        notes.append(f"{result.batch * terms.count:,} terms: their quantiles (p5 ... p95) are "
                     f"read from a histogram of {FINE_BINS:,} bins per --bins bin, within 1/"
                     f"{FINE_BINS * bins:,} of each one's range (count, mean, std, min, max "
                     "are exact)")
    records.append({"stat": keys[0], "quantity": f"positive {what}", **sums[0]})
    records.append({"stat": keys[1], "quantity": f"negative {what}", **sums[1]})
    records.append({"stat": "histogram", "quantity": what, **hist})
    if len(keys) == 3:
        records.append({"stat": "d_nn", "quantity": "negative-pair distance", **sums[2]})
    return records


def _streamed_explicit(terms: Terms | LazyTerms, batch: int, role: np.ndarray,
                       keys: tuple[str, ...], bins: int,
                       ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """summaries of the positives, the negatives (and d_nn) as _streamed gives them, and
    the positives' and negatives' histogram on one scale, a block of examples at a time."""
    def series() -> Iterator[tuple[np.ndarray, ...]]:
        for _, _, cols in scan_blocks(terms, batch):
            _, pos, neg = _positive_negative(cols, role)
            parts = (pos, neg, cols["d_nn"]) if len(keys) == 3 else (pos, neg)
            yield tuple(np.asarray(p, dtype=np.float64).ravel() for p in parts)

    sums, _ = _streamed(series, bins, keys)
    ends = [s for s in sums[:2] if s["count"]]
    if not ends:
        return sums, {"edges": [], "counts": {k: [] for k in keys[:2]}}
    lo, hi = min(s["min"] for s in ends), max(s["max"] for s in ends)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts = [np.zeros(bins, dtype=np.int64) for _ in range(2)]
    for parts in series():
        for k in range(2):
            add_counts(counts[k], parts[k], lo, hi)
    return sums, {"edges": edges(lo, hi, bins).tolist(),
                  "counts": {k: c.tolist() for k, c in zip(keys, counts, strict=False)}}


# Above this many similarities an in-batch loss's quantiles come from a fine histogram (its
# bins a 1/FINE_BINS of each distribution's range) instead of every value held and sorted.
EXACT_PAIRS = 2**22
FINE_BINS = 2**16


def _false_negatives(flagged: int, examples: int) -> dict[str, Any]:
    """The record of the terms flagged as possible false negatives, and of their examples."""
    return {"stat": "false negatives", "flagged": flagged, "examples": examples,
            "rule": "s(a, n_k) >= s(a, p)"}


def _in_batch_records(result: Result, pairs: Any, bins: int, active_columns: tuple[str, ...],
                      notes: list[str]) -> list[dict[str, Any]]:
    """stats of an in-batch loss: the example losses, the active terms of a margin loss (a
    block of examples at a time: LossSpec.active_columns; siglip's softplus terms are all
    > 0 and dcl's weighted ones never are, so theirs would say nothing), then the positive
    and the negative similarities, each pair of examples once (from the tiles of the
    similarity matrix), each summarized and binned on its own scale."""
    records: list[dict[str, Any]] = [{"stat": "loss", **summary(result.per_example)}]
    terms = result.terms
    if "term" in terms.names and "term" in active_columns:
        active = total = 0
        for _, _, columns in scan_blocks(terms, result.batch):
            active += int((columns["term"] > 0).sum())
            total += int(columns["term"].size)
        records.append({"stat": "active term", "active": active, "terms": total,
                        "share": active / total if total else 0.0})
    if "false_negative" in terms.names:  # MNRL: other examples' positives and negatives
        flagged = examples = 0
        for _, _, columns in scan_blocks(terms, result.batch):
            flags = columns["false_negative"]
            flagged += int(flags.sum())
            examples += int(flags.any(axis=1).sum())
        records.append(_false_negatives(flagged, examples))
    counts = [0, 0]
    for pos, neg in pairs():
        counts[0] += pos.size
        counts[1] += neg.size
    if sum(counts) <= EXACT_PAIRS:
        held: list[list[np.ndarray]] = [[], []]
        for pos, neg in pairs():
            held[0].append(pos)
            held[1].append(neg)
        values = [np.concatenate(h) if h else np.zeros(0) for h in held]
        sums = [summary(v) for v in values]
        hists = [histogram({name: v}, bins) for name, v in zip(("s_ap", "s_an"), values,
                                                                 strict=True)]
    else:
        sums, hists = _streamed(pairs, bins)
        notes.append(f"{sum(counts):,} similarities: their quantiles (p5 ... p95) are read "
                     f"from a histogram of {FINE_BINS:,} bins per --bins bin, within 1/"
                     f"{FINE_BINS * bins:,} of each one's range (count, mean, std, min, max "
                     "are exact)")
    for (name, what), summed in zip((("s_ap", "positive"), ("s_an", "negative")), sums,
                                    strict=True):
        records.append({"stat": name, "quantity": f"{what} similarity", **summed})
    for what, hist in zip(("positive", "negative"), hists, strict=True):
        records.append({"stat": "histogram", "quantity": f"{what} similarity", **hist})
    return records


def _streamed(pairs: Any, bins: int, names: tuple[str, ...] = ("s_ap", "s_an"),
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """summary and histogram of each series (`pairs()` yields a tuple of one array per name,
    the positive and negative similarities by default) in two passes over the tiles: exact
    count, mean, std, min and max (the mean and squares merged tile by tile), quantiles read
    from a FINE_BINS histogram of each one's own range."""
    count = len(names)
    n = [0] * count
    mean = [0.0] * count
    m2 = [0.0] * count
    lo = [math.inf] * count
    hi = [-math.inf] * count
    for parts in pairs():
        for k, v in enumerate(parts):
            v = v[np.isfinite(v)]
            if not v.size:
                continue
            m = float(v.mean())
            q = float(((v - m) ** 2).sum())
            total = n[k] + v.size
            delta = m - mean[k]
            mean[k] += delta * v.size / total
            m2[k] += q + delta * delta * n[k] * v.size / total
            n[k] = total
            lo[k] = min(lo[k], float(v.min()))
            hi[k] = max(hi[k], float(v.max()))
    fine = [np.zeros(FINE_BINS * bins, dtype=np.int64) for _ in range(count)]
    ranges = [(a, b) if a < b else (a - 0.5, b + 0.5) for a, b in zip(lo, hi, strict=True)]
    for parts in pairs():
        for k, v in enumerate(parts):
            if n[k]:
                add_counts(fine[k], v, *ranges[k], whole=sum(n))
    sums: list[dict[str, Any]] = []
    hists: list[dict[str, Any]] = []
    for k, name in enumerate(names):
        if not n[k]:
            sums.append({"count": 0})
            hists.append({"edges": [], "counts": {name: []}})
            continue
        a, b = ranges[k]
        cumulative = np.cumsum(fine[k])
        width = bin_width(a, b, fine[k].size)
        out: dict[str, Any] = {"count": n[k], "mean": mean[k],
                               "std": math.sqrt(m2[k] / n[k]), "min": lo[k]}
        def at_rank(j: int, k: int = k, a: float = a, width: float = width,
                    cumulative: np.ndarray = cumulative) -> float:
            """The j-th smallest value, placed within its fine bin."""
            b = int(np.searchsorted(cumulative, j, side="right"))
            before = int(cumulative[b - 1]) if b else 0
            inside = (j - before + 0.5) / int(fine[k][b])
            return min(hi[k], max(lo[k], a + (b + inside) * width))

        for label, q in QUANTILES:
            rank = q / 100 * (n[k] - 1)  # numpy's linear percentile, within a fine bin
            below = math.floor(rank)
            low = at_rank(below)
            high = at_rank(min(below + 1, n[k] - 1))
            out[label] = low + (rank - below) * (high - low)
        out["max"] = hi[k]
        sums.append(out)
        hists.append({"edges": edges(a, b, bins).tolist(),
                      "counts": {name: fine[k].reshape(bins, FINE_BINS).sum(axis=1).tolist()}})
    return sums, hists


# ------------------------------------------------------------------------------- compare
def compare(call: LossCall, inputs: Inputs) -> list[Comparison]:
    """losscli's own definition first, then each library in LIBRARIES order.

    A row whose convention cannot take the input says why in its row, the others still
    compute: a usage the library cannot express, or data it reads where losscli refuses
    them (class index -100, torch's default ignore_index). Only data that every row
    refuses is refused (the first row's error)."""
    spec = call.spec
    refusals: list[BadData] = []
    try:
        own = run(call, inputs)
        rows = [Comparison("losscli", True, f"losscli {spec.name}", own.value,
                           own.per_example.tolist(), own.reduction, dict(own.params),
                           warnings=own.warnings)]
        # a row keeps no breakdown: held while the next row is computed, the rows of an
        # explicit bank of K = B = 8,192 negatives peaked at 6.7 GB together
        del own
    except BadData as exc:
        refusals.append(exc)
        rows = [Comparison("losscli", False, f"losscli {spec.name}", reason=exc.message())]
    for lib in compared_for(spec):
        try:
            r = run(call.with_like(lib), inputs)
        except (UsageError, BadData) as exc:
            if isinstance(exc, BadData):
                refusals.append(exc)
            conv = spec.conventions.get(lib)
            api_name = conv.call({**call.params, **conv.params}) if isinstance(
                conv, Convention) else "-"
            rows.append(Comparison(lib, False, api_name, reason=exc.message()))
            continue
        conv = r.convention or {}
        rows.append(Comparison(lib, True, conv.get("api", lib), r.value,
                               r.per_example.tolist(), r.reduction, dict(r.params),
                               conv.get("changed", {}), conv.get("flags", {}),
                               warnings=r.warnings))
        del r
    if refusals and not any(r.defined for r in rows):
        raise refusals[0]
    return rows
