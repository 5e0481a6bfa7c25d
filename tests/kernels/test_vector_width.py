"""The jit policy's vector width: 512-bit vectors where the CPU has AVX-512 (LLVM's Intel
targets prefer 256-bit ones), and a user's own CPU settings for numba left alone."""

from __future__ import annotations

import types

import pytest

from losscli.kernels import _jit

numba_codegen = pytest.importorskip("numba.core.codegen")


def _numba(features: str | None = None, name: str | None = None) -> types.SimpleNamespace:
    return types.SimpleNamespace(config=types.SimpleNamespace(CPU_FEATURES=features,
                                                              CPU_NAME=name))


@pytest.fixture
def host(monkeypatch):
    monkeypatch.setattr(_jit, "_vectors_chosen", False)

    def set_host(features: str) -> None:
        monkeypatch.setattr(numba_codegen, "get_host_cpu_features", lambda: features)

    return set_host


def test_an_avx512_host_gets_wide_vectors(host):
    host("+avx2,+avx512f,+fma")
    numba = _numba()
    _jit._prefer_wide_vectors(numba)
    assert numba.config.CPU_FEATURES == "+avx2,+avx512f,+fma,-prefer-256-bit"


@pytest.mark.parametrize("features", ["+avx2,-avx512f,+fma", "", "+neon"])
def test_a_host_without_avx512_is_left_as_it_is(host, features):
    host(features)
    numba = _numba()
    _jit._prefer_wide_vectors(numba)
    assert numba.config.CPU_FEATURES is None


@pytest.mark.parametrize("setting", [{"features": "+avx2"}, {"name": "skylake-avx512"}])
def test_a_users_own_cpu_setting_is_kept(host, setting):
    host("+avx2,+avx512f")
    numba = _numba(**setting)
    _jit._prefer_wide_vectors(numba)
    assert numba.config.CPU_FEATURES == setting.get("features")


def test_the_choice_is_made_once_per_process(host):
    host("+avx512f")
    first, second = _numba(), _numba()
    _jit._prefer_wide_vectors(first)
    _jit._prefer_wide_vectors(second)  # the codegen is the process's: set before it exists
    assert first.config.CPU_FEATURES == "+avx512f,-prefer-256-bit"
    assert second.config.CPU_FEATURES is None
