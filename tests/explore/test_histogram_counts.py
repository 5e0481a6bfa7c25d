"""The equal-bin counts of `stats` (kernels/histogram.py): the counts np.histogram gives, on
the edges, at the ends, with NaN, infinities and values outside the range; and no refusal
where the range is too narrow for distinct edges (in-batch similarities a few ulps apart:
np.histogram's "Too many bins for data range" was an internal error of `stats`)."""

from __future__ import annotations

import numpy as np
import pytest

from losscli import api, explore
from losscli.kernels import histogram as hk
from losscli.losses.histograms import add_counts


def _forms() -> list:
    forms = [pytest.param(hk.count_in_bins.py, id="interpreted")]
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover
        return forms
    return [*forms, pytest.param(hk.count_in_bins.jit, id="compiled")]


def _hard_values(rng: np.random.Generator, first: float, last: float, n: int) -> np.ndarray:
    """Values spread over the range, every edge exactly, each edge's neighbours an ulp away,
    the ends, and values the counts must leave out."""
    edges = np.linspace(first, last, n + 1)
    spread = rng.uniform(first, last, 4000)
    near = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    out = [np.nan, np.inf, -np.inf, np.nextafter(first, -np.inf), np.nextafter(last, np.inf),
           first - 1.0, last + 1.0]
    return np.concatenate([spread, near, out])


@pytest.mark.parametrize("count", _forms())
@pytest.mark.parametrize(("first", "last", "n"), [
    (-1.0, 1.0, 7), (0.0, 1.0, 1), (0.1, 0.3, 1000), (-0.8731, 0.9127, 65536 * 3),
    (-3.0e5, 7.0, 13), (0.9999, 1.0, 4096), (-1e-300, 1e-300, 10)])
def test_the_counts_of_np_histogram(count, first, last, n):
    rng = np.random.default_rng([n, 7])
    values = _hard_values(rng, first, last, n)
    want = np.histogram(values[np.isfinite(values)], bins=n, range=(first, last))[0]
    got = np.zeros(n, dtype=np.int64)
    count(values, first, last, got)
    assert np.array_equal(got, want)
    got32 = np.zeros(n, dtype=np.int64)
    v32 = values.astype(np.float32)
    count(v32, first, last, got32)
    assert np.array_equal(got32, np.histogram(v32[np.isfinite(v32)].astype(np.float64),
                                               bins=n, range=(first, last))[0])


def test_counts_add_up_over_calls():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(40, 50))
    counts = np.zeros(100, dtype=np.int64)
    for rows in np.array_split(values, 7):
        add_counts(counts, rows, -5.0, 5.0, whole=values.size)
    assert np.array_equal(counts, np.histogram(values, bins=100, range=(-5.0, 5.0))[0])


@pytest.mark.parametrize("count", _forms())
def test_a_range_too_narrow_for_its_bins_still_counts_every_value(count):
    first = 0.9999999999999994
    values = np.array([first, 0.9999999999999996, 0.9999999999999998, 1.0, 1.0, 1.0])
    counts = np.zeros(2**16, dtype=np.int64)
    count(values, first, 1.0, counts)
    assert counts.sum() == values.size
    where = np.repeat(np.arange(counts.size), counts)  # the values' bins, in value order
    assert np.all(np.diff(where) >= 0) and where[0] <= 1 and where[-1] == counts.size - 1


def test_stats_on_positives_a_few_ulps_apart(monkeypatch):
    """The streamed statistics (many pairs) of a batch whose positive pairs are the same
    vectors up to rounding: exit 0 with the positive similarities' quantiles in [min, max],
    where np.histogram refused their range."""
    rng = np.random.default_rng(5)
    a = rng.normal(size=(40, 8))
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    p = a * (1 + 1e-15 * rng.normal(size=(40, 1)))
    monkeypatch.setattr(explore, "EXACT_PAIRS", 0)
    st = api.stats("clip", {"anchor": a, "positive": p}, bins=5)
    s_ap = next(r for r in st.records if r["stat"] == "s_ap")
    assert s_ap["count"] == 40 and s_ap["max"] - s_ap["min"] < 1e-14
    for q in ("p5", "p25", "p50", "p75", "p95"):
        assert s_ap["min"] <= s_ap[q] <= s_ap["max"]
    hist = next(r for r in st.records if r["stat"] == "histogram"
                and r["quantity"] == "positive similarity")
    assert sum(hist["counts"]["s_ap"]) == 40
