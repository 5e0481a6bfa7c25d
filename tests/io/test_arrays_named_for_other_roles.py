"""An array named for one role is never read as another (QA7 C3, H1).

- A per-role file (.npz, safetensors, HDF5, Parquet) whose only array is named for a
  different role is refused, as a JSON object with that one key is: the classic way there
  is `--anchor pair.npz --positive pair.npz` with a file that holds only the anchor. An
  only array under a name that is no role (`arr_0`, `emb`) is still read as the role.
- An input whose arrays under other names sit beside a missing role without which the loss
  is 0 (infonce's negatives) is refused with `--map`, as for a missing required role,
  instead of giving 0.0 with exit 0.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import losscli
from tests.helpers import assert_close, optional_module, run_cli

RNG = np.random.default_rng(71)
A, P, N = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(3, 2, 4))
WANT = losscli.evaluate("triplet", {"anchor": A, "positive": P, "negatives": N})


def _save(tmp_path, fmt: str, name: str, arr: np.ndarray) -> str:
    """One array named `name` in a file of format `fmt`."""
    if fmt == "npz":
        path = tmp_path / f"{name}.npz"
        np.savez(path, **{name: arr})
    elif fmt == "safetensors":
        numpy_io = optional_module("safetensors.numpy")
        path = tmp_path / f"{name}.safetensors"
        numpy_io.save_file({name: np.ascontiguousarray(arr)}, str(path))
    elif fmt == "hdf5":
        h5py = optional_module("h5py")
        path = tmp_path / f"{name}.h5"
        with h5py.File(path, "w") as fh:
            fh[name] = arr
    else:
        pa = optional_module("pyarrow")
        pq = optional_module("pyarrow.parquet")
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({name: list(arr)}), str(path))
    return str(path)


FORMATS = ["npz", "safetensors", "hdf5", "parquet"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_role_files_only_array_is_refused_only_when_named_for_another_role(tmp_path, capsys, fmt):
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "n.npy", N)
    path = _save(tmp_path, fmt, "anchor", A)
    for command, extra in (("compute", ()), ("batch", ("--fail-fast",))):
        code, out, err = run_cli(capsys, command, "triplet", "--anchor",
                                 str(tmp_path / "a.npy"), "--positive", path, "--negatives",
                                 str(tmp_path / "n.npy"), *extra)
        assert code == 4, (command, err)
        assert err == (f"error: {path}: --positive expects one array; found keys 'anchor'; "
                       "give the array alone, or one key 'positive'\n"), err
        assert out == "" or command == "batch"  # batch writes the failed record
    for name in ("arr_0", "emb"):  # an only array under no role's name is the role's
        path = _save(tmp_path, fmt, name, P)
        code, out, err = run_cli(capsys, "compute", "triplet", "--anchor",
                                 str(tmp_path / "a.npy"), "--positive", path, "--negatives",
                                 str(tmp_path / "n.npy"), "-f", "json")
        assert code == 0, err
        assert_close(json.loads(out)["value"], WANT.value)


@pytest.mark.parametrize("fmt", ["npz", "safetensors", "parquet"])
def test_infonce_negatives_under_another_name_are_refused_not_zero(tmp_path, capsys, fmt):
    anchor, positive, hard = A, P, N
    if fmt == "npz":
        path = str(tmp_path / "x.npz")
        np.savez(path, anchor=anchor, positive=positive, hard=hard)
    elif fmt == "safetensors":
        numpy_io = optional_module("safetensors.numpy")
        path = str(tmp_path / "x.safetensors")
        numpy_io.save_file({"anchor": anchor, "positive": positive,
                            "hard": np.ascontiguousarray(hard)}, path)
    else:
        pa = optional_module("pyarrow")
        pq = optional_module("pyarrow.parquet")
        path = str(tmp_path / "x.parquet")
        pq.write_table(pa.table({"anchor": list(anchor), "positive": list(positive),
                                 "hard": [list(row) for row in hard]}), path)
    held = "'anchor', 'hard', 'positive'" if fmt == "safetensors" else \
        "'anchor', 'positive', 'hard'"  # safetensors lists its tensors sorted by name
    said = (f"error: {path}: no negatives among its arrays (it holds {held}): without "
            "negatives the loss of infonce is 0; read one as negatives with --map "
            "negatives=NAME, or save it under the key 'negatives' (or negatives of 0 rows "
            "for K = 0)\n")
    code, out, err = run_cli(capsys, "compute", "infonce", path)
    assert (code, out, err) == (4, "", said)
    code, out, _ = run_cli(capsys, "batch", "infonce", path, "-f", "jsonl")
    assert code == 7 and json.loads(out)["error"] == said[len("error: "):-1]
    want = losscli.evaluate("infonce", {"anchor": anchor, "positive": positive,
                                        "negatives": hard})
    code, out, err = run_cli(capsys, "compute", "infonce", path, "--map", "negatives=hard",
                             "-f", "json")
    assert code == 0, err
    assert_close(json.loads(out)["value"], want.value)


def test_infonce_without_negatives_and_nothing_else_is_still_k_0(tmp_path, capsys):
    # Explicit K = 0 (CONTRACT.md): no negatives and no other arrays, or negatives of 0
    # rows beside other arrays, is 0 with a warning, as before; the refusal above is for
    # an unread array beside the missing role.
    np.savez(tmp_path / "k0.npz", anchor=A, positive=P)
    np.savez(tmp_path / "k0ids.npz", anchor=A, positive=P, negatives=np.zeros((0, 4)),
             ids=np.arange(3))
    np.savez(tmp_path / "ids.npz", anchor=A, positive=P, ids=np.arange(3))
    for name in ("k0.npz", "k0ids.npz"):
        code, out, err = run_cli(capsys, "compute", "infonce", str(tmp_path / name), "-f",
                                 "json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["value"] == 0.0 and doc["shape"]["negatives"] == 0
        assert any(w.startswith("no negatives (K = 0): the loss is 0") for w in
                   doc["warnings"])
    code, _, err = run_cli(capsys, "compute", "infonce", str(tmp_path / "ids.npz"))
    assert code == 4 and "no negatives among its arrays (it holds 'anchor', 'positive', " \
        "'ids')" in err
