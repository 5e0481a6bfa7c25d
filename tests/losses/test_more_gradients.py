"""Gradients of LOSSES-MORE.md's losses (grad=True) against central finite differences.

Explicit forms: d loss_b / d (example b's own vectors, or a shared bank). In-batch forms (and
dcl's vmf weights, which couple the examples): d (sum of losses) / d each example's own
a_i and p_i, as LOSSES-MORE.md says.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import losscli
from tests import reference as ref
from tests.helpers import GRADIENT_ATOL, GRADIENT_RTOL, check_gradients, jacobian


def rng_for(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def batch(rng, B=3, K=3, D=4, shared=False, spread=1.0):
    a = rng.normal(size=(B, D))
    return {"anchor": a, "positive": a + spread * rng.normal(size=(B, D)),
            "negatives": rng.normal(size=(K, D) if shared else (B, K, D))}


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
@pytest.mark.parametrize("shared", [False, True])
def test_softmax_family_explicit(similarity, shared):
    rng = rng_for("softmax", similarity, shared)
    inputs = batch(rng, shared=shared)
    neg = "all" if shared else "own"
    modes = {"anchor": "own", "positive": "own", "negatives": neg}
    check_gradients("npair", inputs, modes, similarity=similarity)
    check_gradients("dcl", inputs, modes, similarity=similarity, temperature=0.5)
    check_gradients("hard-infonce", inputs, modes, similarity=similarity, temperature=0.7)
    check_gradients("hard-infonce", inputs, modes, similarity=similarity, temperature=0.7, beta=0.0,
          tau_plus=0.0)
    # vmf weights couple the examples through s(a_i, p_i): summed gradients for a and p.
    check_gradients("dcl", inputs, {"anchor": "sum", "positive": "sum", "negatives": neg},
          similarity=similarity, temperature=0.5, weighting="vmf", sigma=0.8)


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
@pytest.mark.parametrize("layout", ["positives", "shared", "positive"])
def test_supcon_and_multi_similarity(similarity, layout):
    rng = rng_for("supcon", similarity, layout)
    B, P, K, D = 3, 2, 3, 4
    a = rng.normal(size=(B, D))
    inputs = {"anchor": a, "negatives": rng.normal(size=(K, D))}
    if layout == "positive":
        inputs["positive"] = a + rng.normal(size=(B, D))
        pos_mode = "own"
    elif layout == "shared":
        inputs["positives"] = rng.normal(size=(P, D))
        pos_mode = "all"
    else:
        inputs["positives"] = a[:, None] + rng.normal(size=(B, P, D))
        pos_mode = "own"
    modes = {"anchor": "own", layout if layout != "shared" else "positives": pos_mode,
             "negatives": "all"}
    check_gradients("supcon", inputs, modes, similarity=similarity, temperature=0.6,
          base_temperature=0.4)
    check_gradients("multi-similarity", inputs, modes, similarity=similarity, beta=5.0, base=0.2)


def test_supcon_without_negatives_has_no_negatives_gradient():
    rng = rng_for("supcon-k0")
    inputs = {"anchor": rng.normal(size=(2, 3)), "positives": rng.normal(size=(2, 2, 3))}
    check_gradients("supcon", inputs, {"anchor": "own", "positives": "own"}, temperature=0.5)


@pytest.mark.parametrize("distance", ["euclidean", "sqeuclidean", "cosine"])
@pytest.mark.parametrize("shared", [False, True])
def test_distance_family(distance, shared):
    rng = rng_for("distance", distance, shared)
    inputs = batch(rng, shared=shared, spread=0.5)
    neg = "all" if shared else "own"
    modes = {"anchor": "own", "positive": "own", "negatives": neg}
    check_gradients("lifted-structure", inputs, modes, distance=distance, margin=2.0)
    check_gradients("lifted-structure", inputs, modes, distance=distance, margin=2.0,
          variant="generalized")
    # beta inside the distances' range keeps both kinds of hinge active on some terms.
    d = {"euclidean": 1.5, "sqeuclidean": 2.5, "cosine": 1.0}[distance]
    check_gradients("margin", inputs, modes, distance=distance, beta=d, margin=0.3)


def test_lifted_generalized_several_positives():
    rng = rng_for("lifted-positives")
    a = rng.normal(size=(2, 3))
    inputs = {"anchor": a, "positives": a[:, None] + 0.5 * rng.normal(size=(2, 3, 3)),
              "negatives": rng.normal(size=(2, 2, 3))}
    check_gradients("lifted-structure", inputs, {"anchor": "own", "positives": "own",
                                       "negatives": "own"}, variant="generalized", margin=2.0)


def test_circle_with_alpha_held_fixed():
    rng = rng_for("circle")
    B, P, K, D = 2, 2, 3, 4
    a = rng.normal(size=(B, D))
    inputs = {"anchor": a, "positives": a[:, None] + 0.8 * rng.normal(size=(B, P, D)),
              "negatives": rng.normal(size=(B, K, D))}
    r = losscli.evaluate("circle", inputs, grad=True, gamma=4.0, margin=0.3)
    alpha = r.terms.columns["alpha"]

    def fixed(arrays, b):
        return ref.circle(arrays["anchor"][b].tolist(), arrays["positives"][b].tolist(),
                          arrays["negatives"][b].tolist(), 0.3, 4.0,
                          (alpha[b, :P].tolist(), alpha[b, P:].tolist()))

    for role in ("anchor", "positives", "negatives"):
        for b in range(B):
            jac = jacobian(lambda arrays, b=b: np.array([fixed(arrays, b)]), inputs, role)
            np.testing.assert_allclose(r.gradients[role][b], jac[0, b], rtol=GRADIENT_RTOL,
                                       atol=GRADIENT_ATOL)


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_in_batch_forms_sum_gradients(similarity):
    rng = rng_for("in-batch", similarity)
    B, D = 3, 4
    a = rng.normal(size=(B, D))
    inputs = {"anchor": a, "positive": a + 0.7 * rng.normal(size=(B, D))}
    modes = {"anchor": "sum", "positive": "sum"}
    check_gradients("ntxent-batch", inputs, modes, similarity=similarity, temperature=0.5)
    check_gradients("clip", inputs, modes, similarity=similarity, temperature=0.5)
    check_gradients("npair", inputs, modes, similarity=similarity)
    check_gradients("siglip", inputs, modes, similarity=similarity, scale=3.0, bias=-1.0)
    for weighting in ("none", "vmf"):
        check_gradients("dcl", inputs, modes, similarity=similarity, temperature=0.5,
              weighting=weighting)
    check_gradients("hard-infonce", inputs, modes, similarity=similarity, temperature=0.6, beta=1.5,
          tau_plus=0.1)


def test_pair_losses():
    rng = rng_for("pairs")
    B, D = 4, 3
    inputs = {"x1": rng.normal(size=(B, D)), "x2": rng.normal(size=(B, D)),
              "label": np.array([1.0, -1.0, -1.0, 1.0])}
    modes = {"x1": "own", "x2": "own"}
    check_gradients("cosine-embedding", inputs, modes, margin=-0.9)
    for distance in ("euclidean", "sqeuclidean", "cosine"):
        check_gradients("hinge-embedding", inputs, modes, distance=distance, margin=3.0)
    values = {"x1": np.array([0.5, 0.3, 1.4, 2.0]), "label": inputs["label"]}
    check_gradients("hinge-embedding", values, {"x1": "own"})
    scores = {"x1": np.array([0.3, 0.9, 0.5, 0.1]), "x2": np.array([0.5, 0.2, 0.1, 0.4]),
              "label": inputs["label"]}
    check_gradients("margin-ranking", scores, modes, margin=0.5)


def test_gradient_shapes_follow_the_roles():
    rng = rng_for("shapes")
    inputs = {"anchor": rng.normal(size=(3, 4)), "positives": rng.normal(size=(2, 4)),
              "negatives": rng.normal(size=(5, 4))}
    g = losscli.evaluate("supcon", inputs, grad=True).gradients
    assert g["anchor"].shape == (3, 4)
    assert g["positives"].shape == (3, 2, 4)  # a shared bank: per example
    assert g["negatives"].shape == (3, 5, 4)
    assert losscli.evaluate("supcon", inputs).gradients is None


# ---------------------------------------------------------------- defined at kinks, zeros


def test_zero_vectors_under_cosine_get_zero_gradient():
    inputs = {"anchor": [[1.0, 0.0], [0.0, 0.0]], "positive": [[0.0, 0.0], [0.6, 0.8]],
              "negatives": [[0.0, 0.0], [0.0, 1.0]]}
    for name in ("supcon", "npair", "dcl", "hard-infonce", "multi-similarity", "circle"):
        kwargs = {} if name == "circle" else {"similarity": "cosine"}
        r = losscli.evaluate(name, inputs, grad=True, **kwargs)
        assert any("zero vector" in w for w in r.warnings)
        for role, g in r.gradients.items():
            assert np.isfinite(g).all(), (name, role)
        assert not r.gradients["anchor"][1].any()
        assert not r.gradients["negatives"][:, 0].any()


def test_hinge_kinks_and_zero_distance_give_zero_subgradients():
    g = losscli.evaluate("margin-ranking", {"x1": [0.5], "x2": [0.5], "label": [1]},
                         grad=True).gradients
    assert g["x1"].tolist() == [0.0] and g["x2"].tolist() == [0.0]
    g = losscli.evaluate("hinge-embedding", {"x1": [1.0], "label": [-1]}, grad=True).gradients
    assert g["x1"].tolist() == [0.0]
    g = losscli.evaluate("hinge-embedding", {"x1": [[1.0, 2.0]], "x2": [[1.0, 2.0]],
                                             "label": [1]}, grad=True).gradients
    assert g["x1"].tolist() == [[0.0, 0.0]]
    g = losscli.evaluate("cosine-embedding", {"x1": [[1.0, 0.0]], "x2": [[0.0, 1.0]],
                                              "label": [-1]}, grad=True).gradients
    assert not g["x1"].any()  # c = m = 0: the kink
    r = losscli.evaluate("margin", {"anchor": [1.0, 0.0], "positive": [1.0, 0.0],
                                    "negatives": [[1.0, 0.0]]}, grad=True)
    for arr in r.gradients.values():
        assert np.isfinite(arr).all()


def test_hard_infonce_floor_binding_zeroes_negatives():
    inputs = {"anchor": [[1.0, 0.0]], "positive": [[0.6, 0.8]], "negatives": [[-2.0, 0.0]]}
    params = {"similarity": "dot", "temperature": 0.5, "beta": 0.0, "tau_plus": 0.0}
    g = check_gradients("hard-infonce", inputs,
                        {"anchor": "own", "positive": "own", "negatives": "all"}, **params)
    assert not g["negatives"].any()
