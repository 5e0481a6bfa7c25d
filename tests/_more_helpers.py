"""Helpers of the LOSSES-MORE.md tests: tolerant comparison and finite differences."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import losscli

REL = 1e-12


def close(actual: float, expected: float, rel: float = REL, scale: float = 1.0) -> bool:
    """Relative tolerance with an absolute floor of 1e-15 times the scale of the terms."""
    if math.isnan(expected):
        return math.isnan(actual)
    if math.isinf(expected):
        return actual == expected
    return abs(actual - expected) <= max(rel * abs(expected), 1e-15 * scale)


def assert_close(actual, expected, rel: float = REL, scale: float = 1.0) -> None:
    a = np.atleast_1d(np.asarray(actual, dtype=float))
    e = np.atleast_1d(np.asarray(expected, dtype=float))
    assert a.shape == e.shape, (a.shape, e.shape)
    bad = [(i, x, y) for i, (x, y) in enumerate(zip(a.ravel(), e.ravel(), strict=True))
           if not close(float(x), float(y), rel, scale)]
    assert not bad, f"not within rel {rel}: (index, actual, expected) {bad[:5]}"


def jacobian(per_example: Callable[[dict[str, np.ndarray]], np.ndarray],
             inputs: dict[str, np.ndarray], role: str, h: float = 1e-6) -> np.ndarray:
    """Central differences d per_example[b] / d inputs[role][idx]: shape (B,) + role shape."""
    base = {k: np.array(v, dtype=float) for k, v in inputs.items()}
    x = base[role]
    B = per_example(base).shape[0]
    out = np.empty((B,) + x.shape)
    for idx in np.ndindex(*x.shape):
        step = h * max(1.0, abs(x[idx]))
        plus = dict(base)
        minus = dict(base)
        plus[role] = x.copy()
        minus[role] = x.copy()
        plus[role][idx] += step
        minus[role][idx] -= step
        out[(slice(None),) + idx] = (per_example(plus) - per_example(minus)) / (2 * step)
    return out


def own_rows(jac: np.ndarray) -> np.ndarray:
    """d loss_b / d (row b of a per-example role): jac[b, b] for each b."""
    return np.stack([jac[b, b] for b in range(jac.shape[0])])


def loss_function(name: str, **params) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    def f(arrays: dict[str, np.ndarray]) -> np.ndarray:
        return losscli.evaluate(name, arrays, **params).per_example.copy()
    return f
