"""Peak memory of `batch` does not grow with the file: measured by the child process itself
(its high-water RSS before and after), so the bound fails if the whole file is held."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import losscli
from tests.helpers import batch_peak_growth


def _write_stack(path: Path, B: int, R: int, D: int, seed: int) -> None:
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(B, R, D))
    rng = np.random.default_rng(seed)
    for start in range(0, B, 100):
        stop = min(B, start + 100)
        out[start:stop] = rng.standard_normal((stop - start, R, D), dtype=np.float32) * 0.1
    out.flush()
    del out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_rss_stays_far_below_the_file_size(tmp_path):
    B, R, D = 2300, 256, 128  # 301 MB of float32
    big = tmp_path / "big.npy"
    small = tmp_path / "small.npy"
    _write_stack(big, B, R, D, 0)
    _write_stack(small, 40, R, D, 1)
    size_mb = big.stat().st_size / 2**20
    report = batch_peak_growth(small, big, 64)
    assert report["code"] == 0
    growth = report["after"] - report["before"]
    # two chunks of 64 examples (8 MiB each) and the per-example losses: ~20 MiB
    assert growth < size_mb / 6, (growth, size_mb, report)
    record = json.loads((tmp_path / "big.npy.jsonl").read_text())
    assert record["n"] == B and record["error"] is None
    # and the streamed numbers are compute's, on a slice read back independently
    head = np.load(big, mmap_mode="r")[:64].astype(np.float64)
    want = losscli.evaluate("infonce", {"anchor": head[:, 0], "positive": head[:, 1],
                                        "negatives": head[:, 2:]}, reduction="none")
    np.testing.assert_allclose(record["per_example"][:64], want.per_example, rtol=1e-12)
