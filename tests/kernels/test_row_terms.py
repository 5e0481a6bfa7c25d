"""The in-batch breakdowns' row kernels (kernels/tiles.py *_row_terms) against plain float64
loops: every cell of a row, the positive's and the skipped column's by their own rules, and
rows without statistics (NaN) shown as NaN, not as the exponential of a clamped argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

from losscli.kernels import tiles as tk

R, C = 6, 11
PATHS = ["py", "jit", "jit_parallel"]
SCALE = 1 / 0.3


def _rows(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    S = rng.uniform(-1, 1, (R, C))
    pos = rng.permutation(C)[:R].astype(np.int64)
    skip = np.array([(p + 3) % C if g % 2 else -1 for g, p in enumerate(pos)], dtype=np.int64)
    return S, pos, skip


def _others(g: int, pos: np.ndarray, skip: np.ndarray) -> list[int]:
    return [j for j in range(C) if j not in (pos[g], skip[g])]


@pytest.mark.parametrize("path", PATHS)
def test_relative_row_terms_are_the_rows_softmax(path):
    S, pos, skip = _rows(1)
    ref = S[np.arange(R), pos].copy()
    m, s = np.empty(R), np.empty(R)
    for g in range(R):
        x = [(S[g, j] - ref[g]) * SCALE for j in _others(g, pos, skip)]
        m[g] = max(0.0, max(x))
        s[g] = math.fsum(math.exp(v - m[g]) for v in x)
    m[4] = s[4] = np.nan  # a row with a non-finite similarity
    weight = np.linspace(0.5, 1.5, R)
    logit, prob, grad = (np.full((R, C), 7.0) for _ in range(3))
    getattr(tk.relative_row_terms, path)(S, 0, pos, skip, ref, SCALE, m, s, weight, logit,
                                         prob, grad)
    for g in range(R):
        den = math.exp(-m[g]) + s[g]
        for j in range(C):
            want = (0.0 if j == skip[g] else math.exp(-m[g]) / den if j == pos[g]
                    else math.exp((S[g, j] - ref[g]) * SCALE - m[g]) / den)
            dwant = 0.0 if j == skip[g] else weight[g] * (want - (j == pos[g]))
            assert logit[g, j] == S[g, j] * SCALE
            np.testing.assert_allclose([prob[g, j], grad[g, j]], [want, dwant], rtol=1e-14,
                                       atol=0, err_msg=f"row {g} column {j}")
    assert np.isnan(prob[4, pos[4]]) and np.isnan(np.delete(prob[4], [pos[4], skip[4]])).all()


@pytest.mark.parametrize("leak", [False, True])
@pytest.mark.parametrize("path", PATHS)
def test_negatives_lse_terms_are_the_negatives_softmax(path, leak):
    S, pos, skip = _rows(2)
    mask = -2.0
    lse = np.empty(R)
    for g in range(R):
        logits = [S[g, j] * SCALE + (mask if j in (pos[g], skip[g]) else 0.0)
                  for j in range(C) if leak or j not in (pos[g], skip[g])]
        top = max(logits)
        lse[g] = top + math.log(math.fsum(math.exp(v - top) for v in logits))
    lse[3] = np.nan
    weight = np.linspace(0.5, 1.5, R)
    logit, share, grad = (np.full((R, C), 7.0) for _ in range(3))
    getattr(tk.negatives_lse_terms, path)(S, 0, pos, skip, SCALE, leak, mask, lse, weight,
                                          logit, share, grad)
    for g in range(R):
        for j in range(C):
            special = j in (pos[g], skip[g])
            v = S[g, j] * SCALE + (mask if special else 0.0)
            want = math.exp(v - lse[g]) if leak or not special else 0.0
            dwant = want - (weight[g] if j == pos[g] else 0.0)
            np.testing.assert_allclose([share[g, j], grad[g, j]], [want, dwant], rtol=1e-14,
                                       atol=0, err_msg=f"row {g} column {j}")
    # NaN statistics: every negative's share NaN (np.testing above compares NaN as equal)
    assert np.isnan(np.delete(share[3], [pos[3], skip[3]])).all()


@pytest.mark.parametrize("path", PATHS)
def test_hard_row_terms_are_the_reweighted_shares(path):
    S, pos, skip = _rows(3)
    beta = 0.7
    top = np.array([max(S[g, j] for j in _others(g, pos, skip)) for g in range(R)])
    sum_b = np.array([math.fsum(math.exp(beta * (S[g, j] - top[g]) * SCALE)
                                for j in _others(g, pos, skip)) for g in range(R)])
    sum_1b = np.array([math.fsum(math.exp((1 + beta) * (S[g, j] - top[g]) * SCALE)
                                 for j in _others(g, pos, skip)) for g in range(R)])
    top[2] = np.nan
    c_neg, g_pos, weight = np.linspace(0.2, 0.9, R), np.linspace(-1, -0.1, R), np.full(R, 0.5)
    logit, importance, share, grad = (np.full((R, C), 7.0) for _ in range(4))
    getattr(tk.hard_row_terms, path)(S, 0, pos, skip, SCALE, beta, top, sum_b, sum_1b, c_neg,
                                     g_pos, weight, logit, importance, share, grad)
    for g in range(R):
        count = len(_others(g, pos, skip))
        for j in range(C):
            if j in (pos[g], skip[g]):
                want = (0.0, 0.0, weight[g] * g_pos[g] if j == pos[g] else 0.0)
            else:
                d = (S[g, j] - top[g]) * SCALE
                q = math.exp(beta * d) / sum_b[g]
                k = math.exp((1 + beta) * d) / sum_1b[g]
                want = (count * q, k, weight[g] * c_neg[g] * ((1 + beta) * k - beta * q))
            np.testing.assert_allclose([importance[g, j], share[g, j], grad[g, j]], want,
                                       rtol=1e-13, atol=1e-16, err_msg=f"row {g} column {j}")
    assert np.isnan(np.delete(share[2], [pos[2], skip[2]])).all()
