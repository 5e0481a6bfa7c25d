"""`losscli batch`: the same numbers as `compute`, chunked or not (and each input whole where
the loss's examples are not independent rows), failures isolated, output complete or absent,
progress only on stderr."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import losscli
import losscli.api
from losscli.cli import run
from losscli.losses import LOSSES
from tests.helpers import SAMPLES, assert_records_close
from tests.helpers import run_cli as _cli

RTOL = 1e-12


def _records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


CASES = [
    ("infonce", ["seed-example-1.json"]),
    ("infonce", ["batch.npz"]),
    ("infonce", ["infonce-stack.npy"]),
    ("infonce", ["infonce-shared-negatives.npz"]),
    ("infonce", ["infonce-cosine-golden.json", "--similarity", "cosine"]),
    ("triplet", ["triplet-golden.json"]),
    ("triplet", ["batch.npz", "--swap", "--negatives-reduction", "mean-active"]),
    ("contrastive", ["contrastive-euclidean.json"]),
    ("contrastive", ["batch.npz", "--distance", "sqeuclidean", "--margin", "3"]),
    ("quadruplet", ["quadruplet-golden.json"]),
    ("softmax-ce", ["classification.json"]),
    ("softmax-ce", ["softmax-ce-probabilities.json", "--label-smoothing", "0.1"]),
    ("softmax-ce", ["softmax-ce-logits.npy", "--target", "softmax-ce-target.npy"]),
]


@pytest.mark.parametrize("loss,args", CASES)
def test_record_is_compute_json_without_examples(capsys, monkeypatch, loss, args):
    monkeypatch.chdir(SAMPLES)
    code, out, _ = _cli(capsys, "compute", loss, *args, "--format", "json")
    assert code == 0
    want = json.loads(out)
    del want["examples"]
    code, out, _ = _cli(capsys, "batch", loss, *args, "--format", "jsonl")
    assert code == 0
    [record] = _records(out)
    assert record.pop("file") == args[0]
    assert record.pop("error") is None
    assert record.pop("n") == len(want["per_example"])
    assert record.pop("seconds") >= 0
    assert_records_close(record, want)


@pytest.mark.parametrize("loss,args", CASES[:4] + CASES[5:7] + CASES[9:11])
def test_per_example_records_are_compute_losses(capsys, monkeypatch, loss, args):
    monkeypatch.chdir(SAMPLES)
    _, out, _ = _cli(capsys, "compute", loss, *args, "--format", "json")
    want = json.loads(out)["per_example"]
    code, out, _ = _cli(capsys, "batch", loss, *args, "--per-example")
    assert code == 0
    records = _records(out)
    said = records[0]["warnings"] if records[0]["index"] is None else []
    assert said == json.loads(_cli(capsys, "compute", loss, *args, "--format", "json")[1])[
        "warnings"]  # the input's warnings, on a line before its examples
    records = records[1:] if said else records
    assert [r["index"] for r in records] == list(range(len(want)))
    assert {r["file"] for r in records} == {args[0]}
    assert_records_close([r["loss"] for r in records], want)


def _stack(tmp_path: Path, B=23, K=4, D=6, seed=0) -> tuple[Path, np.ndarray]:
    x = np.random.default_rng(seed).standard_normal((B, K + 2, D)) * 0.5
    path = tmp_path / "stack.npy"
    np.save(path, x)
    return path, x


def _copy(path: Path, name: str) -> Path:
    """Another file with the same data (the same file named twice is one input)."""
    other = path.with_name(name)
    other.write_bytes(path.read_bytes())
    return other


def _roles(x: np.ndarray) -> dict[str, np.ndarray]:
    return {"anchor": x[:, 0], "positive": x[:, 1], "negatives": x[:, 2:]}


@pytest.mark.parametrize("chunk", [1, 7, 1000])
@pytest.mark.parametrize("loss,params", [
    ("infonce", {"temperature": 0.2}), ("infonce", {"similarity": "cosine"}),
    ("triplet", {"swap": True}), ("contrastive", {"margin": 2.0}),
    ("quadruplet", {}),
])
def test_chunked_equals_unchunked(tmp_path, chunk, loss, params):
    path, x = _stack(tmp_path)
    roles_dir = tmp_path / "shards"
    roles_dir.mkdir()
    for role, arr in _roles(x).items():
        np.save(roles_dir / f"s1.{role}.npy", arr)
    want = losscli.evaluate(loss, _roles(x), reduction="none", **params)
    for inputs in ([str(path)], [str(roles_dir)]):
        [result] = list(losscli.api.evaluate_files(loss, inputs, chunk=chunk, **params))
        assert result.ok, result.error_text()
        np.testing.assert_allclose(result.per_example, want.per_example, rtol=RTOL, atol=1e-15)
        assert result.value == pytest.approx(float(np.mean(want.per_example)), rel=RTOL)


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_chunked_softmax_ce_weights_and_ignored_rows(tmp_path, chunk):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((20, 5))
    target = rng.integers(0, 5, 20).astype(np.float64)
    target[:8] = -100  # a whole first chunk of 7 is ignored
    weight = rng.uniform(0.5, 2.0, 5)
    for name, arr in (("logits", logits), ("target", target), ("weight", weight)):
        np.save(tmp_path / f"{name}.npy", arr)
    want = losscli.evaluate("softmax-ce", {"logits": logits, "target": target, "weight": weight},
                            ignore_index=-100)
    [result] = list(losscli.api.evaluate_files(
        "softmax-ce", [], role_files={r: str(tmp_path / f"{r}.npy")
                                      for r in ("logits", "target", "weight")},
        chunk=chunk, ignore_index=-100))
    assert result.ok, result.error_text()
    assert result.value == pytest.approx(want.value, rel=RTOL)
    np.testing.assert_allclose(result.per_example, want.per_example, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("weight", [[1e308, 1.0, 1.0], [5e-324, 1.0, 1.0]])
def test_batch_refuses_the_weighted_mean_of_extreme_class_weights(tmp_path, weight):
    """QA22a H2: chunk by chunk, sum w_y overflowed (a mean of 0.0) or w l underflowed (0.0),
    exit 0; compute rescales them, batch cannot (it would need every chunk's targets): the
    mean is refused, the sum and the per-example losses are not."""
    inputs = {"logits": [[2.0, 1.0, 0.1], [2.0, 1.0, 0.1]], "target": [0, 0], "weight": weight}
    path = tmp_path / "w.json"
    path.write_text(json.dumps(inputs))
    [mean] = list(losscli.api.evaluate_files("softmax-ce", [str(path)]))
    assert not mean.ok and "beyond 1e±150" in mean.error_text()
    assert mean.error_text().startswith(f"{path}:weight: class 0's weight")
    [total] = list(losscli.api.evaluate_files("softmax-ce", [str(path)], reduction="sum"))
    want = losscli.evaluate("softmax-ce", inputs, reduction="sum")
    assert total.ok and total.value == want.value


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_batch_keeps_the_weighted_mean_where_only_other_classes_are_extreme(tmp_path,
                                                                             smoothing):
    """QA23 M1: a tiny weight of a class that is no example's target cannot spoil the mean
    (old batch and compute agree on it): not refused."""
    inputs = {"logits": [[2.0, 1.0, 0.1], [0.3, 1.0, 2.0]], "target": [0, 2],
              "weight": [1.0, 1e-200, 2.0]}
    path = tmp_path / "w.json"
    path.write_text(json.dumps(inputs))
    [got] = list(losscli.api.evaluate_files("softmax-ce", [str(path)],
                                            label_smoothing=smoothing))
    assert got.ok, got.error_text()
    want = losscli.evaluate("softmax-ce", inputs, label_smoothing=smoothing)
    assert got.value == pytest.approx(want.value, rel=1e-12)


@pytest.mark.parametrize("where", ["stack", "role files"])
def test_fortran_order_npy_reads_as_its_c_order_copy(tmp_path, capsys, where):
    """A Fortran-order array's rows are scattered over the file: read whole, the same
    records as the C-order file (chunked), row files and stacks alike."""
    path, x = _stack(tmp_path, B=23, K=3, D=5)
    if where == "stack":
        np.save(tmp_path / "f.npy", np.asfortranarray(x))
        args = [str(tmp_path / "f.npy")], [str(path)]
    else:
        for name, arr in (("a", x[:, 0]), ("p", x[:, 1]), ("n", x[:, 2:])):
            np.save(tmp_path / f"{name}.npy", arr)
            np.save(tmp_path / f"{name}f.npy", np.asfortranarray(arr))
        args = (["--anchor", str(tmp_path / "af.npy"), "--positive", str(tmp_path / "pf.npy"),
                 "--negatives", str(tmp_path / "nf.npy")],
                ["--anchor", str(tmp_path / "a.npy"), "--positive", str(tmp_path / "p.npy"),
                 "--negatives", str(tmp_path / "n.npy")])
    records = []
    for argv in args:
        code, out, err = _cli(capsys, "batch", "triplet", *argv, "--chunk", "4")
        assert code == 0, err
        [record] = _records(out)
        records.append(record)
    assert records[0]["per_example"] == records[1]["per_example"]
    assert records[0]["value"] == records[1]["value"]


def test_fortran_order_npy_over_the_bound_is_refused(tmp_path, capsys, monkeypatch):
    from losscli.batch import npyrows

    path, x = _stack(tmp_path, B=23, K=3, D=5)
    np.save(tmp_path / "f.npy", np.asfortranarray(x))
    monkeypatch.setattr(npyrows, "FORTRAN_WHOLE_BYTES", x.nbytes - 1)
    code, out, err = _cli(capsys, "batch", "triplet", str(tmp_path / "f.npy"), "--fail-fast")
    assert code == 4
    assert "f.npy: Fortran-order .npy over" in err and "numpy.ascontiguousarray" in err


def test_chunked_target_errors_name_the_row_in_the_whole_input(tmp_path, capsys):
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((30, 4))
    np.save(tmp_path / "logits.npy", logits)
    index = rng.integers(0, 4, 30)
    index[23] = 9
    np.save(tmp_path / "index.npy", index)
    mass = rng.uniform(0.1, 1.0, (30, 4))
    mass /= mass.sum(axis=1, keepdims=True)
    mass[26] *= 1.5
    np.save(tmp_path / "off.npy", mass)
    mass[26] = [-0.1, 0.5, 0.3, 0.3]
    np.save(tmp_path / "negative.npy", mass)
    base = ["batch", "softmax-ce", "--logits", str(tmp_path / "logits.npy"), "--chunk", "7"]
    code, _, err = _cli(capsys, *base, "--target", str(tmp_path / "index.npy"), "--fail-fast")
    assert code == 4 and "class index 9 at row 23 is out of range" in err
    code, _, err = _cli(capsys, *base, "--target", str(tmp_path / "negative.npy"),
                        "--fail-fast")
    assert code == 4 and "negative probability at (26, 0)" in err
    code, _, err = _cli(capsys, *base, "--target", str(tmp_path / "off.npy"))
    assert code == 0
    assert "1 target row(s) do not sum to 1 (row 26 sums to 1.4999999999999998); normalize" in err


def test_a_stacks_unused_negatives_warn_as_in_compute(tmp_path, capsys):
    path, _ = _stack(tmp_path, B=5, K=2, D=3)
    _, _, compute_err = _cli(capsys, "compute", "clip", str(path), "-f", "json")
    code, out, err = _cli(capsys, "batch", "clip", str(path))
    assert code == 0
    warning = "negatives is not used by clip"
    assert warning in compute_err and warning in err
    [record] = _records(out)
    assert any(w.startswith(warning) for w in record["warnings"])


def test_per_role_options_stream_a_shared_bank(tmp_path, capsys):
    path, x = _stack(tmp_path, B=40)
    np.save(tmp_path / "q.npy", x[:, 0].astype(np.float32))
    np.save(tmp_path / "d.npy", x[:, 1].astype(np.float32))
    np.save(tmp_path / "bank.npy", x[0, 2:].astype(np.float32))
    code, out, _ = _cli(capsys, "batch", "infonce", "--anchor", str(tmp_path / "q.npy"),
                        "--positive", str(tmp_path / "d.npy"), "--negatives",
                        str(tmp_path / "bank.npy"), "--chunk", "9")
    assert code == 0
    [record] = _records(out)
    x32 = x.astype(np.float32)
    want = losscli.evaluate("infonce", {"anchor": x32[:, 0], "positive": x32[:, 1],
                                        "negatives": x32[0, 2:]})
    assert_records_close(record["per_example"], want.per_example.tolist())


def test_float32_dtype_is_close_to_float64(tmp_path):
    path, x = _stack(tmp_path, B=31, K=8, D=16)
    for loss in ("infonce", "triplet", "contrastive"):
        want = losscli.evaluate(loss, _roles(x), reduction="none").per_example
        [result] = list(losscli.api.evaluate_files(loss, [str(path)], dtype="float32"))
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(result.per_example, want, rtol=1e-5, atol=1e-5 * scale)


def test_json_lines_each_line_its_own_record(tmp_path, capsys):
    lines = [
        json.dumps({"anchor": [1, 0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}),
        "{not json",
        "",
        json.dumps({"anchor": [[1, 0], [0, 1]], "positive": [[0.6, 0.8], [0.8, 0.6]],
                    "negatives": [[[0.8, 0.6]], [[1.0, 0.0]]]}),
        json.dumps({"anchor": [1, 0], "positve": [0.6, 0.8]}),
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = _cli(capsys, "batch", "triplet", str(path))
    assert code == 7
    records = _records(out)
    assert [r["file"] for r in records] == [f"{path}:{i}" for i in (1, 2, 4, 5)]
    assert [r["error"] is None for r in records] == [True, False, True, False]
    assert "invalid JSON" in records[1]["error"] and "positve" in records[3]["error"]
    want = losscli.evaluate("triplet", json.loads(lines[3]), reduction="none")
    assert_records_close(records[2]["per_example"], want.per_example.tolist())
    assert err.count("error: ") == 2


def test_json_lines_from_stdin(capsys, monkeypatch):
    data = "\n".join(json.dumps({"anchor": [1.0, 0.0], "positive": [0.6, 0.8],
                                 "negatives": [[0.8, 0.6], [0.0, 1.0]]}) for _ in range(3))

    class Stdin:
        buffer = io.BytesIO(data.encode())

        def isatty(self):
            return False

    monkeypatch.setattr(sys, "stdin", Stdin())
    code, out, _ = _cli(capsys, "batch", "infonce", "-", "--per-example", "-f", "csv")
    assert code == 0
    rows = out.splitlines()
    assert rows[0] == "file,index,loss,error"
    assert [r.split(",")[0] for r in rows[1:]] == ["<stdin>:1", "<stdin>:2", "<stdin>:3"]


def test_a_failing_input_does_not_stop_the_others(tmp_path, capsys):
    path, x = _stack(tmp_path)
    bad = tmp_path / "bad.npy"
    y = x.copy()
    y[15, 3, 2] = np.nan
    np.save(bad, y)
    code, out, err = _cli(capsys, "batch", "infonce", str(path), str(tmp_path / "missing.json"),
                          str(bad), str(_copy(path, "again.npy")), "--chunk", "7")
    assert code == 7
    records = _records(out)
    assert [r["error"] is None for r in records] == [True, False, False, True]
    assert "no such file" in records[1]["error"]
    # the NaN is named by its place in the whole file, not in its chunk of 7
    assert f"{bad}:negatives: non-finite value nan at index [15, 1, 2]" in records[2]["error"]
    assert records[0]["value"] == records[3]["value"] is not None
    assert "error: " in err


def test_fail_fast_stops_with_the_inputs_code_and_no_output_file(tmp_path, capsys):
    path, _ = _stack(tmp_path)
    out_file = tmp_path / "out.jsonl"
    code, out, err = _cli(capsys, "batch", "infonce", str(path), str(tmp_path / "nope.npz"),
                          str(path), "--fail-fast", "--out", str(out_file))
    assert code == 3
    assert not out_file.exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert "nope.npz" in err


def test_out_is_complete_even_with_failures(tmp_path, capsys):
    path, _ = _stack(tmp_path)
    args = ["batch", "triplet", str(path), str(tmp_path / "nope.json"),
            str(_copy(path, "again.npy"))]
    code, stdout_text, _ = _cli(capsys, *args, "-f", "jsonl")
    out_file = tmp_path / "out.jsonl"
    code2, out, _ = _cli(capsys, *args, "--out", str(out_file))
    assert code == code2 == 7 and out == ""
    written = _records(out_file.read_text())
    assert len(written) == 3
    for a, b in zip(written, _records(stdout_text), strict=True):
        a.pop("seconds"), b.pop("seconds")
        assert a == b
    code, _, err = _cli(capsys, *args, "--out", str(out_file))
    assert code == 6 and "already exists" in err


def test_summary_statistics(tmp_path, capsys):
    path, x = _stack(tmp_path, B=50)
    code, out, _ = _cli(capsys, "batch", "triplet", str(path), str(_copy(path, "again.npy")),
                        "--summary")
    assert code == 0
    [summary] = _records(out)
    want = losscli.evaluate("triplet", _roles(x), reduction="none")
    values = np.concatenate([want.per_example, want.per_example])
    assert summary["count"] == 100 and summary["files"] == 2 and summary["failed"] == 0
    for key, expected in [("mean", values.mean()), ("std", values.std()), ("min", values.min()),
                          ("max", values.max()), ("p5", np.percentile(values, 5)),
                          ("p50", np.median(values)), ("p95", np.percentile(values, 95))]:
        assert summary[key] == pytest.approx(expected, rel=1e-12), key
    terms = want.terms.columns["term"]
    assert summary["active_share"] == pytest.approx(float((terms > 0).mean()))


def test_directory_role_sets_and_sorted_order(tmp_path, capsys):
    _, x = _stack(tmp_path)
    shards = tmp_path / "shards"
    shards.mkdir()
    for stem in ("b", "a"):
        for role, arr in _roles(x).items():
            np.save(shards / f"{stem}.{role}.npy", arr)
    np.savez(shards / "c.npz", **_roles(x))
    (shards / "notes.txt").write_text("ignored")
    code, out, _ = _cli(capsys, "batch", "contrastive", str(shards))
    assert code == 0
    records = _records(out)
    assert [r["file"] for r in records] == [str(shards / "a") + ".*.npy",
                                            str(shards / "b") + ".*.npy", str(shards / "c.npz")]
    assert len({r["value"] for r in records}) == 1


def test_jobs_give_the_same_records(tmp_path, capsys):
    path, x = _stack(tmp_path)
    other = tmp_path / "other.npy"
    np.save(other, x[::-1].copy())
    args = ["batch", "infonce", str(path), str(other), str(tmp_path / "gone.npy")]
    code1, out1, _ = _cli(capsys, *args)
    code2, out2, _ = _cli(capsys, *args, "--jobs", "2")
    assert code1 == code2 == 7
    key = {r["file"]: (r["value"], r["error"]) for r in _records(out1)}
    assert {r["file"]: (r["value"], r["error"]) for r in _records(out2)} == key


def test_small_inputs_do_not_import_numba(tmp_path):
    code = ("import sys; from losscli.cli import run; "
            f"rc = run(['batch', 'infonce', {str(SAMPLES)!r}, '-q', '-f', 'jsonl']); "
            "print('numba' in sys.modules, rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "False 7"  # 7: the softmax-ce samples


def test_progress_goes_to_stderr_never_stdout(tmp_path):
    """With stderr on a terminal the bar is drawn there; stdout stays pure JSON Lines."""
    pty = pytest.importorskip("pty")
    path, _ = _stack(tmp_path)
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "losscli", "batch", "infonce",
         *[str(_copy(path, f"copy{i}.npy")) for i in range(3)]],
        stdout=subprocess.PIPE, stderr=slave, env={**os.environ, "TERM": "xterm",
                                                   "COLUMNS": "100"})
    os.close(slave)
    out, _ = child.communicate(timeout=120)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert child.returncode == 0
    lines = out.decode().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["error"] is None for line in lines)
    assert b"\x1b" not in out
    assert b"batch" in seen  # the bar was drawn, on stderr


@pytest.mark.parametrize("loss", ["infonce", "triplet", "contrastive"])
def test_huge_entries_warn_like_compute(tmp_path, capsys, loss):
    _, x = _stack(tmp_path, B=30)
    x[12, 0, 3] = 1e200  # an anchor entry
    x[20, 4, 1] = -1e160  # a negative entry
    path = tmp_path / "huge.npy"
    np.save(path, x)
    want = losscli.evaluate(loss, _roles(x), reduction="none")
    code, out, _ = _cli(capsys, "batch", loss, str(path), "--chunk", "7", "-q")
    assert code == 0
    [record] = _records(out)
    huge = [w for w in want.warnings if "above 1e+150" in w]
    assert huge and all(w in record["warnings"] for w in huge)
    for got, expected in zip(record["per_example"], want.per_example.tolist(), strict=True):
        if expected is None or not math.isfinite(expected):
            assert got is None
        else:
            assert got == pytest.approx(expected, rel=1e-12)


def test_json_format_is_one_array_written_as_results_come(tmp_path, capsys):
    path, _ = _stack(tmp_path)
    code, out, _ = _cli(capsys, "batch", "infonce", str(path), str(tmp_path / "no.npz"),
                        "-f", "json")
    assert code == 7
    doc = json.loads(out)
    assert [r["error"] is None for r in doc] == [True, False]
    code, out, _ = _cli(capsys, "batch", "infonce", str(path), "--per-example", "-f", "json")
    said, *examples = json.loads(out)  # (23, 6, 6): the stack's reading said first
    assert code == 0 and said["index"] is None and "stack is read as" in said["warnings"][0]
    assert [r["index"] for r in examples] == list(range(23))


def test_strict_fails_a_non_finite_value(tmp_path, capsys):
    x = np.zeros((3, 4, 2))
    x[:, :3] = 1e200  # a . p = a . n_0 = inf: the softmax gets inf - inf
    path = tmp_path / "big.npy"
    np.save(path, x)
    code, out, err = _cli(capsys, "batch", "infonce", str(path), "--strict", "-q")
    assert code == 7
    [record] = _records(out)
    assert "not finite" in record["error"]
    code, _, _ = _cli(capsys, "batch", "infonce", str(path), "--strict", "--fail-fast", "-q")
    assert code == 5


def test_every_target_ignored_fails_like_compute(tmp_path, capsys):
    np.save(tmp_path / "logits.npy", np.zeros((9, 3)))
    np.save(tmp_path / "target.npy", np.full(9, 2.0))
    args = ["--logits", str(tmp_path / "logits.npy"), "--target", str(tmp_path / "target.npy"),
            "--ignore-index", "2"]
    code, _, err = _cli(capsys, "compute", "softmax-ce", *args)
    assert code == 4 and "nothing to average" in err
    code, out, err = _cli(capsys, "batch", "softmax-ce", *args, "--chunk", "4")
    assert code == 7 and "nothing to average" in _records(out)[0]["error"]


# ---------------------------------------------------------------- losses evaluated whole
# Their examples are not independent rows (in-batch forms use the other examples as
# negatives), so a chunk size must not change the result.

WHOLE_CASES = {
    "supcon": ["positives.json"], "ntxent-batch": ["views.npz"], "clip": ["pairs.npz"],
    "npair": ["pairs.npz"], "dcl": ["views.npz"], "hard-infonce": ["views.npz"],
    "siglip": ["pairs.npz"], "multi-similarity": ["positives.json"],
    "circle": ["positives.json"],
    "lifted-structure": ["positives.json", "--variant", "generalized"],
    "margin": ["batch.npz"], "cosine-embedding": ["--x1", "a.npy", "--x2", "b.npy", "--label",
                                                  "y.npy"],
    "hinge-embedding": ["hinge.json"], "margin-ranking": ["ranking.json"],
}


def _json(capsys, *args: str) -> list[dict]:
    code = run(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()] if args[0] == "batch" \
        else [json.loads(out)]


def test_every_loss_evaluated_whole_has_a_case():
    assert set(WHOLE_CASES) == {name for name, spec in LOSSES.items() if not spec.streams}


@pytest.mark.parametrize("loss", sorted(WHOLE_CASES))
def test_batch_equals_compute_whatever_the_chunk(capsys, monkeypatch, loss):
    monkeypatch.chdir(SAMPLES)
    [want] = _json(capsys, "compute", loss, *WHOLE_CASES[loss], "-q", "-f", "json")
    [got] = _json(capsys, "batch", loss, *WHOLE_CASES[loss], "-q", "--chunk", "1")
    assert got["error"] is None
    assert got["n"] == len(want["per_example"])
    assert math.isclose(got["value"], want["value"], rel_tol=1e-12, abs_tol=1e-15)
    for g, w in zip(got["per_example"], want["per_example"], strict=True):
        assert math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-15)


def test_json_lines_of_an_in_batch_loss(capsys, tmp_path):
    import numpy as np

    views = np.load(SAMPLES / "views.npz")
    line = json.dumps({"anchor": views["anchor"].tolist(), "positive": views["positive"].tolist()})
    (tmp_path / "v.jsonl").write_text(line + "\n" + line + "\n")
    records = _json(capsys, "batch", "ntxent-batch", str(tmp_path / "v.jsonl"), "-q")
    [want] = _json(capsys, "compute", "ntxent-batch", str(SAMPLES / "views.npz"), "-q",
                   "-f", "json")
    assert [r["file"].rsplit(":", 1)[1] for r in records] == ["1", "2"]
    for r in records:
        assert math.isclose(r["value"], want["value"], rel_tol=1e-12)


def test_an_input_too_large_to_evaluate_whole_says_how_to_split_it(capsys, tmp_path,
                                                                   monkeypatch):
    """Inside batch the fix is not compute's 'use batch' (a loss evaluated whole with its
    breakdown; the in-batch losses go by tiles and have no such limit)."""
    import numpy as np

    import losscli.batch.tasks as tasks

    monkeypatch.setattr(tasks, "MAX_BREAKDOWN_TERMS", 50)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "v.npz", anchor=rng.normal(size=(20, 4)),
             positives=rng.normal(size=(20, 2, 4)), negatives=rng.normal(size=(20, 3, 4)))
    code = run(["batch", "multi-similarity", str(tmp_path / "v.npz"), "-q"])
    out, err = capsys.readouterr()
    assert code == 7
    assert "split the input" in err and "use `losscli batch`" not in err
    assert json.loads(out)["error"].startswith(str(tmp_path / "v.npz"))
