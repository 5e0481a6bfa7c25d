"""`losscli batch LOSS INPUTS...`: evaluate a loss over many inputs, results as they finish.

The per-role and loss-parameter options are generated from the registry (_options.py), as
for every command that evaluates a loss. Output: JSON Lines when piped (one record per
input, or per example with --per-example), CSV, JSON, or a table on a terminal; --summary
gives the statistics instead. Progress goes to stderr, on a terminal only.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

from losscli.cli._complete import words
from losscli.cli._options import (
    fail_above_option,
    like_option,
    loss_argument,
    map_option,
    negatives_layout_option,
    positives_layout_option,
    strict_keys_option,
    with_loss_options,
)
from losscli.losses import REDUCTIONS

HELP = """Evaluate a loss over many inputs: files, directories, globs, JSON Lines.

INPUTS are JSON objects, .npz files, stacked .npy files (B, 2 + K, D), safetensors, Parquet,
Arrow and HDF5 files, JSON Lines (found by content whatever the name, pipes included: each
line its own input, recorded as FILE:LINE; stdin too),
directories (read non-recursively: *.json, *.jsonl, *.npz, *.npy, *.safetensors, *.parquet,
*.arrow, *.h5, with STEM.ROLE.npy files forming one input; a directory of Parquet shards is an
input per shard), globs, or - for stdin (JSON Lines, or one JSON document). --map ROLE=NAME
reads a role from another name in every input. Per-role options (--anchor q.npy --positive
d.npy --negatives n.npy) give one input without INPUTS, or replace that role in every
input. An input given twice (by name, glob or directory) is evaluated once, with a warning.

.npy inputs are read in chunks of examples, and Parquet a row group at a time, so memory
stays bounded whatever their size.
With --scheduler, the inputs run as tasks on a Dask cluster, a large .npy cut by rows
(losscli[dask]; docs/dask.md).

Output: one record per input (the compute JSON without examples, plus file, n, seconds,
error), or per example with --per-example (file, index, loss), or --summary (count, mean,
std, min, p5, p25, p50, p75, p95, max, active share). JSON Lines when piped, a table on a
terminal, or --format csv/json/jsonl/table.

Exit codes: 0 ok, 2 usage, 6 output error, 7 some inputs failed (the others were still
evaluated; with --fail-fast, the first failure's own code), 8 an input's loss above
--fail-above (when none failed), 130 interrupted (143 on SIGTERM).
"""

FORMATS = ("table", "json", "jsonl", "csv")


def _batch(
    loss: str = loss_argument(),
    inputs: list[str] | None = typer.Argument(
        None, metavar="INPUTS",
        help="files, directories, globs, or - for stdin (JSON Lines or one JSON)"),
    reduction: str | None = typer.Option(None, "--reduction", autocompletion=words(REDUCTIONS),
                                         help="over each input's "
                                         "batch: mean (default), sum or none; under --like "
                                         "the library's own by default"),
    like: str | None = like_option(),
    negatives_layout: str | None = negatives_layout_option(),
    positives_layout: str | None = positives_layout_option(),
    map: list[str] | None = map_option(),
    strict_keys: bool = strict_keys_option(),
    per_example: bool = typer.Option(False, "--per-example", help="one record per example "
                                     "(file, index, loss)", rich_help_panel="Output"),
    columns: str | None = typer.Option(None, "--columns", metavar="A,B,...", help="with "
                                       "--per-example, --worst or --best: breakdown columns "
                                       "beside each example's loss, taken at its hardest term "
                                       "(hardest: that term's index), e.g. d_ap,d_an,hardest,"
                                       "regime; `losscli explain LOSS` lists the columns",
                                       rich_help_panel="Output"),
    worst: int | None = typer.Option(None, "--worst", metavar="N", help="the N examples with "
                                     "the largest loss over every input, worst first (ties in "
                                     "input order), as per-example records",
                                     rich_help_panel="Output"),
    best: int | None = typer.Option(None, "--best", metavar="N", help="the N examples with "
                                    "the smallest loss, best first", rich_help_panel="Output"),
    summary: bool = typer.Option(False, "--summary", help="statistics of the per-example "
                                 "losses over every input, instead of the records; "
                                 "non-finite losses are left out (counted in non_finite, "
                                 "with a warning)",
                                 rich_help_panel="Output"),
    format: str = typer.Option("auto", "--format", "-f", help="auto (table on a terminal, JSON "
                               "Lines when piped or from --out's suffix), table, json, jsonl or "
                               "csv", rich_help_panel="Output",
                               autocompletion=words(("auto", *FORMATS))),
    out: str | None = typer.Option(None, "--out", "-o", metavar="FILE", help="write here "
                                      "(complete or not at all) instead of stdout",
                                      rich_help_panel="Output"),
    force: bool = typer.Option(False, "--force", help="overwrite --out if it exists",
                               rich_help_panel="Output"),
    show: int = typer.Option(20, "--show", metavar="N",
                             help="rows shown in a terminal table of examples (0 for all)",
                             rich_help_panel="Output"),
    jobs: int = typer.Option(1, "--jobs", "-j", help="worker processes, each with cores / N "
                             "threads", rich_help_panel="Speed"),
    dtype: str = typer.Option("float64", "--dtype",
                              autocompletion=words(("float64", "float32")),
                              help="float64, or float32 to keep float32 inputs as they are "
                              "(sums still in float64)", rich_help_panel="Speed"),
    chunk: int | None = typer.Option(None, "--chunk", metavar="N", help="examples per chunk "
                                        "read from .npy files [default: about 4 MiB]",
                                        rich_help_panel="Speed"),
    scheduler: str | None = typer.Option(None, "--scheduler", metavar="ADDRESS", help="run "
                                         "the inputs as tasks on a Dask cluster: tcp://HOST:PORT"
                                         ", or local for one on this machine (needs "
                                         "losscli[dask]; docs/dask.md)",
                                         rich_help_panel="Dask"),
    workers: int | None = typer.Option(None, "--workers", metavar="N", help="--scheduler "
                                       "local: N worker processes of 1 thread [default: "
                                       "cores]; an address: wait for N workers",
                                       rich_help_panel="Dask"),
    task_rows: int | None = typer.Option(None, "--task-rows", metavar="N", help="examples "
                                         "per task when a .npy input is split by rows "
                                         "(whole chunks) [default: about 64 MiB]",
                                         rich_help_panel="Dask"),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="stop at the first failing input "
                                   "with its exit code", rich_help_panel="Errors"),
    strict: bool = typer.Option(False, "--strict", help="an input whose value is not finite "
                                "fails", rich_help_panel="Errors"),
    fail_above: float | None = fail_above_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no warnings, no progress bar",
                               rich_help_panel="Errors"),
    debug: bool = typer.Option(False, "--debug", help="tracebacks for internal errors",
                               rich_help_panel="Errors"),
    *,
    roles: dict[str, str],
    params: dict[str, Any],
) -> int:
    """The batch-only options; the per-role and loss options come from the registry."""
    return run_batch(**locals())  # every option by name: none can be dropped on the way


batch = with_loss_options(_batch)


def run_batch(loss: str, inputs: list[str] | None, roles: dict[str, str],
              params: dict[str, Any], reduction: str | None, per_example: bool, summary: bool,
              format: str, out: str | None, force: bool, show: int, jobs: int, dtype: str,
              chunk: int | None, fail_fast: bool, strict: bool, quiet: bool, debug: bool,
              scheduler: str | None = None, workers: int | None = None,
              task_rows: int | None = None, fail_above: float | None = None,
              negatives_layout: str | None = None, map: list[str] | None = None,
              strict_keys: bool = False, columns: str | None = None,
              worst: int | None = None, best: int | None = None,
              like: str | None = None, positives_layout: str | None = None) -> int:
    """Parse, call api.evaluate_files, stream the records; the exit code (7 on failures,
    else 8 when an input's loss is above --fail-above)."""
    from losscli import api
    from losscli.batch import Summary
    from losscli.cli import _threshold
    from losscli.cli._output import (
        announce_compiling,
        check_out,
        output_format,
        stderr_is_tty,
    )
    from losscli.cli._stream import Sink
    from losscli.errors import ExitCode, NonFiniteResult, UsageError

    fmt = output_format(format, out, quiet, default_piped="jsonl", allowed=FORMATS)
    if show < 0:
        raise UsageError(f"--show got {show}", "give a whole number >= 0 (0 for all)")
    if per_example and summary:
        raise UsageError("--per-example and --summary both given", "choose one")
    from losscli.render.ranking import checked as checked_ranking

    rank = checked_ranking(worst, best)
    if rank is not None and summary:
        raise UsageError(f"--{'worst' if rank[1] else 'best'} and --summary both given",
                         "choose one")
    if columns is not None and not (per_example or rank):
        raise UsageError("--columns needs per-example records",
                         "add --per-example (or --worst N / --best N)")
    per_example = per_example or rank is not None
    fail_above = _threshold.checked(fail_above)
    above = 0
    inputs = list(inputs or [])
    # every file the inputs name, directories and globs expanded: an --out inside an input
    # directory was read as an input and then replaced (QA18 M4); before stdin is read
    read = [*inputs, *roles.values(), *api.batch_files(inputs, roles)]
    check_out(out, force, read)
    progress = _Progress(enabled=not quiet and stderr_is_tty())
    announce_compiling(quiet, progress.say)
    results = api.evaluate_files(loss, inputs, role_files=roles, reduction=reduction,
                                 like=like, dtype=dtype, jobs=jobs, chunk=chunk,
                                 progress=progress, scheduler=scheduler, workers=workers,
                                 task_rows=task_rows, negatives_layout=negatives_layout,
                                 mapping=map, strict_keys=strict_keys, columns=columns,
                                 positives_layout=positives_layout, **params)
    sink = Sink(out, force, read)
    writer = _Writer(sink, fmt, per_example, summary, show, rank,
                     _column_names(loss, columns, like))
    totals = Summary()
    first_failure: int | None = None
    noted = False  # the --like note, said once
    try:
        with progress:
            for result in results:
                if strict and result.ok and not _finite(result.value):
                    result.error = NonFiniteResult(
                        "the loss is not finite", "see the warnings; drop --strict to get "
                        "null in the output", where=result.file)
                totals.add(result)
                progress.file_done(result)
                if result.convention is not None and not (quiet or noted):
                    from losscli.cli._explore import convention_lines

                    for line in convention_lines(result.convention):
                        progress.say(line)
                    noted = True
                if not quiet:
                    for w in result.named_warnings():
                        progress.say(f"warning: {w}")
                if result.error is not None:
                    progress.say(f"error: {result.error.message()}")
                    if first_failure is None:
                        first_failure = int(result.error.exit_code)
                elif fail_above is not None:
                    breach = _threshold.breach(result.value, fail_above, result.file)
                    if breach is not None:
                        above += 1
                        progress.say(f"error: {breach.message()}")
                writer.add(result)
                if fail_fast and result.error is not None:
                    sink.abort()
                    return first_failure or int(ExitCode.BATCH_FAILED)
        writer.finish(totals, loss)
        sink.commit()
        left_out = totals.left_out_warning() if summary and not quiet else None
        if left_out is not None:
            progress.say(f"warning: {left_out}")
    except BaseException:
        sink.abort()
        raise
    finally:
        getattr(results, "close", lambda: None)()  # stops workers or a cluster at once
    if first_failure is not None:
        return int(ExitCode.BATCH_FAILED)
    if above:
        return int(ExitCode.ABOVE_THRESHOLD)
    return int(ExitCode.OK)


def _column_names(loss: str, columns: str | None, like: str | None) -> tuple[str, ...]:
    from losscli.losses.call import LossCall
    from losscli.losses.example_columns import checked_columns

    call = LossCall.of(loss, like=like)
    return checked_columns(call.spec, columns, call.convention)


def _finite(value: Any) -> bool:
    import math

    values = value if isinstance(value, list) else [value]
    return all(v is not None and math.isfinite(v) for v in values)


class _Writer:
    """Renders each result as it comes: JSON Lines, CSV, a JSON array, or a table at the end."""

    def __init__(self, sink: Any, fmt: str, per_example: bool, summary: bool,
                 show: int, rank: tuple[int, bool] | None = None,
                 columns: tuple[str, ...] = ()) -> None:
        self.sink = sink
        self.fmt = fmt
        self.per_example = per_example
        self.summary = summary
        self.show = show
        self.rank = rank  # (N, worst?): the records wait for every input (--worst/--best)
        self.kept: list[Any] = []
        self.count = 0
        if fmt == "csv" and not summary:
            from losscli.render.batchout import csv_header

            sink.write(csv_header(per_example, columns))

    def add(self, result: Any) -> None:
        from losscli.render import batchout

        if self.summary:
            return
        if self.fmt == "table" or self.rank is not None:
            self.kept.append(result)
            return
        if self.fmt == "csv":
            pieces = batchout.example_csv_pieces(result) if self.per_example \
                else [batchout.file_csv_row(result)]
        elif self.per_example:
            pieces = batchout.example_line_pieces(result)
        else:
            pieces = [batchout.record_line(result)]
        for text in pieces:  # an input's examples a piece at a time, not one text of them all
            if self.fmt == "json":  # one JSON array, still written as results come
                lines = text.splitlines()
                text = "".join(("[\n" if self.count == 0 and i == 0 else ",\n") + line
                               for i, line in enumerate(lines))
                self.count += len(lines)
            self.sink.write(text)

    def finish(self, totals: Any, loss: str) -> None:
        from losscli.losses import get_spec
        from losscli.render import batchout

        name = get_spec(loss).name
        if self.summary:
            record = totals.record(name)
            if self.fmt == "csv":
                self.sink.write(batchout.summary_csv(record))
            elif self.fmt == "table":
                self._table(batchout.summary_table(record))
            elif self.fmt == "json":
                self.sink.write(batchout.dumps(record) + "\n")
            else:
                self.sink.write(batchout.summary_line(record))
            return
        if self.rank is not None:
            self._ranked()
            return
        if self.fmt == "json":
            self.sink.write("\n]\n" if self.count else "[]\n")
        elif self.fmt == "table":
            table = batchout.example_table(self.kept, self.show) if self.per_example \
                else batchout.file_table(self.kept, name)
            self._table(table)

    def _ranked(self) -> None:
        """--worst / --best: the N examples over every input, ranked; failed inputs after."""
        import numpy as np

        from losscli.render import batchout
        from losscli.render.ranking import ranked

        n, worst = self.rank  # type: ignore[misc]
        ok = [r for r in self.kept if r.ok and r.per_example is not None]
        losses = np.concatenate([r.per_example for r in ok]) if ok else np.empty(0)
        owner = np.repeat(np.arange(len(ok)), [r.n for r in ok]).astype(np.int64)
        starts = np.cumsum([0] + [r.n for r in ok])
        picked = [(ok[owner[i]], int(i - starts[owner[i]])) for i in ranked(losses, n, worst)]
        failed = [r for r in self.kept if not r.ok or r.per_example is None]
        if self.fmt == "table":
            title = f"the {len(picked)} {'worst' if worst else 'best'} of {losses.size} examples"
            self._table(batchout.example_table(failed, 0, picked, title))
            return
        if self.fmt == "csv":
            text = "".join(batchout.example_csv_row(r, i) for r, i in picked)
            text += "".join(batchout.example_csv_rows(r) for r in failed)
        else:
            inputs = {id(r): r for r, _ in picked}  # each input with a ranked example, once
            text = "".join(batchout.warnings_line(r) for r in inputs.values())
            text += "".join(batchout.example_line(r, i) for r, i in picked)
            text += "".join(batchout.example_lines(r) for r in failed)
        if self.fmt == "json":
            lines = text.splitlines()
            text = "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"
        self.sink.write(text)

    def _table(self, table: Any) -> None:
        from losscli.cli._output import stdout_console
        from losscli.render.fitted import as_text

        if self.sink.to_stdout:
            stdout_console().print(table)
            return
        self.sink.write(as_text(lambda console: console.print(table)))


class _Progress:
    """A rich progress bar on stderr (inputs done, examples/s, time left), or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None
        self._examples = 0
        self._files = 0
        self._started = time.perf_counter()
        self._shown = 0.0
        self._total: int | None = None  # inputs, when known before the run

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            from losscli.cli._output import console_environ

            console = Console(stderr=True, markup=False, highlight=False,
                              _environ=console_environ())
            self._bar = Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                                 console=console, transient=True,
                                 # the records must go to stdout, not through the bar
                                 redirect_stdout=False, redirect_stderr=False)
            self._bar.__enter__()
            self._task = self._bar.add_task("batch", total=self._total, rate="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def start(self, inputs: int | None) -> None:
        """The number of inputs, once INPUTS are expanded (for the bar's length and ETA);
        None when it is not known (JSON Lines: a record per line)."""
        self._total = inputs
        if self._bar is not None:
            self._bar.update(self._task, total=inputs)

    def __call__(self, count: int) -> None:
        """Examples evaluated so far in the current input (called per chunk)."""
        self._examples += count
        now = time.perf_counter()
        if self._bar is not None and now - self._shown > 0.1:
            self._shown = now
            self._refresh()

    def file_done(self, result: Any) -> None:
        self._files += 1
        if self._bar is not None:
            self._refresh()

    def _refresh(self) -> None:
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._bar.update(self._task, completed=self._files,
                         rate=f"{self._examples:,} examples, "
                              f"{self._examples / elapsed:,.0f}/s")

    def say(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


__all__ = ["FORMATS", "HELP", "batch", "run_batch"]
