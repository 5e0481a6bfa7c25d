"""A library's convention (`--like`) in the arithmetic: its eps, term reductions, the calls
it returns 0 for, and its float32 parameters. The facts are registry data (Convention); these
turn them into kernel arguments and adjustments of the losses."""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import codes
from losscli.losses.spec import Convention

EPS_MODES = {"none": codes.EPS_NONE, "difference": codes.EPS_DIFFERENCE, "root": codes.EPS_ROOT}


TERM_CODES = {"mean": codes.TERMS_MEAN, "sum": codes.TERMS_SUM, "max": codes.TERMS_MAX,
              "mean-active": codes.TERMS_MEAN_ACTIVE, "split": codes.TERMS_SPLIT_MEAN_ACTIVE,
              "split-mean": codes.TERMS_SPLIT_MEAN}


def eps_args(convention: Convention | None) -> tuple[float, int]:
    """(eps, eps_mode) for the distance kernels: none unless the library adds one."""
    if convention is None:
        return 0.0, codes.EPS_NONE
    return float(convention.eps), EPS_MODES[convention.eps_placement]


def unit_if(convention: Convention | None, unit: bool) -> bool:
    """Whether the vectors are normalized: for cosine, or because the library normalizes."""
    return unit or (convention is not None and convention.normalize)


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


def pml_single_call_zero(convention: Convention | None, batch: int, per_anchor: bool, P: int,
                         K: int, warnings: list[str]) -> bool:
    """PML's GenericPairLoss returns 0 for a call with at most one positive pair and at most
    one negative pair. One call covers the whole batch when the banks are shared, one
    anchor when they are its own (B, P, D) / (B, K, D)."""
    if convention is None or not convention.zero_single_pair:
        return False
    calls = 1 if per_anchor else batch
    if calls * P > 1 or calls * K > 1:
        return False
    warnings.append(f"{convention.library} returns 0 for a call with at most one positive "
                    "and one negative pair (GenericPairLoss skips such calls)")
    return True


def zero_rows(loss: np.ndarray, gradients: dict[str, np.ndarray] | None,
              rows: np.ndarray | None = None) -> None:
    """Zero the losses and gradients of the given examples (all when rows is None), in place.

    A gradient array with a leading axis of one (a shared bank) is zeroed only when every
    example is.
    """
    if rows is None:
        rows = np.ones(loss.shape[0], dtype=bool)
    loss[rows] = 0.0
    for g in (gradients or {}).values():
        if g.shape[:1] == loss.shape[:1]:
            g[rows] = 0.0
        elif rows.all():
            g[...] = 0.0


def probability_eps(convention: Convention | None, loss: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """-log(p + eps) for softmax losses -log p (PML's NTXent adds finfo.tiny inside the log).

    Returns the losses and the factor p / (p + eps) their gradients take (None without eps).
    """
    if convention is None or convention.eps_placement != "probability":
        return loss, None
    log_eps = np.log(convention.eps)
    with np.errstate(over="ignore"):
        factor = 1.0 / (1.0 + np.exp(loss + log_eps))
    return -np.logaddexp(-loss, log_eps), factor


def float32_params(convention: Convention | None, params: dict[str, Any],
                   ) -> dict[str, Any]:
    """The parameters a library stores as float32 (PML's MarginLoss beta), as it uses them."""
    if convention is None or not convention.float32_params:
        return params
    out = dict(params)
    for name in convention.float32_params:
        out[name] = float(np.float32(out[name]))
    return out
