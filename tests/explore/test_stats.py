"""`stats`: regimes, quantiles, histograms and flagged false negatives, equal to what the
breakdown of the same evaluation says; the command's JSON Lines."""

from __future__ import annotations

import json
import math

import numpy as np

import losscli
from losscli import api
from losscli.cli import run
from tests.helpers import sample
from tests.reference import contrastive_terms, distance, triplet_terms

BATCH = "samples/batch.npz"


def batch() -> dict:
    return sample("batch.npz")


def test_stats_counts_regimes_and_quantiles() -> None:
    inputs = batch()
    st = api.stats("triplet", inputs)
    by = {r["stat"]: r for r in st.records}
    r = losscli.evaluate("triplet", inputs)
    regimes = r.terms.columns["regime"]
    assert by["regimes"]["hard"] == int((regimes == "hard").sum())
    assert by["regimes"]["hard"] + by["regimes"]["semi-hard"] + by["regimes"]["easy"] == \
        regimes.size
    d_an = r.terms.columns["d_an"].ravel()
    assert math.isclose(by["d_an"]["p50"], float(np.median(d_an)))
    assert math.isclose(by["d_ap"]["mean"], float(r.terms.columns["d_ap"][:, 0].mean()))
    assert sum(by["histogram"]["counts"]["d_an"]) == d_an.size
    assert math.isclose(by["loss"]["mean"], r.per_example.mean())


def test_stats_flags_false_negatives() -> None:
    inputs = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[1.0, 0.1],
                                                                          [0.0, 1.0]]}
    by = {r["stat"]: r for r in api.stats("infonce", inputs).records}
    assert by["false negatives"]["flagged"] == 1
    r = losscli.evaluate("infonce", inputs)
    assert r.terms.columns["false_negative"][0].tolist() == [False, True, False]


def test_stats_cli_jsonl(capsys) -> None:
    assert run(["stats", "contrastive", BATCH]) == 0
    stats = [json.loads(line)["stat"] for line in capsys.readouterr().out.splitlines()]
    assert stats[0] == "loss" and "d_ap" in stats and "histogram" in stats


# The anchor at 0, the positive at distance 1 (m = 1, euclidean). Example 0: negatives at
# 2 = d_ap + m, 0.5 and 3: triplet terms d_ap - d_an + m = 0 (exactly, at the hinge), 1.5, 0;
# the dissimilar contrastive terms 1/2 [m - d]+^2 = 0, 1/8, 0. Example 1: negatives at 1, 1
# and 2: triplet terms 1, 1, 0 (at the hinge); contrastive 0, 0 (at d = m exactly), 0. So 3
# of 6 triplet terms and 1 of 6 dissimilar pairs are active: a term of exactly 0 is not.
HINGES = {"anchor": [[0.0, 0.0], [0.0, 0.0]], "positive": [[1.0, 0.0], [0.0, 1.0]],
          "negatives": [[[2.0, 0.0], [0.0, 0.5], [0.0, 3.0]],
                        [[1.0, 0.0], [0.0, 1.0], [0.0, 2.0]]]}


def _active(stats_records: list[dict], column: str) -> dict:
    return next(r for r in stats_records if r["stat"] == f"active {column}")


def test_stats_counts_only_positive_terms_as_active() -> None:
    """triplet: active = terms > 0 (LOSSES.md), against the breakdown's term column and the
    definition; contrastive: its dissimilar pairs, against the breakdown's active column."""
    examples = list(zip(*HINGES.values(), strict=True))
    trip = _active(api.stats("triplet", HINGES).records, "term")
    terms = losscli.evaluate("triplet", HINGES).terms.columns["term"]
    defined = [t for a, p, n in examples for t in triplet_terms(a, p, n)]
    assert (terms == 0).any() and (terms > 0).any()
    assert trip["active"] == int((terms > 0).sum()) == sum(t > 0 for t in defined) == 3
    assert trip["terms"] == terms.size == 6 and math.isclose(trip["share"], 3 / 6)

    pairs = _active(api.stats("contrastive", HINGES).records, "term")
    r = losscli.evaluate("contrastive", HINGES)
    dissimilar = r.terms.columns["kind"] == "dissimilar"
    defined = [t for a, p, n in examples for t in contrastive_terms(a, p, n)[1:]]
    assert (r.terms.columns["term"][dissimilar] == 0).any()
    assert pairs["active"] == int(r.terms.columns["active"][dissimilar].sum()) \
        == sum(t > 0 for t in defined) == 1
    assert pairs["terms"] == int(dissimilar.sum()) == 6


def test_stats_counts_active_quadruplet_terms_of_each_kind() -> None:
    """triplet_term and pair_term: active means > 0, a term at its hinge (exactly 0) not."""
    st = api.stats("quadruplet", HINGES, distance="euclidean", margin=1.0, margin2=0.5)
    r = losscli.evaluate("quadruplet", HINGES, distance="euclidean", margin=1.0, margin2=0.5)
    for column, margin, partner in (("triplet_term", 1.0, None), ("pair_term", 0.5, 1)):
        want = 0
        for a, p, negs in zip(*HINGES.values(), strict=True):
            for k, n in enumerate(negs):
                other = a if partner is None else negs[(k + partner) % len(negs)]
                want += distance(a, p, "euclidean") - distance(other, n, "euclidean") \
                    + margin > 0
        got = _active(st.records, column)
        assert got["active"] == int((r.terms.columns[column] > 0).sum()) == want
        assert got["terms"] == r.terms.columns[column].size


def test_stats_cli_active_counts_equal_compute_terms(capsys, tmp_path) -> None:
    """The commands agree: `stats`' active count is the number of `compute` terms > 0
    (contrastive: its dissimilar pairs, whose `active` column says the same)."""
    path = tmp_path / "hinges.json"
    path.write_text(json.dumps(HINGES))
    for loss, want in (("triplet", 3), ("contrastive", 1)):
        assert run(["compute", loss, str(path), "-f", "json", "--terms", "all"]) == 0
        terms = [t for e in json.loads(capsys.readouterr().out)["examples"]
                 for t in e["terms"] if t["role"] == "negative"]
        if loss == "contrastive":
            assert [t["active"] for t in terms] == [t["term"] > 0 for t in terms]
        assert run(["stats", loss, str(path), "-f", "jsonl"]) == 0
        records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        active = _active(records, "term")
        assert active["active"] == sum(t["term"] > 0 for t in terms) == want
        assert active["terms"] == len(terms) == 6
