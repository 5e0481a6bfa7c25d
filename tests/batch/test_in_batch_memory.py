"""batch evaluates the in-batch losses by tiles: over a role set of B = 20,000 pairs the
child's own high-water RSS grows by a few tiles, far below the B x B similarity matrix (1.6 GB
in float32) that evaluating it whole would hold, in float32 and in float64."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CHILD = r"""
import json, os, sys
from losscli.cli import run
from losscli.kernels import _jit

def status_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)

loss, dtype, small, big = sys.argv[1:5]
def batch(root):
    if root.endswith(".npy"):  # a stack (B, 2, D): anchor and positive rows interleaved
        return run(["batch", *loss.split(), root, "--dtype", dtype, "-q", "--out",
                    root[:-4] + ".jsonl"])
    return run(["batch", *loss.split(), "--anchor", root + "/anchor.npy", "--positive",
                root + "/positive.npy", "--dtype", dtype, "-q", "--out", root + "/out.jsonl"])
# Imports, compiled kernels, caches and numba's threads are not the batch's: the small run
# takes the big one's paths (compiled, parallel), compiling them when the cache is cold.
os.environ["LOSSCLI_JIT"] = "always"
paths = _jit.PARALLEL_THRESHOLD, _jit.POOL_START_WORK
_jit.PARALLEL_THRESHOLD = _jit.POOL_START_WORK = 0
assert batch(small) == 0
os.environ["LOSSCLI_JIT"] = "auto"
_jit.PARALLEL_THRESHOLD, _jit.POOL_START_WORK = paths
before = status_mb("VmRSS")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # restart the high-water mark from the current RSS
code = batch(big)
print(json.dumps({"code": code, "before": before, "after": status_mb("VmHWM")}))
"""


def _role_set(root: Path, B: int, D: int, seed: int) -> None:
    root.mkdir()
    rng = np.random.default_rng(seed)
    for role in ("anchor", "positive"):
        np.save(root / f"{role}.npy", rng.standard_normal((B, D), dtype=np.float32))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("loss,dtype", [("clip", "float32"), ("ntxent-batch", "float64"),
                                        ("infonce --like sentence-transformers", "float32")])
def test_peak_rss_of_an_in_batch_loss_stays_far_below_its_matrix(tmp_path, loss, dtype):
    B, D = 20_000, 32
    _role_set(tmp_path / "big", B, D, 0)
    _role_set(tmp_path / "small", 50, D, 1)
    done = subprocess.run([sys.executable, "-c", CHILD, loss, dtype, str(tmp_path / "small"),
                           str(tmp_path / "big")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    growth = report["after"] - report["before"]
    views = 2 * B * D * np.dtype(dtype).itemsize / 2**20  # the (2B, D) buffer: 5 or 10 MiB
    matrix = B * B * 4 / 2**20  # clip's (and MNRL's) B x B in float32: 1526 MiB
    # (ntxent-batch's is 4x)
    # the views, the inputs as read, a few 32 MiB tiles and per-row statistics
    assert growth < 2 * views + 160, (growth, report)
    assert growth < matrix / 8
    record = json.loads((tmp_path / "big" / "out.jsonl").read_text())
    assert record["n"] == B and record["error"] is None and np.isfinite(record["value"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_columns_of_an_in_batch_loss_read_its_breakdown_by_blocks(tmp_path):
    """--per-example --columns reads each example's terms a block at a time: clip's whole
    breakdown at B = 6,000 (12,000 terms an example, six columns) would hold ~3.5 GB; at
    B = 8,192 it held 14 GB."""
    B, D = 6_000, 32
    _role_set(tmp_path / "big", B, D, 0)
    _role_set(tmp_path / "small", 50, D, 1)
    loss = "clip --per-example --columns hardest,probability"
    done = subprocess.run([sys.executable, "-c", CHILD, loss, "float64", str(tmp_path / "small"),
                           str(tmp_path / "big")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    whole = B * 2 * B * 6 * 8 / 2**20
    assert report["after"] - report["before"] < 400 < whole / 8, report
    lines = (tmp_path / "big" / "out.jsonl").read_text().splitlines()
    assert len(lines) == B
    assert all(json.loads(line)["columns"]["probability"] is not None for line in lines[:50])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("loss", ["supcon --like supcontrast",
                                  "infonce --like sentence-transformers"])
def test_a_conventions_in_batch_form_holds_one_buffer_of_its_views(tmp_path, loss):
    """Under the conventions whose candidates are the batch (SupContrast's views, MNRL's
    positives) batch reads anchor and positive into one (2B, D) float64 buffer, normalized
    in place: SupContrast's held float64 copies of both, their unit copies and the views
    beside them (~4x the buffer), and reported float64 under --dtype float32."""
    B, D = 8_000, 1024
    _role_set(tmp_path / "big", B, D, 0)
    _role_set(tmp_path / "small", 50, D, 1)
    done = subprocess.run([sys.executable, "-c", CHILD, loss, "float32", str(tmp_path / "small"),
                           str(tmp_path / "big")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    buffer = 2 * B * D * 8 / 2**20  # 125 MiB
    # the buffer, one role as read (float32), a few tiles of 2B columns and per-row statistics
    assert report["after"] - report["before"] < buffer + 200, report
    record = json.loads((tmp_path / "big" / "out.jsonl").read_text())
    assert record["n"] == B and np.isfinite(record["value"])
    assert record["params"]["dtype"] == "float32"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_inputs_whole_arrays_are_dropped_once_copied_into_the_buffer(dtype):
    """An .npz (or JSON) input is read whole, as float64, and then copied into the (2B, D)
    buffer of the tiled losses: each role's array leaves the table once it is in its half.
    Both held beside the buffer put batch clip over an .npz of B = 65,536, D = 512 float32 at
    1.04 GB beyond its inputs (the issue's bound is 1 GB; 679 MiB since)."""
    import weakref

    from losscli.batch import tables, tasks

    rng = np.random.default_rng(0)
    anchor, positive = rng.standard_normal((2, 40, 8))
    want = np.concatenate([anchor, positive]).astype(dtype).astype(np.float64)
    table = tables.Table("pairs.npz", whole={"anchor": anchor, "positive": positive})
    table.where.update(anchor="pairs.npz:anchor", positive="pairs.npz:positive")
    gone = [weakref.ref(anchor), weakref.ref(positive)]
    del anchor, positive
    halves = tasks._joined_pair(table, dtype, {})
    assert halves is not None
    assert [ref() for ref in gone] == [None, None]
    np.testing.assert_array_equal(np.concatenate([halves["anchor"], halves["positive"]]), want)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_stacked_npy_goes_into_the_buffer_without_copies_beside_it(tmp_path, dtype):
    """A stacked .npy (B, 2, D) is read whole and its two roles copied into the (2B, D)
    buffer one at a time: it held float32 copies of both, float64 copies of both and the
    loss's own copy of those beside the stack (clip at B = 65,536, D = 512 float32: 1.2 GB
    beyond its 256 MiB)."""
    B, D = 8_000, 1024
    rng = np.random.default_rng(0)
    for name, n in (("big", B), ("small", 50)):
        np.save(tmp_path / f"{name}.npy", rng.standard_normal((n, 2, D), dtype=np.float32))
    done = subprocess.run([sys.executable, "-c", CHILD, "clip", dtype,
                           str(tmp_path / "small.npy"), str(tmp_path / "big.npy")],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    buffer = 2 * B * D * 8 / 2**20  # 125 MiB; the stack as read is half as much
    # the stack, the buffer, one role converted, a few tiles and per-row statistics
    assert report["after"] - report["before"] < 1.5 * buffer + 120, report
    record = json.loads((tmp_path / "big.jsonl").read_text())
    assert record["n"] == B and np.isfinite(record["value"])


def test_a_stacks_two_roles_are_read_into_the_buffers_halves(tmp_path):
    """The halves hold the stack's anchor and positive rows, as --dtype float32 reads them."""
    from losscli.batch import tables, tasks
    from losscli.batch.npyrows import NpyFile

    x = np.random.default_rng(1).standard_normal((30, 2, 5))
    np.save(tmp_path / "pairs.npy", x)
    table = tables.Table("pairs.npy", stack=NpyFile(str(tmp_path / "pairs.npy")))
    for dtype in (np.float32, np.float64):
        halves = tasks._joined_pair(table, dtype, {})
        assert halves is not None
        np.testing.assert_array_equal(halves["anchor"], x[:, 0].astype(dtype))
        np.testing.assert_array_equal(halves["positive"], x[:, 1].astype(dtype))
        assert np.shares_memory(halves["anchor"], halves["positive"]) is False
        assert halves["anchor"].base is halves["positive"].base  # one (2B, D) buffer
