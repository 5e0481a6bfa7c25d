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
                {"negatives_reduction": "max"}, {"reduction": "mean-nonzero"}],
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


@pytest.mark.parametrize("loss", NEGATIVE_LOSSES)
def test_gradients_keep_the_whole_breakdown(loss, monkeypatch) -> None:
    """--grad reads every column: the breakdown stays whole, the gradients as they were."""
    whole = evaluate(loss, None, {}, "shared", grad=True)
    blockwise(monkeypatch)
    blocks = evaluate(loss, None, {}, "shared", grad=True)
    assert same(blocks.per_example, whole.per_example)
    for role, g in whole.gradients.items():
        assert same(blocks.gradients[role], g), role


def test_compute_terms_none_holds_no_breakdown_of_a_large_shared_bank(tmp_path) -> None:
    """B = K = 4,096 shared negatives: 16.8 M terms, ~1.7 GB held whole (the child's own peak
    RSS, VmHWM, was 2.4 GB at B = K = 8,192 before); by blocks the inputs and ~1 M terms."""
    rng = np.random.default_rng(5)
    n = 4096
    for role, rows in (("anchor", n), ("positive", n), ("negatives", n)):
        np.save(tmp_path / f"{role}.npy", rng.normal(size=(rows, 8)).astype(np.float32))
    code = (
        "import sys, losscli.cli as c\n"
        "rc = c.run(sys.argv[1:])\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(int(peak.split()[1]) // 1024, rc, file=sys.stderr)\n")
    for loss in ("infonce", "triplet"):
        proc = subprocess.run(
            [sys.executable, "-c", code, "compute", loss, "--anchor", "anchor.npy",
             "--positive", "positive.npy", "--negatives", "negatives.npy",
             "--negatives-layout", "shared", "--terms", "none", "-f", "json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
            env=dict(os.environ, LOSSCLI_JIT="auto"))
        peak_mb, rc = map(int, proc.stderr.split()[-2:])
        assert rc == 0, proc.stderr
        assert np.isfinite(json.loads(proc.stdout)["value"])
        assert peak_mb < 600, f"{loss}: peak RSS {peak_mb} MB"


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
    assert seen == [2]

