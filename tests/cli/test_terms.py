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
from tests.helpers import SAMPLES, assert_close


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


def test_top_ranks_by_magnitude_so_a_negative_gradient_counts(capsys, tmp_path):
    """softmax-ce has no positive role: every class competes for --top. The target's gradient
    p_y - 1 (LOSSES.md) is negative and the largest in magnitude, so it is kept, before the
    largest positive p_c; a signed ranking would drop it."""
    logits, target = [0.1, 0.2, 3.0, 0.0, 0.5], 2
    path = tmp_path / "ce.json"
    path.write_text(json.dumps({"logits": [logits], "target": [target]}))
    p = np.exp(logits) / np.exp(logits).sum()
    gradient = p - np.eye(len(logits))[target]
    assert gradient[target] < 0 < gradient.max() < -gradient[target]
    want = np.argsort(-np.abs(gradient), kind="stable")[:2].tolist()
    assert want == [target, 4]
    out, _ = _out(capsys, "softmax-ce", str(path), "-f", "json", "--terms", "top", "--top", "2")
    example = json.loads(out)["examples"][0]
    assert [t["index"] for t in example["terms"]] == want
    assert example["terms_left_out"] == len(logits) - 2
    assert_close([t["gradient"] for t in example["terms"]], gradient[want])


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


def test_a_table_shows_the_top_terms_of_an_example_with_many(capsys, tmp_path):
    """A table is read a few examples at a time: above TABLE_ALL_TERMS terms an example shows
    its positive and strongest others, with the warning; JSON keeps all below
    AUTO_ALL_TERMS; --terms all gives every row."""
    B = breakdown.TABLE_ALL_TERMS // 2 + 2  # clip: 2B terms an example (both directions)
    rng = np.random.default_rng(4)
    path = tmp_path / "wide.npz"
    np.savez(path, anchor=rng.normal(size=(B, 3)), positive=rng.normal(size=(B, 3)))
    shown = ["--show", "1", "-f", "table"]
    def rows(table: str) -> int:  # a narrow table goes on in a second part: no direction
        return sum(line.startswith(("positive", "negative")) and "->" in line
                   for line in table.splitlines())

    out, err = _out(capsys, "clip", str(path), *shown)
    assert "--terms all for every term" in err
    assert rows(out) == 2 + breakdown.DEFAULT_TOP  # both directions' positive, the top 10
    every, err = _out(capsys, "clip", str(path), *shown, "--terms", "all")
    assert "--terms all" not in err and rows(every) == 2 * B
    doc = json.loads(_out(capsys, "clip", str(path), "-f", "json")[0])
    assert "terms_left_out" not in doc and len(doc["examples"][0]["terms"]) == 2 * B
    small = str(SAMPLES / "views.npz")
    assert "--terms all" not in _out(capsys, "clip", small, *shown)[1]


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


@pytest.mark.parametrize("mode", ["none", "top", "all"])
def test_the_terms_labels_are_made_once_not_once_a_block(monkeypatch, mode):
    """The candidates' roles (2B - 1 of them for an in-batch loss) are formatted once per
    output, and not at all for --terms none (--grad: gradients and no terms): made block
    after block they took 377 s at B = 20,000 with --terms none --grad (14.6 s once), and
    ~45% of --terms top at B = 4,000. The same bytes either way."""
    import dataclasses

    from losscli.render.jsonout import render_json

    result = api.evaluate("clip", _views(), grad=True)
    assert result.batch == 8 and result.gradients is not None
    view = breakdown.TermsView(mode=mode, top=2)
    monkeypatch.setattr(breakdown, "block_size", lambda result: 1)
    want = render_json(result, view)
    counted = dataclasses.replace(result, terms=dataclasses.replace(
        result.terms, role=_CountedRoles(result.terms.role)))
    _CountedRoles.walks = 0
    assert render_json(counted, view) == want
    # the positives counted and masked (3), the labels once (top, all), not once a block
    assert _CountedRoles.walks <= (3 if mode == "none" else 4)
    doc = json.loads(want)
    assert all("gradients" in e for e in doc["examples"])
    if mode == "none":
        assert all(e["terms"] == [] for e in doc["examples"])


@pytest.mark.parametrize("work", [None, 10**12], ids=["numpy", "kernel"])
def test_the_strongest_terms_are_those_of_a_stable_sort(work):
    """--terms top's selection (numpy: partition, then a sort of the kept; a large
    breakdown: kernels/largest.py's one pass) picks the same terms in the same order as a
    stable sort of every term: ties by index, positives (inf) first, NaN ranks (-1) last,
    rows of equal ranks, on both sides of numpy's switch to a full sort."""
    rng = np.random.default_rng(11)
    for trial in range(400):
        n, T = int(rng.integers(1, 12)), int(rng.integers(2, 600))
        keep = int(rng.integers(1, max(2, T // 9))) if trial % 2 else int(rng.integers(1, T + 1))
        rank = [rng.random((n, T)), rng.integers(0, 4, (n, T)).astype(float),
                np.zeros((n, T))][trial % 3]
        rank[rng.random((n, T)) < 0.2] = -1.0
        rank[:, rng.integers(0, T, size=2)] = np.inf
        want = np.argsort(-rank, axis=1, kind="stable")[:, :keep]
        np.testing.assert_array_equal(breakdown.first_largest(rank, keep, work), want)


def test_the_warning_names_no_positive_where_a_loss_has_none(capsys, tmp_path):
    """softmax-ce's terms are classes: above TABLE_ALL_TERMS the table keeps the strongest."""
    path = tmp_path / "logits.npz"
    rng = np.random.default_rng(8)
    np.savez(path, logits=rng.normal(size=(2, breakdown.TABLE_ALL_TERMS + 1)),
             target=np.array([0, 3]))
    _, err = _out(capsys, "softmax-ce", str(path), "-f", "table")
    assert f"showing each example's {breakdown.DEFAULT_TOP} strongest terms" in err
    assert "positive" not in err


@pytest.mark.parametrize("loss,path", [("triplet", "batch.npz"), ("margin", "batch.npz"),
                                       ("lifted-structure", "batch.npz"),
                                       ("softmax-ce", "classification.json"),
                                       ("infonce", "batch.npz")])
@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_top_zero_keeps_only_the_positives(capsys, loss, path, fmt):
    """--top 0 on a loss without positive terms (triplet, margin, softmax-ce) keeps no term:
    it ended in an internal error (exit 1) where np.partition took the (-1)-th value."""
    result = api.evaluate_file(loss, str(SAMPLES / path))
    positives = int((np.array(result.terms.role) == "positive").sum())
    out, _ = _out(capsys, loss, str(SAMPLES / path), "-f", fmt, "--top", "0")
    if fmt == "json":
        doc = json.loads(out)
        assert [len(e["terms"]) for e in doc["examples"]] == [positives] * result.batch
        assert doc["terms_left_out"] == result.batch * (result.terms.count - positives)
    assert breakdown.first_largest(np.ones((3, 5)), 0).shape == (3, 0)


@pytest.mark.parametrize("loss,params", [
    ("clip", {}), ("siglip", {}), ("npair", {}), ("infonce", {}), ("ntxent-batch", {}),
    ("dcl", {}), ("dcl", {"like": "dcl-port"}), ("dcl", {"weighting": "vmf"}),
    ("hard-infonce", {}), ("hard-infonce", {"clamp": False, "beta": 3.0}),
    ("supcon", {"like": "supcontrast"})])
def test_top_reads_the_cells_the_whole_columns_hold(loss, params):
    """--terms top reads an in-batch breakdown's columns at the kept cells only
    (losses/term_columns.py): every cell it shows is that of the whole columns laid out,
    the same bits, and the kept terms are those ranked over the whole ranking column."""
    params = dict(params)  # the parametrized dict is shared between runs
    like = params.pop("like", None)
    result = api.evaluate(loss, _views(), like=like, **params)
    terms = result.terms
    strength = next(s for s in ("gradient", "term") if s in terms.block(0, 1))
    view = breakdown.TermsView("top", 3, strength)
    positive = np.array([role == "positive" for role in terms.role])
    seen = 0
    for block in breakdown.blocks(result, view):
        whole = terms.block(block.start, block.start + block.n)
        want = breakdown._strongest(whole[strength], positive, 3, block.n,
                                    result.batch * terms.count)
        np.testing.assert_array_equal(block.order, want)
        assert list(block.columns) == list(whole)
        for name, column in whole.items():
            got = block.columns[name]
            cells = np.take_along_axis(column, block.order, axis=1)
            assert got.dtype == cells.dtype, name
            if got.dtype.kind == "f":
                assert np.array_equal(got.view(np.int64), cells.view(np.int64)), name
            else:
                assert np.array_equal(got, cells), name
        seen += block.n
    assert seen == result.batch


@pytest.mark.parametrize("jit", ["never", "always"], ids=["numpy", "kernel"])
def test_the_ranking_of_a_strength_column_is_a_stable_sort_of_its_ranks(jit, monkeypatch):
    """_strongest ranks a term by |strength|, NaN last and positive terms first, ties by
    position: numpy's rank array, or (a large breakdown) kernels/largest.strongest_first
    taking each rank as it reads the row."""
    monkeypatch.setenv("LOSSCLI_JIT", jit)
    rng = np.random.default_rng(12)
    for trial in range(300):
        n, T = int(rng.integers(1, 8)), int(rng.integers(2, 400))
        strength = [rng.standard_normal((n, T)), rng.integers(-2, 3, (n, T)).astype(float),
                    np.zeros((n, T))][trial % 3]
        strength[rng.random((n, T)) < 0.1] = np.nan
        strength[rng.random((n, T)) < 0.05] = -np.inf
        positive = np.zeros(T, dtype=bool)
        positive[rng.integers(0, T, size=int(rng.integers(0, 3)))] = True
        top = int(rng.integers(0, T - int(positive.sum()) + 1))
        rank = np.where(np.isnan(strength), -1.0, np.abs(strength))
        rank[:, positive] = np.inf
        want = np.argsort(-rank, axis=1, kind="stable")[:, :int(positive.sum()) + top]
        got = breakdown._strongest(strength, positive, top, n, n * T)
        np.testing.assert_array_equal(got, want)
