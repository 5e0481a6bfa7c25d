"""Gradient norms per term, for the table and CSV (the JSON carries the full vectors)."""

from __future__ import annotations

import numpy as np

from losscli.model import Result
from losscli.render.breakdown import Block

# Which gradient a term's row stands for: its role -> the key of Result.gradients.
TERM_GRADIENT = {"positive": "positive", "negative": "negatives", "anchor": "anchor",
                 "class": "logits"}


def _norms(grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per role: the norm of each vector (over the last axis); |d loss / d logit_c| for
    logits, |g| for scalar roles."""
    out = {}
    for key, g in grads.items():
        out[key] = np.abs(g) if key == "logits" or g.ndim == 1 else np.linalg.norm(g, axis=-1)
    return out


def term_norms(result: Result, block: Block) -> np.ndarray | None:
    """(n, kept): the norm of d loss / d (the vector of each kept term), or None without
    gradients.

    A term whose vector belongs to another example (the in-batch candidates: the
    `candidate_role`/`candidate_index` or clip's `direction`/`j` columns) shows that vector's
    gradient (of the summed loss); a class term shows |d loss / d logit_c|, a pair term
    (x1, x2) the norm of both its gradients together.
    """
    grads = result.gradients
    if grads is None:
        return None
    norms = _norms(grads)
    cols = block.columns
    role = np.asarray(result.terms.role, dtype=object)[block.order]
    k = np.asarray(result.terms.index, dtype=np.int64)[block.order]
    row = np.broadcast_to((block.start + np.arange(block.n))[:, None], block.order.shape)
    out = np.full(block.order.shape, np.nan)
    pair = role == "pair"
    if pair.any():
        squares = np.zeros(block.n)
        for key in ("x1", "x2"):
            if key in grads:
                g = grads[key][block.start:block.start + block.n]
                squares += (g.reshape(g.shape[0], -1) ** 2).sum(axis=1)
        out[pair] = np.broadcast_to(np.sqrt(squares)[:, None], out.shape)[pair]
    rest = ~pair
    if "candidate_role" in cols and "candidate_index" in cols:
        index = cols["candidate_index"].astype(np.int64)
        for key in set(cols["candidate_role"][rest].tolist()):
            mask = rest & (cols["candidate_role"] == key)
            if key == "positive" and "positives" in grads and "candidate_view" in cols:
                view = cols["candidate_view"].astype(np.int64)
                out[mask] = norms["positives"][index[mask], view[mask] - 1]
            elif key.startswith("negative ") and "negatives" in norms:
                # MNRL's "negative k": column k of the negatives of example candidate_index
                out[mask] = norms["negatives"][index[mask], int(key.split()[1])]
            elif key in norms:
                out[mask] = norms[key][index[mask]]
        return out
    if "direction" in cols and "j" in cols:  # clip: a->p scores p_j, p->a scores a_j
        j = cols["j"].astype(np.int64)
        for name, key in (("a->p", "positive"), ("p->a", "anchor")):
            mask = rest & (cols["direction"] == name)
            if key in norms:
                out[mask] = norms[key][j[mask]]
        return out
    if "candidate_index" in cols:  # paired batch: the candidate is the positive of its row
        mask = rest & ((role == "positive") | (role == "negative"))
        if "positive" in norms:
            out[mask] = norms["positive"][cols["candidate_index"].astype(np.int64)[mask]]
        rest = rest & ~mask
    for name in set(role[rest].tolist()):
        key = TERM_GRADIENT.get(name)
        if key == "positive" and key not in grads and "positives" in grads:
            key = "positives"
        if key is None or key not in grads:
            continue
        mask = rest & (role == name)
        g = norms[key]
        if key == "logits" or g.ndim == 2:
            out[mask] = g[row[mask], k[mask]]
        else:
            out[mask] = g[row[mask]]
    return out


def role_norms(result: Result, b: int) -> dict[str, float]:
    """Norm of each role's gradient for example b (negatives: over all K together)."""
    if result.gradients is None:
        return {}
    return {role: float(np.linalg.norm(g[b])) for role, g in result.gradients.items()}


def hardest_push(roles: list[str], indices: list[int], norms: np.ndarray) -> str | None:
    """`negative 3 (|g| 0.91, 62% of the negative terms')`: of the terms shown, the negative
    with the largest gradient (the hardest negative), or the largest term when there are no
    negatives."""
    row = norms.copy()
    role_array = np.array(roles, dtype=object)
    if (role_array == "negative").any():
        row[role_array != "negative"] = np.nan
    if not np.isfinite(row).any() or not np.nanmax(row) > 0:
        return None
    t = int(np.nanargmax(row))
    role, index = roles[t], indices[t]
    same = role_array == role
    total = float(np.nansum(row[same]))
    share = f", {100 * row[t] / total:.0f}% of the {role} terms'" if same.sum() > 1 else ""
    return f"{role} {index} (|g| {row[t]:.6g}{share})"
