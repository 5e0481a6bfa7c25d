"""compute --terms all|top|none: what examples[].terms holds, in JSON, CSV and the table;
top keeps each example's positives and its --top strongest others (by the loss's ranking
column) and says how many it left out; the default switches from all to top above
AUTO_ALL_TERMS terms, with a warning that says how to get all."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from losscli import api
from losscli.cli import run
from losscli.render import breakdown
from tests.helpers import SAMPLES


def _out(capsys, *args: str, code: int = 0) -> tuple[str, str]:
    rc = run(["compute", *args])
    out, err = capsys.readouterr()
    assert rc == code, err
    return out, err


def _views() -> dict:
    with np.load(SAMPLES / "views.npz") as z:
        return {"anchor": z["anchor"], "positive": z["positive"]}


@pytest.mark.parametrize("loss,strength", [("clip", "gradient"), ("ntxent-batch", "gradient"),
                                           ("siglip", "term")])
def test_top_keeps_the_positives_and_the_strongest_others(capsys, loss, strength):
    result = api.evaluate(loss, _views())
    terms = result.terms
    cols = terms.columns
    role = np.array(terms.role)
    T = terms.count
    positives = int((role == "positive").sum())
    out, err = _out(capsys, loss, str(SAMPLES / "views.npz"), "-f", "json", "--terms", "top",
                    "--top", "2")
    doc = json.loads(out)
    kept = positives + 2
    assert doc["terms_left_out"] == result.batch * (T - kept)
    for b, example in enumerate(doc["examples"]):
        assert len(example["terms"]) == kept and example["terms_left_out"] == T - kept
        got = [(t["role"], t["index"]) for t in example["terms"]]
        others = np.flatnonzero(role != "positive")
        rank = np.abs(cols[strength][b, others])
        best = others[np.argsort(-rank, kind="stable")[:2]]
        want = [(role[t], terms.index[t]) for t in np.flatnonzero(role == "positive")]
        want += [(role[t], terms.index[t]) for t in best]
        assert got == want


def test_all_is_every_term_and_none_is_none(capsys):
    path = str(SAMPLES / "views.npz")
    result = api.evaluate("clip", _views())
    doc = json.loads(_out(capsys, "clip", path, "-f", "json", "--terms", "all")[0])
    assert "terms_left_out" not in doc
    assert [len(e["terms"]) for e in doc["examples"]] == [result.terms.count] * result.batch
    sims = [[t["similarity"] for t in e["terms"]] for e in doc["examples"]]
    np.testing.assert_array_equal(sims, result.terms.columns["similarity"])
    none = json.loads(_out(capsys, "clip", path, "-f", "json", "--terms", "none")[0])
    assert "examples" not in none and none["value"] == doc["value"]
    assert none["per_example"] == doc["per_example"]
    assert none["terms_left_out"] == result.batch * result.terms.count
    rows = list(csv.reader(io.StringIO(_out(capsys, "clip", path, "-f", "csv", "--terms",
                                            "none")[0])))
    assert rows[0] == ["example", "example_loss"] and len(rows) == 1 + result.batch
    table = _out(capsys, "clip", path, "-f", "table", "--terms", "none", "--show", "0")[0]
    assert "example 7: loss" in table and "logit" not in table  # no term columns


def test_the_default_switches_to_top_with_a_warning(capsys, monkeypatch):
    path = str(SAMPLES / "views.npz")
    out, err = _out(capsys, "clip", path, "-f", "json")
    assert "terms_left_out" not in json.loads(out) and "--terms all" not in err
    monkeypatch.setattr(breakdown, "AUTO_ALL_TERMS", 10)
    out, err = _out(capsys, "clip", path, "-f", "json")
    doc = json.loads(out)
    assert doc["terms_left_out"] > 0
    assert any("--terms all for every term" in w for w in doc["warnings"])
    assert "warning:" in err and "--terms all" in err


@pytest.mark.parametrize("args", [["--terms", "some"], ["--terms", "top", "--top", "-1"]])
def test_bad_values_are_usage_errors(capsys, args):
    _, err = _out(capsys, "clip", str(SAMPLES / "views.npz"), "-f", "json", *args, code=2)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_worst_examples_with_their_top_terms(capsys, fmt):
    result = api.evaluate("clip", _views())
    worst = list(np.argsort(-result.per_example, kind="stable")[:2])
    kept = sum(role == "positive" for role in result.terms.role) + 1
    out, _ = _out(capsys, "clip", str(SAMPLES / "views.npz"), "-f", fmt, "--worst", "2",
                  "--terms", "top", "--top", "1")
    if fmt == "json":
        doc = json.loads(out)
        assert [e["index"] for e in doc["examples"]] == worst
        assert [len(e["terms"]) for e in doc["examples"]] == [kept, kept]
    else:
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [int(r["example"]) for r in rows] == [worst[0]] * kept + [worst[1]] * kept


class _CountedRoles(tuple):
    """A terms.role that counts how often it is walked."""

    walks = 0

    def __iter__(self):
        type(self).walks += 1
        return super().__iter__()


def test_none_with_gradients_formats_no_terms(monkeypatch):
    """--terms none --grad writes each example's gradients and no terms: the candidates'
    roles (2B - 1 of them for an in-batch loss) must not be formatted block after block
    (at B = 20,000 that took 377 s, 14.6 s without it). The same bytes either way."""
    import dataclasses

    from losscli.render.jsonout import render_json

    result = api.evaluate("clip", _views(), grad=True)
    assert result.batch == 8 and result.gradients is not None
    monkeypatch.setattr(breakdown, "block_size", lambda result: 1)
    want = render_json(result, breakdown.TermsView(mode="none"))
    counted = dataclasses.replace(result, terms=dataclasses.replace(
        result.terms, role=_CountedRoles(result.terms.role)))
    _CountedRoles.walks = 0
    assert render_json(counted, breakdown.TermsView(mode="none")) == want
    assert _CountedRoles.walks <= 3  # the positives counted and masked, not once a block
    doc = json.loads(want)
    assert all(e["terms"] == [] and "gradients" in e for e in doc["examples"])
