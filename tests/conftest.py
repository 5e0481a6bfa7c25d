from __future__ import annotations

import pytest


@pytest.fixture(params=["never", "always"], ids=["interpreted", "compiled"])
def jit_mode(request, monkeypatch):
    """Run a test through the interpreted kernel source and through numba."""
    monkeypatch.setenv("LOSSCLI_JIT", request.param)
    return request.param
