"""`--grad`: analytic gradients equal central finite differences away from kinks, and are
defined (0, never NaN) at kinks, at zero distance and for zero vectors.

The finite differences perturb one input entry at a time and evaluate the loss again through
losscli.evaluate (so they use the forward kernels, not the gradient kernels).
"""

from __future__ import annotations

import numpy as np
import pytest

import losscli
from tests.helpers import jacobian, own_rows, per_example_of

STEP = 1e-6
RTOL = 1e-6


def numeric(name: str, inputs: dict, role: str, **params) -> np.ndarray:
    """d loss_b / d inputs[role], per example, by central differences: shaped as the
    gradients dict (B, D), (B, K, D) (a shared bank (K, D) gives (B, K, D)), or (B, C)."""
    out = jacobian(per_example_of(name, reduction="none", **params), inputs, role, h=STEP,
                   relative=False)
    x = np.asarray(inputs[role])
    if x.ndim == 2 and role in ("negatives", "negatives2") or x.ndim == 1:
        return out  # shared by every example: each example's own derivative
    return own_rows(out)


def assert_matches(name: str, inputs: dict, roles: tuple[str, ...], **params) -> None:
    result = losscli.evaluate(name, inputs, grad=True, reduction="none", **params)
    assert set(result.gradients) >= set(roles)
    for role in roles:
        got = result.gradients[role]
        want = numeric(name, inputs, role, **params)
        assert got.shape == want.shape, role
        scale = np.max(np.abs(want))
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=role)


def embedding(seed: int, B: int = 2, K: int = 3, D: int = 4, shared: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    return {"anchor": rng.normal(size=(B, D)), "positive": rng.normal(size=(B, D)),
            "negatives": rng.normal(size=(K, D) if shared else (B, K, D))}


EMBEDDING_ROLES = ("anchor", "positive", "negatives")


@pytest.mark.parametrize("similarity", ["dot", "cosine"])
@pytest.mark.parametrize("shared", [False, True])
def test_infonce(similarity: str, shared: bool) -> None:
    assert_matches("infonce", embedding(1, shared=shared), EMBEDDING_ROLES,
                   similarity=similarity, temperature=0.5)


def test_infonce_dot_closed_form() -> None:
    """LOSSES.md: dL/dn_k = p_k a / t; dL/dp = (p_0 - 1) a / t;
    dL/da = (sum_k p_k n_k + (p_0 - 1) p) / t."""
    inputs = embedding(2, B=1)
    t = 0.3
    r = losscli.evaluate("infonce", inputs, grad=True, temperature=t)
    prob = r.terms.columns["probability"][0]
    a, p, n = inputs["anchor"][0], inputs["positive"][0], inputs["negatives"][0]
    np.testing.assert_allclose(r.gradients["negatives"][0], prob[1:, None] * a / t, rtol=1e-12)
    np.testing.assert_allclose(r.gradients["positive"][0], (prob[0] - 1) * a / t, rtol=1e-12)
    np.testing.assert_allclose(r.gradients["anchor"][0],
                               (prob[1:] @ n + (prob[0] - 1) * p) / t, rtol=1e-12)


@pytest.mark.parametrize("distance", ["euclidean", "sqeuclidean", "cosine"])
def test_contrastive(distance: str) -> None:
    # a margin that keeps some dissimilar pairs active and some not
    assert_matches("contrastive", embedding(3), EMBEDDING_ROLES, distance=distance,
                   margin={"euclidean": 2.5, "sqeuclidean": 6.0, "cosine": 1.0}[distance])


@pytest.mark.parametrize("distance", ["euclidean", "sqeuclidean", "cosine"])
@pytest.mark.parametrize("options", [
    {}, {"swap": True}, {"soft": True}, {"soft": True, "swap": True},
    {"negatives_reduction": "sum"}, {"negatives_reduction": "max"},
    {"negatives_reduction": "mean-active"},
])
def test_triplet(distance: str, options: dict) -> None:
    margin = {"euclidean": 1.0, "sqeuclidean": 3.0, "cosine": 0.5}[distance]
    assert_matches("triplet", embedding(4, B=3, K=4), EMBEDDING_ROLES, distance=distance,
                   margin=margin, **options)


def test_triplet_shared_bank_gradient_is_per_example() -> None:
    assert_matches("triplet", embedding(5, shared=True), EMBEDDING_ROLES, margin=2.0)


@pytest.mark.parametrize("distance", ["euclidean", "sqeuclidean", "cosine"])
def test_quadruplet_given_and_rolled(distance: str) -> None:
    inputs = embedding(6, B=2, K=3)
    margins = {"euclidean": (2.0, 1.5), "sqeuclidean": (5.0, 4.0), "cosine": (1.0, 0.8)}
    m1, m2 = margins[distance]
    assert_matches("quadruplet", inputs, EMBEDDING_ROLES, distance=distance, margin=m1,
                   margin2=m2)  # rolled: n2_k is the next negative
    inputs["negatives2"] = np.random.default_rng(7).normal(size=(3, 4))
    assert_matches("quadruplet", inputs, EMBEDDING_ROLES + ("negatives2",), distance=distance,
                   margin=m1, margin2=m2)


@pytest.mark.parametrize("target", ["index", "probabilities"])
def test_softmax_ce(target: str) -> None:
    rng = np.random.default_rng(8)
    inputs = {"logits": rng.normal(size=(3, 4)),
              "target": [0, 3, 1] if target == "index" else rng.dirichlet(np.ones(4), 3),
              "weight": [0.5, 1.0, 2.0, 1.5]}
    assert_matches("softmax-ce", inputs, ("logits",), label_smoothing=0.1)


@pytest.mark.parametrize("like", ["torch", "pytorch-metric-learning", "sentence-transformers",
                                  "tf-addons"])
def test_contrastive_under_library_conventions(like: str) -> None:
    params = {"margin": 3.0} if like != "pytorch-metric-learning" else {"margin": 1.2}
    if like == "sentence-transformers":
        params["distance"] = "euclidean"
    assert_matches("contrastive", embedding(9), EMBEDDING_ROLES, like=like, **params)


@pytest.mark.parametrize("like,options", [
    ("torch", {"swap": True}), ("pytorch-metric-learning", {"soft": True}),
    ("pytorch-metric-learning", {"margin": 0.5}), ("sentence-transformers", {}),
    ("tf-addons", {}), ("optax", {}),
])
def test_triplet_under_library_conventions(like: str, options: dict) -> None:
    assert_matches("triplet", embedding(10, B=2, K=3), EMBEDDING_ROLES, like=like, **options)


@pytest.mark.parametrize("like", ["pytorch-metric-learning", "optax"])
def test_infonce_under_library_conventions(like: str) -> None:
    assert_matches("infonce", embedding(11), EMBEDDING_ROLES, like=like, temperature=0.4)


def test_infonce_in_batch_gradient_is_of_the_summed_loss() -> None:
    """sentence-transformers' in-batch form: every positive and negative serves every
    anchor, so the gradients are those of the sum of the per-example losses."""
    inputs = embedding(12, B=3, K=2)
    r = losscli.evaluate("infonce", inputs, grad=True, like="sentence-transformers",
                         temperature=0.5)
    def total(arrays: dict) -> np.ndarray:
        return np.array([losscli.evaluate("infonce", arrays, reduction="sum",
                                          like="sentence-transformers", temperature=0.5).value])

    for role in EMBEDDING_ROLES:
        want = jacobian(total, inputs, role, h=STEP, relative=False)[0]
        np.testing.assert_allclose(r.gradients[role], want, rtol=RTOL,
                                   atol=RTOL * np.abs(want).max())


def test_keras_probability_inputs() -> None:
    rng = np.random.default_rng(13)
    inputs = {"logits": rng.dirichlet(np.ones(4), 2), "target": rng.dirichlet(np.ones(4), 2)}
    assert_matches("softmax-ce", inputs, ("logits",), like="tf-addons")


# ------------------------------------------------------------------ defined at the kinks
def finite_everywhere(result: losscli.Result) -> None:
    for role, g in result.gradients.items():
        assert np.isfinite(g).all(), role


@pytest.mark.parametrize("distance", ["euclidean", "sqeuclidean", "cosine"])
def test_zero_distance_gives_zero_not_nan(distance: str) -> None:
    x = np.array([0.3, -0.4, 1.2])
    inputs = {"anchor": x, "positive": x.copy(), "negatives": np.stack([x, x + 1])}
    for name in ("contrastive", "triplet", "quadruplet"):
        r = losscli.evaluate(name, inputs, grad=True, distance=distance)
        finite_everywhere(r)
    r = losscli.evaluate("contrastive", inputs, grad=True, distance="euclidean")
    # the similar pair sits at d = 0: no pull between a and p; the first negative (d = 0)
    # pushes with the subgradient 0
    np.testing.assert_array_equal(r.gradients["positive"], 0.0)
    np.testing.assert_array_equal(r.gradients["negatives"][0, 0], 0.0)


def test_hinge_kink_gives_zero() -> None:
    """d_ap - d_an + m = 0 exactly: the term is 0 and so is its gradient."""
    inputs = {"anchor": [0.0, 0.0], "positive": [1.0, 0.0], "negatives": [[2.0, 0.0]]}
    r = losscli.evaluate("triplet", inputs, grad=True, margin=1.0)
    assert r.terms.columns["violation"][0, 0] == 0.0
    for g in r.gradients.values():
        np.testing.assert_array_equal(g, 0.0)
    # contrastive's dissimilar hinge at m = d
    r = losscli.evaluate("contrastive", inputs, grad=True, margin=2.0)
    np.testing.assert_array_equal(r.gradients["negatives"], 0.0)


@pytest.mark.parametrize("name,params", [
    ("infonce", {"similarity": "cosine"}), ("contrastive", {"distance": "cosine"}),
    ("triplet", {"distance": "cosine"}), ("quadruplet", {"distance": "cosine"}),
    ("triplet", {"distance": "cosine", "soft": True}),
])
def test_zero_vectors_under_cosine(name: str, params: dict) -> None:
    inputs = {"anchor": [0.0, 0.0, 0.0], "positive": [1.0, 2.0, 0.5],
              "negatives": [[0.0, 0.0, 0.0], [0.3, -1.0, 2.0]]}
    r = losscli.evaluate(name, inputs, grad=True, **params)
    finite_everywhere(r)
    np.testing.assert_array_equal(r.gradients["anchor"], 0.0)
    np.testing.assert_array_equal(r.gradients["negatives"][0, 0], 0.0)
    assert any("zero vector" in w for w in r.warnings)


def test_infonce_without_negatives_has_zero_gradient() -> None:
    r = losscli.evaluate("infonce", {"anchor": [1.0, 2.0], "positive": [0.5, 0.1]}, grad=True)
    for g in r.gradients.values():
        np.testing.assert_array_equal(g, 0.0)


def test_huge_and_tiny_norms_under_cosine_stay_finite() -> None:
    inputs = {"anchor": [1e200, 3e200], "positive": [1e-200, 2e-200],
              "negatives": [[3.0, -1.0]]}
    r = losscli.evaluate("infonce", inputs, grad=True, similarity="cosine")
    finite_everywhere(r)


def test_gradients_only_when_asked() -> None:
    r = losscli.evaluate("triplet", embedding(14))
    assert r.gradients is None


def test_gradient_shapes_follow_the_convention() -> None:
    B, K, D = 2, 3, 4
    r = losscli.evaluate("quadruplet", embedding(15, B, K, D, shared=True), grad=True)
    assert r.gradients["anchor"].shape == (B, D)
    assert r.gradients["positive"].shape == (B, D)
    assert r.gradients["negatives"].shape == (B, K, D)
    assert "negatives2" not in r.gradients  # rolled: the partners are the negatives
    r = losscli.evaluate("softmax-ce", {"logits": np.zeros((2, 5)), "target": [1, 2]},
                         grad=True)
    assert r.gradients["logits"].shape == (2, 5)
    assert all(g.dtype == np.float64 for g in r.gradients.values())
