"""The stream kernels ask the caches for the rows they will read a few KiB on (`prefetch`).

A wrong row costs only speed, never a value, so these tests watch the rows asked for: in the
interpreted path `prefetch` is a Python function that can be recorded, and the compiled
intrinsic must emit a prefetch instruction.
"""

from __future__ import annotations

import numpy as np
import pytest

from losscli.kernels import _jit
from losscli.kernels import stream as sk


@pytest.fixture
def asked(monkeypatch):
    """The rows asked for, (array's id, b, r), in order, and the elements asked for in each."""
    rows: list[tuple[int, int, int]] = []
    lines: dict[tuple[int, int, int], list[int]] = {}

    def record(X, b, r, i):
        key = (id(X), b, r)
        if key not in lines:
            rows.append(key)
        lines.setdefault(key, []).append(i)

    monkeypatch.setattr(sk, "prefetch", record)
    return rows, lines


def _read_order(B, K, n0):
    return [(b, n0 + k) for b in range(B) for k in range(K)]


def _expected(B, K, n0, ahead):
    """Each block of BLOCK anchors asks, before each row it reads, for the row `ahead` rows
    on in the whole stream (past the block's end too, never past the array's)."""
    order = _read_order(B, K, n0)
    want = []
    for start in range(0, B, sk.BLOCK):
        first = start * K
        for step in range(first, min(B, start + sk.BLOCK) * K):
            if step + ahead < len(order):
                want.append(order[step + ahead])
    return want


@pytest.mark.parametrize("B, K, D, n0", [(40, 3, 128, 0), (33, 5, 64, 2), (20, 1, 512, 0),
                                         (17, 9, 1000, 1)])
def test_per_anchor_infonce_asks_for_the_row_ahead_of_each_it_reads(asked, B, K, D, n0):
    rows, lines = asked
    rng = np.random.default_rng(0)
    A = rng.standard_normal((B, 1, D))
    P = rng.standard_normal((B, 1, D))
    N = rng.standard_normal((B, K + n0, D))
    loss = np.empty(B)
    flags = np.zeros(B, dtype=np.int8)
    with np.errstate(all="ignore"):
        sk.infonce_loss.py(A, 0, P, 0, N, n0, K, 0.1, True, loss, flags)
    ahead = max(1, sk.PREFETCH_BYTES // (D * 8))
    assert ahead == sk.rows_ahead(D, 8)
    assert rows == [(id(N), b, r) for b, r in _expected(B, K, n0, ahead)]
    # every cache line of each row, from its first element
    assert all(got == list(range(0, D, sk.CACHE_LINE // 8)) for got in lines.values())


def test_a_shared_bank_is_not_asked_for(asked):
    rows, _ = asked
    B, K, D = 20, 4, 16
    A = np.ones((B, 1, D))
    N = np.ones((1, K, D))
    sk.infonce_loss.py(A, 0, A, 0, N, 0, K, 0.1, True, np.empty(B), np.zeros(B, np.int8))
    assert rows == []


def _triplet(A, P, N, K, out, active, flags):
    sk.triplet_loss.py(A, 0, P, 0, N, 0, K, 1.0, 0, False, False, 0, True, out, active, flags)


def _contrastive(A, P, N, K, out, active, flags):
    sk.contrastive_loss.py(A, 0, P, 0, N, 0, K, 1.0, 0, True, out, active, flags)


@pytest.mark.parametrize("loss", [_triplet, _contrastive])
@pytest.mark.parametrize("B, K, D", [(40, 2, 256), (35, 1, 128), (18, 5, 700)])
def test_distance_losses_ask_for_the_anchor_positive_and_negative_rows_ahead(asked, loss, B, K,
                                                                            D):
    rows, lines = asked
    rng = np.random.default_rng(1)
    A, P = rng.standard_normal((2, B, 1, D))
    N = rng.standard_normal((B, K, D))
    loss(A, P, N, K, np.empty(B), np.zeros(B, np.int64), np.zeros(B, np.int8))
    ahead = sk.rows_ahead(D, 8)
    want = ([(id(A), b + ahead, 0) for b in range(B - ahead)]
            + [(id(P), b + ahead, 0) for b in range(B - ahead)]
            + [(id(N), b, r) for b, r in _expected(B, K, 0, ahead)])
    assert sorted(rows) == sorted(want)
    assert all(got == list(range(0, D, sk.CACHE_LINE // 8)) for got in lines.values())


def test_the_compiled_intrinsic_emits_a_prefetch_instruction():
    numba = pytest.importorskip("numba")
    intrinsic = _jit.prefetch.jit

    @numba.njit(cache=False)
    def ask(x, b):
        intrinsic(x, b, 0, 0)
        return x[b, 0, 0]

    x = np.arange(24.0).reshape(4, 2, 3)
    assert ask(x, 3) == 18.0
    asm = ask.inspect_asm(ask.signatures[0])
    assert "prefetcht1" in asm or "prfm" in asm  # x86-64 (into L2) or AArch64
