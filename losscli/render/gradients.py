"""Gradient norms per term, for the table and CSV (the JSON carries the full vectors)."""

from __future__ import annotations

import numpy as np

from losscli.model import Result

# Which gradient a term's row stands for: its role -> the key of Result.gradients.
TERM_GRADIENT = {"positive": "positive", "negative": "negatives", "anchor": "anchor",
                 "class": "logits"}


def term_gradient_norms(result: Result) -> np.ndarray | None:
    """(B, T): the norm of d loss / d (the vector of term t), or None without gradients.

    A term whose vector belongs to another example (in-batch candidates: the `example`
    column) shows that row's gradient; a class term shows |d loss / d logit_c|.
    """
    grads = result.gradients
    if grads is None:
        return None
    terms = result.terms
    B, T = result.batch, terms.count
    owner = terms.columns.get("example")
    norms = np.full((B, T), np.nan)
    for t in range(T):
        key = TERM_GRADIENT.get(terms.role[t])
        if key is None or key not in grads:
            continue
        g = grads[key]
        k = terms.index[t]
        for b in range(B):
            row = int(owner[b, t]) if owner is not None else b
            if key == "logits":
                norms[b, t] = abs(g[row, k])
            elif g.ndim == 3:
                norms[b, t] = float(np.linalg.norm(g[row, k]))
            else:
                norms[b, t] = float(np.linalg.norm(g[row]))
    return norms


def role_norms(result: Result, b: int) -> dict[str, float]:
    """Norm of each role's gradient for example b (negatives: over all K together)."""
    if result.gradients is None:
        return {}
    return {role: float(np.linalg.norm(g[b])) for role, g in result.gradients.items()}


def hardest_push(result: Result, norms: np.ndarray, b: int) -> str | None:
    """`negative 3 (|g| 0.91, 62% of the negative terms')`: the negative with the largest
    gradient (the hardest negative), or the largest term when there are no negatives."""
    row = norms[b].copy()
    roles = np.array(result.terms.role)
    if (roles == "negative").any():
        row[roles != "negative"] = np.nan
    if not np.isfinite(row).any() or not np.nanmax(row) > 0:
        return None
    t = int(np.nanargmax(row))
    role, index = result.terms.role[t], result.terms.index[t]
    same = [i for i in range(row.shape[0]) if result.terms.role[i] == role]
    total = float(np.nansum(row[same]))
    share = f", {100 * row[t] / total:.0f}% of the {role} terms'" if len(same) > 1 else ""
    return f"{role} {index} (|g| {row[t]:.6g}{share})"
