"""compute's InfoNCE against a shared bank takes its similarities from BLAS in fixed groups of
rows (losses/infonce.BankProducts): each row the same bits however the examples are asked
for, each group's product computed once when they are read in order."""

from __future__ import annotations

import numpy as np
import pytest

from losscli.losses import infonce, tiles


@pytest.fixture
def products(monkeypatch):
    calls = []
    rng = np.random.default_rng(3)
    A = rng.standard_normal((11, 37))
    bank = rng.standard_normal((29, 37))
    monkeypatch.setattr(infonce, "GEMM_BLOCK_BYTES", 4 * 29 * 8)  # groups of 4 rows
    monkeypatch.setattr(tiles, "MIN_TILE_ROWS", 1)
    made = infonce.BankProducts(A, bank)
    group = made._group

    def counted(first):
        calls.append(first)
        return group(first)

    monkeypatch.setattr(made, "_group", counted)
    return made, A, bank, calls


def test_rows_are_the_same_bits_however_they_are_asked_for(products):
    made, A, bank, _ = products
    assert made.group == 4
    whole = np.empty((11, 29))
    made.rows(0, 11, whole)
    np.testing.assert_allclose(whole, A @ bank.T, rtol=1e-13)
    for start, stop in [(0, 1), (5, 6), (3, 9), (10, 11), (2, 4), (4, 8), (7, 11)]:
        part = np.empty((stop - start, 29))
        made.rows(start, stop, part)
        assert np.array_equal(part.view(np.int64), whole[start:stop].view(np.int64))


def test_a_group_is_computed_once_when_rows_are_read_in_order(products):
    made, _, _, calls = products
    out = np.empty((3, 29))
    for start in range(0, 11, 3):
        made.rows(start, min(11, start + 3), out[: min(11, start + 3) - start])
    assert calls == [0, 0, 4, 4, 8, 8]  # asked per overlapping group, each computed once


def test_compute_takes_a_shared_banks_similarities_from_blas(monkeypatch):
    """Not the pairwise kernel: it ran compute at 2.7x batch's time on a MoCo-sized bank."""
    import losscli
    from losscli.kernels import softmax

    def refuse(*args):
        raise AssertionError("the pairwise kernel ran")

    monkeypatch.setattr(softmax.infonce, "py", refuse)
    monkeypatch.setenv("LOSSCLI_JIT", "never")
    rng = np.random.default_rng(0)
    x = {"anchor": rng.standard_normal((6, 5)), "positive": rng.standard_normal((6, 5)),
         "negatives": rng.standard_normal((9, 5))}
    r = losscli.evaluate("infonce", x)
    sim = r.terms.columns["similarity"]
    np.testing.assert_allclose(sim[:, 1:], x["anchor"] @ x["negatives"].T, rtol=1e-13)
    np.testing.assert_allclose(sim[:, 0], (x["anchor"] * x["positive"]).sum(1), rtol=1e-13)
