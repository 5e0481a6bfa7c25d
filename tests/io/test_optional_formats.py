"""safetensors, Parquet, Arrow IPC and HDF5 inputs (issue 13.1-13.3, 13.5), each file written
by the real library: roles by name or --map, bfloat16/float16 converted at the edge, list and
fixed-size-list columns, HDF5 `FILE.h5:group/dataset`, each format found by its content
whatever its name, and a one-line refusal naming the extra when its library is missing."""

from __future__ import annotations

import io
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
    h5py = optional_module("h5py")
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


def _hdf5_with_extras(h5py, path) -> None:
    """Roles under train/, a scalar, and datasets of every non-numeric kind beside them."""
    with h5py.File(path, "w") as fh:
        fh["train/queries"] = A
        fh["train/docs"] = P.astype(np.float32)
        fh["train/hard"] = N
        fh["scalar"] = 3.0
        fh["bools"] = np.ones((5, 4), bool)
        fh["strings"] = np.array([b"a", b"bc"], dtype="S2")
        fh.create_dataset("vlen", data=["x", "yy"], dtype=h5py.string_dtype())


def test_an_hdf5_scalar_dataset_is_bad_data_and_batch_goes_on(tmp_path, capsys):
    h5py = optional_module("h5py")
    path = tmp_path / "g.h5"
    _hdf5_with_extras(h5py, path)
    code, _, err = run_cli(capsys, "compute", "triplet", "--anchor", f"{path}:scalar",
                           "--positive", f"{path}:train/docs", "--negatives",
                           f"{path}:train/hard")
    assert code == 4 and err.count("\n") == 1, err
    assert f"{path}:scalar:anchor: a single number where an array belongs" in err
    code, _, err = run_cli(capsys, "compute", "triplet", f"{path}:scalar")
    assert code == 4 and err.count("\n") == 1 and "a single number" in err, err
    np.savez(tmp_path / "ok.npz", **ARRAYS)
    np.savez(tmp_path / "ok2.npz", **ARRAYS)  # another input (one named twice runs once)
    code, out, err = run_cli(capsys, "batch", "triplet", str(tmp_path / "ok.npz"),
                             f"{path}:scalar", str(tmp_path / "ok2.npz"), "-f", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 7 and len(records) == 3, err
    assert [r["error"] is None for r in records] == [True, False, True]
    assert "a single number" in records[1]["error"]


def _write_with_ids(fmt: str, path, ids_kind: str) -> None:
    """The three roles beside a non-numeric array that is not a role."""
    if fmt == "safetensors":
        import safetensors.numpy as st

        st.save_file({**ARRAYS, "ids": np.ones(5, bool)}, str(path))
    elif fmt == "hdf5":
        import h5py

        with h5py.File(path, "w") as fh:
            for role, arr in ARRAYS.items():
                fh[role] = arr
            if ids_kind == "vlen":
                fh.create_dataset("ids", data=["x", "yy"], dtype=h5py.string_dtype())
            else:
                fh["ids"] = np.ones(3, bool) if ids_kind == "bool" else \
                    np.array([b"a", b"bc"], dtype="S2")
    else:
        import pyarrow as pa

        table = pa.table({"anchor": [list(r) for r in A], "positive": [list(r) for r in P],
                          "negatives": [[list(k) for k in r] for r in N],
                          "ids": [str(i) for i in range(5)], "ok": [True] * 5})
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, path)
        else:
            import pyarrow.feather as feather

            feather.write_feather(table, path)


@pytest.mark.parametrize("fmt,ids_kind,module", [
    ("safetensors", "bool", "safetensors"), ("parquet", "string", "pyarrow"),
    ("arrow", "string", "pyarrow"), ("hdf5", "bytes", "h5py"), ("hdf5", "bool", "h5py"),
    ("hdf5", "vlen", "h5py"),
])
def test_a_non_numeric_array_that_is_not_a_role_is_ignored(fmt, ids_kind, module, tmp_path,
                                                            capsys):
    optional_module(module)
    path = tmp_path / f"x.{fmt}"
    _write_with_ids(fmt, path, ids_kind)
    got, warnings = value(capsys, str(path))
    assert_close(got, want())
    assert any("ignored 'ids'" in w for w in warnings), warnings
    code, out, err = run_cli(capsys, "batch", "triplet", str(path), "-f", "jsonl")
    assert code == 0, err
    record = json.loads(out)
    assert_close(record["value"], got) and any("'ids'" in w for w in record["warnings"])
    # a role keeps its dtype check: the same array read as the anchor is refused
    code, _, err = run_cli(capsys, "compute", "triplet", str(path), "--map", "anchor=ids")
    assert code == 4 and "not accepted" in err, err


def test_an_unrelated_hdf5_dataset_does_not_stop_a_mapped_read(tmp_path, capsys):
    h5py = optional_module("h5py")
    path = tmp_path / "g.h5"
    _hdf5_with_extras(h5py, path)
    got, warnings = value(capsys, str(path), "--map", "anchor=train/queries", "--map",
                          "positive=train/docs", "--map", "negatives=train/hard")
    assert_close(got, want(positive=P.astype(np.float32)))
    assert any("'bools'" in w and "'strings'" in w and "'vlen'" in w for w in warnings)


def test_bfloat16_safetensors_from_a_stream_reads_as_from_the_file(tmp_path, capsys):
    st = optional_module("safetensors.numpy")
    ml_dtypes = optional_module("ml_dtypes")
    from losscli.io import load_inputs

    path = tmp_path / "bf16.safetensors"
    st.save_file({"anchor": A.astype(ml_dtypes.bfloat16), "positive": P.astype(np.float16),
                  "negatives": N.astype(ml_dtypes.float8_e4m3fn),
                  "ids": np.ones(5, bool)}, str(path))
    from_file = load_inputs(str(path))
    streamed = load_inputs("-", stdin=io.BytesIO(path.read_bytes()))
    for role in ARRAYS:
        np.testing.assert_array_equal(streamed[role], from_file[role])
    np.testing.assert_array_equal(streamed["anchor"],
                                  A.astype(ml_dtypes.bfloat16).astype(np.float64))
    assert streamed.warnings == tuple(w.replace(str(path), "<stdin>")
                                      for w in from_file.warnings)


def _rows_table(pa, anchor: list, negatives: list):
    return pa.table({"anchor": pa.array(anchor, type=pa.list_(pa.float64())),
                     "positive": [list(r) for r in P],
                     "negatives": pa.array(negatives, type=pa.list_(pa.list_(pa.float64())))})


def _bad_rows(case: str) -> tuple[list, list, str]:
    """Anchor and negatives rows with one fault, and what the message must say."""
    anchor, negatives = [list(r) for r in A], [[list(k) for k in r] for r in N]
    if case == "null-row":
        anchor[2] = None
        return anchor, negatives, "anchor: row 2 is null"
    if case == "null-value":
        anchor[3][1] = None
        return anchor, negatives, "anchor: row 3 at [1] is null"
    if case == "null-negative":
        negatives[1][2] = None
        return anchor, negatives, "negatives: row 1 at [2] is null"
    negatives[4][1] = negatives[4][1][:-1]
    return anchor, negatives, "negatives: ragged list column: row 4 at [1] has length 3"


@pytest.mark.parametrize("case", ["null-row", "null-value", "null-negative", "ragged-negative"])
@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_parquet_and_arrow_faults_name_the_row_of_the_file(case, fmt, tmp_path, capsys):
    pa = optional_module("pyarrow")
    anchor, negatives, says = _bad_rows(case)
    path = tmp_path / f"bad.{fmt}"
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(_rows_table(pa, anchor, negatives), path, row_group_size=2)
    else:
        import pyarrow.feather as feather

        feather.write_feather(_rows_table(pa, anchor, negatives), path)
    code, _, err = run_cli(capsys, "compute", "triplet", str(path))
    assert code == 4 and f"{path}:{says}" in err, err
    # batch reads a Parquet file a row group at a time: rows still count over the file
    code, out, err = run_cli(capsys, "batch", "triplet", str(path), "-f", "jsonl")
    assert code == 7 and f"{path}:{says}" in json.loads(out)["error"], out


def test_an_hdf5_map_name_it_lacks_lists_nested_datasets(tmp_path, capsys):
    h5py = optional_module("h5py")
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as fh:
        fh["train/q"], fh["train/d"], fh["negatives"] = A, P, N
    for command in ("compute", "batch"):
        code, out, err = run_cli(capsys, command, "triplet", str(path), "--map",
                                 "anchor=train/qq", "--map", "positive=train/d")
        assert code == (4 if command == "compute" else 7), err
        assert "(did you mean train/q?); it holds: negatives, train/d, train/q" in err, err


def test_an_hdf5_listing_of_many_datasets_says_it_stops(tmp_path, capsys):
    h5py = optional_module("h5py")
    path = tmp_path / "many.h5"
    with h5py.File(path, "w") as fh:
        for i in range(30):
            fh[f"g/d{i:02d}"] = A
    code, _, err = run_cli(capsys, "compute", "triplet", str(path), "--map", "anchor=g/x")
    assert code == 4, err
    assert "it holds: g/d00, g/d01" in err and "g/d19, ...\n" in err and "g/d20" not in err, err
    path = tmp_path / "few.h5"
    with h5py.File(path, "w") as fh:
        for i in range(20):
            fh[f"g/d{i:02d}"] = A
    code, _, err = run_cli(capsys, "compute", "triplet", str(path), "--map", "anchor=g/x")
    assert code == 4 and err.endswith("g/d19\n"), err


def test_hdf5_roles_inside_a_group_are_named_with_the_group_to_read(tmp_path, capsys):
    h5py = optional_module("h5py")
    path = tmp_path / "emb.h5"
    with h5py.File(path, "w") as fh:
        fh["ids"] = np.arange(5)
        fh["train/anchor"], fh["train/positive"], fh["train/negatives"] = A, P, N
    code, _, err = run_cli(capsys, "compute", "triplet", str(path))
    assert code == 4 and err.count("\n") == 1, err
    assert "'train/anchor'" in err and f"read the group that holds them as INPUT: {path}:train" \
        in err, err
    code, _, err = run_cli(capsys, "compute", "triplet", f"{path}:train")
    assert code == 0, err


def test_an_hdf5_dataset_of_the_wrong_dtype_is_named_with_its_role(tmp_path, capsys):
    h5py = optional_module("h5py")
    path = tmp_path / "g.h5"
    _hdf5_with_extras(h5py, path)
    code, _, err = run_cli(capsys, "compute", "triplet", "--anchor", f"{path}:strings",
                           "--positive", f"{path}:train/docs", "--negatives",
                           f"{path}:train/hard")
    assert code == 4 and f"{path}:strings:anchor: dtype |S2" in err, err


@pytest.mark.parametrize("link", ["loop", "dangling"])
def test_an_hdf5_link_that_cannot_be_resolved_is_named(link, tmp_path, capsys):
    """QA11 H2: a soft-link loop raised h5py's RuntimeError (an internal error, and batch
    lost every record); a dangling one was skipped, so the message said "no anchor given"."""
    h5py = optional_module("h5py")
    path = tmp_path / "links.h5"
    with h5py.File(path, "w") as fh:
        fh["positive"], fh["negatives"] = P, N
        fh["anchor"] = h5py.SoftLink("/anchor" if link == "loop" else "/nowhere")
    ok = tmp_path / "ok.h5"
    with h5py.File(ok, "w") as fh:
        fh["anchor"], fh["positive"], fh["negatives"] = A, P, N
    says = ("a link that cannot be resolved (a soft link to "
            + ("'/anchor', a loop)" if link == "loop" else "'/nowhere', which names nothing)"))
    for argv in ([str(path)], ["--anchor", f"{path}:anchor", "--positive", f"{ok}:positive",
                               "--negatives", f"{ok}:negatives"]):
        code, out, err = run_cli(capsys, "compute", "triplet", *argv)
        assert (code, out) == (4, ""), err
        assert err.splitlines() == [f"error: {path}:anchor: {says}; store the dataset itself "
                                    "under this name, or point the link at one"]
    code, out, err = run_cli(capsys, "batch", "triplet", str(path), str(ok), "-f", "jsonl")
    assert code == 7, err
    bad, good = (json.loads(line) for line in out.splitlines())
    assert says in bad["error"] and good["error"] is None


def test_an_empty_safetensors_file_is_named(tmp_path, capsys):
    """QA11 L2: a file holding no tensor said "no anchor given" without naming itself."""
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "none.safetensors"
    st.save_file({}, str(path))
    code, _, err = run_cli(capsys, "compute", "triplet", str(path))
    assert code == 4 and err.startswith(f"error: {path}: no anchor given (found: none"), err


def test_a_2d_hdf5_dataset_read_as_one_example_is_called_so(tmp_path, capsys):
    """QA11 L6: the warning called a FILE.h5:dataset "a 2-D .npy"."""
    h5py = optional_module("h5py")
    path = tmp_path / "rows.h5"
    with h5py.File(path, "w") as fh:
        fh["stack"] = np.stack([A[0], P[0], N[0, 0]])
    _, warnings = value(capsys, f"{path}:stack")
    assert any(w.startswith(f"{path}:stack: a 2-D HDF5 dataset (3, 4) is read as one example")
               for w in warnings), warnings
