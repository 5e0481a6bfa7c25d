"""Parity with torch and pytorch-metric-learning, through committed fixtures that the
libraries generated themselves (tests/fixtures/generate_more_parity.py).

Every case here needs no `--like` arithmetic: the library computes LOSSES-MORE.md's
definition, or does once its normalization is applied to the inputs (`normalize`). The
cases' `like` field names the convention they will also check once `--like` lands.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import losscli

try:
    from tests._more_helpers import assert_close
except ImportError:  # tests/ on sys.path
    from _more_helpers import assert_close

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "more_parity.json"
DOC = json.loads(FIXTURE.read_text())
EMBEDDING_ROLES = ("anchor", "positive", "positives", "negatives")


def case_id(case: dict) -> str:
    params = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in case["params"].items())
    return f"{case['library']}:{case['loss']}[{params}]{'+norm' if case['normalize'] else ''}"


@pytest.mark.parametrize("case", DOC["cases"], ids=case_id)
def test_matches_the_library(case):
    inputs = {k: np.array(v, dtype=float) for k, v in case["inputs"].items()}
    if case["normalize"]:
        for role in EMBEDDING_ROLES:
            if role in inputs:
                inputs[role] = inputs[role] / np.linalg.norm(inputs[role], axis=-1,
                                                             keepdims=True)
    r = losscli.evaluate(case["loss"], inputs, **case["params"])
    expected = case["expected"]
    got = r.per_example if isinstance(expected, list) else r.value
    assert_close(got, expected, case["rel"], scale=10.0)


def test_fixture_covers_both_libraries_and_every_loss_they_define():
    losses = {(c["library"], c["loss"]) for c in DOC["cases"]}
    assert {("torch", n) for n in ("clip", "siglip", "margin-ranking", "hinge-embedding",
                                   "cosine-embedding")} <= losses
    assert {("pytorch-metric-learning", n) for n in (
        "supcon", "multi-similarity", "circle", "lifted-structure", "margin", "ntxent-batch",
        "npair")} <= losses
