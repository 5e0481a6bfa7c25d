"""Running out of memory is not a bug: a MemoryError (a container's limit, ulimit -v) is one
line, exit 4, where it read "internal error ... this is a bug in losscli" with exit 1; and
batch's row buffers never hold more rows than the file has (--chunk 300000000 on a file of
3,000 rows allocated 9 TiB) (QA20a M4)."""

from __future__ import annotations

import numpy as np

from losscli import api
from losscli.batch.npyrows import NpyFile, RowReader
from losscli.cli import run
from tests.helpers import SAMPLES


def test_a_memory_error_is_one_line_and_exit_4(capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 9.22 TiB for an array")

    monkeypatch.setattr(api, "evaluate", no_memory)
    assert run(["compute", "infonce", str(SAMPLES / "seed-example-1.json")]) == 4
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "error: out of memory (Unable to allocate 9.22 TiB for an array); use `losscli batch`, "
        "which streams .npy files by rows, or split the input"]


def test_batch_out_of_memory_says_what_batch_can_change(capsys, monkeypatch, tmp_path):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 967. MiB for an array")

    monkeypatch.setattr(api, "evaluate_files", no_memory)
    assert run(["batch", "infonce", str(SAMPLES / "seed-example-1.json")]) == 4
    assert capsys.readouterr().err.splitlines() == [
        "error: out of memory (Unable to allocate 967. MiB for an array); give a smaller "
        "--chunk or fewer --jobs, or split the input"]


def test_row_buffers_hold_no_more_rows_than_are_read(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((30, 4, 8), dtype=np.float32))
    files = {"stack": NpyFile(str(tmp_path / "x.npy"))}
    reader = RowReader(files, 30, 300_000_000, start=10)
    assert all(buffers["stack"].size == 20 * 4 * 8 for buffers in reader._buffers)
    assert [start for start, _ in reader] == [10]  # rows 10 to 30, one chunk
