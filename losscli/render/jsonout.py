"""JSON output of `compute`, schema 1 (CONTRACT.md): strict JSON, full float64 precision."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from losscli.model import SCHEMA, Result, finite_or_none


def column_lists(arr: np.ndarray) -> list[list[Any]]:
    """A (B, T) column as nested Python lists, non-finite floats as None."""
    rows = arr.tolist()
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        return [[finite_or_none(v) for v in row] for row in rows]
    return rows


def result_to_dict(result: Result, examples: bool = True, order: list[int] | None = None,
                   ) -> dict[str, Any]:
    """compute's JSON document (schema 1): value, per-example losses, shape, convention,
    the examples' terms (left out when `examples` is false, as in batch's records) and
    warnings; non-finite numbers as null. `order`: only those examples, in that order.
    """
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
    if examples:
        doc["examples"] = _examples(result, order)
    doc["warnings"] = list(result.warnings)
    return doc


def _examples(result: Result, order: list[int] | None = None) -> list[dict[str, Any]]:
    terms = result.terms
    names = list(terms.columns)
    columns = [column_lists(terms.columns[n]) for n in names]
    grads = None
    if result.gradients is not None:
        grads = {role: _plain(arr) for role, arr in result.gradients.items()}
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


def _plain(arr: np.ndarray) -> list[Any]:
    flat = arr.tolist()
    return flat if np.isfinite(arr).all() else _nested_finite(flat)


def _nested_finite(value: Any) -> Any:
    if isinstance(value, list):
        return [_nested_finite(v) for v in value]
    return finite_or_none(value)


def dumps(doc: Any, indent: int | None = 2) -> str:
    """Strict JSON text: a non-finite float anywhere is a bug, not a literal."""
    return json.dumps(doc, indent=indent, allow_nan=False, ensure_ascii=False)


def render_json(result: Result, order: list[int] | None = None) -> str:
    """compute's JSON as text, strict (no NaN)."""
    return dumps(result_to_dict(result, order=order)) + "\n"
