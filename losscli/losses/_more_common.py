"""What LOSSES-MORE.md's losses share: the new roles' shapes, vectors prepared for a
similarity (with what their gradients need), similarity and distance rows, and gradients
carried back from similarities and distances to the vectors.

The five losses' helpers (losses/_common.py) are reused where they fit; what is here is new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.errors import BadData
from losscli.kernels import _jit
from losscli.kernels import distances as kern
from losscli.losses._common import (
    HUGE_ENTRY,
    EmbeddingBatch,
    _negatives_3d,
    check_embedding_breakdown,
    embedding_batch,
    missing_role,
    nonfinite_warning,
    reduce,
    shape_dict,
)
from losscli.losses.spec import Convention
from losscli.model import Inputs, Result, Terms

DISTANCE_KINDS = {"euclidean": kern.EUCLIDEAN, "sqeuclidean": kern.SQEUCLIDEAN,
                  "cosine": kern.COSINE}


# ---------------------------------------------------------------- roles and shapes


def anchor_rows(inputs: Inputs) -> tuple[np.ndarray, bool]:
    """The anchor as (B, D), and whether it was one (D,) example."""
    if "anchor" not in inputs:
        raise missing_role(inputs, "anchor")
    anchor = inputs["anchor"]
    if anchor.ndim not in (1, 2) or anchor.shape[-1] == 0 or anchor.shape[0] == 0:
        raise BadData(f"shape {anchor.shape} does not fit",
                      "anchor must be (D,) for one example or (B, D) for a batch",
                      where=inputs.where("anchor"))
    single = anchor.ndim == 1
    return (anchor.reshape(1, -1) if single else anchor), single


def positives_bank(inputs: Inputs, B: int, D: int, single: bool) -> tuple[np.ndarray, str]:
    """`positives` (P, D) shared or (B, P, D) per anchor, or `positive` as P = 1: (Bp, P, D).

    Returns the bank and the role it came from (for the gradients' key).
    """
    has_one, has_many = "positive" in inputs, "positives" in inputs
    if has_one and has_many:
        raise BadData("both positive and positives given",
                      "give one: positive for one per anchor, positives for several",
                      where=inputs.where("positives"))
    if has_one:
        positive = inputs["positive"]
        anchor = inputs["anchor"]
        if positive.shape != anchor.shape:
            raise BadData(f"positive {positive.shape} does not match anchor {anchor.shape}",
                          "positive must have the anchor's shape: (D,) or (B, D); use "
                          "positives for several per anchor", where=inputs.where("positive"))
        return positive.reshape(B, 1, D), "positive"
    if not has_many:
        raise missing_role(inputs, "positives")
    arr = inputs["positives"]
    accepted = "positives must be (P, D) shared by every anchor or (B, P, D) per anchor"
    if arr.ndim == 0 or arr.shape[-1] != D:
        raise BadData(f"positives {arr.shape} do not match anchor dimension D = {D} "
                      f"(anchor {inputs['anchor'].shape})", accepted,
                      where=inputs.where("positives"))
    if arr.ndim == 1:
        bank = arr.reshape(1, 1, D)
    elif arr.ndim == 2:
        bank = arr.reshape(1, arr.shape[0], D)
    elif arr.ndim == 3 and not single and arr.shape[0] == B:
        bank = arr
    else:
        raise BadData(f"positives {arr.shape} do not fit anchor {inputs['anchor'].shape}",
                      accepted, where=inputs.where("positives"))
    if bank.shape[1] == 0:
        raise BadData("positives is empty (P = 0)", "give at least one positive",
                      where=inputs.where("positives"))
    return bank, "positives"


def negatives_bank(inputs: Inputs, B: int, D: int, single: bool, *, required: bool,
                   allow_empty: bool = False) -> np.ndarray:
    """`negatives` as (Bn, K, D), Bn in {1, B}; (1, 0, D) when optional and absent."""
    if "negatives" not in inputs:
        if required:
            raise missing_role(inputs, "negatives")
        return np.zeros((1, 0, D))
    return _negatives_3d(inputs, "negatives", B, D, single, allow_empty=allow_empty)


def paired_rows(inputs: Inputs, first: str = "x1", second: str = "x2",
                ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Two roles holding one vector per pair: (D,) or (B, D) each, the same shape."""
    for role in (first, second):
        if role not in inputs:
            raise missing_role(inputs, role)
    x1, x2 = inputs[first], inputs[second]
    if x1.ndim not in (1, 2) or x1.shape[-1] == 0:
        raise BadData(f"shape {x1.shape} does not fit",
                      f"{first} must be (D,) for one pair or (B, D) for a batch",
                      where=inputs.where(first))
    if x2.shape != x1.shape:
        raise BadData(f"{second} {x2.shape} does not match {first} {x1.shape}",
                      f"{second} must have {first}'s shape: (D,) or (B, D)",
                      where=inputs.where(second))
    single = x1.ndim == 1
    return (x1.reshape(1, -1), x2.reshape(1, -1), True) if single else (x1, x2, False)


def scores(inputs: Inputs, role: str) -> np.ndarray:
    """A role holding one number per pair: a scalar (one pair) or (B,), as (B,)."""
    if role not in inputs:
        raise missing_role(inputs, role)
    arr = inputs[role]
    if arr.ndim > 1:
        raise BadData(f"shape {arr.shape} does not fit",
                      f"{role} must be a number for one pair or (B,) for a batch",
                      where=inputs.where(role))
    return arr.reshape(-1)


def labels(inputs: Inputs, B: int, checked: bool = True) -> np.ndarray:
    """`label` as (B,) of +1/-1: a scalar or (1,) for one pair, (B,) for a batch.

    checked=False (a library that checks none, `--like torch`) accepts any finite number.
    """
    if "label" not in inputs:
        raise missing_role(inputs, "label")
    arr = inputs["label"]
    if not (arr.shape == (B,) or (B == 1 and arr.ndim == 0)):
        raise BadData(f"label {arr.shape} does not fit {B} pair(s)",
                      f"label must be one +1 or -1 per pair: shape ({B},)"
                      + (" or a single number" if B == 1 else ""),
                      where=inputs.where("label"))
    y = arr.reshape(B)
    if not checked:
        return np.ascontiguousarray(y)
    bad = (y != 1.0) & (y != -1.0)
    if bad.any():
        first = int(np.argmax(bad))
        raise BadData(f"label {y[first]!r} at index {first} is not +1 or -1",
                      "give +1 (similar, or x1 ranked higher) or -1 per pair",
                      where=inputs.where("label"))
    return np.ascontiguousarray(y)


TINY_TEMPERATURE = 1e-3


def check_temperature(t: float, warnings: list[str]) -> None:
    """CONTRACT.md: warn below 1e-3, where a softmax is nearly a max."""
    if t < TINY_TEMPERATURE:
        warnings.append(f"temperature {t:g} is below {TINY_TEMPERATURE:g}: the softmax is "
                        "nearly a max over the candidates")


def check_huge(arrays: dict[str, np.ndarray | None], warnings: list[str]) -> None:
    for name, arr in arrays.items():
        if arr is not None and arr.size and float(np.max(np.abs(arr))) > HUGE_ENTRY:
            warnings.append(f"{name} has entries above {HUGE_ENTRY:g} in magnitude; distances "
                            "and similarities may overflow")


# ---------------------------------------------------------------- vectors and gradients


@dataclass
class Vectors:
    """A role's vectors as a similarity or distance uses them.

    `used` is `raw` itself, or each row scaled to unit length (cosine); `norms` (cosine only)
    are the raw rows' lengths, which the gradient through the normalization divides by.
    """

    raw: np.ndarray
    used: np.ndarray
    norms: np.ndarray | None

    def backward(self, grad_used: np.ndarray) -> np.ndarray:
        """d/d raw from d/d used: (g - (g.u) u) / |x| under cosine (0 for a zero vector).

        grad_used may carry a leading batch axis over a shared bank ((B, K, D) for (1, K, D)).
        """
        if self.norms is None:
            return grad_used
        u = self.used
        radial = np.sum(grad_used * u, axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (grad_used - radial * u) / self.norms[..., None]
        return np.where(self.norms[..., None] > 0.0, out, 0.0)


def vectors(arr: np.ndarray, unit: bool, warnings: list[str], name: str,
            measure: str = "similarity") -> Vectors:
    """`arr` (..., D) prepared: unit rows under cosine (zero rows stay zero, with a warning)."""
    if not unit:
        return Vectors(arr, arr, None)
    flat = np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]))
    out = np.empty_like(flat)
    zeros = _jit.run(kern.unit_rows, flat.size, flat, out) if flat.size else 0
    if zeros:
        warnings.append(f"{zeros} zero vector(s) in {name} under cosine {measure}: "
                        "their cosine is taken as 0")
    return Vectors(arr, out.reshape(arr.shape), row_norms(arr))


@dataclass
class Explicit:
    """An anchor against its positive and explicit negatives: sim[:, 0] = s(a, p),
    sim[:, 1 + k] = s(a, n_k), with the vectors the similarities used (for gradients)."""

    batch: EmbeddingBatch
    anchor: Vectors
    positive: Vectors
    negatives: Vectors
    sim: np.ndarray


def explicit_similarities(inputs: Inputs, params: dict[str, Any], name: str, grad: bool,
                          warnings: list[str]) -> Explicit:
    """The explicit form shared by dcl and hard-infonce, checked and warned as compute does."""
    batch = embedding_batch(inputs)
    check_embedding_breakdown(batch, batch.k + 1, name, grad)
    check_huge({"anchor": batch.anchor, "positive": batch.positive,
                "negatives": batch.negatives}, warnings)
    check_temperature(params["temperature"], warnings)
    cosine = params["similarity"] == "cosine"
    a = vectors(batch.anchor, cosine, warnings, "anchor")
    p = vectors(batch.positive[:, None, :], cosine, warnings, "positive")
    n = vectors(batch.negatives, cosine, warnings, "negatives")
    sim = np.ascontiguousarray(np.concatenate(
        [similarity_rows(a.used, p.used, cosine), similarity_rows(a.used, n.used, cosine)],
        axis=1))
    return Explicit(batch, a, p, n, sim)


def row_norms(arr: np.ndarray) -> np.ndarray:
    """Euclidean norms of the last axis, scaled by the largest |entry| so none overflows."""
    scale = np.max(np.abs(arr), axis=-1, keepdims=True) if arr.size else np.zeros(
        arr.shape[:-1] + (1,))
    safe = np.where(scale > 0.0, scale, 1.0)
    return (np.sqrt(np.sum((arr / safe) ** 2, axis=-1)) * scale[..., 0])


def similarity_rows(anchor: np.ndarray, bank: np.ndarray, cosine: bool) -> np.ndarray:
    """(B, C) similarities of each anchor row with its bank (1 or B, C, D), by BLAS.

    Cosine rows are unit already; their dot products are clamped to [-1, 1].
    """
    if bank.shape[0] == 1:
        sim = anchor @ bank[0].T
    else:
        sim = np.einsum("bd,bcd->bc", anchor, bank)
    if cosine:
        np.clip(sim, -1.0, 1.0, out=sim)
    return np.ascontiguousarray(sim)


def distance_rows(x: np.ndarray, bank: np.ndarray, kind: str) -> np.ndarray:
    """(B, C) exact distances of each row of x (B, D) to its bank (1 or B, C, D)."""
    out = np.empty((x.shape[0], bank.shape[1]))
    work = x.shape[0] * bank.shape[1] * x.shape[1]
    _jit.run(kern.distances, work, np.ascontiguousarray(x), np.ascontiguousarray(bank),
             DISTANCE_KINDS[kind], out)
    return out


def similarity_backward(grad_sim: np.ndarray, anchor: Vectors, bank: Vectors,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """From d loss_b / d s(a_b, c) (B, C) to d/d a (B, D) and d/d c per example (B, C, D)."""
    a, c = anchor.used, bank.used
    if c.shape[0] == 1:
        grad_a = grad_sim @ c[0]
    else:
        grad_a = np.einsum("bc,bcd->bd", grad_sim, c)
    grad_c = grad_sim[:, :, None] * a[:, None, :]
    return anchor.backward(grad_a), bank.backward(grad_c)


def distance_backward(grad_dist: np.ndarray, x: Vectors, bank: Vectors, dist: np.ndarray,
                      kind: str) -> tuple[np.ndarray, np.ndarray]:
    """From d loss_b / d d(x_b, c) (B, C) to d/d x (B, D) and d/d c per example (B, C, D).

    Exact distances (LOSSES.md): euclidean (x - c) / d with 0 at d = 0; sqeuclidean
    2 (x - c); cosine (1 - cos) through the normalization of both rows.
    """
    xu, cu = x.used, bank.used
    if kind == "cosine":
        if cu.shape[0] == 1:
            gx = -(grad_dist @ cu[0])
        else:
            gx = -np.einsum("bc,bcd->bd", grad_dist, cu)
        gc = -grad_dist[:, :, None] * xu[:, None, :]
        return x.backward(gx), bank.backward(gc)
    diff = xu[:, None, :] - cu
    if kind == "sqeuclidean":
        w = 2.0 * grad_dist
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(dist > 0.0, grad_dist / dist, 0.0)
    g = w[:, :, None] * diff
    # Through the normalization when a library normalizes first (PML's LpDistance).
    return x.backward(g.sum(axis=1)), bank.backward(-g)


# ---------------------------------------------------------------- results


def result(spec_name: str, params: dict[str, Any], reduction: str, loss: np.ndarray,
           shape: dict, terms: Terms, warnings: list[str],
           gradients: dict[str, np.ndarray] | None = None,
           value: float | list[float] | None = None) -> Result:
    """The Result; `value` overrides the reduction of the per-example losses (a library's
    batch reduction over terms, such as PML's DivisorReducer)."""
    nonfinite_warning(loss, warnings)
    if value is None:
        value = mean_nonzero(loss) if reduction == "mean-nonzero" else reduce(loss, reduction)
    return Result(loss=spec_name, params=dict(params), reduction=reduction, per_example=loss,
                  value=value, shape=shape, terms=terms, warnings=tuple(warnings),
                  gradients=gradients)


def mean_nonzero(loss: np.ndarray) -> float:
    """PML's AvgNonZeroReducer over the per-example losses: the mean of those > 0 (0 when
    none is)."""
    active = loss > 0.0
    count = int(active.sum())
    return float(loss[active].sum() / count) if count else 0.0


# ---------------------------------------------------------------- library conventions


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


def unit_if(convention: Convention | None, unit: bool) -> bool:
    """Whether the vectors are normalized: for cosine, or because the library normalizes."""
    return unit or (convention is not None and convention.normalize)


__all__ = [
    "DISTANCE_KINDS",
    "Vectors",
    "anchor_rows",
    "check_huge",
    "check_temperature",
    "distance_backward",
    "distance_rows",
    "float32_params",
    "labels",
    "mean_nonzero",
    "negatives_bank",
    "paired_rows",
    "pml_single_call_zero",
    "positives_bank",
    "probability_eps",
    "result",
    "scores",
    "shape_dict",
    "similarity_backward",
    "similarity_rows",
    "unit_if",
    "vectors",
    "zero_rows",
]
