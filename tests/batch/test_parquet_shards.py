"""`batch` over Parquet (issue 13.2): a directory of shards is one input per shard, each
read by rows a row group at a time with the same per-example losses as `compute`; peak
memory does not grow with the file (measured by the child process itself)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import losscli
from tests.helpers import assert_close, batch_peak_growth, optional_module, run_cli

pa = optional_module("pyarrow")
pq = optional_module("pyarrow.parquet")


def fixed(values: np.ndarray) -> object:
    """(B, ...) float32 as nested fixed-size-list columns, built from the flat buffer."""
    arr = pa.array(values.reshape(-1))
    for width in reversed(values.shape[1:]):
        arr = pa.FixedSizeListArray.from_arrays(arr, width)
    return arr


def write_shard(path: Path, a, p, n, row_group: int, ids: bool = True) -> None:
    columns = {"anchor": fixed(a), "positive": fixed(p), "negatives": fixed(n)}
    if ids:
        columns["id"] = pa.array(np.arange(len(a)))
    pq.write_table(pa.table(columns), path, row_group_size=row_group)


def test_a_directory_of_shards_streams_each_like_compute(tmp_path, capsys):
    rng = np.random.default_rng(2)
    want = {}
    for i, B in enumerate((7, 5, 9)):
        a, p = rng.normal(size=(B, 4)), rng.normal(size=(B, 4))
        n = rng.normal(size=(B, 3, 4))
        write_shard(tmp_path / f"part-{i}.parquet", a, p, n, row_group=2)
        want[f"part-{i}.parquet"] = losscli.evaluate(
            "infonce", {"anchor": a, "positive": p, "negatives": n}, reduction="none")
    code, out, err = run_cli(capsys, "batch", "infonce", str(tmp_path), "--chunk", "3",
                             "--reduction", "none")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["file"]).name for r in records] == sorted(want)
    for record in records:
        expected = want[Path(record["file"]).name]
        assert record["error"] is None and record["n"] == expected.batch
        assert_close(np.array(record["per_example"]), expected.per_example)
        assert any("'id'" in w for w in record["warnings"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_rss_stays_far_below_the_parquet_file(tmp_path):
    B, K, D = 12000, 30, 128  # 197 MB of float32
    rng = np.random.default_rng(0)

    def make(path: Path, rows: int) -> None:
        a = rng.standard_normal((rows, D), dtype=np.float32) * 0.1
        n = rng.standard_normal((rows, K, D), dtype=np.float32) * 0.1
        write_shard(path, a, a + 0.01, n, row_group=200, ids=False)

    big, small = tmp_path / "big.parquet", tmp_path / "small.parquet"
    make(big, B)
    make(small, 400)  # as many values as compile the kernels: compilation is not the file
    size_mb = big.stat().st_size / 2**20
    report = batch_peak_growth(small, big, 64)
    assert report["code"] == 0
    growth = report["after"] - report["before"]
    assert growth < 0.3 * size_mb, (growth, size_mb)  # one row group per role, buffers
    record = json.loads((tmp_path / "big.parquet.jsonl").read_text().splitlines()[0])
    assert record["n"] == B and record["error"] is None
