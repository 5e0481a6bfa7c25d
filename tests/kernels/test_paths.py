"""The interpreted, serial and parallel paths of the stream kernels agree, with each other
and with the float64 references (tests/reference/), in float64 (1e-12) and float32 (1e-5)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from losscli.kernels import _jit, codes, tiles
from losscli.kernels import distances as dk
from losscli.kernels import softmax as kern
from losscli.kernels import stream as sk
from losscli.losses.infonce import shared_bank_infonce
from tests import reference as ref
from tests.helpers import assert_close

PATHS = ("py", "jit", "jit_parallel")
B, K, D = 37, 5, 9


KINDS = {codes.EUCLIDEAN: "euclidean", codes.SQEUCLIDEAN: "sqeuclidean"}
REDUCTIONS = {codes.TERMS_MEAN: "mean", codes.TERMS_SUM: "sum", codes.TERMS_MAX: "max",
              codes.TERMS_MEAN_ACTIVE: "mean-active"}


def _close(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    # float32 sums lose digits on the scale of the terms, not of the result: the floor
    # follows the precision
    assert_close(got, want, rtol, scale=max(1.0, float(np.max(np.abs(want)))),
                 floor=rtol * 1e-3)


def _data(seed: int = 0, dtype: type = np.float64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((B, K + 2, D)) * 0.4).astype(dtype)


def _infonce(a: np.ndarray, p: np.ndarray, n: np.ndarray, t: float) -> float:
    return ref.infonce(a.tolist(), p.tolist(), n.tolist(), t, "dot")


def _triplet(a, p, n, margin, kind, swap, soft, reduce_by):
    """The reference loss and its count of active terms."""
    args = (a.tolist(), p.tolist(), n.tolist(), margin, KINDS[kind])
    terms = ref.triplet_terms(*args, swap=swap, soft=soft)
    loss = ref.triplet(*args, negatives_reduction=REDUCTIONS[reduce_by], swap=swap, soft=soft)
    return loss, sum(1 for t in terms if t > 0)


def _contrastive(a, p, n, margin, kind):
    """The reference loss and its count of active dissimilar terms."""
    args = (a.tolist(), p.tolist(), n.tolist(), margin, KINDS[kind])
    terms = ref.contrastive_terms(*args)
    return ref.contrastive(*args), sum(1 for t in terms[1:] if t > 0)


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("layout", ["stack", "roles", "shared"])
def test_infonce_paths_agree_with_plain_loops(dtype, rtol, layout):
    x = _data(1, dtype)
    t = 0.1
    if layout == "stack":
        args = (x, 0, x, 1, x, 2)
        want = [_infonce(x[b, 0], x[b, 1], x[b, 2:], t) for b in range(B)]
    elif layout == "roles":
        a, p, n = (np.ascontiguousarray(x[:, 0:1]), np.ascontiguousarray(x[:, 1:2]),
                   np.ascontiguousarray(x[:, 2:]))
        args = (a, 0, p, 0, n, 0)
        want = [_infonce(x[b, 0], x[b, 1], x[b, 2:], t) for b in range(B)]
    else:
        bank = np.ascontiguousarray(x[:1, 2:])
        args = (x, 0, x, 1, bank, 0)
        want = [_infonce(x[b, 0], x[b, 1], bank[0], t) for b in range(B)]
    for path in PATHS:
        loss = np.empty(B)
        flags = np.zeros(B, dtype=np.int8)
        getattr(sk.infonce_loss, path)(*args, K, t, dtype == np.float64, loss, flags)
        _close(loss, np.array(want), rtol)
        assert not flags.any()


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("kind", [codes.EUCLIDEAN, codes.SQEUCLIDEAN])
@pytest.mark.parametrize("swap,soft,reduce_by", [(False, False, 0), (True, False, 3),
                                                  (False, True, 1), (False, False, 2)])
def test_triplet_paths_agree_with_plain_loops(dtype, rtol, kind, swap, soft, reduce_by):
    x = _data(2, dtype)
    margin = 1.5 if kind == codes.EUCLIDEAN else 4.0
    want = [_triplet(x[b, 0], x[b, 1], x[b, 2:], margin, kind, swap, soft, reduce_by)
            for b in range(B)]
    for path in PATHS:
        loss = np.empty(B)
        active = np.zeros(B, dtype=np.int64)
        flags = np.zeros(B, dtype=np.int8)
        getattr(sk.triplet_loss, path)(x, 0, x, 1, x, 2, K, margin, kind, swap, soft,
                                       reduce_by, dtype == np.float64, loss, active, flags)
        _close(loss, np.array([w[0] for w in want]), rtol)
        if dtype == np.float64 and not soft:
            assert active.tolist() == [w[1] for w in want]


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("kind", [codes.EUCLIDEAN, codes.SQEUCLIDEAN])
def test_contrastive_paths_agree_with_plain_loops(dtype, rtol, kind):
    x = _data(3, dtype)
    margin = 2.0
    want = [_contrastive(x[b, 0], x[b, 1], x[b, 2:], margin, kind) for b in range(B)]
    for path in PATHS:
        loss = np.empty(B)
        active = np.zeros(B, dtype=np.int64)
        flags = np.zeros(B, dtype=np.int8)
        getattr(sk.contrastive_loss, path)(x, 0, x, 1, x, 2, K, margin, kind,
                                           dtype == np.float64, loss, active, flags)
        _close(loss, np.array([w[0] for w in want]), rtol)
        if dtype == np.float64:
            assert active.tolist() == [w[1] for w in want]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_flags_mark_nonfinite_and_huge_rows(path):
    x = _data(4)
    x[3, 4, 2] = np.nan        # a negative of example 3
    x[7, 0, 1] = 1e200         # the anchor of example 7
    x[9, 1, 0] = -np.inf       # the positive of example 9
    loss = np.empty(B)
    flags = np.zeros(B, dtype=np.int8)
    getattr(sk.infonce_loss, path)(x, 0, x, 1, x, 2, K, 0.5, True, loss, flags)
    shift = codes.NONFINITE_SHIFT
    assert flags[3] == codes.NEGATIVES << shift
    assert flags[7] & codes.ANCHOR
    assert flags[9] & (codes.POSITIVE << shift)
    assert not np.delete(flags, [3, 7, 9]).any()
    active = np.zeros(B, dtype=np.int64)
    flags[:] = 0
    getattr(sk.triplet_loss, path)(x, 0, x, 1, x, 2, K, 1.0, 0, False, False, 0, True, loss,
                                   active, flags)
    assert flags[3] == codes.NEGATIVES << shift and flags[7] & codes.ANCHOR
    assert flags[9] & (codes.POSITIVE << shift)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_float32_infonce_rows_flag_nonfinite_entries_unchecked(path):
    """float32 rows skip the scan for huge entries (they cannot hold any): a NaN or infinity
    still reaches the row's sum of similarities, and its row is flagged, not turned into a
    finite loss; the other rows keep theirs."""
    x = _data(4, np.float32)
    x[3, 4, 2] = np.nan        # a negative of example 3
    x[5, 0, 1] = np.inf        # the anchor of example 5
    x[9, 1, 0] = -np.inf       # the positive of example 9
    loss = np.empty(B)
    flags = np.zeros(B, dtype=np.int8)
    getattr(sk.infonce_loss, path)(x, 0, x, 1, x, 2, K, 0.5, False, loss, flags)
    shift = codes.NONFINITE_SHIFT
    assert flags[3] == codes.NEGATIVES << shift
    assert flags[5] & (codes.ANCHOR << shift)
    assert flags[9] & (codes.POSITIVE << shift)
    assert not np.delete(flags, [3, 5, 9]).any()
    wide = x.astype(np.float64)
    for b in (0, 4, 36):
        assert loss[b] == pytest.approx(_infonce(wide[b, 0], wide[b, 1], wide[b, 2:], 0.5),
                                        rel=1e-12)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_triplet_flags_its_first_negative(path):
    """The first negative is summed in the positive's pass: its flags and distance still
    count, as every other negative's."""
    x = _data(9)
    x[11, 2, 0] = np.nan       # the first negative of example 11
    x[13, 2, 1] = 1e200        # the first negative of example 13
    x[15, 3, 1] = 1e200        # the second negative of example 15
    loss = np.empty(B)
    active = np.zeros(B, dtype=np.int64)
    flags = np.zeros(B, dtype=np.int8)
    getattr(sk.triplet_loss, path)(x, 0, x, 1, x, 2, K, 1.0, 0, False, False, 0, True, loss,
                                   active, flags)
    assert flags[11] == codes.NEGATIVES << codes.NONFINITE_SHIFT
    assert flags[13] == codes.NEGATIVES and flags[15] == codes.NEGATIVES
    assert not np.delete(flags, [11, 13, 15]).any()
    want = [_triplet(x[b, 0], x[b, 1], x[b, 2:], 1.0, codes.EUCLIDEAN, False, False, 0)
            for b in range(B) if b not in (11, 13, 15)]
    _close(np.delete(loss, [11, 13, 15]), np.array([w[0] for w in want]), 1e-12)
    assert np.delete(active, [11, 13, 15]).tolist() == [w[1] for w in want]


def test_the_compiled_fused_multiply_add_rounds_once():
    # (1 + 2^-30)(1 - 2^-30) = 1 - 2^-60 exactly: a multiply then an add gives 0
    a, b = 1.0 + 2.0**-30, 1.0 - 2.0**-30
    assert a * b - 1.0 == 0.0
    numba = pytest.importorskip("numba")
    fma = _jit.fused_multiply_add.jit
    compiled = numba.njit(lambda x, y, z: fma(x, y, z))
    assert compiled(a, b, -1.0) == -(2.0**-60)
    assert _jit.fused_multiply_add.py(a, b, -1.0) in (0.0, -(2.0**-60))  # once on 3.13+


@pytest.mark.parametrize("path", ["py", "jit"])
def test_vectorisable_exp_is_within_two_ulp_of_libm(path):
    xs = np.concatenate([-np.linspace(0, 40, 2001), -np.linspace(40, 745, 301),
                         [-1e-300, -5e-324, -745.13, -800.0, -np.inf]])
    f = getattr(sk.exp_nonpositive, path)
    for v in xs:
        got, want = f(float(v)), math.exp(float(v))
        assert got == pytest.approx(want, rel=5e-16, abs=1e-320), v


@pytest.mark.parametrize("path", ["py", "jit"])
def test_capped_exp_is_within_two_ulp_of_libm_up_to_its_cap(path):
    f = getattr(sk.exp_capped, path)
    for v in np.concatenate([np.linspace(0, 709, 2001), -np.linspace(0, 745, 301)]):
        assert f(float(v)) == pytest.approx(math.exp(float(v)), rel=5e-16, abs=1e-320), v
    for v in (709.5, 1e5, np.inf):
        assert f(v) == pytest.approx(math.exp(709.0), rel=5e-16), v
    assert f(-np.inf) == 0.0
    assert f(np.nan) == 0.0


def test_shared_bank_gemm_path_matches_the_kernel():
    x = _data(5)
    bank = np.ascontiguousarray(x[0, 2:])
    anchor, positive = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])
    want = [_infonce(anchor[b], positive[b], bank, 0.2) for b in range(B)]
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        loss = np.empty(B)
        flags = np.zeros(B, dtype=np.int8)
        shared_bank_infonce(anchor.astype(dtype), positive.astype(dtype), bank.astype(dtype),
                            0.2, loss, flags)
        _close(loss, np.array(want), rtol)
        assert not flags.any()


HUGE = codes.NEGATIVES
NONFINITE = codes.NEGATIVES << codes.NONFINITE_SHIFT


@pytest.mark.parametrize(("entry", "want"), [
    (-1e200, HUGE), (1e200, HUGE), (-np.inf, NONFINITE), (np.inf, NONFINITE),
    (np.nan, NONFINITE), (-1.0, 0)])
def test_a_shared_banks_entries_flag_every_row_by_their_magnitude(entry, want):
    """One bank entry above HUGE_ENTRY in magnitude, of either sign, flags every row's
    negatives as huge; one not finite, of either sign, as not finite."""
    x = _data(5)
    bank = np.ascontiguousarray(x[0, 2:])
    bank[1, 3] = entry
    anchor, positive = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])
    flags = np.zeros(B, dtype=np.int8)
    shared_bank_infonce(anchor, positive, bank, 0.2, np.empty(B), flags)
    assert np.all(flags & (HUGE | NONFINITE) == want)


def test_run_keeps_kernels_not_declared_parallel_serial(monkeypatch):
    """compute's kernels index outputs by the prange variable in ways numba's parfor pass
    rejects: run() must never pick their parallel twin, whatever the size."""
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    assert not kern.infonce.parallel and sk.infonce_loss.parallel
    x = _data(6)
    a, p, n = (np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1]),
               np.ascontiguousarray(x[:, 2:]))
    sim, logit, prob, grad = (np.empty((B, K + 1)) for _ in range(4))
    loss = np.empty(B)
    _jit.run(kern.infonce, 10**12, a, p, n, 0.1, False, sim, logit, prob, grad, loss)
    assert kern.infonce._jit_parallel is None
    want = [_infonce(x[b, 0], x[b, 1], x[b, 2:], 0.1) for b in range(B)]
    _close(loss, np.array(want), 1e-12)


def test_path_is_chosen_by_size(monkeypatch):
    monkeypatch.delenv("LOSSCLI_JIT", raising=False)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    monkeypatch.setattr(_jit, "_pool_started", False)
    assert _jit.path_for(10) == "py"
    assert _jit.path_for(_jit.JIT_THRESHOLD) == "serial"
    assert _jit.path_for(_jit.PARALLEL_THRESHOLD) == "parallel"
    assert _jit.path_for(_jit.PARALLEL_THRESHOLD, parallel=False) == "serial"
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    assert _jit.path_for(_jit.PARALLEL_THRESHOLD) == "serial"
    monkeypatch.setenv("LOSSCLI_JIT", "never")
    assert _jit.path_for(10**12) == "py"
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    assert _jit.path_for(1) == "serial"


def test_once_the_pool_runs_smaller_calls_take_it(monkeypatch):
    """A running pool costs a parallel call only its wake-up: from WARM_PARALLEL_THRESHOLD
    on, not PARALLEL_THRESHOLD; a pool not started yet is not started for less."""
    monkeypatch.delenv("LOSSCLI_JIT", raising=False)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    warm = _jit.WARM_PARALLEL_THRESHOLD
    assert warm < _jit.JIT_THRESHOLD < _jit.PARALLEL_THRESHOLD
    monkeypatch.setattr(_jit, "_pool_started", False)
    assert not _jit.parallel_for(_jit.PARALLEL_THRESHOLD - 1)
    assert _jit.parallel_for(_jit.PARALLEL_THRESHOLD)
    assert _jit.path_for(_jit.JIT_THRESHOLD) == "serial"
    monkeypatch.setattr(_jit, "_pool_started", True)
    assert _jit.parallel_for(warm) and not _jit.parallel_for(warm - 1)
    assert _jit.path_for(_jit.JIT_THRESHOLD) == "parallel"
    assert _jit.path_for(warm) == "py"  # still too small to compile, outside a job
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    assert not _jit.parallel_for(10**12)


def test_a_job_chooses_paths_by_its_whole_size(monkeypatch):
    """batch's chunks of a big file are small: they must not fall back to the interpreter."""
    monkeypatch.delenv("LOSSCLI_JIT", raising=False)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    monkeypatch.setattr(_jit, "_pool_started", True)
    assert _jit.path_for(1000) == "py"
    with _jit.job(_jit.PARALLEL_THRESHOLD):
        assert _jit.path_for(1000) == "parallel"
        assert _jit.path_for(1000, parallel=False) == "serial"
    assert _jit.path_for(1000) == "py"


def test_a_small_job_does_not_start_the_thread_pool(monkeypatch):
    """Starting numba's threads costs more than two cores save on a job under
    POOL_START_WORK: it runs serially until the pool runs; bigger jobs, and calls outside
    a job, choose by PARALLEL_THRESHOLD alone."""
    monkeypatch.delenv("LOSSCLI_JIT", raising=False)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    monkeypatch.setattr(_jit, "_pool_started", False)
    with _jit.job(_jit.POOL_START_WORK - 1):
        assert _jit.path_for(_jit.PARALLEL_THRESHOLD) == "serial"
    with _jit.job(_jit.POOL_START_WORK):
        assert _jit.path_for(_jit.PARALLEL_THRESHOLD) == "parallel"
    assert _jit.path_for(_jit.PARALLEL_THRESHOLD) == "parallel"
    x = np.ones((4, 3))
    with _jit.job(_jit.POOL_START_WORK - 1):
        _jit.run(tiles.row_dots, 10, x, x, np.empty(4))
        assert not _jit._pool_started
    with _jit.job(_jit.POOL_START_WORK):
        _jit.run(tiles.row_dots, 10, x, x, np.empty(4))
    assert _jit._pool_started
    with _jit.job(_jit.PARALLEL_THRESHOLD):
        assert _jit.path_for(_jit.PARALLEL_THRESHOLD) == "parallel"


@pytest.mark.parametrize("path", ["py", "jit", "jit_parallel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_shared_bank_kernel_sends_rows_with_a_non_finite_logit_to_libm(path, dtype):
    """A similarity that overflowed (+-inf) or is NaN takes the libm softmax: -inf is a
    candidate of probability 0, +inf or NaN make the loss not finite (batch then warns); the
    other rows are unchanged, checked or not, the positives taken by the kernel or given."""
    x = _data(7)
    a, p = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])
    S = np.ascontiguousarray(np.einsum("bkd,bd->bk", x[:, 2:], a))
    S[1, 2], S[2, 0], S[3, 4], S[4, 1] = -np.inf, np.inf, np.nan, np.inf
    S[4, 3] = -np.inf
    kernel = getattr(sk.infonce_logit_rows, path)
    positives_of = getattr(sk.positive_similarities, path)
    A, P = a.astype(dtype).reshape(B, 1, D), p.astype(dtype).reshape(B, 1, D)
    for check, take in itertools.product((dtype == np.float64, False), (False, True)):
        loss = np.empty(B)
        flags = np.zeros(B, dtype=np.int8)
        given = np.empty(B)
        positives_of(A, P, np.empty((0, D)), check, given, np.zeros(B, dtype=np.int8))
        # taken by the kernel itself, or given by the first pass: the same bits
        positives = np.full(B, np.nan) if take else given.copy()
        kernel(S.astype(dtype), positives, A, P, take, check, 0.2, loss, flags)
        assert np.array_equal(positives, given)
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        s0 = np.einsum("bd,bd->b", A[:, 0].astype(np.float64), P[:, 0].astype(np.float64))
        for b in range(B):
            row = S[b].astype(dtype).astype(np.float64)
            if b in (2, 3, 4):
                assert not np.isfinite(loss[b]), b
            else:
                logits = np.concatenate([[s0[b]], row[np.isfinite(row)]]) / 0.2
                top = logits.max()
                want = top + math.log(np.exp(logits - top).sum()) - logits[0]
                assert loss[b] == pytest.approx(want, rel=rtol), b


@pytest.mark.parametrize("path", ["py", "jit", "jit_parallel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_shared_banks_first_pass_widens_the_anchors_and_takes_the_positives(path, dtype):
    """positive_similarities: s_0 = a . p in float64 products, float32 anchors widened into
    the GEMM's operand on the way (where it has rows), and with `check` the flags of rows
    with huge entries (float64 input)."""
    x = _data(11)
    rows = x.shape[0]
    A = np.ascontiguousarray(x[:, :1]).astype(dtype)
    P = np.ascontiguousarray(x[:, 1:2]).astype(dtype)
    if dtype == np.float64:
        A[3, 0, 2] = 1e200  # huge: its row's squares pass HUGE_ROW_SQUARES
    want = np.array([math.fsum(float(u) * float(v) for u, v in zip(A[r, 0], P[r, 0], strict=True))
                     for r in range(rows)])
    kernel = getattr(sk.positive_similarities, path)
    for widen in (True, False):
        wide = np.full((rows if widen else 0, D), np.nan)
        positives = np.empty(rows)
        flags = np.zeros(rows, dtype=np.int8)
        kernel(A, P, wide, dtype == np.float64, positives, flags)
        np.testing.assert_allclose(positives, want, rtol=1e-13)
        if widen:
            assert np.array_equal(wide, A[:, 0].astype(np.float64))
        huge = [3] if dtype == np.float64 else []
        assert list(np.flatnonzero(flags)) == huge
        if huge:
            assert flags[3] == codes.ANCHOR


@pytest.mark.parametrize("path", ["py", "jit"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("entry", "want"), [
    (-1e200, HUGE), (1e151, HUGE), (3e38, 0), (np.inf, NONFINITE), (-np.inf, NONFINITE),
    (np.nan, NONFINITE), (1e150, 0), (-2.0, 0)])
def test_entry_flag_names_the_worst_entry(path, dtype, entry, want):
    """entry_flag: any entry not finite flags the array not finite, else any above
    HUGE_ENTRY in magnitude flags it huge, else nothing (HUGE_ENTRY itself is not above)."""
    assert codes.HUGE_ENTRY == 1e150
    x = _data(12)[:, 2:].reshape(-1, D)
    if dtype == np.float32 and np.isfinite(entry) and abs(entry) > 3.4e38:
        pytest.skip("no float32 entry is above HUGE_ENTRY")
    x[30, 4] = entry
    kernel = getattr(sk.entry_flag, path)
    assert kernel(x.astype(dtype), codes.NEGATIVES) == want
    assert kernel(x[:30].astype(dtype), codes.NEGATIVES) == 0


@pytest.mark.parametrize("path", ["py", "jit"])
def test_entry_flag_of_huge_entries_whose_sum_overflows(path):
    """Finite entries whose magnitudes sum past the largest float: huge, not 'not finite'."""
    x = np.full((4, 3), 1e308)
    x[2, 1] = -1e308
    kernel = getattr(sk.entry_flag, path)
    assert kernel(x, codes.ANCHOR) == codes.ANCHOR
    x[3, 2] = np.nan
    assert kernel(x, codes.ANCHOR) == codes.ANCHOR << codes.NONFINITE_SHIFT
    assert kernel(np.empty((0, 3)), codes.ANCHOR) == 0


def _gap_rows() -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(t, S, A, P, N) of rows whose negatives stand at every gap to the positive: above it
    by 800 t, 695 t or 3000 t (past the exponent field of 2^k, were exp not capped) the sum
    of exponentials shifted by the positive passes OTHERS_LIMIT, so the row is shifted by
    its largest; 650 t stays on the positive's shift; a positive on top by 40 t leaves a
    loss of ~6e-18. Similarities are exact (a = e_0, p = s_0 e_0, n = s e_0): the 50-digit
    reference sees the same."""
    t = 0.05
    s0 = np.array([0.1, -0.3, 0.2, 0.5, 0.0, 0.0])
    S = np.array([[0.1 + 800 * t, 0.2, -1.0, 0.3],
                  [-0.3 + 695 * t, -0.3 + 694 * t, 0.0, 0.1],
                  [0.2 + 650 * t, 0.1, 0.4, -0.2],
                  [0.5 - 40 * t, 0.5 - 41 * t, 0.5 - 45 * t, 0.5 - 60 * t],
                  [0.3, -0.1, 0.15, 0.0],
                  [-0.5, 3000 * t, 0.15, 0.0]])
    rows, k = S.shape
    A = np.zeros((rows, 1, D))
    A[:, 0, 0] = 1.0
    P = np.zeros((rows, 1, D))
    P[:, 0, 0] = s0
    N = np.zeros((rows, k, D))
    N[:, :, 0] = S
    return t, S, A, P, N


@pytest.mark.parametrize("path", PATHS)
def test_the_shared_bank_kernel_is_exact_whatever_the_gap_to_the_positive(path):
    """The shared bank's kernel shifts by the positive (_gap_rows), each row's logits given."""
    t, S, A, P, N = _gap_rows()
    loss = np.empty(len(S))
    flags = np.zeros(len(S), dtype=np.int8)
    positives = np.einsum("bd,bd->b", A[:, 0], P[:, 0])  # exact: a = e_0
    getattr(sk.infonce_logit_rows, path)(S, positives, A, P, False, True, t, loss, flags)
    assert not flags.any()
    for r in range(len(S)):
        assert loss[r] == pytest.approx(_infonce(A[r, 0], P[r, 0], N[r], t), rel=1e-12), r
    assert loss[3] < 1e-17  # a tiny loss, to 1e-12 relative


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_per_anchor_kernel_is_exact_whatever_the_gap_to_the_positive(path, dtype):
    """The per-anchor kernel sums exponentials shifted by the positive (_gap_rows), each row
    its own anchor's negatives: float64 rows' as each dot product ends, float32 rows' in one
    pass after the stream. Similarities of float32 rows are the float32 values, exactly."""
    t, S, A, P, N = _gap_rows()
    A, P, N = A.astype(dtype), P.astype(dtype), N.astype(dtype)
    loss = np.empty(len(S))
    flags = np.zeros(len(S), dtype=np.int8)
    getattr(sk.infonce_loss, path)(A, 0, P, 0, N, 0, N.shape[1], t, dtype == np.float64, loss,
                                   flags)
    assert not flags.any()
    for r in range(len(S)):
        assert loss[r] == pytest.approx(_infonce(A[r, 0], P[r, 0], N[r], t), rel=1e-12), r
    assert loss[3] < 1e-17


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shared_bank_tiles_cover_every_row_once(monkeypatch, dtype):
    """Tiles of 5 rows (37 rows: the last tile short) give the one-tile losses;
    float32 anchors are widened a tile at a time into the tile's own buffer, and the losses
    are those of the float32 values in float64."""
    from losscli.losses import infonce, tiles

    x = _data(8).astype(dtype)
    bank = np.ascontiguousarray(x[0, 2:])
    anchor, positive = np.ascontiguousarray(x[:, 0]), np.ascontiguousarray(x[:, 1])
    whole = np.empty(B)
    shared_bank_infonce(anchor, positive, bank, 0.2, whole, np.zeros(B, dtype=np.int8))
    # 5 rows of logits a tile, or (float32, D > K) 5 rows of widened anchors
    monkeypatch.setattr(infonce, "GEMM_BLOCK_BYTES", 5 * (D if dtype == np.float32 else K) * 8)
    monkeypatch.setattr(tiles, "MIN_TILE_ROWS", 1)
    tile_rows = []
    real_run = infonce._jit.run

    def recording_run(k, work, *args, parallel=None):
        if k is sk.infonce_logit_rows:
            tile_rows.append(len(args[0]))
        return real_run(k, work, *args, parallel=parallel)

    monkeypatch.setattr(infonce._jit, "run", recording_run)
    tiled = np.full(B, np.nan)
    shared_bank_infonce(anchor, positive, bank, 0.2, tiled, np.zeros(B, dtype=np.int8))
    assert tile_rows == [5] * 7 + [2]
    # within an ulp, not equal: BLAS may order a row's sum by the rows of its call (numpy
    # 1.24's OpenBLAS did for the last row of every 5-row tile)
    np.testing.assert_allclose(tiled, whole, rtol=1e-15, atol=0)
    x64 = x.astype(np.float64)
    want = [_infonce(x64[b, 0], x64[b, 1], x64[0, 2:], 0.2) for b in range(B)]
    _close(tiled, np.array(want), 1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_distances_whose_squares_underflow_are_exact(path):
    """Differences of ~1e-170 (their squares underflow to 0): the stream kernels (batch) and
    `distances` (the LOSSES-MORE losses) take the distance from the rescaled differences, as
    compute's kernels do; they gave 0 where the squared sum was exactly 0."""
    x = np.zeros((4, 4, 2))
    x[:, 1, 0] = 3e-170   # the positive: d_ap = 3e-170
    x[:, 2, 0] = 1e-170   # the first negative: d_an = 1e-170
    x[:, 3, 1] = 4e-170   # the second: d_an = 4e-170
    loss = np.empty(4)
    active = np.zeros(4, dtype=np.int64)
    flags = np.zeros(4, dtype=np.int8)
    getattr(sk.triplet_loss, path)(x, 0, x, 1, x, 2, 2, 0.0, codes.EUCLIDEAN, False, False,
                                   codes.TERMS_MEAN, True, loss, active, flags)
    assert loss == pytest.approx([1e-170] * 4, rel=1e-12)  # ([3 - 1]+ + [3 - 4]+) / 2 of 1e-170
    if path == "jit_parallel":
        return
    out = np.zeros((4, 2))
    getattr(dk.distances, path)(x[:, 0], x[:, 2:], codes.EUCLIDEAN, out)
    assert out.tolist() == [[1e-170, 4e-170]] * 4
    same = np.zeros((1, 1))
    getattr(dk.distances, path)(np.zeros((1, 2)), np.zeros((1, 1, 2)), codes.EUCLIDEAN, same)
    assert same[0, 0] == 0.0


@pytest.mark.parametrize("pool_started", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shared_bank_kernel_runs_serially_or_in_parallel_by_its_own_work(monkeypatch, dtype,
                                                                        pool_started):
    """The kernels after the BLAS product have only the exponentials and the positives to
    do: B = 512, K = 256, D = 128 is ~17 M multiply-adds of product but ~0.4 M of kernel,
    too little to start numba's pool for, enough once it runs; B = 8,192, K = 64, D = 256
    is worth starting it. float64 anchors take no pass before the product."""
    monkeypatch.delenv("LOSSCLI_JIT", raising=False)
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    monkeypatch.setattr(_jit, "_pool_started", pool_started)
    chosen = []
    real_run = _jit.run

    def recording_run(k, work, *args, parallel=None):
        chosen.append((k, work, parallel))
        return real_run(k, work, *args, parallel=parallel)

    monkeypatch.setattr(_jit, "run", recording_run)
    rng = np.random.default_rng(3)
    for (rows, negatives, dim), want in (((512, 256, 128), pool_started),
                                         ((8192, 64, 256), True)):
        a, p = ((rng.standard_normal((rows, dim)) * 0.1).astype(dtype) for _ in range(2))
        bank = (rng.standard_normal((negatives, dim)) * 0.1).astype(dtype)
        chosen.clear()
        shared_bank_infonce(a, p, bank, 0.1, np.empty(rows), np.zeros(rows, dtype=np.int8))
        kernels = [k for k, _, _ in chosen]
        first = [sk.positive_similarities] if dtype == np.float32 else []
        assert kernels == [sk.entry_flag] + first + [sk.infonce_logit_rows]
        assert all(parallel is want for k, _, parallel in chosen if k.parallel), chosen
        assert all(work >= _jit.PARALLEL_THRESHOLD for _, work, _ in chosen)


def test_row_helpers_declared_inline_are_inlined_by_numba():
    """positive_dot runs once per row inside the shared bank's kernels: compiled as a call
    with array arguments it took ~25 ns a row; the policy has numba inline its body."""
    assert sk.positive_dot.inline and not sk.infonce_logit_rows.inline
    assert sk.positive_dot.jit.targetoptions.get("inline") == "always"
    assert sk.infonce_logit_rows.jit.targetoptions.get("inline", "never") == "never"
