"""The 2 GiB limit on an array read whole (JSON, .npz, a pipe): refused from what the input
declares, before its data is read, in words that fit every command (batch's refusal of an
.npz said "use `losscli batch`") (QA20a M2, M3)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from losscli.errors import BadData
from losscli.io import formats, read_stream
from tests.helpers import run_cli as invoke


class _Counted(io.RawIOBase):
    """A non-seekable stream of a .npy header then zeros, counting the bytes read."""

    def __init__(self, header: bytes, size: int) -> None:
        self.header, self.size, self.read_bytes = header, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        start = self.read_bytes
        chunk = (self.header[start:start + n] + bytes(n))[:n]
        buffer[:n] = chunk
        self.read_bytes += n
        return n


def _npy_header(shape: tuple[int, ...]) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return out.getvalue()


def test_a_piped_npy_over_the_limit_is_refused_from_its_header():
    shape = (880_000, 66, 128)  # 29.7 GB of float32
    stream = io.BufferedReader(_Counted(_npy_header(shape), 30 * 2**30))
    with pytest.raises(BadData, match=r"takes .* as float64, over the 2 GiB limit on an array "
                                      r"read whole") as caught:
        read_stream(stream, "<stdin>")
    assert stream.raw.read_bytes <= formats.MAX_JSON_BYTES + 2 * 2**20  # not 2 GiB of it
    assert "`losscli batch` reads those by rows" in caught.value.message()


def test_an_npz_declaring_more_than_the_limit_is_refused_before_any_member(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setattr(formats, "MAX_ARRAY_BYTES", 2**20)  # 1 MiB for the test
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for role, rows in (("anchor", 10), ("positive", 10), ("negatives", 200_000)):
            buffer = io.BytesIO()
            np.save(buffer, np.zeros((rows, 2)))
            z.writestr(f"{role}.npy", buffer.getvalue())
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, name, *a, **k: opened.append(name) or real_open(
                            self, name, *a, **k))
    code, out, err = invoke(capsys, "batch", "infonce", str(path), "-q")
    assert code == 7 and opened == []
    assert "members declare they decompress to 3.05 MiB, over the 1 MiB limit on an array " \
           "read whole; save the roles as .npy files (STEM.ROLE.npy)" in out


def test_an_npz_of_float32_members_over_the_limit_as_float64_reads_no_data(tmp_path, capsys,
                                                                          monkeypatch):
    """QA21 M2: stored as float32 they fit, as float64 they do not: every member was
    decompressed and widened (1.8 GB, 6 s at 3.35 GiB) before the refusal. Their headers
    say it: only those are read."""
    monkeypatch.setattr(formats, "MAX_ARRAY_BYTES", 2**20)  # 1 MiB for the test
    path = tmp_path / "f32.npz"
    rows = 50_000  # 0.38 MiB of float32 a member, 0.76 MiB as float64
    np.savez_compressed(path, anchor=np.zeros((rows, 2), np.float32),
                        positive=np.zeros((rows, 2), np.float32),
                        negatives=np.zeros((rows, 1, 2), np.float32))
    read = []
    real = formats._npy_data
    monkeypatch.setattr(formats, "_npy_data", lambda *a, **k: read.append(a) or real(*a, **k))
    code, out, err = invoke(capsys, "compute", "triplet", str(path), "--terms", "none")
    assert code == 4 and out == "" and read == []
    assert "the arrays take 1.53 MiB or more as float64, over the 1 MiB limit" in err


@pytest.mark.parametrize("compress", [False, True])
def test_an_npz_members_bytes_are_read_into_the_array_itself(tmp_path, compress):
    """A member is read a chunk at a time into its array: a zip member's read(n) returns a
    copy of what it read, so reading the member whole peaked at twice its size (an .npz of
    2 x 128 MiB held 131 MiB more than its arrays)."""
    import tracemalloc

    anchor = np.random.default_rng(0).standard_normal((4096, 1024))  # 32 MiB
    path = tmp_path / "pairs.npz"
    (np.savez_compressed if compress else np.savez)(path, anchor=anchor)
    tracemalloc.start()
    try:
        with open(path, "rb") as fh:
            arrays = formats.read_npz(str(path), fh)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(arrays["anchor"], anchor)
    # a few chunks as read, decompressed and copied within the zip module, and zlib's own
    # buffers (read whole: the member twice over)
    assert peak < 1.25 * anchor.nbytes, peak / anchor.nbytes
