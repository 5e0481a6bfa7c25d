"""The data that flows through losscli: validated inputs in, one Result out of every loss."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from losscli.memory import available_memory, gib

if TYPE_CHECKING:  # model is a leaf the registry's readers import: no numpy at run time
    from collections.abc import Callable, Iterator

    import numpy as np

    from losscli.errors import LossCliError

EMBEDDING_ROLES = ("anchor", "positive", "negatives", "negatives2")
CLASSIFICATION_ROLES = ("logits", "target", "weight")
# Several positives per anchor (supcon, multi-similarity, circle, lifted-structure).
POSITIVES_ROLES = ("positives",)
# Labelled pairs: x1, x2 with a +1/-1 label (cosine-, hinge-embedding, margin-ranking).
PAIRED_ROLES = ("x1", "x2", "label")
ROLES = EMBEDDING_ROLES + CLASSIFICATION_ROLES + POSITIVES_ROLES + PAIRED_ROLES


@dataclass(frozen=True)
class ExampleForm:
    """What ONE example of a role is (LOSSES.md, "Input roles and shapes"): the ranks its
    value may have, as text for messages, and whether a rank-1 value is one row of a bank.

    A row format (JSON Lines, Parquet, Arrow) holds one example per line or row, so its
    values are checked against this form, not the batch rules: the stacked array must not
    leave the loss to guess which axis is the examples' (io/rows.py).
    """

    ranks: tuple[int, ...]
    text: str
    # (D,) is one row of a bank of rows, (1, D): one negative (K = 1), one positive (P = 1).
    bank: bool = False


# One example of each role; None for a role that is one for the whole batch (class weights).
# A loss that reads a role otherwise says so in its spec (LossSpec.example_forms).
EXAMPLE_FORMS: dict[str, ExampleForm | None] = {
    "anchor": ExampleForm((1,), "(D,)"),
    "positive": ExampleForm((1,), "(D,), the anchor's shape"),
    "negatives": ExampleForm((1, 2), "(D,) for one negative or (K, D)", bank=True),
    "negatives2": ExampleForm((1, 2), "(D,) for one negative or (K, D)", bank=True),
    "logits": ExampleForm((1,), "(C,)"),
    "target": ExampleForm((0, 1), "a class index, or (C,) probabilities"),
    "weight": None,
    "positives": ExampleForm((1, 2), "(D,) for one positive or (P, D)", bank=True),
    "x1": ExampleForm((0, 1), "a number or (D,)"),
    "x2": ExampleForm((0, 1), "x1's shape: a number or (D,)"),
    "label": ExampleForm((0,), "a number, +1 or -1"),
}
# Roles that may be a single number for one example (a class index, a score, a label).
SCALAR_ROLES = tuple(role for role, form in EXAMPLE_FORMS.items()
                     if form is not None and 0 in form.ranks)
# Roles that hold one value for the whole batch rather than one per example.
SHARED_ROLES = tuple(role for role, form in EXAMPLE_FORMS.items() if form is None)
# How a 2-D negatives array (rows, D) is read (LOSSES.md, "Input roles and shapes"):
# "shared", K = rows negatives shared by every anchor, (1, K, D); "per-anchor", one negative
# per anchor, row b anchor b's, (B, 1, D). negatives2 follows the negatives.
NEGATIVES_LAYOUTS = ("shared", "per-anchor")
# The same two readings of a 2-D positives array (LOSSES-MORE.md: (P, D) shared or
# (B, P, D) per anchor): "per-anchor" reads (B, D) as one positive per anchor, (B, 1, D).
POSITIVES_LAYOUTS = NEGATIVES_LAYOUTS

# What each role holds (LOSSES.md, "Input roles and shapes"), for `explain`.
ROLE_SHAPES = {
    "anchor": "(D,) for one example, (B, D) for a batch",
    "positive": "the anchor's shape",
    "negatives": "(D,) one negative, (K, D) shared by every anchor, or (B, K, D) per anchor; "
                 "(B, D) is one negative per anchor with --negatives-layout per-anchor, read "
                 "as (B, 1, D) (without it, K = B shared negatives, with a warning)",
    "negatives2": "(K, D) or (B, K, D): a second negative n2_k per negative (a 2-D one is "
                  "read in the negatives' --negatives-layout)",
    "logits": "(C,) for one example, (B, C) for a batch",
    "target": "a class index per example (int or (B,)), or probabilities of the logits' shape",
    "weight": "(C,): one weight per class",
    "positives": "(P, D) shared by every anchor, or (B, P, D) per anchor; (B, D) is one "
                 "positive per anchor with --positives-layout per-anchor, read as (B, 1, D) "
                 "(without it, P = B shared positives, with a warning)",
    "x1": "(D,) or (B, D) vectors (cosine-, hinge-embedding); a scalar or (B,) values "
          "(margin-ranking, hinge-embedding)",
    "x2": "the shape of x1",
    "label": "+1 or -1 per example: a scalar or (B,)",
}


@dataclass(frozen=True)
class LoneStack:
    """A lone 2-D .npy INPUT read as one example, its rows as roles (CONTRACT.md: row 0 the
    anchor, row 1 the positive, rows 2.. the negatives). Kept with the inputs because a loss
    that refuses what this reading gives it (a batch of B = 1, negatives) would otherwise
    blame an array the user never gave: the refusal says it was the reading."""

    where: str  # the file, as messages name it
    shape: tuple[int, ...]  # (2 + K, D)
    roles: tuple[str, ...]  # the roles still read from its rows (not replaced by --ROLE)
    kind: str = ".npy"  # what the array is, as messages name it (or "HDF5 dataset")

    @property
    def reading(self) -> str:
        """How the file was read, for a refusal of what that reading gave a loss: the user
        gave one array, not the roles its rows were cut into."""
        return (f"a 2-D {self.kind} {tuple(self.shape)} is read as one stacked example, "
                "rows as roles (row 0 the anchor, row 1 the positive, rows 2.. the negatives: "
                f"B = 1, K = {self.shape[0] - 2})")


@dataclass(frozen=True)
class StackDoubt:
    """A lone 3-D stack (X, Y, D) read as X examples of Y rows (CONTRACT.md) that may have
    been saved roles-first, np.stack([a, p, n]) with numpy's default axis: Y examples of X
    rows (io.roles_first_stack says when). Kept with the inputs so that a loss refusing
    what the reading gave it (no negatives, negatives it does not take) says the other
    reading too: there it is the only one that works."""

    where: str  # the file, as messages name it
    shape: tuple[int, int, int]
    roles: tuple[str, ...]  # the roles still read from it (not replaced by --ROLE)

    @property
    def reading(self) -> str:
        """Both readings, in words."""
        X, Y, _ = self.shape
        if X == Y:  # the same shape either way, other pairs
            other = ("it would pair x[0, b] with x[1, b] where this reading pairs x[b, 0] "
                     "with x[b, 1]")
        else:
            other = f"it would be B = {Y} examples, each {_one_example(X - 2)}"
        return (f"a {self.shape} stack is read as B = {X} examples, each "
                f"{_one_example(Y - 2)} (axis 1 holds the roles); saved roles-first, as "
                f"np.stack([a, p, n]) puts them, {other}")

    def would_fit(self, role: str, refused: bool = False) -> bool:
        """Whether the other reading mends a loss's fault with `role`: it gives the missing
        negatives (X > 2), or none of the refused ones (X = 2); only while the anchor and
        the positive both still come from the stack (a --ROLE file replaces neither)."""
        if not {"anchor", "positive"} <= set(self.roles) or role != "negatives":
            return False
        return self.shape[0] == 2 if refused else self.shape[0] > 2

    @property
    def fix(self) -> str:
        """The save that removes the doubt."""
        X, Y, D = self.shape
        return (f"if axis 0 holds the roles, save it with np.stack([...], axis=1) (or save "
                f"np.swapaxes(x, 0, 1) of this array), ({Y}, {X}, {D})")


def _one_example(K: int) -> str:
    return (f"an anchor, a positive and K = {K} negative{'s' if K != 1 else ''}" if K
            else "an anchor and a positive")


@dataclass(frozen=True)
class Inputs:
    """Arrays by role, each float64 and C-contiguous, with where each came from.

    `sources[role]` names the file (and key) an array was read from, for error messages.
    `owned`: the arrays are the evaluation's own, to overwrite (batch hands an in-batch loss
    its anchors and positives read into one buffer, float32 under --dtype float32, and the
    loss normalizes them in place instead of copying them).
    """

    arrays: dict[str, np.ndarray]
    sources: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    owned: bool = False
    # How 2-D negatives are read: one of NEGATIVES_LAYOUTS, or None (not said: shared, with a
    # warning where the anchors' B makes it ambiguous).
    negatives_layout: str | None = None
    # How 2-D positives are read: one of POSITIVES_LAYOUTS, or None (shared, with a warning
    # where the anchors' B makes it ambiguous), as for the negatives.
    positives_layout: str | None = None
    # The index of the first example in the whole input: batch evaluates a large input a
    # chunk at a time, and a message names a row by its place in the file, not in the chunk.
    first_row: int = 0
    # Set when roles were read from a lone 2-D .npy's rows (one example): see LoneStack.
    lone_stack: LoneStack | None = None
    # Set when roles were read from a lone 3-D stack that may have been saved roles-first.
    stack_doubt: StackDoubt | None = None
    # INPUT, the file keyed by role, as messages name it: a role it lacks names it even when
    # it held no role at all (`{}`, an empty safetensors), where `sources` cannot.
    document: str | None = None

    def __contains__(self, role: str) -> bool:
        return role in self.arrays

    def __getitem__(self, role: str) -> np.ndarray:
        return self.arrays[role]

    def source(self, role: str) -> str:
        """The file (and key) the role came from, or the role itself for in-memory arrays."""
        return self.sources.get(role, role)

    def where(self, role: str) -> str:
        """`file:role` for messages (or the role alone for in-memory inputs)."""
        src = self.sources.get(role)
        return role if src is None else f"{src}:{role}" if not src.endswith(f":{role}") else src


@dataclass(frozen=True)
class Terms:
    """The per-term breakdown of a batch: T terms per example, one array per column.

    `columns[name]` has shape (B, T); `role[t]` and `index[t]` say what term t is
    (the positive, negative k, class c, ...).
    """

    role: tuple[str, ...]
    index: tuple[int, ...]
    columns: dict[str, np.ndarray]

    @property
    def count(self) -> int:
        """T, the terms of each example."""
        return len(self.role)

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in output order."""
        return tuple(self.columns)

    def block(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The columns of examples [start, stop), (stop - start, T) each."""
        return {name: col[start:stop] for name, col in self.columns.items()}


COLUMN_BYTES = 8  # a breakdown column's entry: float64 (or an int64 index)


class DeferredColumn:
    """A breakdown column of a block of examples, (n, T), laid out only when read: `full()`
    the whole of it, `take(kept)` the cells kept[r, :] of each row r (the term positions an
    output shows), equal to np.take_along_axis(full(), kept, axis=1) without building the
    rest. `compute --terms top` shows ~10 of an in-batch example's 2B terms: laying every
    column out in output order (each row's positive first, both directions or views side by
    side, the text columns) was most of its time (losses/term_columns.py)."""

    def full(self) -> np.ndarray:
        """The whole column, (n, T)."""
        raise NotImplementedError

    def take(self, kept: np.ndarray) -> np.ndarray:
        """The cells kept[r, :] of each row r, (n, k)."""
        raise NotImplementedError


def laid_out(column: np.ndarray | DeferredColumn) -> np.ndarray:
    """The column as an array (a deferred one laid out whole)."""
    return column.full() if isinstance(column, DeferredColumn) else column


def taken(column: np.ndarray | DeferredColumn, kept: np.ndarray) -> np.ndarray:
    """The cells kept[r, :] of each row r of the column."""
    if isinstance(column, DeferredColumn):
        return column.take(kept)
    import numpy as np  # here, not at the top: the registry's readers import model without numpy

    return np.take_along_axis(column, kept, axis=1)


@dataclass(frozen=True)
class LazyTerms:
    """A per-term breakdown computed on demand, a block of examples at a time.

    The in-batch losses have T ~ B terms per example: B x T numbers are never held at once.
    `compute(start, stop)` gives the columns of examples [start, stop) as Terms.block does
    (it recomputes those examples' similarities from statistics the loss kept; a column may
    be a DeferredColumn, which `block` lays out and `deferred` leaves as it is); `pairs()`,
    when given, yields (positive, negative) similarity arrays over the whole batch a tile at
    a time, each pair of examples once (stats' distributions).
    """

    role: tuple[str, ...]
    index: tuple[int, ...]
    names: tuple[str, ...]
    batch: int
    compute: Callable[[int, int], dict[str, np.ndarray | DeferredColumn]]
    pairs: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]] | None = None

    @property
    def count(self) -> int:
        """T, the terms of each example."""
        return len(self.role)

    def block(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """The columns of examples [start, stop), (stop - start, T) each."""
        return {name: laid_out(column) for name, column in self.compute(start, stop).items()}

    def deferred(self, start: int, stop: int) -> dict[str, np.ndarray | DeferredColumn]:
        """The columns of examples [start, stop) as the loss gives them: read a few cells
        of each row with DeferredColumn.take, before the next call (a deferred column may
        read buffers the next block reuses)."""
        return self.compute(start, stop)

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Every example's columns at once, (B, T) each: a convenience for small batches
        (library callers, tests); at training batch sizes read `block`s instead.

        Refused (MemoryError, before anything is allocated) where the columns would take more
        than half the memory available: Linux lends the pages of an np.empty lazily, so
        filling columns larger than memory ends with the out-of-memory killer taking the
        caller's process (a notebook's kernel), not with an error.
        """
        need = self.batch * self.count * len(self.names) * COLUMN_BYTES
        available = available_memory()
        if available is not None and need > available // 2:
            raise MemoryError(
                f"the breakdown's columns at once would take about {gib(need)} ({self.batch:,} "
                f"examples x {self.count:,} terms x {len(self.names)} columns), more than half "
                f"the memory available ({gib(available)}): read it a block of examples at a "
                "time (terms.block(start, stop), losscli.model.scan_blocks(terms, batch)), or "
                "leave the terms out (result.to_dict(examples=False))")
        return self.block(0, self.batch)


# Terms per block where a whole breakdown is read for a few numbers (stats' counts, batch
# --columns): an in-batch loss's does not fit in memory at once (clip's at B = 8,192: 14 GB).
SCAN_TERMS = 1 << 20


def scan_blocks(terms: Terms | LazyTerms, batch: int,
                ) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
    """(start, stop, the columns of examples [start, stop)) over the whole breakdown, about
    SCAN_TERMS terms a block."""
    step = max(1, SCAN_TERMS // max(1, terms.count))
    for start in range(0, batch, step):
        stop = min(batch, start + step)
        yield start, stop, terms.block(start, stop)


@dataclass(frozen=True)
class Result:
    """What a loss evaluation returns: the reduced value, per-example losses, the breakdown."""

    loss: str
    params: dict[str, Any]
    reduction: str
    per_example: np.ndarray
    value: float | list[float]
    shape: dict[str, int | None]
    terms: Terms | LazyTerms
    warnings: tuple[str, ...] = ()
    ignored: np.ndarray | None = None
    # role -> d loss_b / d input, float64: anchor/positive (B, D), negatives/negatives2
    # (B, K, D) per example even for a shared bank, logits (B, C); only when asked (--grad).
    gradients: dict[str, np.ndarray] | None = None
    # What `--like LIBRARY` changed: library, api, changed params, formula flags, notes.
    convention: dict[str, Any] | None = None
    # `--emulate FORMAT`: the loss in that format's arithmetic beside the float64 one
    # (losses/emulation/): format, value, per_example, float64_value, diagnosis, ...
    emulation: dict[str, Any] | None = None

    @property
    def batch(self) -> int:
        """B, the examples evaluated."""
        return int(self.per_example.shape[0])

    @property
    def finite(self) -> bool:
        """Whether every reported number that matters (the value) is finite."""
        values = self.value if isinstance(self.value, list) else [self.value]
        return all(math.isfinite(v) for v in values)

    def to_dict(self, examples: bool = True) -> dict[str, Any]:
        """The JSON record of `losscli compute` (schema 1; `losscli/schemas/`): plain
        Python numbers and lists, non-finite numbers as None; without the examples' terms
        when `examples` is false, as batch's records."""
        return result_to_dict(self, examples)

    def __repr__(self) -> str:
        extra = f", warnings={len(self.warnings)}" if self.warnings else ""
        return (f"Result(loss={self.loss!r}, value={_short_value(self.value)}, "
                f"batch={self.batch}, reduction={self.reduction!r}{extra})")

    def __rich_repr__(self) -> Any:  # rich's pretty printer (a notebook's display)
        yield "loss", self.loss
        yield "value", self.value if not isinstance(self.value, list) else \
            _short_value(self.value)
        yield "batch", self.batch
        yield "reduction", self.reduction
        yield "params", self.params
        if self.warnings:
            yield "warnings", list(self.warnings)

    def _repr_html_(self) -> str:
        """A small table for notebooks: the value, parameters, shape, the first
        per-example losses and the warnings."""
        import html

        def row(name: str, text: str) -> str:
            return f"<tr><th style='text-align:left'>{name}</th><td>{html.escape(text)}</td></tr>"

        shown = [f"{v:.6g}" for v in self.per_example[:HTML_EXAMPLES].tolist()]
        more = f" ... ({self.batch} in all)" if self.batch > HTML_EXAMPLES else ""
        rows = [row("loss", self.loss), row("value", _short_value(self.value)),
                row("reduction", self.reduction),
                row("params", ", ".join(f"{k}={v}" for k, v in self.params.items())),
                row("shape", ", ".join(f"{k}={v}" for k, v in self.shape.items()
                                       if v is not None)),
                row("per example", ", ".join(shown) + more)]
        rows += [row("warning", w) for w in self.warnings]
        return f"<table class='losscli-result'>{''.join(rows)}</table>"


HTML_EXAMPLES = 10  # per-example losses a notebook's table shows


def _short_value(value: Any) -> str:
    if isinstance(value, list):
        head = ", ".join(f"{v:.6g}" for v in value[:4])
        return f"[{head}{', ...' if len(value) > 4 else ''}] ({len(value)} values)"
    return f"{value:.12g}"


SCHEMA = 1


def finite_or_none(value: Any) -> Any:
    """A float as itself if finite, else None (JSON has no NaN); other values unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


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
    params: dict[str, Any]  # held fixed: not the swept one nor another form of it (spec.tied)
    reduction: str
    convention: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stats:
    """A batch summarized: per-example losses, regimes, active share, distributions, and
    where a distance switches a margin loss's terms on (`thresholds`, for the picture)."""

    loss: str
    params: dict[str, Any]
    reduction: str
    value: Any
    records: list[dict[str, Any]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()
    convention: dict[str, Any] | None = None
    thresholds: tuple[Threshold, ...] = ()


@dataclass(frozen=True)
class Threshold:
    """A distance at which a margin loss's terms switch on: a `role` "negative" closer than
    `at`, or a "positive" farther, has an active term. `label` says how `at` is made from
    the parameters ("beta + m", "median d_ap + m": the triplet's is relative to each
    anchor's own d_ap, so its median stands for it)."""

    at: float
    label: str
    role: str


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


# ---------------------------------------------------------------- batch records


@dataclass
class FileResult:
    """The outcome of one input: the compute result without examples, or the error.

    `active` / `margin_terms` count the margin terms that are > 0 and all of them (triplet,
    contrastive and quadruplet; None for the others), for the summary's active share.
    """

    file: str
    loss: str
    params: dict[str, Any]
    reduction: str
    value: float | list[float] | None = None
    per_example: np.ndarray | None = None
    shape: dict[str, int | None] | None = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    error: LossCliError | None = None
    active: int | None = None
    margin_terms: int | None = None
    # The chosen breakdown columns, one value per example (`batch --columns`), or None.
    columns: dict[str, list[Any]] | None = None
    # The `convention` block of compute's JSON under --like (None: losscli's own definition).
    convention: dict[str, Any] | None = None

    @property
    def n(self) -> int | None:
        """The examples of the input, or None when it failed."""
        return None if self.per_example is None else int(self.per_example.shape[0])

    @property
    def ok(self) -> bool:
        """Whether the input was evaluated (no error)."""
        return self.error is None

    def named_warnings(self) -> list[str]:
        """The warnings, each naming this input once: a warning that names its file (or, on
        a line's record, the line's file: an input given twice) as it is, else prefixed."""
        files = tuple(f"{f}:" for f in (self.file, self.file.rsplit(":", 1)[0]))
        return [w if w.startswith(files) else f"{self.file}: {w}" for w in self.warnings]

    def error_text(self) -> str | None:
        """The error's one-line message, or None; a name that is not UTF-8 as `file` holds
        it (records, CSV and tables write both the same way)."""
        return None if self.error is None else self.error.message(undecodable_kept=True)

    def record(self) -> dict[str, Any]:
        """The per-file record: compute's JSON without `examples`, plus file, n, seconds,
        error (CONTRACT.md, batch)."""
        value = self.value
        if isinstance(value, list):
            value = [finite_or_none(v) for v in value]
        else:
            value = finite_or_none(value)
        per_example = None if self.per_example is None else \
            [finite_or_none(v) for v in self.per_example.tolist()]
        record: dict[str, Any] = {
            "schema": SCHEMA,
            "file": self.file,
            "loss": self.loss,
            "params": {k: finite_or_none(v) for k, v in self.params.items()},
            "reduction": self.reduction,
            "value": value,
            "per_example": per_example,
            "shape": None if self.shape is None else dict(self.shape),
        }
        if self.convention is not None:  # compute's key order: after shape
            record["convention"] = self.convention
        record.update(warnings=list(self.warnings), n=self.n, seconds=round(self.seconds, 6),
                      error=self.error_text())
        return record


# ---------------------------------------------------------------- records
# compute's JSON record, built here so that Result.to_dict and render/jsonout.py give the
# same document (numpy is imported by these functions only when they run).


def column_lists(arr: np.ndarray) -> list[list[Any]]:
    """A (B, T) column as nested Python lists, non-finite floats as None."""
    import numpy as np

    rows = arr.tolist()
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        return [[finite_or_none(v) for v in row] for row in rows]
    return rows


def result_head(result: Result) -> dict[str, Any]:
    """compute's JSON document up to its examples, in schema 1's key order: value,
    per-example losses, shape, convention, emulation; non-finite numbers as null."""
    value = result.value
    value = [finite_or_none(v) for v in value] if isinstance(value, list) \
        else finite_or_none(value)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "loss": result.loss,
        "params": {k: finite_or_none(v) for k, v in result.params.items()},
        "reduction": result.reduction,
        "value": value,
        "per_example": [finite_or_none(v) for v in result.per_example.tolist()],
        "shape": dict(result.shape),
    }
    if result.convention is not None:
        doc["convention"] = result.convention
    if result.emulation is not None:
        doc["emulation"] = result.emulation
    return doc


def result_to_dict(result: Result, examples: bool = True, order: list[int] | None = None,
                   ) -> dict[str, Any]:
    """compute's JSON document (schema 1): value, per-example losses, shape, convention,
    the examples' terms (left out when `examples` is false, as in batch's records) and
    warnings; non-finite numbers as null. `order`: only those examples, in that order
    (--worst, --best).
    """
    doc = result_head(result)
    if examples:
        doc["examples"] = _examples(result, order)
    doc["warnings"] = list(result.warnings)
    return doc


def _examples(result: Result, order: list[int] | None = None) -> list[dict[str, Any]]:
    terms = result.terms
    whole = terms.columns  # once: a LazyTerms computes every column on each access
    names = list(whole)
    columns = [column_lists(whole[n]) for n in names]
    grads = None
    if result.gradients is not None:
        grads = {role: finite_list(arr) for role, arr in result.gradients.items()}
    ignored = result.ignored
    out = []
    losses = result.per_example.tolist()
    for b in range(len(losses)) if order is None else order:
        loss = losses[b]
        rows = []
        for t in range(terms.count):
            row: dict[str, Any] = {"role": terms.role[t], "index": terms.index[t]}
            for name, col in zip(names, columns, strict=False):
                row[name] = col[b][t]
            rows.append(row)
        example: dict[str, Any] = {"index": b, "loss": finite_or_none(loss)}
        if ignored is not None and ignored[b]:
            example["ignored"] = True
        example["terms"] = rows
        if grads is not None:
            example["gradients"] = {role: g[b] for role, g in grads.items()}
        out.append(example)
    return out


def finite_list(arr: np.ndarray) -> list[Any]:
    """arr as nested lists, NaN and infinities as None (JSON null)."""
    import numpy as np

    flat = arr.tolist()
    return flat if np.isfinite(arr).all() else _nested_finite(flat)


def _nested_finite(value: Any) -> Any:
    if isinstance(value, list):
        return [_nested_finite(v) for v in value]
    return finite_or_none(value)
