"""The in-batch breakdowns' deferred columns (losses/term_columns.py): a column's cells read
by take(kept) are those of the whole column laid out, bit for bit, for every rule (the
positive first, one column left out, columns side by side, elementwise maps, constants,
per-row values, a fill with a few cells set), and the whole column is what the rule says."""

from __future__ import annotations

import numpy as np
import pytest

from losscli.losses import term_columns as tc
from losscli.model import laid_out, taken


def _kept(rng: np.random.Generator, n: int, T: int, k: int) -> np.ndarray:
    """k distinct positions a row, position 0 and T - 1 among them where k allows."""
    rows = []
    for _ in range(n):
        picks = list(rng.permutation(T)[:k])
        if k >= 2:
            picks[0], picks[-1] = 0, T - 1
            picks = list(dict.fromkeys(picks)) + [p for p in range(T) if p not in picks]
        rows.append(picks[:k])
    return np.array(rows, dtype=np.int64)


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype.kind == "f":
        assert np.array_equal(got.view(np.int64), want.view(np.int64))
    else:
        assert np.array_equal(got, want)


@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("compiled", [False, True])
def test_reordered_puts_the_first_column_first_and_takes_what_it_lays_out(left, compiled,
                                                                          monkeypatch):
    monkeypatch.setenv("LOSSCLI_JIT", "always" if compiled else "never")
    rng = np.random.default_rng(1)
    for _ in range(60):
        n, C = int(rng.integers(1, 6)), int(rng.integers(3 if left else 2, 40))
        values = rng.standard_normal((n, C))
        values[rng.random((n, C)) < 0.1] = np.nan
        first = rng.integers(0, C, n)
        left_out = (first + rng.integers(1, C, n)) % C if left else None
        want = np.array([[row[f]] + [row[j] for j in range(C)
                                     if j != f and (left_out is None or j != left_out[r])]
                         for r, (row, f) in enumerate(zip(values, first, strict=True))])
        column = tc.Reordered(values, first, left_out)
        _same(column.full(), want)
        T = want.shape[1]
        for k in {1, min(T, 3), T}:
            kept = _kept(rng, n, T, k)
            _same(column.take(kept), np.take_along_axis(want, kept, axis=1))


@pytest.mark.parametrize("compiled", [False, True])
def test_joined_reordered_parts_are_laid_out_in_place(compiled, monkeypatch):
    """Parts that are all Reordered are written into their places of one array: the same
    array as each laid out and joined."""
    monkeypatch.setenv("LOSSCLI_JIT", "always" if compiled else "never")
    rng = np.random.default_rng(5)
    n, B = 4, 9
    i = np.arange(2, 2 + n)
    for dtype in (np.float64, np.float32, np.int64):
        a = (rng.standard_normal((n, 2 * B)) * 100).astype(dtype)
        p = (rng.standard_normal((n, 2 * B)) * 100).astype(dtype)
        parts = [tc.Reordered(a, i + B, i), tc.Reordered(p, i, i + B)]
        column = tc.Joined(parts, [2 * B - 1, 2 * B - 1])
        _same(column.full(), np.concatenate([tc.reordered(a, i + B, i),
                                             tc.reordered(p, i, i + B)], axis=1))


def test_joined_takes_across_its_parts_with_their_dtype():
    rng = np.random.default_rng(2)
    n = 4
    a = rng.standard_normal((n, 5))
    b = rng.standard_normal((n, 7))
    first = np.arange(n)
    parts = [tc.Reordered(a, first), b, tc.Reordered(b, first)]
    column = tc.Joined(parts, [5, 7, 7])
    want = np.concatenate([laid_out(p) for p in parts], axis=1)
    _same(column.full(), want)
    for k in (1, 5, 19):
        kept = _kept(rng, n, 19, k)
        _same(column.take(kept), np.take_along_axis(want, kept, axis=1))
    labels = tc.Joined([tc.Filled(n, 3, "anchor", object), tc.Filled(n, 2, "positive", object)],
                       [3, 2])
    assert labels.full().tolist() == [["anchor"] * 3 + ["positive"] * 2] * n
    assert labels.take(np.array([[4, 0]] * n)).tolist() == [["positive", "anchor"]] * n
    flags = tc.Joined([tc.PerRow(np.array([True, False, True, False]), 2),
                       tc.PerRow(np.array([False, True, True, False]), 3)], [2, 3])
    _same(flags.take(np.array([[0, 2, 4]] * n)), flags.full()[:, [0, 2, 4]])


def test_mapped_shared_cells_and_per_row_equal_their_laid_out_columns():
    rng = np.random.default_rng(3)
    n, B = 3, 6
    every = np.broadcast_to(np.arange(2 * B), (n, 2 * B))
    candidates = tc.Shared(tc.Reordered(every, np.arange(n) + B, np.arange(n)))
    index = tc.Mapped(candidates, lambda c: c % B)
    want = laid_out(candidates.column) % B
    _same(index.full(), want)
    kept = _kept(rng, n, 2 * B - 1, 4)
    _same(index.take(kept), np.take_along_axis(want, kept, axis=1))
    assert candidates.take(kept) is candidates.take(kept)  # taken once for its maps
    cells = tc.Cells(n, 5, np.nan, {0: np.arange(n, dtype=float), 3: -np.ones(n)})
    full = cells.full()
    assert np.isnan(full[:, [1, 2, 4]]).all()
    assert full[:, 0].tolist() == [0.0, 1.0, 2.0] and (full[:, 3] == -1).all()
    for k in (1, 2, 5):
        kept = _kept(rng, n, 5, k)
        _same(cells.take(kept), np.take_along_axis(full, kept, axis=1))
    per_row = tc.PerRow(np.array([1.5, -2.0, np.nan]), 4)
    _same(per_row.full(), np.repeat(per_row.values[:, None], 4, axis=1))
    _same(taken(per_row, kept[:, :2]), per_row.full()[:, :2])


@pytest.mark.parametrize("weighting", ["none", "vmf"])
def test_the_two_view_breakdowns_set_each_views_positive_cells(weighting):
    """A two-view example's terms are its anchor view's 2B - 1, then its positive view's:
    dcl's weight and term are set at each view's positive (positions 0 and 2B - 1) and NaN
    elsewhere, its share NaN there; hard-infonce's importance and share NaN there only."""
    from losscli import api

    rng = np.random.default_rng(4)
    a = rng.normal(size=(9, 5))
    inputs = {"anchor": a, "positive": a + rng.normal(size=a.shape)}
    width = 2 * 9 - 1
    at = [0, width]
    others = np.setdiff1d(np.arange(2 * width), at)
    dcl = api.evaluate("dcl", inputs, weighting=weighting).terms.block(2, 6)
    assert np.isnan(dcl["weight"][:, others]).all() and np.isnan(dcl["term"][:, others]).all()
    assert np.isfinite(dcl["weight"][:, at]).all()
    assert (dcl["weight"][:, 0] == dcl["weight"][:, width]).all()
    assert np.array_equal(dcl["term"][:, at], -dcl["weight"][:, at] * dcl["logit"][:, at])
    assert np.isnan(dcl["share"][:, at]).all() and np.isfinite(dcl["share"][:, others]).all()
    hard = api.evaluate("hard-infonce", inputs).terms.block(2, 6)
    for name in ("importance", "share"):
        assert np.isnan(hard[name][:, at]).all() and np.isfinite(hard[name][:, others]).all()
