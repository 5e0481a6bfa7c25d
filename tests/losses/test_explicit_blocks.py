"""An explicit loss's breakdown computed a block of examples at a time (losses/explicit_terms.py)
equals the whole-batch one, bit for bit: per-example losses, value, warnings, every column of
every term, gradients; for every loss that takes negatives, under each library convention,
with a shared bank and with per-anchor negatives. Blocks of 3 examples (the last one short)
stand in for the ~1 M-term blocks of a real batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

import losscli
from losscli.errors import LossCliError
from losscli.losses import LOSSES, explicit_terms
from losscli.model import LazyTerms

B, K, D, P = 7, 5, 4, 2
NEGATIVE_LOSSES = sorted(name for name, spec in LOSSES.items() if "negatives" in spec.roles)

# Parameters beyond the defaults: the options that change a loss's kernel or its columns.
PARAMS: dict[str, list[dict]] = {
    "infonce": [{"similarity": "dot", "temperature": 0.5}],
    "triplet": [{"swap": True}, {"soft": True}, {"distance": "cosine"},
                {"negatives_reduction": "max"}],
    "contrastive": [{"distance": "cosine"}],
    "quadruplet": [{"distance": "squared"}],
    "npair": [{"similarity": "cosine"}],
    "dcl": [{"similarity": "dot"}],
    "multi-similarity": [{"similarity": "dot"}],
}


def arrays(loss: str, layout: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(f"{loss} {layout}".encode()))
    spec = LOSSES[loss]
    bank = (K, D) if layout == "shared" else (B, K, D)
    out = {"anchor": rng.normal(size=(B, D)), "negatives": rng.normal(size=bank)}
    if "positives" in spec.required:
        out["positives"] = rng.normal(size=(B, P, D))
    else:
        out["positive"] = out["anchor"] + 0.7 * rng.normal(size=(B, D))
    if "negatives2" in spec.roles:
        out["negatives2"] = rng.normal(size=bank)
    out["anchor"][2] = out["negatives"][(0, 1) if layout == "shared" else (2, 1)]  # a tie
    return out


def cases() -> list[tuple]:
    out = []
    for loss in NEGATIVE_LOSSES:
        for like in (None, *LOSSES[loss].conventions):
            for params in ({}, *(PARAMS.get(loss, []) if like is None else [])):
                for layout in ("shared", "per-anchor"):
                    out.append(pytest.param(loss, like, params, layout,
                                            id=f"{loss}-{like}-{params}-{layout}"))
    return out


def evaluate(loss, like, params, layout, grad=False):
    try:
        return losscli.evaluate(loss, arrays(loss, layout), like=like, grad=grad,
                                negatives_layout=layout, **params)
    except LossCliError as exc:
        return f"{type(exc).__name__}: {exc}"


def blockwise(monkeypatch) -> None:
    monkeypatch.setattr(explicit_terms, "EAGER_TERMS", 0)
    monkeypatch.setattr(explicit_terms, "SCAN_TERMS", 3 * (P + K + 1))


def columns(terms) -> dict[str, np.ndarray]:
    return terms.block(0, B) if isinstance(terms, LazyTerms) else terms.columns


def same(x: np.ndarray, y: np.ndarray) -> bool:
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind == "f":
        return x.shape == y.shape and np.array_equal(x.view(np.int64), y.view(np.int64))
    return x.shape == y.shape and x.dtype == y.dtype and bool(np.all(x == y))


@pytest.mark.parametrize("loss,like,params,layout", cases())
def test_blocks_equal_the_whole_batch(loss, like, params, layout, monkeypatch) -> None:
    whole = evaluate(loss, like, params, layout)
    blockwise(monkeypatch)
    blocks = evaluate(loss, like, params, layout)
    if isinstance(whole, str):
        assert blocks == whole
        return
    assert not isinstance(blocks, str), blocks
    if not isinstance(whole.terms, LazyTerms):  # an in-batch form is lazy either way
        assert isinstance(blocks.terms, LazyTerms), f"{loss}: the breakdown was held whole"
    assert same(blocks.per_example, whole.per_example)
    assert json.dumps(blocks.value) == json.dumps(whole.value)
    assert blocks.warnings == whole.warnings
    assert blocks.shape == whole.shape
    assert (blocks.terms.role, blocks.terms.index) == (whole.terms.role, whole.terms.index)
    assert blocks.terms.names == whole.terms.names
    got, want = columns(blocks.terms), columns(whole.terms)
    for name in want:
        assert same(got[name], want[name]), name
        assert same(blocks.terms.block(2, 6)[name], want[name][2:6]), name
    for r in (5, 0, 6):  # an example alone, out of order (--worst): its row as the batch's
        row = blocks.terms.block(r, r + 1)
        for name in want:
            assert same(row[name], want[name][r:r + 1]), (r, name)


@pytest.mark.parametrize("loss", NEGATIVE_LOSSES)
def test_gradients_keep_the_whole_breakdown(loss, monkeypatch) -> None:
    """--grad reads every column: the breakdown stays whole, the gradients as they were."""
    whole = evaluate(loss, None, {}, "shared", grad=True)
    blockwise(monkeypatch)
    blocks = evaluate(loss, None, {}, "shared", grad=True)
    assert same(blocks.per_example, whole.per_example)
    for role, g in whole.gradients.items():
        assert same(blocks.gradients[role], g), role


@pytest.mark.parametrize("command", ["compute", "stats"])
def test_a_large_shared_bank_is_read_by_blocks(command, tmp_path) -> None:
    """B = K = 4,096 shared negatives, D = 8: 16.8 M terms. Held whole, the child's own peak
    RSS (VmHWM) was 0.7-1.4 GB for `compute --terms none` and 1.1-1.5 GB for stats; by
    blocks 240-400 MB."""
    rng = np.random.default_rng(5)
    n = 4096
    for role in ("anchor", "positive", "negatives"):
        np.save(tmp_path / f"{role}.npy", rng.normal(size=(n, 8)).astype(np.float32))
    code = (
        "import sys, losscli.cli as c\n"
        "rc = c.run(sys.argv[1:])\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(int(peak.split()[1]) // 1024, rc, file=sys.stderr)\n")
    options = ["--terms", "none"] if command == "compute" else []
    for loss in ("infonce", "triplet"):
        proc = subprocess.run(
            [sys.executable, "-c", code, command, loss, "--anchor", "anchor.npy",
             "--positive", "positive.npy", "--negatives", "negatives.npy",
             "--negatives-layout", "shared", *options, "-f", "json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
            env=dict(os.environ, LOSSCLI_JIT="auto"))
        peak_mb, rc = map(int, proc.stderr.split()[-2:])
        assert rc == 0, proc.stderr
        assert json.loads(proc.stdout)
        assert peak_mb < 600, f"{command} {loss}: peak RSS {peak_mb} MB"


def test_a_lazy_breakdown_is_read_a_block_at_a_time(monkeypatch) -> None:
    """Reading one block computes that block's rows only (a kernel over all B rows per
    block would make `--terms top` quadratic in B)."""
    blockwise(monkeypatch)
    seen = []
    from losscli.kernels import _jit

    real = _jit.run

    def spy(kernel, work, *args, **kw):
        seen.append(args[0].shape[0])
        return real(kernel, work, *args, **kw)

    r = evaluate("infonce", None, {}, "shared")
    monkeypatch.setattr(_jit, "run", spy)
    r.terms.block(4, 6)
    assert seen and set(seen) == {2}  # each kernel given the block's two rows



@pytest.mark.parametrize("loss", ["infonce", "triplet", "contrastive", "quadruplet"])
def test_compiled_blocks_equal_the_whole_batch(loss, monkeypatch) -> None:
    """The same with the kernels compiled (LOSSCLI_JIT=always): each block's call takes the
    whole batch's path."""
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    whole = evaluate(loss, None, {}, "shared")
    blockwise(monkeypatch)
    blocks = evaluate(loss, None, {}, "shared")
    assert isinstance(blocks.terms, LazyTerms)
    assert same(blocks.per_example, whole.per_example)
    for name, column in whole.terms.columns.items():
        assert same(blocks.terms.block(0, B)[name], column), name


@pytest.mark.parametrize("loss", ["infonce", "triplet", "contrastive", "quadruplet",
                                  "multi-similarity"])
def test_stats_and_sweep_by_blocks_equal_the_whole_batch(loss, monkeypatch) -> None:
    """stats reads the breakdown a block of examples at a time (regimes, active terms,
    false negatives summed; distances held up to EXACT_PAIRS): the same records."""
    inputs = arrays(loss, "shared")
    whole = losscli.stats(loss, inputs, bins=7, negatives_layout="shared")
    param = "temperature" if loss == "infonce" else "margin"
    if loss == "multi-similarity":
        param = "base"
    swept = losscli.sweep(loss, inputs, param, [0.2, 0.5, 1.0], negatives_layout="shared")
    blockwise(monkeypatch)
    assert losscli.stats(loss, inputs, bins=7, negatives_layout="shared") == whole
    again = losscli.sweep(loss, inputs, param, [0.2, 0.5, 1.0], negatives_layout="shared")
    assert json.dumps({k: np.asarray(v).tolist() for k, v in again.columns.items()}) == \
        json.dumps({k: np.asarray(v).tolist() for k, v in swept.columns.items()})
    assert again.limits == swept.limits


def test_streamed_stats_of_an_explicit_loss(monkeypatch) -> None:
    """Above EXACT_PAIRS terms the distances are not held: exact count, mean, std, min and
    max, quantiles from the fine histogram, the histogram on one scale, and a note."""
    from losscli import explore

    inputs = arrays("quadruplet", "shared")
    exact = losscli.stats("quadruplet", inputs, bins=9, negatives_layout="shared")
    monkeypatch.setattr(explore, "EXACT_PAIRS", 0)
    streamed = losscli.stats("quadruplet", inputs, bins=9, negatives_layout="shared")
    records = {r["stat"]: r for r in exact.records}
    got = {r["stat"]: r for r in streamed.records}
    assert list(got) == list(records)
    for stat in ("d_ap", "d_an", "d_nn"):
        want = records[stat]
        assert got[stat]["count"] == want["count"]
        np.testing.assert_allclose([got[stat][k] for k in ("mean", "std", "min", "max")],
                                   [want[k] for k in ("mean", "std", "min", "max")],
                                   rtol=1e-12)
        step = (want["max"] - want["min"]) / (9 * explore.FINE_BINS)
        for q in ("p5", "p25", "p50", "p75", "p95"):
            assert abs(got[stat][q] - want[q]) <= 2 * step + 1e-12, (stat, q)
    np.testing.assert_allclose(got["histogram"]["edges"], records["histogram"]["edges"],
                               rtol=1e-14)
    assert got["histogram"]["counts"] == records["histogram"]["counts"]
    for stat in ("loss", "regimes", "active triplet_term", "active pair_term"):
        if stat in records:
            assert got[stat] == records[stat], stat
    assert sum("quantiles (p5 ... p95) are read from a histogram" in w
               for w in streamed.warnings) == 1
    assert not any("quantiles" in w for w in exact.warnings)


@pytest.mark.parametrize("loss,like", [("triplet", "pytorch-metric-learning"),
                                       ("contrastive", "pytorch-metric-learning"),
                                       ("margin", "pytorch-metric-learning")])
def test_reductions_over_every_term_by_blocks(loss, like, monkeypatch) -> None:
    """PML's reducers over all B x K terms (AvgNonZero, its split form, Divisor) come from
    each example's own sums and counts: blocks of 7 examples give the whole batch's bits
    (a running sum over blocks did not, at this size: 0.05300029132735778 against ...777)."""
    rng = np.random.default_rng(11)  # inputs whose running sum over blocks rounds apart
    n, k = 301, 200
    inputs = {"anchor": rng.normal(size=(n, 40)), "positive": rng.normal(size=(n, 40)),
              "negatives": rng.normal(size=(n, k, 40))}
    whole = losscli.evaluate(loss, inputs, like=like)
    monkeypatch.setattr(explicit_terms, "EAGER_TERMS", 0)
    monkeypatch.setattr(explicit_terms, "SCAN_TERMS", 7 * (k + 1))
    blocks = losscli.evaluate(loss, inputs, like=like)
    assert isinstance(blocks.terms, LazyTerms)
    assert json.dumps(blocks.value) == json.dumps(whole.value)
    assert same(blocks.per_example, whole.per_example)



def test_a_wide_shared_bank_is_multiplied_a_few_rows_at_a_time() -> None:
    """QA26 D1: a tile of the grid is ~GRID_BYTES whatever K (64 rows at least made
    `compute circle` over K = 4 M negatives take 5.1 GB for --terms none)."""
    from losscli.losses import vectors

    anchor = np.zeros((128, 4))
    for K, rows in ((4_000_000, 1), (1_000_000, 4), (8192, 512), (10, 512)):
        bank = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(1, K, 4), strides=(0,) * 3)
        grid = vectors.SimilarityRows(anchor, bank, False).grid
        assert grid == rows, (K, grid)
        assert grid == 1 or grid * K * 8 <= vectors.GRID_BYTES


def test_to_dict_computes_a_lazy_breakdown_once(monkeypatch) -> None:
    """QA26 D5: Result.to_dict read `terms.columns` once for the names and again for each
    column, each a whole pass over the blocks."""
    blockwise(monkeypatch)
    r = evaluate("triplet", None, {}, "shared")
    calls = []
    real = r.terms.compute

    def counted(start, stop):
        calls.append((start, stop))
        return real(start, stop)

    from dataclasses import replace

    lazy = replace(r, terms=replace(r.terms, compute=counted))
    doc = lazy.to_dict()
    assert calls == [(0, B)]
    assert doc == r.to_dict()


def test_quadruplet_without_negatives2_by_blocks(monkeypatch) -> None:
    """Without negatives2 the partner of n_k is the next negative (rolled): the same bank
    sliced for both, blocks equal to the whole batch."""
    rng = np.random.default_rng(4)
    inputs = {"anchor": rng.normal(size=(B, D)), "positive": rng.normal(size=(B, D)),
              "negatives": rng.normal(size=(B, K, D))}
    whole = losscli.evaluate("quadruplet", inputs)
    blockwise(monkeypatch)
    blocks = losscli.evaluate("quadruplet", inputs)
    assert isinstance(blocks.terms, LazyTerms) and blocks.params["pairing"] == "rolled"
    assert same(blocks.per_example, whole.per_example)
    for name, column in whole.terms.columns.items():
        assert same(blocks.terms.block(0, B)[name], column), name
        assert same(blocks.terms.block(3, 4)[name], column[3:4]), name
