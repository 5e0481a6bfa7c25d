from __future__ import annotations

import math

import pytest


@pytest.fixture(params=["never", "always"], ids=["interpreted", "compiled"])
def jit_mode(request, monkeypatch):
    """Run a test through the interpreted kernel source and through numba."""
    monkeypatch.setenv("LOSSCLI_JIT", request.param)
    return request.param


def assert_close(actual, expected, rel=1e-12, scale=1.0):
    """Relative tolerance with a small absolute floor (margin terms cancel)."""
    if isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected)
        for a, e in zip(actual, expected, strict=True):
            assert_close(a, e, rel, scale)
        return
    assert math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-14 * scale), (
        f"{actual!r} != {expected!r}"
    )
