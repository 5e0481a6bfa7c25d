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
