"""Files of no format losscli reads (QA17b L1, L2): only what starts like a pickle, or a zip
under a torch name, gets the pickle wording and the torch recipe; a raw `tofile()` dump or
random bytes (named .bin or anything else) is told to use numpy.save; a gzip file is told
to gunzip it or pipe it through zcat. All exit 4, in one line."""

from __future__ import annotations

import gzip
import json
import pickle
import sys

import numpy as np
import pytest

from tests.helpers import run_cli

GOOD = {"anchor": [[1, 0], [0, 1]], "positive": [[0.6, 0.8], [-0.6, 0.8]],
        "negatives": [[[0.8, 0.6]], [[0, 1]]]}
RAW_FIX = "a raw dump from tofile() has no shape: save it with numpy.save"


@pytest.mark.parametrize(("name", "data"), [
    ("a_raw.bin", np.linspace(-1, 1, 6).tobytes()),       # ndarray.tofile
    ("zeros.bin", np.zeros(6).tobytes()),
    ("random.bin", np.random.default_rng(3).bytes(64)),
    ("proto1ish.f32", b"\x80\x01" + bytes(30)),            # 0x80 without a protocol 2-5
], ids=["tofile", "zeros", "random", "0x80-0x01"])
def test_an_unknown_binary_is_a_raw_dump_not_a_pickle(tmp_path, capsys, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = run_cli(capsys, "compute", "infonce", str(path))
    assert code == 4 and out == "", err
    _assert_raw_dump(err, path)


@pytest.mark.parametrize(("suffix", "protocol"), [(".bin", 2), (".pt", 5), (".pkl", 0)])
def test_under_a_torch_name_only_a_pickle_gets_the_torch_recipe(tmp_path, capsys, suffix,
                                                                protocol):
    real, raw = tmp_path / f"model{suffix}", tmp_path / f"dump{suffix}"
    real.write_bytes(pickle.dumps({"anchor": [1.0]}, protocol=protocol))
    raw.write_bytes(np.linspace(-1, 1, 6).tobytes())
    code, _, err = run_cli(capsys, "compute", "infonce", str(real))
    assert code == 4 and err.startswith(f"error: {real}: this is a pickle (or torch) file"), err
    code, _, err = run_cli(capsys, "compute", "infonce", str(raw))
    assert code == 4, err
    _assert_raw_dump(err, raw)


def _assert_raw_dump(err: str, path: object) -> None:
    """One line: no signature losscli reads, and numpy.save, never the torch recipe."""
    [line] = err.splitlines()
    assert line.startswith(f"error: {path}: not a format losscli reads (no .npy, .npz or "
                           "JSON signature"), line
    said = line.removeprefix(f"error: {path}: ")  # the test's tmp path may say "torch"
    assert said.endswith(f"; {RAW_FIX}") and "pickle" not in said and "torch" not in said


def test_a_gzip_file_is_told_to_gunzip_or_zcat(tmp_path, capsys, monkeypatch):
    path = tmp_path / "good.json.gz"
    path.write_bytes(gzip.compress(json.dumps(GOOD).encode()))
    code, out, err = run_cli(capsys, "compute", "infonce", str(path))
    assert code == 4 and out == "", err
    assert err == (f"error: {path}: a gzip-compressed file; gunzip it, or zcat {path} | "
                   "losscli ... -\n")


def test_gzip_on_stdin_is_told_to_zcat(tmp_path, capsys, monkeypatch):
    path = tmp_path / "good.json.gz"
    path.write_bytes(gzip.compress(json.dumps(GOOD).encode()))
    with path.open("rb") as fh:
        monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": fh,
                                                             "isatty": lambda self: False})())
        code, _, err = run_cli(capsys, "compute", "infonce", "-")
    assert code == 4, err
    assert err == ("error: <stdin>: a gzip-compressed file; decompress it on the way in: "
                   "zcat FILE | losscli ... -\n")
