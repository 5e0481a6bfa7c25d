"""Rendering the explorer's results (sweep, stats, compare): tables for people, JSON Lines,
CSV and JSON for scripts. Data only: notes and charts for people go to stderr elsewhere."""

from __future__ import annotations

import io
import math
from dataclasses import asdict
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from losscli.model import Comparison, Stats, Sweep
from losscli.render.chart import bar, histogram_text, plural, sparkline
from losscli.render.csv_cells import RowWriter, cell_text, csv_cell
from losscli.render.fitted import fitted
from losscli.render.jsonout import SCHEMA, dumps, finite_or_none
from losscli.render.table import fmt_number


def _clean(value: Any) -> Any:
    """Plain JSON values: numpy to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        return _clean(value.item())
    return finite_or_none(value)


# --------------------------------------------------------------------------------- sweep
def sweep_rows(s: Sweep) -> list[dict[str, Any]]:
    """One record per step of a sweep: the parameter, the value, the reference columns and
    the per-example losses (non-finite as null).
    """
    rows = []
    for i, v in enumerate(s.values):
        row: dict[str, Any] = {"step": i, s.param: float(v), "value": float(s.losses[i])}
        for name, col in s.columns.items():
            row[name] = float(col[i])
        row["per_example"] = s.per_example[i].tolist()
        rows.append(_clean(row))
    return rows


def sweep_jsonl(s: Sweep) -> str:
    """A sweep as JSON Lines: one line per step, then the limits and the warnings."""
    lines = [dumps({"schema": SCHEMA, **r}, indent=None) for r in sweep_rows(s)]
    lines.append(dumps(_clean({"schema": SCHEMA, "limits": s.limits,
                               "warnings": list(s.warnings)}), indent=None))
    return "\n".join(lines) + "\n"


def sweep_json(s: Sweep) -> str:
    """A sweep as one JSON document: steps, limits, convention and warnings."""
    doc = {"schema": SCHEMA, "loss": s.loss, "param": s.param, "params": s.params,
           "reduction": s.reduction, "steps": sweep_rows(s), "limits": s.limits}
    if s.convention is not None:
        doc["convention"] = s.convention
    doc["warnings"] = list(s.warnings)
    return dumps(_clean(doc)) + "\n"


def sweep_csv(s: Sweep) -> str:
    """A sweep as CSV: one row per step, one column per example."""
    buf = io.StringIO()
    writer = RowWriter(buf)
    B = s.per_example.shape[1]
    extra = list(s.columns)
    writer.writerow(["step", s.param, "value", *extra, *[f"example_{b}" for b in range(B)]])
    for row in sweep_rows(s):
        cells = [row["step"], repr(row[s.param]), csv_cell(row["value"])]
        cells += [csv_cell(row[n]) for n in extra] + [csv_cell(v) for v in row["per_example"]]
        writer.writerow(cells)
    return buf.getvalue()


def sweep_table(s: Sweep, console: Console) -> None:
    """Print a sweep: a row per step with a bar (and the examples' sparkline), then the
    notes on its known limits.
    """
    params = ", ".join(f"{k}={v}" for k, v in s.params.items())
    console.print(Text(f"{s.loss}: sweep of {s.param}  ({params}; reduction {s.reduction})",
                       style="bold"))
    if s.convention is not None:
        console.print(Text(f"like {s.convention['library']}: {s.convention['api']}"))
    finite = s.losses[np.isfinite(s.losses)]
    lo = min(0.0, float(finite.min())) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 1.0
    table = Table(show_edge=False, pad_edge=False)
    table.add_column(s.param, justify="right")
    table.add_column("loss", justify="right")
    table.add_column("curve")
    for name in s.columns:
        table.add_column(name, justify="right")
    B = s.per_example.shape[1]
    if B > 1:
        table.add_column(f"per example ({B})")
    plo, phi = float(np.nanmin(s.per_example)), float(np.nanmax(s.per_example))
    for i, v in enumerate(s.values):
        cells = [fmt_number(float(v)), fmt_number(float(s.losses[i]), 8),
                 bar(float(s.losses[i]), lo, hi, 16)]
        cells += [fmt_number(float(col[i])) for col in s.columns.values()]
        if B > 1:
            cells.append(sparkline(s.per_example[i][:48], plo, phi))
        table.add_row(*cells)
    console.print(fitted(table))
    for note in s.limits.get("notes", []):
        console.print(Text(note, style="dim"))


# --------------------------------------------------------------------------------- stats
def stats_jsonl(st: Stats) -> str:
    """The stats records as JSON Lines, then a `warnings` record where there are any."""
    records = list(st.records)
    if st.warnings:
        records.append({"stat": "warnings", "warnings": list(st.warnings)})
    return "".join(dumps(_clean({"schema": SCHEMA, **r}), indent=None) + "\n"
                   for r in records)


def stats_json(st: Stats) -> str:
    """The stats as one JSON document with the loss's value and convention."""
    doc = {"schema": SCHEMA, "loss": st.loss, "params": st.params, "reduction": st.reduction,
           "value": st.value, "stats": st.records}
    if st.convention is not None:
        doc["convention"] = st.convention
    doc["warnings"] = list(st.warnings)
    return dumps(_clean(doc)) + "\n"


STATS_CSV_KEYS = ["stat", "quantity", "count", "mean", "std", "min", "p5", "p25", "p50",
                  "p75", "p95", "max", "share"]
HISTOGRAM_KEYS = ["series", "bin", "lower", "upper"]


def stats_csv(st: Stats) -> str:
    """Everything the JSON and the table hold, one row per record: the summaries' columns
    first, then every other field a record has (regime counts, active and all terms, the
    false-negative rule, ...), then the histogram as one row per series and bin (its count
    in `count`, its edges in `lower` and `upper`), then a `warning` row per warning."""
    extra = list(dict.fromkeys(k for r in st.records if r["stat"] != "histogram"
                               for k in r if k not in STATS_CSV_KEYS))
    keys = STATS_CSV_KEYS + extra + HISTOGRAM_KEYS
    buf = io.StringIO()
    writer = RowWriter(buf)
    writer.writerow(keys)
    for r in st.records:
        if r["stat"] != "histogram":
            writer.writerow([csv_cell(_clean(r.get(k))) for k in keys])
            continue
        edges = r["edges"]
        for series, counts in r["counts"].items():
            for i, count in enumerate(counts):
                row = {"stat": "histogram", "quantity": r.get("quantity"), "count": count,
                       "series": series, "bin": i, "lower": edges[i], "upper": edges[i + 1]}
                writer.writerow([csv_cell(_clean(row.get(k))) for k in keys])
    for text in st.warnings:  # a row each, the text in `quantity`: as the JSON says them
        writer.writerow([csv_cell({"stat": "warning", "quantity": text}.get(k)) for k in keys])
    return buf.getvalue()


def stats_table(st: Stats, console: Console) -> None:
    """Print the stats: the distribution of each quantity, the other records, the histogram."""
    params = ", ".join(f"{k}={v}" for k, v in st.params.items())
    console.print(Text(f"{st.loss}: batch statistics  ({params})", style="bold"))
    value = st.value if isinstance(st.value, list) else fmt_number(st.value, 10)
    console.print(Text(f"value ({st.reduction}) = {value}"))
    cols = ["count", "mean", "std", "min", "p5", "p25", "p50", "p75", "p95", "max"]
    other = []
    hists = []
    summaries = []
    for r in st.records:
        if r["stat"] == "histogram":
            hists.append(r)
        elif "mean" in r or r["stat"] == "loss":
            summaries.append(r)
        else:
            other.append(r)
    # one column per quantity, one row per statistic: narrow enough for any terminal
    dist = Table(title="distributions", title_justify="left", show_edge=False, pad_edge=False)
    dist.add_column("")
    for r in summaries:
        dist.add_column(r["stat"], justify="right")
    for c in cols:
        dist.add_row(c, *[fmt_number(r.get(c, math.nan)) for r in summaries])
    console.print(fitted(dist))
    for r in other:
        fields = ", ".join(f"{k} {fmt_number(v) if isinstance(v, float) else v}"
                           for k, v in r.items() if k != "stat")
        console.print(Text(f"{r['stat']}: {fields}"))
    for hist in hists:  # one over shared edges, or (in-batch losses) one per distribution
        if not hist["edges"]:
            continue
        title = (f"histogram of the {plural(hist['quantity'])}" if len(hists) == 1
                 else f"histogram of the {hist['quantity']} (on its own scale)")
        console.print(Text(title, style="bold"))
        console.print(Text(histogram_text(hist["edges"], hist["counts"], width=16)
                           .rstrip("\n")))


# ------------------------------------------------------------------------------- compare
def compare_records(rows: list[Comparison]) -> list[dict[str, Any]]:
    """compare's rows as JSON-ready dicts (non-finite as null)."""
    return [_clean(asdict(r)) for r in rows]


def compare_jsonl(rows: list[Comparison]) -> str:
    """compare's rows as JSON Lines."""
    return "".join(dumps({"schema": SCHEMA, **r}, indent=None) + "\n"
                   for r in compare_records(rows))


def compare_json(loss: str, rows: list[Comparison]) -> str:
    """compare's rows as one JSON document."""
    return dumps({"schema": SCHEMA, "loss": loss, "conventions": compare_records(rows)}) + "\n"


def compare_csv(rows: list[Comparison]) -> str:
    """compare's rows as CSV (the changes and flags as key=value lists)."""
    buf = io.StringIO()
    writer = RowWriter(buf)
    writer.writerow(["convention", "defined", "value", "reduction", "changed", "flags", "api",
                     "reason"])
    for r in compare_records(rows):
        writer.writerow([csv_cell(v) for v in (
            r["convention"], r["defined"], r["value"], r["reduction"] or "",
            _kv(r["changed"], r["convention"]), _kv(r["flags"]), r["api"], r["reason"] or "")])
    return buf.getvalue()


def _kv(d: dict, library: str | None = None) -> str:
    if library is not None:
        return "; ".join(f"{k} {cell_text(v.get('losscli'))} -> {cell_text(v.get(library))}"
                         for k, v in d.items())
    return "; ".join(f"{k}={cell_text(v)}" for k, v in d.items())


def compare_table(loss: str, rows: list[Comparison], console: Console) -> None:
    """Print compare's rows: value, reduction and what each convention changes, or why it
    has no such loss.
    """
    console.print(Text(f"{loss} under each library's convention (same input)", style="bold"))
    table = Table(show_edge=False, pad_edge=False, show_lines=False)
    for c in ("convention", "value", "reduction", "changes"):
        table.add_column(c, justify="right" if c == "value" else "left")
    for r in rows:
        if not r.defined:
            table.add_row(r.convention, "-", "", r.reason or "")
            continue
        value = r.value
        if isinstance(value, list):
            shown = ", ".join(fmt_number(v, 6) for v in value[:4])
            value_text = f"[{shown}{', ...' if len(value) > 4 else ''}]"
        else:
            value_text = fmt_number(value, 10)
        changes = "; ".join(x for x in (_kv(r.changed, r.convention), _kv(r.flags)) if x)
        table.add_row(r.convention, value_text, r.reduction or "",
                      changes or ("losscli's definition" if r.convention == "losscli"
                                  else "same arithmetic as losscli"))
    console.print(fitted(table))
