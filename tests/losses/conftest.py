"""Fixtures shared by the loss tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["interpreted", "compiled", "parallel"])
def path(request, monkeypatch):
    """The kernels interpreted, compiled serial, and compiled with numba's threads."""
    from losscli.kernels import _jit

    monkeypatch.setenv("LOSSCLI_JIT", "never" if request.param == "interpreted" else "always")
    if request.param == "parallel":
        monkeypatch.setattr(_jit, "PARALLEL_THRESHOLD", 0)
    return request.param
