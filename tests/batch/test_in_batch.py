"""batch evaluates the tiled in-batch losses on the input's own (2B, D) buffer, float64 or
float32 (--dtype): the per-example losses are compute's (float64) or within float32's
precision of them, from a role set of .npy files (read straight into the buffer) and from
an .npz (copied into it); a non-finite entry is named as compute names it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import losscli
from losscli.cli import run
from losscli.losses import LOSSES
from tests.helpers import assert_close

TILED = sorted(name for name, spec in LOSSES.items() if spec.tiled)


def _arrays(dtype: type = np.float32) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(37, 8))
    return {"anchor": a.astype(dtype), "positive": (a + rng.normal(size=a.shape)).astype(dtype)}


def _batch(capsys, loss: str, args: list[str]) -> dict:
    code = run(["batch", loss, *args, "-q", "-f", "jsonl"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_the_in_batch_losses_are_tiled():
    assert {"clip", "siglip", "ntxent-batch", "npair", "dcl", "hard-infonce"} <= set(TILED)


@pytest.mark.parametrize("loss", TILED)
@pytest.mark.parametrize("stored", [np.float32, np.float64])
def test_batch_is_compute_in_float64_and_close_in_float32(capsys, tmp_path, loss, stored):
    arrays = _arrays(stored)
    for role, arr in arrays.items():
        np.save(tmp_path / f"{role}.npy", arr)
    np.savez(tmp_path / "pairs.npz", **arrays)
    want = losscli.evaluate(loss, {k: v.astype(np.float64) for k, v in arrays.items()},
                            reduction="none").per_example
    role_set = ["--anchor", str(tmp_path / "anchor.npy"), "--positive",
                str(tmp_path / "positive.npy")]
    for source in (role_set, [str(tmp_path / "pairs.npz")]):
        got = _batch(capsys, loss, source)["per_example"]
        assert_close(got, want)
        got32 = _batch(capsys, loss, [*source, "--dtype", "float32"])["per_example"]
        np.testing.assert_allclose(got32, want, rtol=2e-5, atol=2e-5 * np.abs(want).max())
        if stored is np.float64:
            assert not np.array_equal(got32, want)  # it did compute in float32


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_non_finite_entry_is_named(capsys, tmp_path, dtype):
    arrays = _arrays()
    arrays["positive"][4, 2] = np.nan
    for role, arr in arrays.items():
        np.save(tmp_path / f"{role}.npy", arr)
    code = run(["batch", "clip", "--anchor", str(tmp_path / "anchor.npy"), "--positive",
                str(tmp_path / "positive.npy"), "--dtype", dtype, "-q"])
    out, err = capsys.readouterr()
    assert code == 7
    assert "positive.npy" in err and "non-finite value nan at index [4, 2]" in err


def test_float64_values_beyond_float32_are_refused_under_float32(capsys, tmp_path):
    arrays = _arrays(np.float64)
    arrays["anchor"][3, 1] = 1e300
    np.savez(tmp_path / "pairs.npz", **arrays)
    assert run(["batch", "clip", str(tmp_path / "pairs.npz"), "--dtype", "float32",
                "-q"]) == 7
    err = capsys.readouterr().err
    assert "beyond float32's range" in err and "index [3, 1]" in err


@pytest.mark.parametrize("loss", ["clip", "ntxent-batch", "npair", "dcl", "hard-infonce"])
def test_a_json_line_of_one_pair_says_compute_reads_the_lines_as_one_batch(capsys, tmp_path,
                                                                          loss):
    """batch reads each line of a .jsonl as its own input: one pair per line is a batch of
    B = 1, refused, and the error says how to evaluate the file's lines as one batch (what
    `compute` does with the same file, checked here); other errors keep their own fix."""
    a = _arrays(np.float64)
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"anchor": a["anchor"][i].tolist(),
                                        "positive": a["positive"][i].tolist()}) + "\n"
                            for i in range(3)))
    code = run(["batch", loss, str(path), "-q", "-f", "jsonl"])
    out, err = capsys.readouterr()
    assert code == 7
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in records] == [f"{path}:{i}" for i in (1, 2, 3)]
    hint = (f"batch reads each JSON line as its own input: `losscli compute {loss} {path}` "
            "reads the lines as one batch")
    assert all(r["error"].endswith(hint) and "B >= 2" in r["error"] for r in records)
    assert err.count(hint) == 3
    whole = losscli.evaluate_file(loss, str(path))
    assert whole.shape["batch"] == 3 and whole.value is not None
    path.write_text('{"anchor": [1.0, 2.0], "positive": [1.0]}\n')
    run(["batch", loss, str(path), "-q", "-f", "jsonl"])
    assert "JSON line as its own input" not in capsys.readouterr().out
