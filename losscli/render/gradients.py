"""Gradient norms per term, for the table and CSV (the JSON carries the full vectors)."""

from __future__ import annotations

import numpy as np

from losscli.model import Result

# Which gradient a term's row stands for: its role -> the key of Result.gradients.
TERM_GRADIENT = {"positive": "positive", "negative": "negatives", "anchor": "anchor",
                 "class": "logits"}


def term_gradient_norms(result: Result) -> np.ndarray | None:
    """(B, T): the norm of d loss / d (the vector of term t), or None without gradients.

    A term whose vector belongs to another example (the in-batch candidates: the `example`,
    `candidate_role`/`candidate_index` or clip's `direction`/`j` columns) shows that vector's
    gradient (of the summed loss); a class term shows |d loss / d logit_c|, a pair term
    (x1, x2) the norm of both its gradients together.
    """
    grads = result.gradients
    if grads is None:
        return None
    terms = result.terms
    B, T = result.batch, terms.count
    norms = np.full((B, T), np.nan)
    for t in range(T):
        for b in range(B):
            norms[b, t] = _term_norm(result, grads, b, t)
    return norms


def _term_norm(result: Result, grads: dict[str, np.ndarray], b: int, t: int) -> float:
    terms = result.terms
    cols = terms.columns
    role, k = terms.role[t], terms.index[t]
    if role == "pair":
        parts = [np.atleast_1d(grads[key][b]) for key in ("x1", "x2") if key in grads]
        return float(np.linalg.norm(np.concatenate(parts))) if parts else np.nan
    if "candidate_role" in cols and "candidate_index" in cols:
        key, row = str(cols["candidate_role"][b, t]), int(cols["candidate_index"][b, t])
        if key == "positive" and "positives" in grads and "candidate_view" in cols:
            return _norm(grads["positives"][row, int(cols["candidate_view"][b, t]) - 1])
        return _norm(grads[key][row]) if key in grads else np.nan
    if "direction" in cols and "j" in cols:  # clip: a->p scores p_j, p->a scores a_j
        key = "positive" if cols["direction"][b, t] == "a->p" else "anchor"
        return _norm(grads[key][int(cols["j"][b, t])]) if key in grads else np.nan
    if "candidate_index" in cols and role in ("positive", "negative"):  # paired batch
        return _norm(grads["positive"][int(cols["candidate_index"][b, t])])
    key = TERM_GRADIENT.get(role)
    if key == "positive" and key not in grads and "positives" in grads:
        key = "positives"
    if key is None or key not in grads:
        return np.nan
    g = grads[key]
    row = int(cols["example"][b, t]) if "example" in cols else b
    if key == "logits":
        return float(abs(g[row, k]))
    if g.ndim == 3:
        return _norm(g[row, k])
    return _norm(g[row])


def _norm(vector: np.ndarray) -> float:
    return float(np.linalg.norm(vector))


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
