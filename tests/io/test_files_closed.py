"""The files of container inputs (HDF5, Parquet, Arrow) are closed once their roles are read,
by compute's reader and by batch's, on an error too: a notebook keeps the last exception (and
with it the reader's frames), and h5py then refused to rewrite the file in that process
("unable to truncate a file which is already open")."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import losscli
from losscli.errors import BadData
from tests.helpers import optional_module

RNG = np.random.default_rng(5)
A, P, N = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(3, 2, 4))


def held(path: Path) -> bool:
    """Whether this process has `path` open or mapped (Linux: /proc/self)."""
    real = os.path.realpath(path)
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == real:
                return True
        except OSError:
            continue
    with open("/proc/self/maps") as maps:
        return any(line.rstrip().endswith(real) for line in maps)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def write_h5(h5py: Any, path: Path, anchor: Any = A) -> None:
    with h5py.File(path, "w") as f:
        f["anchor"] = anchor
        f["positive"] = P
        f["negatives"] = N
        f["ids"] = np.arange(3)  # not a role: listed, never read


def failed_evaluation(path: str, **kwargs: Any) -> BadData:
    with pytest.raises(BadData) as caught:
        losscli.evaluate_file("triplet", path, **kwargs)
    return caught.value


@pytest.mark.parametrize("how", ["input", "role file", "dataset path"])
def test_an_hdf5_file_can_be_rewritten_after_an_evaluation_failed(how: str,
                                                                  tmp_path: Path) -> None:
    h5py = optional_module("h5py")
    path = tmp_path / "x.h5"
    write_h5(h5py, path, anchor=np.array([b"a", b"b", b"c"]))  # refused: bytes
    if how == "input":
        kept = failed_evaluation(str(path))
    elif how == "role file":
        np.save(tmp_path / "p.npy", P)
        np.save(tmp_path / "n.npy", N)
        kept = failed_evaluation(None, role_files={"anchor": str(path),
                                                   "positive": str(tmp_path / "p.npy"),
                                                   "negatives": str(tmp_path / "n.npy")})
    else:
        kept = failed_evaluation(f"{path}:anchor")
    assert kept.__traceback__ is not None  # held, as a notebook holds its last exception
    write_h5(h5py, path)  # was: "unable to truncate a file which is already open"
    assert losscli.evaluate_file("triplet", str(path)).value > 0
    write_h5(h5py, path)  # and after a run that worked


def test_batch_releases_an_hdf5_input_whose_record_failed(tmp_path: Path) -> None:
    h5py = optional_module("h5py")
    path = tmp_path / "x.h5"
    write_h5(h5py, path, anchor=np.array([b"a", b"b", b"c"]))
    results = list(losscli.evaluate_files("triplet", [str(path)]))
    assert results[0].error is not None  # the failed record keeps its error (a traceback)
    write_h5(h5py, path)
    results = list(losscli.evaluate_files("triplet", [str(path)]))
    assert results[0].error is None


@linux_only
def test_a_parquet_file_is_released_after_a_refused_column(tmp_path: Path) -> None:
    """By compute's reader (the Container) and by batch's (ParquetColumn, row by row)."""
    pa = optional_module("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"anchor": ["a", "b", "c"],  # refused: strings
                             "positive": [list(r) for r in P],
                             "negatives": [[list(k) for k in r] for r in N]}), path)
    kept = failed_evaluation(str(path))
    assert kept.__traceback__ is not None
    assert not held(path)
    results = list(losscli.evaluate_files("triplet", [str(path)]))
    assert results[0].error is not None
    assert not held(path)
