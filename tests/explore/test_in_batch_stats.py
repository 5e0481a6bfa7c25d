"""stats on an in-batch loss: every pair of examples counted once, the matching pairs as
positives and every other pair as negatives, each distribution summarized and binned on its
own scale; read from the tiles of the similarity matrix (held, or in two streamed passes
above EXACT_PAIRS, whose quantiles come from a fine histogram)."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from losscli import api, explore
from losscli.explore import summary
from losscli.losses import tiles
from losscli.render.explore import stats_table
from tests.helpers import assert_close

PAIRED = ["clip", "siglip", "npair"]
TWO_VIEW = ["ntxent-batch", "dcl", "hard-infonce"]


def _inputs(B: int = 9, D: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([B, D])
    a = rng.normal(size=(B, D))
    return {"anchor": a, "positive": a + 0.7 * rng.normal(size=(B, D))}


def _similarities(loss: str, inputs: dict, cosine: bool) -> tuple[np.ndarray, np.ndarray]:
    """The positive and negative similarities, straight from the whole matrix."""
    a, p = inputs["anchor"], inputs["positive"]
    if cosine:
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        p = p / np.linalg.norm(p, axis=1, keepdims=True)
    B = a.shape[0]
    if loss in PAIRED:
        S = a @ p.T
        own = np.eye(B, dtype=bool)
        return S[own], S[~own]
    Z = np.concatenate([a, p])
    S = Z @ Z.T
    upper = np.triu(np.ones((2 * B, 2 * B), dtype=bool), 1)
    partner = np.zeros_like(upper)
    partner[np.arange(B), B + np.arange(B)] = True
    return S[upper & partner], S[upper & ~partner]


def _record(st, stat: str) -> dict:
    return next(r for r in st.records if r["stat"] == stat)


def _histograms(st) -> list[dict]:
    return [r for r in st.records if r["stat"] == "histogram"]


@pytest.fixture(params=[3, 1000], ids=["tile3", "one-tile"])
def tile(request, monkeypatch):
    monkeypatch.setattr(tiles, "TILE_BYTES", 1)
    monkeypatch.setattr(tiles, "MIN_TILE_ROWS", request.param)


@pytest.mark.parametrize("loss", PAIRED + TWO_VIEW)
def test_each_pair_once_positives_and_negatives_apart(tile, loss):
    inputs = _inputs()
    st = api.stats(loss, inputs, bins=7)
    cosine = st.params.get("similarity", "cosine") == "cosine"
    pos, neg = _similarities(loss, inputs, cosine)
    B = 9
    assert pos.size == B and neg.size == (B * (B - 1) if loss in PAIRED else B * (2 * B - 2))
    for stat, values in (("s_ap", pos), ("s_an", neg)):
        got = _record(st, stat)
        want = summary(values)
        assert got["count"] == want["count"]
        assert_close([got[k] for k in want if k != "count"],
                     [want[k] for k in want if k != "count"], rel=1e-12, floor=1e-14)
    positive, negative = _histograms(st)
    assert positive["quantity"] == "positive similarity"
    assert negative["quantity"] == "negative similarity"
    for hist, values in ((positive, pos), (negative, neg)):  # each on its own scale
        (counts,) = hist["counts"].values()
        assert sum(counts) == values.size and len(counts) == 7
        assert_close([hist["edges"][0], hist["edges"][-1]], [values.min(), values.max()])


@pytest.mark.parametrize("loss", ["clip", "ntxent-batch"])
def test_streamed_statistics_above_the_exact_size(monkeypatch, loss):
    inputs = _inputs(B=60, D=6)
    exact = api.stats(loss, inputs, bins=11)
    monkeypatch.setattr(explore, "EXACT_PAIRS", 0)
    streamed = api.stats(loss, inputs, bins=11)
    for stat in ("s_ap", "s_an"):
        want, got = _record(exact, stat), _record(streamed, stat)
        assert got["count"] == want["count"]
        assert_close([got[k] for k in ("mean", "std", "min", "max")],
                     [want[k] for k in ("mean", "std", "min", "max")], rel=1e-10, floor=1e-13)
        step = (want["max"] - want["min"]) / (11 * explore.FINE_BINS)
        for q in ("p5", "p25", "p50", "p75", "p95"):
            assert abs(got[q] - want[q]) <= 2 * step + 1e-12, (stat, q, got[q], want[q])
    for want, got in zip(_histograms(exact), _histograms(streamed), strict=True):
        assert_close(got["edges"], want["edges"])
        assert got["counts"] == want["counts"]
    # QA9 L7: the estimate says it is one; the exact path says nothing
    said = [w for w in streamed.warnings if "quantiles (p5 ... p95) are read from a histogram"
            in w]
    assert len(said) == 1 and f"within 1/{11 * explore.FINE_BINS:,}" in said[0]
    assert not any("quantiles" in w for w in exact.warnings)


def test_the_table_shows_both_histograms():
    st = api.stats("clip", _inputs(), bins=4)
    console = Console(width=100, record=True)
    stats_table(st, console)
    text = console.export_text()
    assert "histogram of the positive similarity (on its own scale)" in text
    assert "histogram of the negative similarity (on its own scale)" in text
    assert "s_ap" in text and "s_an" in text


@pytest.mark.parametrize("loss", ["dcl", "siglip"])
def test_no_active_share_for_in_batch_losses_without_a_margin(loss):
    # QA9 L1: dcl's share was always 0 and siglip's always 1, whatever the data
    rng = np.random.default_rng(5)
    x = {"anchor": rng.normal(size=(6, 4)), "positive": rng.normal(size=(6, 4))}
    records = api.stats(loss, x).records
    assert not any(r["stat"].startswith("active") for r in records)
    assert [r["stat"] for r in records][:1] == ["loss"]


def test_mnrl_counts_its_false_negatives_by_blocks(monkeypatch):
    """MNRL's breakdown flags candidates at least as similar as the own positive: stats
    counts them (read a few examples at a time, as every block of its breakdown), as the
    whole matrix did before its breakdown went lazy."""
    from losscli import model

    rng = np.random.default_rng(6)
    inputs = {"anchor": rng.normal(size=(7, 4)), "positive": rng.normal(size=(7, 4)),
              "negatives": rng.normal(size=(7, 2, 4))}
    r = api.evaluate("infonce", inputs, like="sentence-transformers")
    flags = r.terms.columns["false_negative"]
    sim = r.terms.columns["similarity"]
    assert (flags[:, 1:] == (sim[:, 1:] >= sim[:, :1])).all() and flags.any()
    monkeypatch.setattr(model, "SCAN_TERMS", 2 * flags.shape[1])  # two examples a block
    got = api.stats("infonce", inputs, like="sentence-transformers")
    [record] = [rec for rec in got.records if rec["stat"] == "false negatives"]
    assert record["flagged"] == int(flags.sum())
    assert record["examples"] == int(flags.any(axis=1).sum())


@pytest.mark.parametrize("exact", [True, False])
def test_stats_of_similarities_near_the_float64_maximum(monkeypatch, exact):
    """QA26 P1: a negative with entries near +-1.7e308 gives similarities whose range
    overflows: stats ended in an internal error (np.histogram's edges, or the binning
    kernel's int(NaN)); now the edges are those of the halves, doubled, and finite."""
    rng = np.random.default_rng(3)
    negatives = rng.normal(size=(6, 2))
    negatives[1] = [1.7e308, 1.0]
    negatives[2] = [-1.7e308, 1.0]
    inputs = {"anchor": rng.normal(size=(5, 2)) + [1.0, 0.0],
              "positive": rng.normal(size=(5, 2)), "negatives": negatives}
    if not exact:
        monkeypatch.setattr(explore, "EXACT_PAIRS", 0)
    st = api.stats("infonce", inputs, bins=4, similarity="dot")
    for hist in _histograms(st):
        assert hist["edges"] and all(np.isfinite(hist["edges"]))
        assert np.all(np.diff(hist["edges"]) > 0)
        assert sum(sum(c) for c in hist["counts"].values()) > 0
