"""Every loss against LOSSES.md's golden values and a plain float64 reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import losscli
from tests import reference as ref
from tests.helpers import assert_close

A = [-0.83483301, -0.16904167, 0.52390721]
P = [-0.83455951, -0.16862266, 0.52447767]
FAR = [[0.53043332, -0.83523217, -0.14500935], [0.68285685, -0.73054075, 0.00409143],
       [0.76652431, 0.61500886, 0.18494479]]
SEED1 = {"anchor": A, "positive": P,
         "negatives": [[0.70374682, -0.18682394, -0.68544673],
                       [0.15465702, 0.32303224, 0.93366556]] + FAR}
SEED2 = {"anchor": A, "positive": P, "negatives": [P, P] + FAR}
UNIT = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}


# ---------------------------------------------------------------- golden values (LOSSES.md)


def test_seed_example_1_to_12_digits(jit_mode):
    r = losscli.evaluate("infonce", SEED1)
    assert_close(r.value, 4.9068650660199903e-05, rel=1e-12)


def test_naive_formula_would_fail_the_seed_bar():
    """The bar is meaningful: the seed's naive exp/sum code is off in the 12th digit."""
    naive = 4.9068650660314756e-05
    assert not math.isclose(naive, 4.9068650660199903e-05, rel_tol=1e-12)


def test_seed_example_2(jit_mode):
    assert_close(losscli.evaluate("infonce", SEED2).value, 1.09861228999852746)


def test_infonce_cosine_golden(jit_mode):
    r = losscli.evaluate("infonce", {"anchor": [1, 0], "positive": [0.6, 0.8],
                                     "negatives": [[0.8, 0.6], [0, 1]]}, similarity="cosine")
    assert_close(r.value, 2.912997059197858)
    cols = r.terms.columns
    np.testing.assert_allclose(cols["logit"][0], [8.5714, 11.4286, 0], atol=1e-4)
    np.testing.assert_allclose(cols["probability"][0], [0.054313, 0.945677, 0.000010],
                               atol=1e-6)


def test_contrastive_golden(jit_mode):
    r = losscli.evaluate("contrastive", UNIT)
    assert_close(r.value, 0.23377223398316212)
    assert_close(r.terms.columns["term"][0].tolist(), [0.4000000000000001, 0.06754446796632413])
    assert r.terms.columns["kind"][0].tolist() == ["similar", "dissimilar"]
    assert r.terms.columns["active"][0].tolist() == [True, True]


def test_triplet_golden(jit_mode):
    r = losscli.evaluate("triplet", UNIT, margin=1.0)
    assert_close(r.value, 1.2619716589662402)
    assert_close(float(r.terms.columns["d_ap"][0, 0]), 0.894427190999916)
    assert_close(float(r.terms.columns["d_an"][0, 0]), 0.6324555320336759)
    assert r.terms.columns["regime"][0, 0] == "hard"


def test_quadruplet_golden(jit_mode):
    r = losscli.evaluate("quadruplet", {**UNIT, "negatives2": [[0, 1]]})
    assert_close(r.value, 1.9)
    cols = r.terms.columns
    assert_close([float(cols[c][0, 0]) for c in ("d_ap", "d_an", "d_nn")], [0.8, 0.4, 0.8])
    assert_close([float(cols["triplet_term"][0, 0]), float(cols["pair_term"][0, 0])], [1.4, 0.5])
    assert r.params["pairing"] == "given"


def test_softmax_ce_golden(jit_mode):
    r = losscli.evaluate("softmax-ce", {"logits": [2, 1, 0.1], "target": 0})
    assert_close(r.value, 0.4170300162778335)
    np.testing.assert_allclose(r.terms.columns["probability"][0],
                               [0.659001, 0.242433, 0.098566], atol=1e-6)
    smoothed = losscli.evaluate("softmax-ce", {"logits": [2, 1, 0.1], "target": 0},
                                label_smoothing=0.1)
    assert_close(smoothed.value, 0.5136966829445004)


def test_aliases_resolve_to_the_same_loss():
    assert losscli.evaluate("ntxent", SEED1).loss == "infonce"
    assert losscli.evaluate("cross-entropy", {"logits": [2, 1, 0.1], "target": 0}).loss \
        == "softmax-ce"


# ---------------------------------------------------------------- random inputs vs reference

RNG = np.random.default_rng(1234)


def embedding_case(B, K, D, layout, rng=RNG):
    """(inputs dict, list of per-example (a, p, negatives) as lists)."""
    if B is None:
        a, p = rng.normal(size=D), rng.normal(size=D)
        n = rng.normal(size=(K, D))
        return {"anchor": a, "positive": p, "negatives": n}, [(a.tolist(), p.tolist(),
                                                               n.tolist())]
    a, p = rng.normal(size=(B, D)), rng.normal(size=(B, D))
    n = rng.normal(size=(K, D)) if layout == "shared" else rng.normal(size=(B, K, D))
    per = [(a[b].tolist(), p[b].tolist(), (n if layout == "shared" else n[b]).tolist())
           for b in range(B)]
    return {"anchor": a, "positive": p, "negatives": n}, per


SHAPES = [(None, 3, 4, "shared"), (1, 1, 3, "shared"), (3, 4, 5, "shared"),
          (3, 4, 5, "per-anchor"), (4, 2, 2, "per-anchor")]
REDUCTIONS = ["mean", "sum", "none"]


def check(result, expected_per_example, reduction, scale=1.0):
    assert_close(result.per_example.tolist(), expected_per_example, scale=scale)
    assert_close(result.value, ref.reduce(expected_per_example, reduction), scale=scale)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("params", [{"temperature": 0.07}, {"temperature": 0.5},
                                    {"temperature": 2.0, "similarity": "cosine"},
                                    {"temperature": 0.1, "similarity": "cosine"}], ids=str)
def test_infonce_matches_reference(jit_mode, shape, reduction, params):
    inputs, per = embedding_case(*shape)
    r = losscli.evaluate("infonce", inputs, reduction=reduction, **params)
    expected = [ref.infonce(a, p, n, params["temperature"], params.get("similarity", "dot"))
                for a, p, n in per]
    check(r, expected, reduction, scale=100.0)
    np.testing.assert_allclose(r.terms.columns["probability"].sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin,distance", list(itertools.product(
    [0.5, 3.0], ["euclidean", "sqeuclidean", "cosine"])))
def test_contrastive_matches_reference(jit_mode, shape, reduction, margin, distance):
    inputs, per = embedding_case(*shape)
    r = losscli.evaluate("contrastive", inputs, reduction=reduction, margin=margin,
                         distance=distance)
    expected = [ref.contrastive(a, p, n, margin, distance) for a, p, n in per]
    check(r, expected, reduction, scale=100.0)


TRIPLET_OPTIONS = [
    {}, {"margin": 0.3, "distance": "sqeuclidean"}, {"distance": "cosine", "margin": 0.2},
    {"negatives_reduction": "sum"}, {"negatives_reduction": "max"},
    {"negatives_reduction": "mean-active", "margin": 0.5}, {"swap": True},
    {"soft": True}, {"soft": True, "negatives_reduction": "max", "distance": "cosine"},
    {"swap": True, "distance": "sqeuclidean", "negatives_reduction": "mean-active"},
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", TRIPLET_OPTIONS, ids=str)
def test_triplet_matches_reference(jit_mode, shape, reduction, options):
    inputs, per = embedding_case(*shape)
    r = losscli.evaluate("triplet", inputs, reduction=reduction, **options)
    kw = dict(options)
    if "distance" in kw:
        kw["distance_kind"] = kw.pop("distance")
    expected = [ref.triplet(a, p, n, **kw) for a, p, n in per]
    check(r, expected, reduction, scale=100.0)


@pytest.mark.parametrize("shape", [s for s in SHAPES if s[1] >= 2], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("distance", ["sqeuclidean", "euclidean", "cosine"])
@pytest.mark.parametrize("partners", ["rolled", "shared", "per-anchor"])
def test_quadruplet_matches_reference(jit_mode, shape, reduction, distance, partners):
    inputs, per = embedding_case(*shape)
    B, K, D, _ = shape
    n2 = None
    if partners == "shared" or (partners == "per-anchor" and B is None):
        n2 = RNG.normal(size=(K, D))
        inputs["negatives2"] = n2
        n2s = [n2.tolist()] * len(per)
    elif partners == "per-anchor":
        n2 = RNG.normal(size=(B, K, D))
        inputs["negatives2"] = n2
        n2s = [n2[b].tolist() for b in range(B)]
    r = losscli.evaluate("quadruplet", inputs, reduction=reduction, distance=distance,
                         margin=2.0, margin2=1.5)
    expected = [ref.quadruplet(a, p, n, None if n2 is None else n2s[i], 2.0, 1.5, distance)
                for i, (a, p, n) in enumerate(per)]
    check(r, expected, reduction, scale=100.0)
    assert r.params["pairing"] == ("rolled" if n2 is None else "given")


@pytest.mark.parametrize("B,C", [(1, 3), (5, 4), (8, 2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.2}, {"weight": True},
                                     {"weight": True, "label_smoothing": 0.1},
                                     {"ignore_index": 1}, {"ignore_index": -100},
                                     {"probabilities": True},
                                     {"probabilities": True, "weight": True,
                                      "label_smoothing": 0.3}], ids=str)
def test_softmax_ce_matches_reference(jit_mode, B, C, reduction, options):
    rng = np.random.default_rng(B * 10 + C)
    logits = rng.normal(scale=3.0, size=(B, C))
    if options.get("probabilities"):
        t = rng.random(size=(B, C))
        t /= t.sum(axis=1, keepdims=True)
        targets = t.tolist()
    else:
        t = rng.integers(0, C, size=B)
        t[0] = 1 if C > 1 else 0  # at least one example hits the ignored class
        if options.get("ignore_index") == -100 and B > 1:
            t[-1] = -100
        targets = [int(v) for v in t]
    weight = rng.uniform(0.5, 2.0, size=C) if options.get("weight") else None
    inputs = {"logits": logits, "target": t}
    if weight is not None:
        inputs["weight"] = weight
    params = {k: v for k, v in options.items() if k in ("label_smoothing", "ignore_index")}
    if options.get("ignore_index") == 1 and all(v == 1 for v in targets):
        if reduction == "mean":  # nothing left to average
            with pytest.raises(losscli.LossCliError, match="nothing"):
                losscli.evaluate("softmax-ce", inputs, reduction=reduction, **params)
            return
        r = losscli.evaluate("softmax-ce", inputs, reduction=reduction, **params)
        assert r.value == (0.0 if reduction == "sum" else [0.0] * B)
        return
    r = losscli.evaluate("softmax-ce", inputs, reduction=reduction, **params)
    expected_per = ref.softmax_ce(logits.tolist(), targets,
                                  None if weight is None else weight.tolist(),
                                  params.get("label_smoothing", 0.0),
                                  params.get("ignore_index"), "none")
    assert_close(r.per_example.tolist(), expected_per, scale=10.0)
    expected = ref.softmax_ce(logits.tolist(), targets,
                              None if weight is None else weight.tolist(),
                              params.get("label_smoothing", 0.0), params.get("ignore_index"),
                              reduction)
    assert_close(r.value, expected, scale=10.0)
    grad = r.terms.columns["gradient"]
    if r.ignored is not None:
        assert not grad[r.ignored].any()


def test_softmax_ce_gradient_column_is_the_logit_derivative():
    rng = np.random.default_rng(7)
    x = rng.normal(size=5)
    w = rng.uniform(0.5, 2, size=5)
    r = losscli.evaluate("softmax-ce", {"logits": x, "target": 2, "weight": w},
                         label_smoothing=0.1)
    h = 1e-6
    for c in range(5):
        up, down = x.copy(), x.copy()
        up[c] += h
        down[c] -= h
        fd = (ref.softmax_ce_example(up.tolist(), 2, w.tolist(), 0.1)
              - ref.softmax_ce_example(down.tolist(), 2, w.tolist(), 0.1)) / (2 * h)
        assert math.isclose(r.terms.columns["gradient"][0, c], fd, rel_tol=1e-6, abs_tol=1e-9)


def test_infonce_gradient_column_is_p_minus_onehot(jit_mode):
    r = losscli.evaluate("infonce", SEED1)
    p = r.terms.columns["probability"][0]
    g = r.terms.columns["gradient"][0]
    np.testing.assert_allclose(g[1:], p[1:], rtol=1e-15)
    # p_0 - 1 computed without cancellation: equals minus the negatives' share
    assert_close(float(g[0]), -float(p[1:].sum()), rel=1e-12)


# ---------------------------------------------------------------- edges that must stay defined


def test_infonce_without_negatives_is_zero_with_a_warning(jit_mode):
    r = losscli.evaluate("infonce", {"anchor": [1.0, 2.0], "positive": [0.5, 0.1]})
    assert r.value == 0.0
    assert any("K = 0" in w for w in r.warnings)
    empty = losscli.evaluate("infonce", {"anchor": [[1.0, 2.0]], "positive": [[0.5, 0.1]],
                                         "negatives": np.zeros((1, 0, 2))})
    assert empty.value == 0.0


def test_infonce_extreme_logits_stay_finite(jit_mode):
    """Logits of 1e300 / 1e-3 overflow; the loss (a difference) must not."""
    r = losscli.evaluate("infonce", {"anchor": [1e150, 0.0], "positive": [1e150, 0.0],
                                     "negatives": [[0.99e150, 0.0]]}, temperature=1e-3)
    assert r.value == 0.0 or math.isfinite(r.value)


def test_cosine_zero_vector_is_defined_and_warned(jit_mode):
    r = losscli.evaluate("triplet", {"anchor": [0.0, 0.0], "positive": [1.0, 0.0],
                                     "negatives": [[0.0, 1.0]]}, distance="cosine")
    assert math.isfinite(r.value)
    assert_close(r.value, 1.0)  # both cosines are 0: d_ap = d_an = 1, term = m
    assert any("zero vector" in w for w in r.warnings)


def test_cosine_is_exact_for_huge_and_tiny_norms(jit_mode):
    for scale in (1e-200, 1e200):
        r = losscli.evaluate("infonce", {"anchor": [scale, 0.0], "positive": [scale, scale],
                                         "negatives": [[0.0, scale]]}, similarity="cosine",
                             temperature=1.0)
        sims = r.terms.columns["similarity"][0]
        np.testing.assert_allclose(sims, [math.sqrt(0.5), 0.0], rtol=1e-15, atol=1e-16)


def test_euclidean_distance_does_not_overflow_or_underflow(jit_mode):
    for scale in (1e-170, 1e170):
        r = losscli.evaluate("triplet", {"anchor": [0.0, 0.0], "positive": [3 * scale, 0.0],
                                         "negatives": [[0.0, 4 * scale]]}, margin=0.0)
        assert_close(float(r.terms.columns["d_ap"][0, 0]), 3 * scale, scale=scale)
        assert_close(float(r.terms.columns["d_an"][0, 0]), 4 * scale, scale=scale)


def test_mean_active_with_no_active_term_is_zero(jit_mode):
    r = losscli.evaluate("triplet", {"anchor": [0.0, 0.0], "positive": [0.1, 0.0],
                                     "negatives": [[5.0, 0.0], [0.0, 5.0]]},
                         negatives_reduction="mean-active")
    assert r.value == 0.0


def test_nonfinite_result_is_null_with_a_warning(jit_mode):
    r = losscli.evaluate("contrastive", {"anchor": [1e308, -1e308], "positive": [-1e308, 1e308],
                                         "negatives": [[0.0, 0.0]]}, distance="sqeuclidean")
    assert not r.finite
    assert any("not finite" in w for w in r.warnings)
