"""The row formats (JSON Lines, Parquet, Arrow): one example per line or row.

A role read from a row format is the examples' values stacked on a new first axis, so that
axis is the examples' whatever the value on one row is. The ordinary shape rules cannot know
that: they read (B, D) negatives as a bank of K = B shared negatives, and a number per line
as one example of dimension B. So each row's value is checked here against ONE example of
its role (model.EXAMPLE_FORMS, or the loss's own LossSpec.example_forms), as if the row were
its own JSON file, and a bank role's single row is given its bank axis ((D,) negatives ->
(1, D), K = 1): what leaves here is unambiguously the batch form, (B, D), (B, K, D), (B,)...

Every row has the same shape (the readers refuse a line or row that differs), so checking
the first row checks them all; a refusal names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from losscli.errors import BadData
from losscli.model import EXAMPLE_FORMS, SHARED_ROLES, ExampleForm

if TYPE_CHECKING:  # io is a leaf: it reads a spec's facts, never the registry
    from losscli.losses.spec import LossSpec

# The formats whose arrays hold one example per line or row (jsonl: JSON Lines to compute).
ROW_FORMATS = ("jsonl", "parquet", "arrow")


def example_form(role: str, spec: LossSpec | None) -> ExampleForm | None:
    """One example of `role`, as the loss reads it (any loss's, without one)."""
    return spec.example_form(role) if spec is not None else EXAMPLE_FORMS.get(role)


def one_example_per_row(arr: np.ndarray, role: str, spec: LossSpec | None, file: str,
                        fmt: str, first: int) -> np.ndarray:
    """A row format's stacked `role` (rows, ...) in batch form, each row checked to be one
    example of the role (see `batch_shape`)."""
    if not isinstance(arr, np.ndarray) or arr.ndim == 0:  # not read by rows: left as it is
        return arr
    if role in SHARED_ROLES and fmt != "jsonl" and (spec is None or role in spec.roles):
        # JSON Lines' reader keeps a per-batch role's one value already; a column has rows
        return one_for_the_batch(arr, role, file, fmt, first)
    shape = batch_shape(arr.shape, role, spec, file, fmt, first)
    return arr if shape == arr.shape else arr.reshape(shape)


def batch_shape(shape: tuple[int, ...], role: str, spec: LossSpec | None, file: str,
                fmt: str, first: int) -> tuple[int, ...]:
    """The batch form of a row format's `role` whose rows stacked have `shape`, each row
    checked to be one example of the role, or the refusal naming the row. `first`: the
    first row's number in messages (a JSON Lines file's line, a table's row), `file` the
    input as messages name it.

    A role that is one for the whole batch (class weights) or that the loss does not read
    keeps its shape (the reader and `unused` deal with those).
    """
    if spec is not None and role not in spec.roles:
        return shape
    form = example_form(role, spec)
    if form is None or not shape or shape[0] == 0:  # no row to check: the reader refuses it
        return shape
    per_row = shape[1:]
    if len(per_row) == max(form.ranks) + 1 and per_row[0] == 1:
        # A batch of one is one example, as the line alone in a JSON file is read (a label
        # [1], an anchor [[...]]): the same checks on the example it holds.
        return batch_shape((shape[0],) + per_row[1:], role, spec, file, fmt, first)
    if len(per_row) in form.ranks:
        if form.bank and per_row == (0,):  # `[]` on every row: K = 0 for each example
            return (shape[0], 0, 0)
        if form.bank and per_row[:1] == (0,):  # no rows of D values: K = 0 as well
            return (shape[0], *per_row) if len(per_row) == 2 else shape
        if form.bank and len(per_row) == 1:  # one row of a bank: K = 1 (P = 1) per example
            return (shape[0], 1, per_row[0])
        return shape
    lines = fmt == "jsonl"
    row = f"line {first}" if lines else f"row {first}"
    where = f"{file}:{first}:{role}" if lines else f"{file}:{role}"
    unit = "line" if lines else "row"
    found = "a single number" if not per_row else f"{role} {per_row}"
    if len(per_row) < min(form.ranks):  # a number where the form's least rank is 1
        raise BadData(f"{found} on {row} where an array belongs: a {describe(fmt)} holds "
                      f"one example per {unit}, and one example's {role} must be {form.text}",
                      f"give {role} as {form.text} on every {unit}", where=where)
    if lines:
        loss = spec.name if spec is not None else "LOSS"
        raise BadData(f"{found} on {row} is more than one example: compute reads a JSON Lines "
                      f"file one example per line, {role} {form.text}",
                      f"give one example per line, or run `losscli batch {loss} {file}`, which "
                      "reads each line as its own input (one example or a batch)", where=where)
    raise BadData(f"{found} on {row} is more than one example: a {describe(fmt)} holds one "
                  f"example per row, {role} {form.text}",
                  f"give one example per row: a column of {form.text} values", where=where)


def one_for_the_batch(arr: np.ndarray, role: str, file: str, fmt: str, first: int,
                      like: np.ndarray | None = None) -> np.ndarray:
    """A role that is one for the whole batch (class weights) given as a table's column:
    its one value, which every row must repeat, as every line of a JSON Lines file must;
    the first row that differs is named (rows counted from `first`). `like`: the value of
    the rows before these (a file read a row group at a time)."""
    if arr.ndim == 0 or arr.shape[0] == 0:  # no row: the reader refuses it
        return arr
    value = arr[0] if like is None else like
    same = (arr == value).reshape(arr.shape[0], -1).all(axis=1)
    if not same.all():
        row = first + int(np.flatnonzero(~same)[0])
        raise BadData(f"{role} on row {row} differs from the first row's: {role} is one "
                      f"for the whole batch, not one per example",
                      f"give the same {role} on every row of the {describe(fmt)}, or "
                      f"--{role} FILE", where=f"{file}:{role}")
    return value


def describe(fmt: str) -> str:
    """The row format as messages name it."""
    return {"jsonl": "JSON Lines file", "parquet": "Parquet file",
            "arrow": "Arrow file"}.get(fmt, fmt)


__all__ = ["ROW_FORMATS", "batch_shape", "describe", "example_form", "one_example_per_row",
           "one_for_the_batch"]
