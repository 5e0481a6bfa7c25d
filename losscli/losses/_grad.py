"""What the loss modules share for `--grad` and `--like`: gradients carried back through the
unit normalization, and a Convention's formula flags as kernel arguments."""

from __future__ import annotations

import numpy as np

from losscli.kernels import _jit, codes
from losscli.kernels import distances as kern
from losscli.losses.spec import Convention

EPS_MODES = {"none": kern.EPS_NONE, "difference": kern.EPS_DIFFERENCE, "root": kern.EPS_ROOT}
TERM_CODES = {"mean": codes.TERMS_MEAN, "sum": codes.TERMS_SUM, "max": codes.TERMS_MAX,
              "mean-active": codes.TERMS_MEAN_ACTIVE, "split": codes.TERMS_SPLIT_MEAN_ACTIVE}


def eps_args(convention: Convention | None) -> tuple[float, int]:
    """(eps, eps_mode) for the distance kernels: none unless the library adds one."""
    if convention is None:
        return 0.0, kern.EPS_NONE
    return float(convention.eps), EPS_MODES[convention.eps_placement]


def through_unit(original: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """d loss / d x from d loss / d u, where u = x / |x| (the rows `to_unit` made).

    `original` may be a shared bank (1, K, D) for per-example gradients (B, K, D).
    """
    D = original.shape[-1]
    x = np.ascontiguousarray(original.reshape(-1, D))
    g = np.ascontiguousarray(grad.reshape(-1, D))
    out = np.empty_like(g)
    if g.size:
        _jit.run(kern.unit_rows_grad, g.size, x, g, out)
    return out.reshape(grad.shape)


def embedding_gradients(original, unit: bool, anchor: np.ndarray, positive: np.ndarray,
                        negatives: np.ndarray, negatives2: np.ndarray | None = None,
                        ) -> dict[str, np.ndarray]:
    """The gradients dict by role, carried through the normalization when one was applied.

    `original` is the EmbeddingBatch before `to_unit`.
    """
    grads = {"anchor": anchor, "positive": positive, "negatives": negatives}
    if negatives2 is not None:
        grads["negatives2"] = negatives2
    if not unit:
        return grads
    return {role: through_unit(getattr(original, role), g) for role, g in grads.items()}


def mean_over_active(terms: np.ndarray) -> float:
    """PML's AvgNonZeroReducer: the mean of the terms > 0, or 0 when none is."""
    active = terms > 0
    count = int(active.sum())
    return float(terms[active].sum() / count) if count else 0.0


def single_pair_zero(convention: Convention | None, B: int, K: int, warnings: list[str],
                     *arrays: np.ndarray) -> bool:
    """PML's GenericPairLoss returns 0 for a call with one positive and one negative pair:
    zero the given arrays (losses, gradients) in place and say so. True when it applied."""
    if convention is None or not convention.zero_single_pair or B != 1 or K != 1:
        return False
    for arr in arrays:
        if arr is not None:
            arr[...] = 0.0
    warnings.append(f"{convention.library} returns 0 for a single positive pair and a "
                    "single negative pair (GenericPairLoss skips such calls)")
    return True
