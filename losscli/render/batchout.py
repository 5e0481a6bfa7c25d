"""Output of `batch`: records as JSON Lines, CSV rows, JSON, or rich tables.

Everything here formats one record at a time so that results can stream as they finish.
Numbers are written with full float64 precision (repr round-trips); non-finite ones as null
in JSON and empty cells in CSV.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator
from typing import Any

from losscli.model import SCHEMA, FileResult
from losscli.render.csv_cells import RowWriter, csv_cell
from losscli.render.fitted import fitted
from losscli.render.json_escaping import json_text

FILE_COLUMNS = ("file", "n", "value", "seconds", "error", "batch", "negatives", "dim",
                "classes", "positives", "warnings")
EXAMPLE_COLUMNS = ("file", "index", "loss", "error")
SUMMARY_STATISTICS = ("loss", "files", "failed", "count", "mean", "std", "min", "p5", "p25",
                      "p50", "p75", "p95", "max", "non_finite", "active_share")
SUMMARY_COLUMNS = (*SUMMARY_STATISTICS, "warnings")


def dumps(doc: Any) -> str:
    """Strict JSON on one line (no NaN, unicode kept)."""
    return json_text(doc)


def _number(value: float) -> str:
    return repr(value) if math.isfinite(value) else "null"


def record_line(result: FileResult) -> str:
    """One input's record as a JSON Lines line."""
    return dumps(result.record()) + "\n"


# Examples per piece of --per-example text: an input of 20 M examples made one text of
# ~5 GB before its first line was written (QA20a M1); a piece is ~3 MB.
EXAMPLE_PIECE = 65536


def example_lines(result: FileResult) -> str:
    """One JSON line per example: {"schema", "file", "index", "loss"}; a failed input gets
    one line with index and loss null and its error."""
    return "".join(example_line_pieces(result))


def example_line_pieces(result: FileResult) -> Iterator[str]:
    """example_lines in pieces of EXAMPLE_PIECE examples, to be written as they come."""
    if not result.ok or result.per_example is None:
        yield dumps({"schema": SCHEMA, "file": result.file, "index": None, "loss": None,
                     "error": result.error_text()}) + "\n"
        return
    said = warnings_line(result)
    if said:
        yield said
    head = f'{{"schema": {SCHEMA}, "file": ' + dumps(result.file) + ', "index": '
    for start in range(0, result.per_example.shape[0], EXAMPLE_PIECE):
        stop = min(result.per_example.shape[0], start + EXAMPLE_PIECE)
        if result.columns is not None:
            yield "".join(example_line(result, i) for i in range(start, stop))
        else:
            yield "".join(f'{head}{i}, "loss": {_number(v)}}}\n' for i, v in
                          enumerate(result.per_example[start:stop].tolist(), start))


def warnings_line(result: FileResult) -> str:
    """An input's warnings as one line before its examples' (index and loss null, as a
    failed input's line is), or nothing where it has none."""
    if not result.warnings:
        return ""
    return dumps({"schema": SCHEMA, "file": result.file, "index": None, "loss": None,
                  "warnings": list(result.warnings)}) + "\n"


def example_line(result: FileResult, index: int) -> str:
    """Example `index` of an input as one JSON line, with its --columns when chosen."""
    loss = float(result.per_example[index])  # type: ignore[index]
    doc: dict[str, Any] = {"schema": SCHEMA, "file": result.file, "index": index,
                           "loss": loss if math.isfinite(loss) else None}
    if result.columns is not None:
        doc["columns"] = {k: _plain(v[index]) for k, v in result.columns.items()}
    return dumps(doc) + "\n"


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _csv(rows: Iterable[Iterable[Any]]) -> str:
    buf = io.StringIO()
    writer = RowWriter(buf)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return buf.getvalue()


def csv_header(per_example: bool, columns: tuple[str, ...] = ()) -> str:
    """The CSV header of batch's records, per input or per example (with --columns)."""
    if per_example and columns:
        return _csv([EXAMPLE_COLUMNS[:3] + columns + EXAMPLE_COLUMNS[3:]])
    return _csv([EXAMPLE_COLUMNS if per_example else FILE_COLUMNS])


def file_csv_row(result: FileResult) -> str:
    """One input's record as a CSV row (non-finite numbers as empty cells)."""
    shape = result.shape or {}
    return _csv([[result.file, result.n, result.value, round(result.seconds, 6),
                  result.error_text(), shape.get("batch"), shape.get("negatives"),
                  shape.get("dim"), shape.get("classes"), shape.get("positives"),
                  "; ".join(result.warnings)]])


def example_csv_rows(result: FileResult) -> str:
    """One input's per-example losses as CSV rows (its error as one row if it failed)."""
    return "".join(example_csv_pieces(result))


def example_csv_pieces(result: FileResult) -> Iterator[str]:
    """example_csv_rows in pieces of EXAMPLE_PIECE examples, to be written as they come."""
    chosen = result.columns or {}
    if not result.ok or result.per_example is None:
        yield _csv([[result.file, None, None, *[None] * len(chosen), result.error_text()]])
        return
    name = result.file
    for start in range(0, result.per_example.shape[0], EXAMPLE_PIECE):
        stop = min(result.per_example.shape[0], start + EXAMPLE_PIECE)
        if chosen:
            yield "".join(example_csv_row(result, i) for i in range(start, stop))
        else:
            yield _csv([name, i, v, None] for i, v in
                       enumerate(result.per_example[start:stop].tolist(), start))


def example_csv_row(result: FileResult, index: int) -> str:
    """Example `index` of an input as a CSV row, its --columns between loss and error."""
    chosen = [v[index] for v in (result.columns or {}).values()]
    loss = float(result.per_example[index])  # type: ignore[index]
    return _csv([[result.file, index, loss, *chosen, None]])


def summary_csv(summary: dict[str, Any]) -> str:
    """The --summary record as a CSV header and row."""
    row = {**summary, "warnings": "; ".join(summary.get("warnings", []))}
    return _csv([SUMMARY_COLUMNS, [row.get(k) for k in SUMMARY_COLUMNS]])


def summary_line(summary: dict[str, Any]) -> str:
    """The --summary record as a JSON Lines line."""
    return dumps(summary) + "\n"


# ---------------------------------------------------------------- tables (a terminal)


def _fmt(value: Any, digits: int = 6) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else "-"
    if isinstance(value, list):
        shown = ", ".join(_fmt(v) for v in value[:4])
        return f"[{shown}{', ...' if len(value) > 4 else ''}]"
    return str(value)


def file_table(results: list[FileResult], loss: str) -> Any:
    """A rich table of the records, one row per input (error or warnings last)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{loss}: {len(results)} input(s)", title_justify="left",
                  show_edge=False, pad_edge=False)
    for name, justify in (("file", "left"), ("n", "right"), ("value", "right"),
                          ("seconds", "right"), ("error / warnings", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in results:
        note = r.error_text() or "; ".join(r.warnings)
        table.add_row(Text(r.file), _fmt(r.n), _fmt(r.value, 10), f"{r.seconds:.3f}",
                      Text(note, style="red" if r.error else "dim"))
    return fitted(table)


def example_table(results: list[FileResult], shown: int,
                  ranked: list[tuple[FileResult, int]] | None = None,
                  title: str | None = None) -> Any:
    """A rich table of the per-example losses, the first `shown` of them (or the `ranked`
    examples, in that order), each with its --columns."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False, title=title, title_justify="left")
    table.add_column("file")
    table.add_column("index", justify="right")
    table.add_column("loss", justify="right")
    chosen = next((list(r.columns) for r in [*results, *(r for r, _ in ranked or [])]
                   if r.columns), [])
    for name in chosen:
        table.add_column(name, justify="right")
    if ranked is not None:
        for r, i in ranked:
            extra = [_fmt(r.columns[n][i]) for n in chosen] if r.columns else []
            table.add_row(Text(r.file), str(i), _fmt(float(r.per_example[i]), 10),  # type: ignore[index]
                          *extra)
        return fitted(table, keys=2)
    count = 0
    total = 0
    for r in results:
        if not r.ok or r.per_example is None:
            table.add_row(Text(r.file), "-", Text(r.error_text() or "", style="red"))
            continue
        for i, v in enumerate(r.per_example.tolist()):
            total += 1
            if shown <= 0 or count < shown:
                extra = [_fmt(r.columns[n][i]) for n in chosen] if r.columns else []
                table.add_row(Text(r.file), str(i), _fmt(v, 10), *extra)
                count += 1
    if count < total:
        table.caption = f"{total - count} more examples (--show 0 for all, or --format jsonl)"
    return fitted(table, keys=2)


def summary_table(summary: dict[str, Any]) -> Any:
    """A rich table of the --summary statistics."""
    from rich.table import Table

    table = Table(title=f"{summary['loss']}: summary of per-example losses",
                  title_justify="left", show_edge=False, pad_edge=False, show_header=False)
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for key in SUMMARY_STATISTICS[1:]:  # the warnings are on stderr
        table.add_row(key, _fmt(summary.get(key), 10))
    return fitted(table)
