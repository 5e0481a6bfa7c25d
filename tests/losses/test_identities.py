"""The reductions LOSSES-MORE.md says must coincide, checked as properties on random inputs."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import losscli
from tests.helpers import assert_close

REL = 1e-10

shapes = st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(2, 6))  # B, K, D
seeds = st.integers(0, 2**32 - 1)
temperatures = st.floats(0.05, 2.0)


def draw(seed, B, K, D, shared=False):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(B, D))
    return {"anchor": a, "positive": a + rng.normal(size=(B, D)),
            "negatives": rng.normal(size=(K, D) if shared else (B, K, D))}


@settings(max_examples=40, deadline=None)
@given(shapes, seeds, temperatures, st.sampled_from(["cosine", "dot"]), st.booleans())
def test_supcon_with_one_positive_is_infonce(shape, seed, t, similarity, shared):
    inputs = draw(seed, *shape, shared=shared)
    s = losscli.evaluate("supcon", inputs, temperature=t, similarity=similarity)
    i = losscli.evaluate("infonce", inputs, temperature=t, similarity=similarity)
    assert_close(s.per_example, i.per_example, REL)
    # as `positives` with P = 1 too
    as_bank = dict(inputs, positives=inputs["positive"][:, None, :])
    del as_bank["positive"]
    s = losscli.evaluate("supcon", as_bank, temperature=t, similarity=similarity)
    assert_close(s.per_example, i.per_example, REL)


@settings(max_examples=40, deadline=None)
@given(shapes, seeds, temperatures, st.booleans())
def test_hard_infonce_at_beta_0_tau_0_is_infonce_with_cosine(shape, seed, t, shared):
    inputs = draw(seed, *shape, shared=shared)
    h = losscli.evaluate("hard-infonce", inputs, temperature=t, beta=0.0, tau_plus=0.0)
    i = losscli.evaluate("infonce", inputs, temperature=t, similarity="cosine")
    assert not h.terms.columns["floor_binds"].any()  # never with cosine
    assert_close(h.per_example, i.per_example, REL)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 5), st.integers(2, 6), seeds, temperatures)
def test_hard_infonce_two_view_at_beta_0_tau_0_is_ntxent_batch(B, D, seed, t):
    inputs = draw(seed, B, 1, D)
    del inputs["negatives"]
    h = losscli.evaluate("hard-infonce", inputs, temperature=t, beta=0.0, tau_plus=0.0)
    n = losscli.evaluate("ntxent-batch", inputs, temperature=t)
    assert_close(h.per_example, n.per_example, REL)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), seeds, temperatures,
       st.sampled_from(["cosine", "dot"]))
def test_clip_rows_and_columns_are_infonce_over_in_batch_negatives(B, D, seed, t, similarity):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(B, D))
    P = A + rng.normal(size=(B, D))
    r = losscli.evaluate("clip", {"anchor": A, "positive": P}, temperature=t,
                         similarity=similarity)
    others = [[j for j in range(B) if j != i] for i in range(B)]
    rows = [losscli.evaluate("infonce", {"anchor": A[i], "positive": P[i],
                                         "negatives": P[others[i]]},
                             temperature=t, similarity=similarity).value for i in range(B)]
    cols = [losscli.evaluate("infonce", {"anchor": P[i], "positive": A[i],
                                         "negatives": A[others[i]]},
                             temperature=t, similarity=similarity).value for i in range(B)]
    assert_close(r.per_example, [(x + y) / 2 for x, y in zip(rows, cols, strict=True)], REL)
    # and each direction's own probability in the breakdown is e^{-row loss}
    prob, direction, j = (r.terms.columns[k] for k in ("probability", "direction", "j"))
    for i in range(B):
        own = prob[i][(direction[i] == "a->p") & (j[i] == i)][0]
        assert math.isclose(-math.log(own), rows[i], rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=30, deadline=None)
@given(shapes, seeds, st.sampled_from(["cosine", "dot"]))
def test_npair_is_infonce_at_temperature_1(shape, seed, similarity):
    inputs = draw(seed, *shape)
    n = losscli.evaluate("npair", inputs, similarity=similarity)
    i = losscli.evaluate("infonce", inputs, temperature=1.0, similarity=similarity)
    assert_close(n.per_example, i.per_example, REL)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 5), st.integers(2, 6), seeds, temperatures)
def test_ntxent_batch_is_the_mean_of_two_views_infonce(B, D, seed, t):
    rng = np.random.default_rng(seed)
    A, P = rng.normal(size=(B, D)), rng.normal(size=(B, D))
    r = losscli.evaluate("ntxent-batch", {"anchor": A, "positive": P}, temperature=t)
    Z = np.concatenate([A, P])
    for i in range(B):
        views = []
        for v, partner in ((i, B + i), (B + i, i)):
            negs = Z[[u for u in range(2 * B) if u not in (v, partner)]]
            views.append(losscli.evaluate("infonce", {"anchor": Z[v], "positive": Z[partner],
                                                      "negatives": negs}, temperature=t,
                                          similarity="cosine").value)
        assert_close(r.per_example[i], sum(views) / 2, REL)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(2, 6), seeds)
def test_siglip_total_is_symmetric_in_anchor_and_positive(B, D, seed):
    rng = np.random.default_rng(seed)
    A, P = rng.normal(size=(B, D)), rng.normal(size=(B, D))
    ap = losscli.evaluate("siglip", {"anchor": A, "positive": P}, reduction="sum")
    pa = losscli.evaluate("siglip", {"anchor": P, "positive": A}, reduction="sum")
    assert_close(ap.value, pa.value, REL)


@settings(max_examples=30, deadline=None)
@given(shapes, seeds)
def test_dcl_vmf_weights_have_mean_one(shape, seed):
    inputs = draw(seed, *shape)
    r = losscli.evaluate("dcl", inputs, weighting="vmf")
    assert_close(np.mean(r.terms.columns["weight"][:, 0]), 1.0, REL)


@settings(max_examples=30, deadline=None)
@given(shapes, seeds)
def test_dcl_differs_from_infonce_by_the_positive_in_the_denominator(shape, seed):
    # infonce = LSE([v0, v]) - v0 = log(1 + e^{LSE(v) - v0}) = softplus(dcl), with w = 1.
    inputs = draw(seed, *shape)
    d = losscli.evaluate("dcl", inputs, temperature=0.3)
    i = losscli.evaluate("infonce", inputs, temperature=0.3, similarity="cosine")
    softplus = np.logaddexp(0.0, d.per_example)
    assert_close(softplus, i.per_example, 1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), seeds, st.floats(0.0, 1.0))
def test_margin_ranking_is_symmetric_under_swapping_and_flipping(B, seed, m):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=B), rng.normal(size=B)
    y = rng.choice([-1.0, 1.0], size=B)
    r1 = losscli.evaluate("margin-ranking", {"x1": x1, "x2": x2, "label": y}, margin=m)
    r2 = losscli.evaluate("margin-ranking", {"x1": x2, "x2": x1, "label": -y}, margin=m)
    assert_close(r1.per_example, r2.per_example, REL)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(2, 5), seeds)
def test_hinge_embedding_on_vectors_is_hinge_embedding_on_their_distances(B, D, seed):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(B, D)), rng.normal(size=(B, D))
    y = rng.choice([-1.0, 1.0], size=B)
    v = losscli.evaluate("hinge-embedding", {"x1": x1, "x2": x2, "label": y}, margin=2.0)
    d = np.linalg.norm(x1 - x2, axis=1)
    s = losscli.evaluate("hinge-embedding", {"x1": d, "label": y}, margin=2.0)
    assert_close(v.per_example, s.per_example, 1e-12, scale=2.0)
