"""Softmax cross entropy with class-index or probability targets (LOSSES.md, softmax-ce)."""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.errors import BadData, UsageError
from losscli.kernels import _jit
from losscli.kernels import softmax as kern
from losscli.losses.results import check_breakdown, nonfinite_warning, reduce, shape_dict
from losscli.losses.roles import check_huge, missing_role
from losscli.losses.spec import Convention
from losscli.losses.specs.softmax import SOFTMAX_CE
from losscli.losses.sweeps import Limits, no_limits
from losscli.model import Inputs, Result, Terms

PROBABILITY_SUM_TOLERANCE = 1e-6
# Class weights within these bounds are summed and multiplied as they are; beyond them
# compute rescales the weights for the mean (_weighted_mean) and batch refuses it
# (mean_divisor): their sum or their products with a loss may overflow or underflow.
WEIGHT_TINY, WEIGHT_HUGE = 1e-150, 1e150
KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), the clip of from_logits=False


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, *, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """softmax-ce per example: -w_y log p_y for a class index y, -sum_c w_c q_c log p_c for
    probabilities q (LOSSES.md), p = softmax(logits), q smoothed to (1 - eps) q + eps / C.

    The weighted mean divides by sum w_y over the examples not ignored (torch's rule).
    """
    for role in ("logits", "target"):
        if role not in inputs:
            raise missing_role(inputs, role, SOFTMAX_CE.roles)
    logits = inputs["logits"]
    if logits.ndim not in (1, 2) or 0 in logits.shape:
        raise BadData(f"shape {logits.shape} does not fit",
                      "logits must be (C,) for one example or (B, C) for a batch, C >= 1",
                      where=inputs.where("logits"))
    x = logits.reshape(1, -1) if logits.ndim == 1 else logits
    B, C = x.shape
    check_breakdown(B, C, SOFTMAX_CE.name, B * C if grad else 0)
    warnings: list[str] = []
    check_huge({"logits": x}, warnings, "a log-sum-exp minus a logit may overflow")
    if C == 1:
        warnings.append("a single class: its probability is 1 and the loss 0")
    if convention is not None and convention.library != "torch" and "weight" in inputs:
        raise UsageError(f"{convention.library}'s cross entropy takes no class weights",
                         "drop the weight role, or --like")
    weight = _weight(inputs, C, warnings)
    ignore = params["ignore_index"]
    q, index_target = _target_mass(inputs, logits, B, C, ignore, warnings)
    if index_target is None and convention is not None and "ignore_index" in convention.params:
        ignore = None  # a library's default ignore index is for class indices only (torch's)
    keep = np.ones(B, dtype=np.bool_)
    if ignore is not None:
        if index_target is None:
            raise UsageError("--ignore-index applies to class-index targets only",
                             "drop it, or give one class index per example")
        keep = index_target != ignore
        if not keep.any() and reduction == "mean":
            raise BadData(f"every example has the ignored target {ignore}: nothing to average",
                          "check --ignore-index, or use --reduction sum or none",
                          where=inputs.where("target"))
    e = params["label_smoothing"]
    probabilities_input = convention is not None and convention.probabilities_input
    if probabilities_input and e and index_target is not None:
        raise UsageError("Keras' SparseCategoricalCrossentropy (class-index targets) has no "
                         "label smoothing",
                         "give probability (one-hot) targets, or drop --label-smoothing")
    if e:
        q = (1.0 - e) * q + e / C
    prob = np.empty((B, C))
    logp = np.empty_like(prob)
    contribution = np.empty_like(prob)
    gradient = np.empty_like(prob)
    loss = np.empty(B)
    if probabilities_input:
        _probability_warning(x, warnings)
        # class indices go through SparseCategoricalCrossentropy, probabilities through
        # CategoricalCrossentropy: they clip at different points
        _jit.run(kern.probability_ce, B * C, np.ascontiguousarray(x), q, KERAS_EPSILON,
                 index_target is None, prob, logp, contribution, gradient, loss)
    else:
        _jit.run(kern.softmax_ce, B * C, np.ascontiguousarray(x), q, weight, keep, prob,
                 logp, contribution, gradient, loss)
    nonfinite_warning(loss, warnings)
    denominator = None
    if index_target is not None:
        kept = index_target[keep].astype(np.int64)
        with np.errstate(over="ignore"):  # 1e308 weights: rescaled in _weighted_mean
            denominator = float(weight[kept].sum())
        if reduction == "mean" and keep.any() and denominator == 0.0:
            raise BadData("the weights of the target classes sum to 0: nothing to average",
                          "give the target classes nonzero weights, or use --reduction sum "
                          "or none", where=inputs.where("weight"))
    value = reduce(loss, reduction, denominator)
    if denominator is not None and reduction == "mean" and keep.any():
        value = _weighted_mean(value, x, q, weight, keep, index_target[keep], bool(e))
    terms = Terms(
        role=("class",) * C,
        index=tuple(range(C)),
        columns={"logit": x, "probability": prob, "log_probability": logp,
                 "target_mass": q, "contribution": contribution, "gradient": gradient},
    )
    return Result(
        loss=SOFTMAX_CE.name, params=dict(params), reduction=reduction, per_example=loss,
        value=value, shape=shape_dict(B, classes=C), terms=terms, warnings=tuple(warnings),
        ignored=None if ignore is None else ~keep,
        gradients={"logits": gradient.copy()} if grad else None,
    )


def _weighted_mean(value: float, x: np.ndarray, q: np.ndarray, weight: np.ndarray,
                   keep: np.ndarray, kept: np.ndarray, smoothed: bool) -> float:
    """sum_b w_(y_b) l_b / sum_b w_(y_b) again with the weights that count divided by the
    largest of them, where that is outside [1e-150, 1e150]: the ratio is the same, but there
    the sum of the weights overflowed (1e308: the mean read 0.0) or each w l underflowed
    (5e-324: 0.0 or 1.0), with exit 0. The weights that count: the kept targets' classes,
    every class under label smoothing (the others meet a zero target mass: weighed 0)."""
    counts = np.zeros(weight.shape[0], dtype=np.bool_)
    counts[kept.astype(np.int64)] = True
    if smoothed:
        counts[:] = True
    top = float(np.max(np.abs(weight[counts])))
    if not (top > 0.0 and np.isfinite(top)) or WEIGHT_TINY <= top <= WEIGHT_HUGE:
        return value
    scaled = np.zeros_like(weight)
    scaled[counts] = weight[counts] / top
    B, C = x.shape
    prob, logp, contribution, gradient = (np.empty((B, C)) for _ in range(4))
    loss = np.empty(B)
    _jit.run(kern.softmax_ce, B * C, np.ascontiguousarray(x), q, scaled, keep, prob, logp,
             contribution, gradient, loss)
    denominator = float(scaled[kept.astype(np.int64)].sum())
    return reduce(loss, "mean", denominator)  # type: ignore[return-value]


def _probability_warning(x: np.ndarray, warnings: list[str]) -> None:
    """Keras' from_logits=False reads logits as probabilities: say so when they are not."""
    sums = x.sum(axis=1)
    if (x < 0).any() or (np.abs(sums - 1.0) > PROBABILITY_SUM_TOLERANCE).any():
        warnings.append("the inputs are read as probabilities (Keras from_logits=False), but "
                        "some are negative or a row does not sum to 1: these look like "
                        "logits, which Keras would normalize and clip as shown")


def _weight(inputs: Inputs, C: int, warnings: list[str]) -> np.ndarray:
    if "weight" not in inputs:
        return np.ones(C)
    w = inputs["weight"]
    if w.shape != (C,):
        raise BadData(f"weight {w.shape} does not match logits {inputs['logits'].shape}",
                      f"weight must be (C,) = ({C},), one per class", where=inputs.where("weight"))
    if (w < 0).any():
        warnings.append(f"weight has negative entries (first: class {int(np.argmax(w < 0))}): "
                        "the losses they weigh are negative")
    return np.ascontiguousarray(w, dtype=np.float64)


def _target_mass(inputs: Inputs, logits: np.ndarray, B: int, C: int, ignore: int | None,
                 warnings: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """The (B, C) target mass q, and the class indices when the target is given as indices."""
    target = inputs["target"]
    where = inputs.where("target")
    if target.ndim == logits.ndim - 1 and target.shape == logits.shape[:-1]:
        idx = target.reshape(B)
        if not np.all(idx == np.floor(idx)):
            bad = int(np.argmax(idx != np.floor(idx)))
            raise BadData(f"class index {float(idx[bad])} at row {inputs.first_row + bad} is "
                          "not a whole number",
                          "give class indices as integers (or probabilities, one row per "
                          "example)", where=where)
        return _one_hot(idx, C, ignore, where, inputs.first_row), idx
    if target.shape == logits.shape:
        q = target.reshape(B, C)
        if (q < 0).any():
            row, col = (int(i) for i in np.argwhere(q < 0)[0])
            raise BadData(f"negative probability at ({inputs.first_row + row}, {col})",
                          "probabilities must be >= 0", where=where)
        sums = q.sum(axis=1)
        off = np.abs(sums - 1.0) > PROBABILITY_SUM_TOLERANCE
        if off.any():
            first = int(np.argmax(off))
            warnings.append(f"{int(off.sum())} target row(s) do not sum to 1 (row "
                            f"{inputs.first_row + first} sums to {float(sums[first])!r}); "
                            "normalize each row to sum to 1")
        return np.ascontiguousarray(q, dtype=np.float64), None
    raise BadData(
        f"target {target.shape} does not fit logits {logits.shape}",
        "target must be one class index per example (shape "
        f"{logits.shape[:-1]}) or probabilities of the logits' shape {logits.shape}",
        where=where,
    )


TORCH_IGNORE_INDEX = -100  # torch's default ignore_index: a target users bring from torch


def _one_hot(idx: np.ndarray, C: int, ignore: int | None, where: str, first_row: int = 0,
             ) -> np.ndarray:
    """One-hot rows of the class indices; an ignored index (maybe out of range) gives zeros.
    (first_row: the index of row 0 in the whole input, for the message.)"""
    in_range = (idx >= 0) & (idx < C)
    out = ~in_range if ignore is None else ~in_range & (idx != ignore)
    if out.any():
        bad = int(np.argmax(out))
        hint = (" (-100 marks a row to leave out in torch: give --ignore-index -100, or "
                "--like torch)" if int(idx[bad]) == TORCH_IGNORE_INDEX else "")
        raise BadData(f"class index {int(idx[bad])} at row {first_row + bad} is out of range",
                      f"class indices must be in 0..{C - 1}{hint}", where=where)
    q = np.zeros((idx.shape[0], C))
    rows = np.flatnonzero(in_range)
    q[rows, idx[rows].astype(np.int64)] = 1.0
    return q


# ---------------------------------------------------------------- batch's chunks


def mean_divisor(inputs: Inputs, params: dict[str, Any], mean: bool = True,
                 ) -> tuple[float | None, bool]:
    """A chunk's share of the batch mean's divisor, and whether all its examples are left out.

    Class-index targets: the kept targets' weights (their count without weights), as the
    mean over the whole input divides by sum w_y; probability targets: None (the mean is
    over examples). Every target equal to --ignore-index: (0.0, True).
    For the mean (`mean`), a kept target's class weight beyond 1e±150 is refused, and under
    label smoothing any class weight above 1e150 (its w q l counts too): summed chunk by
    chunk, w l and sum w_y overflow or underflow (a mean of 0.0 or 1.0 with exit 0), where
    compute takes them rescaled (_weighted_mean), which a chunk cannot (the largest weight
    that counts depends on every chunk's targets). The bounds are compute's rescaling's.
    """
    index = _index_targets(inputs)
    if index is None:
        return None, False
    ignore = params["ignore_index"]
    if ignore is not None and np.all(index == ignore):
        return 0.0, True
    keep = np.ones(index.shape[0], dtype=bool) if ignore is None else index != ignore
    kept = index[keep]
    kept = kept[(kept >= 0) & (kept < inputs["logits"].shape[-1])].astype(np.int64)
    if "weight" not in inputs:
        return float(kept.size), False
    weight = inputs["weight"]
    if mean:
        w = np.abs(weight)
        extreme = np.zeros(weight.shape[0], dtype=bool)
        targets = np.unique(kept)
        held = w[targets]
        extreme[targets] = (held > WEIGHT_HUGE) | ((held > 0.0) & (held < WEIGHT_TINY))
        if params["label_smoothing"]:  # every class's w q l counts: a huge one may overflow
            extreme |= w > WEIGHT_HUGE
        if extreme.any():
            c = int(np.argmax(extreme))
            raise BadData(f"class {c}'s weight {float(weight[c]):g} is beyond 1e±150: "
                          "batch's weighted mean over chunks would overflow or underflow",
                          "use compute (it rescales the weights), or --reduction sum or none",
                          where=inputs.where("weight"))
    with np.errstate(over="ignore"):  # the sum's (the mean's are refused above)
        return float(weight[kept].sum()), False


def _index_targets(inputs: Inputs) -> np.ndarray | None:
    if "target" not in inputs or "logits" not in inputs:
        return None
    target, logits = inputs["target"], inputs["logits"]
    if target.ndim == logits.ndim - 1 and target.shape == logits.shape[:-1]:
        return target.reshape(-1)
    return None



# ---------------------------------------------------------------- sweep's limits


def sweep_limits(param: str, values: np.ndarray, results: list[Result]) -> Limits:
    """Linear in the label smoothing."""
    columns, limits = no_limits()
    if param == "label_smoothing":
        limits["notes"].append("linear in e: the target (1 - e) q + e / C moves the loss in a "
                               "straight line from plain cross entropy (e = 0) to the uniform "
                               "target's (e = 1)")
    return columns, limits
