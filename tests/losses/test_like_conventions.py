"""--like as the library is (issue 12.9-12.11): torch's default ignore_index -100, PML's
MeanReducer and SumReducer for contrastive, and a note that shows the call with the values
in use and only the notes that apply. Numbers against fixtures torch and PML generated
(tests/fixtures/generate_parity.py); through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from losscli.losses import LOSSES
from losscli.losses.call import LossCall
from losscli.losses.spec import Convention

PARITY = Path(__file__).resolve().parents[1] / "fixtures" / "parity"


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def fixture_cases(library: str, loss: str, where) -> list[dict]:
    cases = json.loads((PARITY / f"{library}.json").read_text())
    return [c for c in cases if c["loss"] == loss and where(c)]


def run_case(c: dict, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    (tmp_path / "in.json").write_text(json.dumps(c["inputs"]))
    options = []
    for name, value in c["options"].items():
        flag = "--" + name.replace("_", "-")
        options += [flag if value is True else f"--no-{flag[2:]}"] if isinstance(value, bool) \
            else [flag, str(value)]
    reduction = ["--reduction", c["reduction"]] if c["reduction"] else []
    return cli(["compute", c["loss"], "in.json", "--like", c["like"], *options, *reduction,
                "-f", "json", *extra], tmp_path)


# ---------------------------------------------------------------- 9: torch's ignore_index


TORCH_IGNORED = fixture_cases("torch", "softmax-ce", lambda c: -100 in np.ravel(
    c["inputs"]["target"]))


@pytest.mark.parametrize("c", TORCH_IGNORED, ids=lambda c: f"{c['reduction']}-"
                         f"{'weighted' if 'weight' in c['inputs'] else 'plain'}")
def test_torch_ignores_target_minus_100_by_default(c: dict, tmp_path: Path) -> None:
    proc = run_case(c, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    np.testing.assert_allclose(out["per_example"], c["per_example"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out["value"], c["value"], rtol=1e-12)
    ignored = [e.get("ignored", False) for e in out["examples"]]
    assert ignored == [t == -100 for t in c["inputs"]["target"]]
    assert "ignore_index=-100" in proc.stderr


def test_generated_fixtures_hold_ignored_targets() -> None:
    assert len(TORCH_IGNORED) >= 4
    assert all(c["generated_by"].startswith("torch ") for c in TORCH_IGNORED)


def test_without_like_minus_100_is_out_of_range_and_says_how(tmp_path: Path) -> None:
    c = TORCH_IGNORED[0]
    (tmp_path / "in.json").write_text(json.dumps(c["inputs"]))
    proc = cli(["compute", "softmax-ce", "in.json"], tmp_path)
    assert proc.returncode == 4
    assert "--ignore-index -100" in proc.stderr and "--like torch" in proc.stderr


def test_torch_default_ignore_index_leaves_probability_targets_alone(tmp_path: Path) -> None:
    doc = {"logits": [[1.0, 2.0, 0.5], [0.0, -1.0, 2.0]],
           "target": [[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]]}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    own = cli(["compute", "softmax-ce", "p.json", "-f", "json"], tmp_path)
    like = cli(["compute", "softmax-ce", "p.json", "--like", "torch", "-f", "json"], tmp_path)
    assert like.returncode == 0, like.stderr
    assert json.loads(like.stdout)["per_example"] == json.loads(own.stdout)["per_example"]


# ---------------------------------------------------------------- 10: PML's reducers


PML_REDUCED = fixture_cases("pytorch-metric-learning", "contrastive",
                            lambda c: c["reduction"] in ("mean", "sum"))


@pytest.mark.parametrize("c", PML_REDUCED, ids=lambda c: f"{c['reduction']}-"
                         f"{len(c['inputs']['anchor'])}-{c['options']['distance']}")
def test_pml_contrastive_mean_and_sum_are_its_reducers(c: dict, tmp_path: Path) -> None:
    proc = run_case(c, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    np.testing.assert_allclose(out["value"], c["value"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out["per_example"], c["per_example"], rtol=1e-12, atol=1e-15)
    assert "does not offer" not in proc.stderr
    reducer = {"mean": "reducer=MeanReducer()", "sum": "reducer=SumReducer()"}[c["reduction"]]
    assert reducer in proc.stderr


def test_pml_mean_is_the_mean_of_positive_pairs_plus_the_mean_of_negative_pairs(
        tmp_path: Path) -> None:
    """MeanReducer from the breakdown itself: mean over the pos terms + over the neg terms."""
    c = next(c for c in PML_REDUCED if c["reduction"] == "mean" and len(c["inputs"]["anchor"]) > 1)
    out = json.loads(run_case(c, tmp_path).stdout)
    terms = np.array([[t["term"] for t in e["terms"]] for e in out["examples"]])
    assert np.isclose(out["value"], terms[:, 0].mean() + terms[:, 1:].mean(), rtol=1e-12)


def test_fixtures_hold_pml_reducer_cases() -> None:
    assert {c["reduction"] for c in PML_REDUCED} == {"mean", "sum"}
    assert all(c["generated_by"].startswith("pytorch-metric-learning ") for c in PML_REDUCED)


# ---------------------------------------------------------------- 11: the note


def note_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("note: like")]


@pytest.fixture
def ex(tmp_path: Path) -> Path:
    doc = {"anchor": [[1.0, 0.0, 0.5], [0.2, 1.0, 0.0]], "positive": [[0.9, 0.1, 0.4],
                                                                      [0.0, 1.0, 0.3]],
           "negatives": [[[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]], [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]]}
    (tmp_path / "ex.json").write_text(json.dumps(doc))
    return tmp_path


@pytest.mark.parametrize("args,shown,hidden", [
    (["--like", "torch", "--swap"], ["swap=True"], ["swap=False"]),
    (["--like", "torch", "--margin", "0.3", "--reduction", "sum"],
     ["margin=0.3", "reduction='sum'"], ["margin=1.0", "'mean'"]),
    (["--like", "pml"], ["margin=0.05", "LpDistance(normalize_embeddings=True)"],
     ["CosineSimilarity", "LpDistance(power=2", "cosine is"]),
    (["--like", "pml", "--distance", "cosine", "--soft"],
     ["CosineSimilarity()", "smooth_loss=True", "cosine is CosineSimilarity"],
     ["LpDistance", "normalize=True"]),
    (["--like", "pml", "--distance", "sqeuclidean"], ["LpDistance(power=2"], ["cosine is"]),
    (["--like", "st", "--distance", "cosine"], ["distance_metric=COSINE"],
     ["EUCLIDEAN", "before 2025"]),
    (["--like", "tfa", "--distance", "sqeuclidean", "--margin", "2"],
     ["distance_metric='squared-L2'", "margin=2.0"], ["'L2'"]),
])
def test_the_note_shows_what_is_used_and_what_applies(args: list[str], shown: list[str],
                                                      hidden: list[str], ex: Path) -> None:
    proc = cli(["compute", "triplet", "ex.json", *args, "-f", "json"], ex)
    assert proc.returncode == 0, proc.stderr
    notes = "\n".join(note_lines(proc))
    for text in shown:
        assert text in notes, (text, notes)
    for text in hidden:
        assert text not in notes, (text, notes)
    convention = json.loads(proc.stdout)["convention"]
    assert convention["api"] in notes
    assert "{" not in convention["api"]


def test_a_single_pair_note_is_for_explain_not_for_every_run(ex: Path) -> None:
    proc = cli(["compute", "contrastive", "ex.json", "--like", "pml"], ex)
    assert "single positive pair" not in "\n".join(note_lines(proc))
    assert "single positive pair" in cli(["explain", "contrastive"], ex).stdout


def literal(value: object) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def test_every_convention_writes_the_values_it_uses() -> None:
    """Each parameter a convention's call names, changed, is written into the call."""
    checked = 0
    for loss, spec in LOSSES.items():
        for lib, conv in spec.conventions.items():
            if not isinstance(conv, Convention):
                continue
            default = LossCall.of(loss, like=lib).applied.api
            assert "{" not in default and "}" not in default, (loss, lib, default)
            for p in spec.params:
                if f"{{{p.name}}}" not in conv.api or p.name in conv.allowed:
                    continue
                if p.kind == "bool":
                    value: object = not LossCall.of(loss, like=lib).params[p.name]
                elif p.kind == "float":
                    value = 0.375
                else:
                    continue
                try:
                    call = LossCall.of(loss, {p.name: value}, like=lib)
                except Exception:  # noqa: BLE001 - a value the library does not take
                    continue
                assert literal(value) in call.applied.api, (loss, lib, p.name, call.applied.api)
                checked += 1
    assert checked >= 30
