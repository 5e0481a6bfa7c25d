"""`batch --dtype float32` says in each record's params what the input was computed in
(QA7 L6): float32 and float64 records were indistinguishable. float32 where a float32 path
applies (float32 values: the stream kernels widen float32 rows as they read them, the tiled
in-batch losses read them rounded to float32 into float64 arrays for their GEMM),
float64 where none does; without --dtype float32 the records are as before."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli.test_schemas import validate
from tests.helpers import run_cli

RNG = np.random.default_rng(74)


@pytest.fixture
def stack(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, RNG.normal(size=(6, 4, 5)).astype(np.float32))
    return str(path)


def _record(capsys, *args: str) -> dict:
    code, out, err = run_cli(capsys, "batch", *args, "-f", "jsonl")
    assert code == 0, err
    [record] = [json.loads(line) for line in out.splitlines()]
    validate("batch-record", record)
    return record


@pytest.mark.parametrize("loss,used", [("infonce", "float32"), ("triplet", "float32"),
                                       ("clip", "float32"), ("supcon", "float64")])
def test_the_record_names_the_dtype_its_input_was_evaluated_in(capsys, stack, loss, used):
    plain = _record(capsys, loss, stack)
    single = _record(capsys, loss, stack, "--dtype", "float32")
    assert "dtype" not in plain["params"]
    assert single["params"] == {**plain["params"], "dtype": used}
    if used == "float64":  # no float32 path: the very same numbers
        assert single["per_example"] == plain["per_example"]


def test_a_convention_is_evaluated_in_float64(capsys, stack):
    record = _record(capsys, "triplet", stack, "--dtype", "float32", "--like", "torch")
    assert record["params"]["dtype"] == "float64"


@pytest.mark.parametrize("loss", ["clip", "siglip", "ntxent-batch", "npair", "dcl",
                                  "hard-infonce", "infonce"])
def test_float32_input_accumulates_in_float64_as_compute_does(tmp_path, capsys, monkeypatch,
                                                              loss):
    # sgemm's float32 dot products put the tiled losses (and the shared-bank InfoNCE) ~1e-6
    # relative off compute on the same float32 values; CONTRACT.md: accumulating in float64.
    # Compiled, so that InfoNCE's shared bank takes its GEMM path at this size.
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    rng = np.random.default_rng(75)
    arrays = {"anchor": rng.normal(size=(40, 8)), "positive": rng.normal(size=(40, 8))}
    if loss == "infonce":
        arrays["negatives"] = rng.normal(size=(30, 8))
    path = tmp_path / "f.npz"
    np.savez(path, **{k: v.astype(np.float32) for k, v in arrays.items()})
    code, out, err = run_cli(capsys, "compute", loss, str(path), "-f", "json", "--reduction",
                             "none", "--terms", "none", "--quiet")
    assert code == 0, err
    want = json.loads(out)["per_example"]
    code, out, err = run_cli(capsys, "batch", loss, str(path), "--dtype", "float32",
                             "--per-example", "-f", "jsonl", "--quiet")
    assert code == 0, err
    got = [json.loads(line)["loss"] for line in out.splitlines()]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("loss", ["infonce", "triplet"])
def test_a_value_beyond_float32_fails_the_input_by_its_index(tmp_path, capsys, loss):
    """QA14 M2: --dtype float32 read 1e39 (float64, finite) as inf: the loss came out null with
    only "not finite" (exit 0) and the huge-entry warning went. Now the input fails naming
    the file, the role and the index in the whole file, in a stack streamed in chunks (the
    value past the first) and in a role set; float64 reads the same input."""
    x = RNG.normal(size=(40_000, 4, 8))
    x[31_234, 2, 5] = 1e39
    np.save(tmp_path / "big.npy", x)
    code, out, err = run_cli(capsys, "batch", loss, str(tmp_path / "big.npy"), "--dtype",
                             "float32", "-f", "jsonl")
    assert code == 7
    assert "big.npy:negatives: value 1e+39 at index [31234, 0, 5] is beyond float32's range" in err
    assert "big.npy" in err and "drop --dtype float32" in err
    assert json.loads(out)["value"] is None
    sets = tmp_path / "sets"
    sets.mkdir()
    np.save(sets / "x.anchor.npy", np.array([[1.0, 0.5], [1e200, 0.0]]))
    np.save(sets / "x.positive.npy", np.ones((2, 2)))
    np.save(sets / "x.negatives.npy", np.zeros((2, 3, 2)))
    code, _, err = run_cli(capsys, "batch", loss, str(sets), "--dtype", "float32")
    assert code == 7 and "x.anchor.npy" in err and "index [1, 0]" in err
    code, out, _ = run_cli(capsys, "batch", loss, str(sets), "-f", "jsonl")
    assert code == 0 and json.loads(out)["per_example"][0] is not None
