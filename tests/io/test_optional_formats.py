"""safetensors, Parquet, Arrow IPC and HDF5 inputs (issue 13.1-13.3, 13.5), each file written
by the real library: roles by name or --map, bfloat16/float16 converted at the edge, list and
fixed-size-list columns, HDF5 `FILE.h5:group/dataset`, each format found by its content
whatever its name, and a one-line refusal naming the extra when its library is missing."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import losscli
from tests.helpers import assert_close, optional_module, run_cli

RNG = np.random.default_rng(31)
A, P, N = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 4)), RNG.normal(size=(5, 3, 4))
ARRAYS = {"anchor": A, "positive": P, "negatives": N}


def value(capsys, *argv: str) -> tuple[float, list[str]]:
    code, out, err = run_cli(capsys, "compute", "triplet", *argv, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    return doc["value"], doc["warnings"]


def want(**arrays: np.ndarray) -> float:
    return losscli.evaluate("triplet", {**ARRAYS, **arrays}).value


def test_safetensors_by_role_and_by_map_with_bfloat16_and_float16(tmp_path, capsys):
    st = pytest.importorskip("safetensors.numpy")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    path = tmp_path / "emb.bin"  # found by content, not by name
    bf16 = A.astype(ml_dtypes.bfloat16)
    st.save_file({"query": bf16, "positive": P.astype(np.float16),
                  "negatives": N.astype(np.float32), "ids": np.arange(5)}, str(path))
    got, warnings = value(capsys, str(path), "--map", "anchor=query")
    # bfloat16 widens to float32 exactly: the loss of those very values
    expected = want(anchor=bf16.astype(np.float64), positive=P.astype(np.float16),
                    negatives=N.astype(np.float32))
    assert_close(got, expected)
    assert any("'ids'" in w for w in warnings)
    # a per-role file holding one tensor of another name
    st.save_file({"embeddings": A}, str(tmp_path / "a.safetensors"))
    np.save(tmp_path / "p.npy", P)
    np.save(tmp_path / "n.npy", N)
    got, _ = value(capsys, "--anchor", str(tmp_path / "a.safetensors"), "--positive",
                   str(tmp_path / "p.npy"), "--negatives", str(tmp_path / "n.npy"))
    assert_close(got, want())


def _table(pa, anchor_type):
    return pa.table({
        "anchor": pa.array([list(r) for r in A], type=anchor_type),
        "positive": [list(r) for r in P],
        "negatives": [[list(k) for k in r] for r in N],
        "id": list(range(5)),
    })


@pytest.mark.parametrize("kind", ["parquet", "feather", "stream"])
def test_parquet_and_arrow_one_row_per_example(kind, tmp_path, capsys):
    pa = optional_module("pyarrow")
    table = _table(pa, pa.list_(pa.float64(), 4))  # fixed-size list; the others plain lists
    path = tmp_path / "rows.data"
    if kind == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path, row_group_size=2)
    elif kind == "feather":
        import pyarrow.feather as feather

        feather.write_feather(table, path)
    else:
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
            w.write_table(table)
    got, warnings = value(capsys, str(path))
    assert_close(got, want())
    assert any("'id'" in w for w in warnings)


def test_parquet_ragged_and_null_rows_are_named(tmp_path, capsys):
    pa = optional_module("pyarrow")
    import pyarrow.parquet as pq

    rows = [list(r) for r in A]
    rows[3] = rows[3][:2]
    pq.write_table(pa.table({"anchor": rows, "positive": [list(r) for r in P]}),
                   tmp_path / "ragged.parquet")
    code, _, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "ragged.parquet"))
    assert code == 4 and "ragged.parquet:anchor" in err and "row 3" in err
    pq.write_table(pa.table({"anchor": [list(r) for r in A[:4]] + [None],
                             "positive": [list(r) for r in P]}), tmp_path / "null.parquet")
    code, _, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "null.parquet"))
    assert code == 4 and "null" in err


def test_hdf5_datasets_by_role_by_map_and_by_path(tmp_path, capsys):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "ann.h5"
    with h5py.File(path, "w") as fh:
        fh["anchor"] = A
        fh["positive"] = P.astype(np.float32)
        fh["train/negs"] = N
        fh["neighbors"] = np.arange(10).reshape(5, 2)
    got, warnings = value(capsys, str(path), "--map", "negatives=train/negs")
    assert_close(got, want(positive=P.astype(np.float32)))
    assert any("'neighbors'" in w for w in warnings)
    got, _ = value(capsys, "--anchor", f"{path}:anchor", "--positive", f"{path}:positive",
                   "--negatives", f"{path}:train/negs")
    assert_close(got, want(positive=P.astype(np.float32)))
    code, _, err = run_cli(capsys, "compute", "triplet", "--anchor", f"{path}:nope",
                           "--positive", f"{path}:positive")
    assert code == 4 and "'nope'" in err and "train/negs" in err


@pytest.mark.parametrize("module,extra,write", [
    ("safetensors", "safetensors", "safetensors"),
    ("pyarrow", "parquet", "parquet"),
    ("h5py", "hdf5", "hdf5"),
])
def test_a_missing_extra_is_one_line_naming_it(module, extra, write, tmp_path, capsys,
                                                monkeypatch):
    optional_module(module)
    path = tmp_path / "input.dat"
    if write == "safetensors":
        import safetensors.numpy as st

        st.save_file({"anchor": A}, str(path))
    elif write == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"anchor": [list(r) for r in A]}), path)
    else:
        import h5py

        with h5py.File(path, "w") as fh:
            fh["anchor"] = A
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    code, out, err = run_cli(capsys, "compute", "triplet", str(path))
    assert code == 4 and out == ""
    assert err.count("\n") == 1 and f"pip install 'losscli[{extra}]'" in err, err
    assert str(path) in err


def test_an_extra_that_is_installed_but_cannot_load_says_so(tmp_path, capsys, monkeypatch):
    optional_module("pyarrow")
    import pyarrow as pa
    import pyarrow.parquet as pq

    from losscli.io import containers

    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"anchor": [list(r) for r in A]}), path)
    real = containers.importlib.import_module

    def broken(name: str):
        if name.split(".")[0] == "pyarrow":
            raise ImportError("pyarrow requires NumPy 2.0 or newer, found 1.24.0")
        return real(name)

    monkeypatch.setattr(containers.importlib, "import_module", broken)
    code, _, err = run_cli(capsys, "compute", "triplet", str(path))
    assert code == 4 and "installed but fails to import" in err and "NumPy 2.0" in err
    assert "pip install --upgrade 'losscli[parquet]'" in err
