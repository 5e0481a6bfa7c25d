"""clip, ntxent-batch, npair, supcon and siglip under --emulate: the similarity matrix a
matmul in the format, the logits in the format, the loss in float32."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from losscli.losses.emulation import (
    Format,
    Trace,
    add,
    divide,
    exact_similarity,
    log_softmax,
    matmul,
    multiply,
)
from losscli.losses.emulation import normalize as unit
from losscli.losses.emulation.explicit_negatives import candidates
from losscli.losses.roles import anchor_rows, negatives_bank, positives_bank
from losscli.model import Inputs


def _cosine(params: Mapping[str, Any]) -> bool:
    return params.get("similarity", "cosine") == "cosine"


def _pair(inputs: Inputs, params: Mapping[str, Any], fmt: Format,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S = a @ p.T in the format, and its exact value; a and p (B, D) as given."""
    a, p = np.atleast_2d(inputs["anchor"]), np.atleast_2d(inputs["positive"])
    a_low, p_low = fmt.round(a), fmt.round(p)
    if _cosine(params):
        a_low, p_low = unit(a_low, fmt), unit(p_low, fmt)
    S = matmul("id,jd->ij", a_low, p_low, fmt)
    return S, exact_similarity(a, p, "id,jd->ij", _cosine(params)), np.concatenate(
        [a.ravel(), p.ravel()])


def clip(inputs: Inputs, params: Mapping[str, Any], fmt: Format) -> Trace:
    """L = a @ p.T / t (or scale * a @ p.T); (CE(L, i) + CE(L.T, i)) / 2 per example."""
    S, exact, raw = _pair(inputs, params, fmt)
    scale = params.get("scale")
    if scale is not None:
        L, s = multiply(S, float(scale), fmt), float(scale)
    else:
        L, s = divide(S, float(params["temperature"]), fmt), 1 / float(params["temperature"])
    i = np.arange(L.shape[0])
    rows = -log_softmax(L, axis=1)[i, i]
    cols = -log_softmax(L, axis=0)[i, i]
    return Trace((rows + cols) / np.float32(2), {"inputs": raw, "similarities": exact,
                                                 "logits": exact * s})


def npair(inputs: Inputs, params: Mapping[str, Any], fmt: Format) -> Trace:
    """infonce with t = 1: the similarities are the logits (the paired batch, or explicit
    negatives)."""
    if "negatives" in inputs:
        a, cand = candidates(inputs)
        cosine = _cosine({"similarity": params.get("similarity", "dot")})
        a_low, c_low = fmt.round(a), fmt.round(cand)
        if cosine:
            a_low, c_low = unit(a_low, fmt), unit(c_low, fmt)
        L = matmul("bd,bkd->bk", a_low, c_low, fmt)
        exact = exact_similarity(a, cand, "bd,bkd->bk", cosine)
        return Trace(-log_softmax(L)[:, 0], {"similarities": exact, "logits": exact})
    S, exact, raw = _pair(inputs, {"similarity": params.get("similarity", "dot")}, fmt)
    i = np.arange(S.shape[0])
    return Trace(-log_softmax(S, axis=1)[i, i], {"inputs": raw, "similarities": exact,
                                                 "logits": exact})


def ntxent_batch(inputs: Inputs, params: Mapping[str, Any], fmt: Format) -> Trace:
    """z = [a; p]; L = z @ z.T / t with the diagonal -inf; CE against the partner, the two
    views of each example averaged."""
    a, p = np.atleast_2d(inputs["anchor"]), np.atleast_2d(inputs["positive"])
    z = np.concatenate([a, p])
    z_low = fmt.round(z)
    if _cosine(params):
        z_low = unit(z_low, fmt)
    t = float(params["temperature"])
    L = divide(matmul("id,jd->ij", z_low, z_low, fmt), t, fmt)
    n = L.shape[0]
    B = n // 2
    L[np.arange(n), np.arange(n)] = -np.inf
    partner = (np.arange(n) + B) % n
    views = -log_softmax(L, axis=1)[np.arange(n), partner]
    exact = exact_similarity(z, z, "id,jd->ij", _cosine(params))
    exact[np.arange(n), np.arange(n)] = 0
    return Trace((views[:B] + views[B:]) / np.float32(2),
                 {"inputs": z.ravel(), "similarities": exact, "logits": exact / t})


def supcon(inputs: Inputs, params: Mapping[str, Any], fmt: Format) -> Trace:
    """-(t / t_b) mean_p log_softmax(einsum(a, [positives; negatives]) / t)[p]."""
    # The banks as the loss module reads them: --positives-layout and --negatives-layout
    # decide what a 2-D array is, here as there.
    a, single = anchor_rows(inputs)
    B, D = a.shape
    bank, _ = positives_bank(inputs, B, D, single)
    pos = np.broadcast_to(bank, (B, bank.shape[1], D))
    cand = pos
    if "negatives" in inputs and inputs["negatives"].size:
        neg = negatives_bank(inputs, B, D, single, required=False, allow_empty=True)
        cand = np.concatenate([pos, np.broadcast_to(neg, (B, neg.shape[1], D))], axis=1)
    P = pos.shape[1]
    cosine = _cosine(params)
    a_low, c_low = fmt.round(a), fmt.round(cand)
    if cosine:
        a_low, c_low = unit(a_low, fmt), unit(c_low, fmt)
    t = float(params["temperature"])
    tb = params.get("base_temperature")
    L = divide(matmul("bd,bkd->bk", a_low, c_low, fmt), t, fmt)
    factor = np.float32(1.0 if tb is None else t / float(tb))
    per = -factor * np.mean(log_softmax(L)[:, :P], axis=1, dtype=np.float32)
    exact = exact_similarity(a, cand, "bd,bkd->bk", cosine)
    return Trace(per, {"inputs": np.concatenate([a.ravel(), cand.ravel()]),
                       "similarities": exact, "logits": exact / t})


def siglip(inputs: Inputs, params: Mapping[str, Any], fmt: Format) -> Trace:
    """x = a @ p.T * scale + bias; binary_cross_entropy_with_logits(x, eye) in float32,
    summed over each anchor's row."""
    S, exact, raw = _pair(inputs, params, fmt)
    scale, bias = float(params["scale"]), float(params["bias"])
    x = add(multiply(S, scale, fmt), bias, fmt)
    y = np.eye(x.shape[0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        terms = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return Trace(np.sum(terms, axis=1, dtype=np.float32),
                 {"inputs": raw, "similarities": exact, "logits": exact * scale + bias})


EMULATORS = {"clip": clip, "ntxent-batch": ntxent_batch, "npair": npair, "supcon": supcon,
             "siglip": siglip}
