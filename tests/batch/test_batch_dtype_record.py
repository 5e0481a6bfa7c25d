"""`batch --dtype float32` says in each record's params what the input was computed in
(QA7 L6): float32 and float64 records were indistinguishable. float32 where a float32 path
applies (the stream kernels, the tiled in-batch losses), float64 where none does; without
--dtype float32 the records are as before."""

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
