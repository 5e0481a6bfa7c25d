"""numba's OpenMP threads sleep between parallel regions (kernels/_jit.py, "Thread pools"):
spinning, they slowed the BLAS products the tiled in-batch losses alternate with their
kernels by 13-19%. A user's own OMP_WAIT_POLICY is kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = """
import os
from losscli.kernels import tiles
tiles.shifted_row_stats.jit_parallel
print(os.environ.get("OMP_WAIT_POLICY"))
"""


@pytest.mark.parametrize("preset,expected", [(None, "passive"), ("active", "active")])
def test_wait_policy_set_before_numbas_pool_starts(preset, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset is not None:
        env["OMP_WAIT_POLICY"] = preset
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == expected


def _blas_threads_now() -> list[int]:
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """BLAS at two threads (a one-core host would make the limit a no-op to watch)."""
    import numpy  # noqa: F401 - loads numpy's BLAS for threadpoolctl to see
    from threadpoolctl import threadpool_limits

    if not _blas_threads_now():
        pytest.skip("numpy has no BLAS library that threadpoolctl sees")
    with threadpool_limits(limits=2, user_api="blas"):
        yield


def test_parallel_kernels_run_with_blas_at_one_thread_then_restore_it(two_blas_threads):
    import numpy as np

    from losscli.kernels import _jit
    from losscli.kernels import stream as sk

    seen = []
    kernel = _jit.Kernel(sk.read_sum.py, frozenset(), parallel=True)
    kernel._jit_parallel = lambda x: seen.append(_blas_threads_now())
    _jit.run(kernel, 10**12, np.zeros((2, 2)), parallel=True)
    assert seen == [[1] * len(_blas_threads_now())]
    assert all(n == 2 for n in _blas_threads_now())


def test_blas_limit_is_restored_when_the_block_raises(two_blas_threads):
    from losscli.kernels import _jit

    with pytest.raises(RuntimeError), _jit.blas_threads(1):
        assert all(n == 1 for n in _blas_threads_now())
        raise RuntimeError
    assert all(n == 2 for n in _blas_threads_now())
    with _jit.blas_threads(4):  # a limit above the current count raises nothing
        assert all(n == 2 for n in _blas_threads_now())
