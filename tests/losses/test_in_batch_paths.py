"""The in-batch losses give the same bits on numba's serial and parallel paths: a small job
runs serially (kernels/_jit.POOL_START_WORK) where it ran in parallel before, and compute's
output must not change with that. Every prange iteration of their kernels writes its own
rows or columns, so the two paths do the same arithmetic in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from losscli import api
from losscli.kernels import _jit

LOSSES = ["clip", "siglip", "ntxent-batch", "npair", "dcl", "supcon", "hard-infonce"]
# supcon's in-batch (multi-view) form is SupContrast's.
LIKE = {"supcon": "supcontrast"}


def _inputs(loss: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(len(loss))
    a = rng.normal(size=(301, 7))
    return {"anchor": a, "positive": a + rng.normal(size=a.shape)}


def _evaluate(loss: str, parallel: bool, monkeypatch) -> tuple[np.ndarray, dict]:
    monkeypatch.setattr(_jit, "_pool_started", parallel)
    monkeypatch.setattr(_jit, "POOL_START_WORK", 0 if parallel else 10**18)
    result = api.evaluate(loss, _inputs(loss), grad=True, like=LIKE.get(loss))
    block = result.terms.block(0, 3)
    return result.per_example, {"block": block, "gradients": result.gradients}


@pytest.mark.parametrize("loss", LOSSES)
def test_serial_and_parallel_paths_give_the_same_bits(loss, monkeypatch):
    if _jit.threads() < 2:
        pytest.skip("one thread: the parallel path is never taken")
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    serial, extra_s = _evaluate(loss, False, monkeypatch)
    parallel, extra_p = _evaluate(loss, True, monkeypatch)
    assert serial.tobytes() == parallel.tobytes()
    for name, col in extra_s["block"].items():
        other = extra_p["block"][name]
        same = col.tobytes() == other.tobytes() if col.dtype.kind in "fiub" \
            else np.array_equal(col, other)
        assert same, name
    for role, g in (extra_s["gradients"] or {}).items():
        assert g.tobytes() == extra_p["gradients"][role].tobytes(), role


def test_mnrl_warns_of_zero_vectors_before_the_missing_negatives() -> None:
    """QA25 L2: one example, no negatives and a zero anchor: the zero vector's warning first,
    then the lone candidate's, as before the tiles (and as the explicit form orders them)."""
    r = api.evaluate("infonce", {"anchor": [[0.0, 0.0]], "positive": [[1.0, 2.0]]},
                     like="sentence-transformers")
    assert len(r.warnings) == 2, r.warnings
    assert "zero" in r.warnings[0] and "no negatives" in r.warnings[1], r.warnings
