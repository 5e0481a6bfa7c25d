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
