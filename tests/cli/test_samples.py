"""Each loss on the sample inputs through the real CLI, as the README and the issues run it
(the samples named bare, from samples/): the value equals the library's, and the JSON and
table carry each loss's breakdown."""

from __future__ import annotations

import json

import numpy as np
import pytest

import losscli
from tests.helpers import SAMPLES
from tests.helpers import run_cli as cli
from tests.helpers import run_cli_json as cli_json


@pytest.fixture(autouse=True)
def _in_samples(monkeypatch):
    monkeypatch.chdir(SAMPLES)  # the commands name the samples bare, as the README does


def test_supcon_on_ex_json(capsys):
    doc = cli_json(capsys, "compute", "supcon", "ex.json", "--temperature", "0.1")
    ex = json.loads((SAMPLES / "ex.json").read_text())
    expected = losscli.evaluate("supcon", ex, temperature=0.1).value
    assert doc["value"] == pytest.approx(expected, rel=1e-12)
    assert doc["params"] == {"temperature": 0.1, "base_temperature": 0.1,
                             "similarity": "cosine"}
    assert doc["shape"]["positives"] == 1
    term = doc["examples"][0]["terms"][0]
    assert {"role", "index", "kind", "similarity", "logit", "probability", "gradient"} <= set(
        term)


def test_supcon_with_several_positives(capsys):
    doc = cli_json(capsys, "compute", "supcon", "positives.json")
    assert doc["shape"] == {"batch": 3, "negatives": 5, "dim": 8, "classes": None,
                            "positives": 3}
    roles = [t["role"] for t in doc["examples"][0]["terms"]]
    assert roles == ["positive"] * 3 + ["negative"] * 5


def test_clip_on_pairs_npz(capsys):
    code, out, err = cli(capsys, "compute", "clip", "pairs.npz", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    z = np.load(SAMPLES / "pairs.npz")
    r = losscli.evaluate("clip", {"anchor": z["anchor"], "positive": z["positive"]})
    assert doc["value"] == pytest.approx(r.value, rel=1e-12)
    assert "negatives is not used by clip" in err  # pairs.npz also feeds contrastive
    assert len(doc["examples"][0]["terms"]) == 2 * 4


def test_ntxent_batch_on_views_npz_value(capsys):
    doc = cli_json(capsys, "compute", "ntxent-batch", "views.npz")
    z = np.load(SAMPLES / "views.npz")
    r = losscli.evaluate("ntxent-batch", {"anchor": z["anchor"], "positive": z["positive"]})
    assert isinstance(doc["value"], float)
    assert doc["value"] == pytest.approx(r.value, rel=1e-12)
    term = doc["examples"][0]["terms"][0]
    assert term["role"] == "positive" and term["view"] == "anchor"  # the partner
    assert term["candidate_role"] == "positive" and term["candidate_index"] == 0


def test_siglip_on_pairs_npz(capsys):
    doc = cli_json(capsys, "compute", "siglip", "pairs.npz", "--scale", "10", "--bias", "-10")
    assert doc["params"] == {"scale": 10.0, "bias": -10.0, "similarity": "cosine"}
    z = np.load(SAMPLES / "pairs.npz")
    r = losscli.evaluate("siglip", {"anchor": z["anchor"], "positive": z["positive"]})
    assert doc["value"] == pytest.approx(r.value, rel=1e-12)


def test_hard_infonce_on_ex_json(capsys):
    doc = cli_json(capsys, "compute", "hard-infonce", "ex.json", "--beta", "1", "--tau-plus",
                   "0.1")
    assert doc["params"]["beta"] == 1.0 and doc["params"]["tau_plus"] == 0.1
    assert doc["params"]["form"] == "explicit"
    positive_row = doc["examples"][0]["terms"][0]
    assert positive_row["importance"] is None and positive_row["share"] is None


def test_cosine_embedding_from_role_files(capsys):
    doc = cli_json(capsys, "compute", "cosine-embedding", "--x1", "a.npy", "--x2", "b.npy",
                   "--label", "y.npy")
    r = losscli.evaluate("cosine-embedding", {"x1": np.load(SAMPLES / "a.npy"),
                                              "x2": np.load(SAMPLES / "b.npy"),
                                              "label": np.load(SAMPLES / "y.npy")})
    assert doc["value"] == pytest.approx(r.value, rel=1e-12)
    assert doc["shape"]["batch"] == 6
    assert [t["label"] for e in doc["examples"] for t in e["terms"]] == [1, -1] * 3


def test_table_output_of_an_in_batch_loss(capsys):
    code, out, _ = cli(capsys, "compute", "clip", "views.npz", "--format", "table", "--show",
                       "1")
    assert code == 0
    assert "a->p" in out and "p->a" in out and "more examples" in out


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_ranking_and_hinge_samples(capsys, fmt):
    code, out, err = cli(capsys, "compute", "margin-ranking", "ranking.json", "--format", fmt)
    assert code == 0, err
    code, out, err = cli(capsys, "compute", "hinge-embedding", "hinge.json", "--format", fmt)
    assert code == 0, err


def test_aliases(capsys):
    doc = cli_json(capsys, "compute", "simclr", "views.npz")
    assert doc["loss"] == "ntxent-batch"
    doc = cli_json(capsys, "compute", "multi_similarity", "ex.json")
    assert doc["loss"] == "multi-similarity"
