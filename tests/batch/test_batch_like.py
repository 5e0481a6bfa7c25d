"""batch --like LIBRARY: every input evaluated whole, exactly as compute evaluates it under
the same convention (issue 11: supcon's in-batch SupContrast form in batch), with compute's
`convention` block in the record and the note said once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from losscli import api
from losscli.errors import UsageError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _parity_cases() -> list[dict]:
    cases = []
    for path in sorted((FIXTURES / "parity").glob("*.json")):
        for c in json.loads(path.read_text()):
            cases.append({"loss": c["loss"], "like": c["like"], "params": c["options"],
                          "reduction": c["reduction"], "inputs": c["inputs"]})
    more = json.loads((FIXTURES / "parity_in_batch_and_pairs.json").read_text())["cases"]
    cases += [{"loss": c["loss"], "like": c["like"], "params": c["params"],
               "reduction": c["reduction"], "inputs": c["inputs"]}
              for c in more if c["like"] is not None]
    return cases


CASES = _parity_cases()


def _case_id(c: dict) -> str:
    return f"{c['loss']}-{c['like']}-{c['reduction']}"


@pytest.mark.parametrize("c", CASES, ids=[f"{_case_id(c)}-{i}" for i, c in enumerate(CASES)])
def test_batch_under_like_is_compute_under_like(c: dict, tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(c["inputs"]))
    try:
        want = api.evaluate(c["loss"], c["inputs"], like=c["like"], reduction=c["reduction"],
                            **c["params"])
    except UsageError:
        with pytest.raises(UsageError):
            list(api.evaluate_files(c["loss"], [str(path)], like=c["like"],
                                    reduction=c["reduction"], **c["params"]))
        return
    [got] = list(api.evaluate_files(c["loss"], [str(path)], like=c["like"],
                                    reduction=c["reduction"], chunk=1, **c["params"]))
    assert got.error is None, got.error_text()
    record = got.record()
    doc = want.to_dict()
    for key in ("params", "reduction", "value", "per_example", "shape", "convention"):
        assert record[key] == doc[key], key
    assert record["warnings"] == doc["warnings"]


def _triplets(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(9, 5, 4))  # B = 9 examples of anchor, positive and 3 negatives
    x[:, 1] = x[:, 0] + 0.3 * rng.normal(size=(9, 4))  # some triplets inactive
    path = tmp_path / "triplets.npy"
    np.save(path, x)
    return path


def test_a_library_reduction_over_terms_is_not_cut_into_chunks(tmp_path: Path) -> None:
    """PML's AvgNonZero averages the active triplets of the whole call: not a mean of
    per-example losses, nor of chunks' values; batch gives compute's value whatever --chunk."""
    path = _triplets(tmp_path)
    x = np.load(path)
    inputs = {"anchor": x[:, 0], "positive": x[:, 1], "negatives": x[:, 2:]}
    want = api.evaluate("triplet", inputs, like="pytorch-metric-learning", margin=1.0)
    assert want.reduction == "mean-nonzero"
    assert want.value != pytest.approx(float(np.mean(want.per_example)))  # a real difference
    for chunk in (1, 4, None):
        [got] = list(api.evaluate_files("triplet", [str(path)], like="pytorch-metric-learning",
                                        margin=1.0, chunk=chunk))
        assert got.error is None, got.error_text()
        assert got.value == want.value
        np.testing.assert_array_equal(got.per_example, want.per_example)


def test_without_like_the_record_has_no_convention(tmp_path: Path) -> None:
    [got] = list(api.evaluate_files("triplet", [str(_triplets(tmp_path))]))
    assert "convention" not in got.record()


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_supcon_in_its_multi_view_form_through_batch(tmp_path: Path) -> None:
    """SupContrast's every-view-an-anchor form, over two role sets: each record is compute's,
    the note is said once, the record carries the convention."""
    rng = np.random.default_rng(3)
    for stem, B in (("s1", 7), ("s2", 300)):  # 600 views: more than one tile of rows
        np.save(tmp_path / f"{stem}.anchor.npy", rng.normal(size=(B, 6)))
        np.save(tmp_path / f"{stem}.positive.npy", rng.normal(size=(B, 6)))
    proc = _cli(["batch", "supcon", ".", "--like", "supcontrast", "-f", "jsonl"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["file"] for r in records] == ["./s1.*.npy", "./s2.*.npy"]
    assert proc.stderr.count("note: like supcontrast (") == 1
    for r in records:
        stem = r["file"][2:4]
        inputs = {role: np.load(tmp_path / f"{stem}.{role}.npy") for role in
                  ("anchor", "positive")}
        want = api.evaluate("supcon", inputs, like="supcontrast")
        assert r["params"]["form"] == "multi-view batch"
        # the CLI's child runs the kernels interpreted (LOSSCLI_JIT=never), this process
        # may run them compiled: the same sums, the last bit may differ
        np.testing.assert_allclose(r["per_example"], want.per_example, rtol=1e-13, atol=0)
        assert r["value"] == pytest.approx(want.value, rel=1e-13, abs=0)
        assert r["convention"]["library"] == "supcontrast"


def test_a_library_that_does_not_define_the_loss_is_a_usage_error(tmp_path: Path) -> None:
    np.save(tmp_path / "s.anchor.npy", np.eye(3))
    np.save(tmp_path / "s.positive.npy", np.eye(3))
    proc = _cli(["batch", "supcon", ".", "--like", "open-clip"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "open-clip" in proc.stderr and "Traceback" not in proc.stderr


def test_a_role_set_of_one_positive_per_anchor_is_supcon_input(tmp_path: Path) -> None:
    """supcon's `positive` stands in for `positives` (P = 1) in a role set, as in compute."""
    rng = np.random.default_rng(5)
    a, p = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    np.save(tmp_path / "s.anchor.npy", a)
    np.save(tmp_path / "s.positive.npy", p)
    n = rng.normal(size=(4, 2, 3))
    np.save(tmp_path / "s.negatives.npy", n)
    [got] = list(api.evaluate_files("supcon", [str(tmp_path)]))
    assert got.error is None, got.error_text()
    want = api.evaluate("supcon", {"anchor": a, "positive": p, "negatives": n})
    assert (want.per_example > 0).all()
    np.testing.assert_array_equal(got.per_example, want.per_example)


def test_an_input_too_large_for_a_whole_evaluation_says_why_it_is_whole(tmp_path: Path,
                                                                         monkeypatch) -> None:
    """triplet's examples do not meet: the refusal names --like as the reason and the way out."""
    from losscli.batch import tasks

    monkeypatch.setattr(tasks, "MAX_BREAKDOWN_TERMS", 8)
    [got] = list(api.evaluate_files("triplet", [str(_triplets(tmp_path))], like="torch"))
    assert got.error is not None
    message = got.error_text()
    assert "under --like torch" in message and "drop --like" in message
    assert "meet each other" not in message


def test_a_record_says_how_the_library_read_its_negatives(tmp_path: Path) -> None:
    """(B, D) negatives under sentence-transformers are one per anchor row: batch's record
    carries the note and the negatives_layout flag, as compute's result does (it carried the
    convention as the call described it, before any input was read)."""
    rng = np.random.default_rng(3)
    inputs = {"anchor": rng.normal(size=(5, 4)), "positive": rng.normal(size=(5, 4)),
              "negatives": rng.normal(size=(5, 4))}
    path = tmp_path / "in.json"
    path.write_text(json.dumps({k: v.tolist() for k, v in inputs.items()}))
    want = api.evaluate("infonce", inputs, like="sentence-transformers").to_dict()
    [got] = list(api.evaluate_files("infonce", [str(path)], like="sentence-transformers"))
    record = got.record()
    assert record["convention"] == want["convention"]
    assert record["convention"]["flags"]["negatives_layout"] == "per-anchor"
    assert any("read one per anchor row" in n for n in record["convention"]["notes"])
    assert record["value"] == want["value"]
