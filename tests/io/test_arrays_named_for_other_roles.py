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
