"""`batch` on the losses of LOSSES-MORE.md: each input whole, equal to compute.

Their examples are not independent rows (in-batch forms use the other examples as
negatives), so a chunk size must not change the result.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from losscli.cli import run
from losscli.losses import LOSSES

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

CASES = {
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
    assert set(CASES) == {name for name, spec in LOSSES.items() if not spec.streams}


@pytest.mark.parametrize("loss", sorted(CASES))
def test_batch_equals_compute_whatever_the_chunk(capsys, monkeypatch, loss):
    monkeypatch.chdir(SAMPLES)
    [want] = _json(capsys, "compute", loss, *CASES[loss], "-q", "-f", "json")
    [got] = _json(capsys, "batch", loss, *CASES[loss], "-q", "--chunk", "1")
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
    """Inside batch the fix is not compute's 'use batch'."""
    import numpy as np

    import losscli.batch.tasks as tasks

    monkeypatch.setattr(tasks, "MAX_BREAKDOWN_TERMS", 100)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "v.npz", anchor=rng.normal(size=(20, 4)), positive=rng.normal(size=(20, 4)))
    code = run(["batch", "ntxent-batch", str(tmp_path / "v.npz"), "-q"])
    out, err = capsys.readouterr()
    assert code == 7
    assert "split the input" in err and "use `losscli batch`" not in err
    assert json.loads(out)["error"].startswith(str(tmp_path / "v.npz"))
