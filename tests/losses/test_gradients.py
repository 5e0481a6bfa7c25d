"""`--grad`: analytic gradients equal central finite differences away from kinks, and are
defined (0, never NaN) at kinks, at zero distance and for zero vectors.

The finite differences perturb one input entry at a time and evaluate the loss again through
losscli.evaluate (so they use the forward kernels, not the gradient kernels). Explicit forms:
d loss_b / d (example b's own vectors, or a shared bank). In-batch forms (and dcl's vmf
weights, which couple the examples): d (sum of losses) / d each example's own a_i and p_i, as
LOSSES-MORE.md says. The breakdown's `gradient` column (d loss / d logit) is checked too.
"""

from __future__ import annotations

import decimal
import math
import zlib

import numpy as np
import pytest

import losscli
from tests import reference as ref
from tests.helpers import (
    GRADIENT_ATOL,
    GRADIENT_RTOL,
    assert_close,
    check_gradients,
    jacobian,
    own_rows,
    per_example_of,
    sample,
)

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


# ---------------------------------------------------------------- explicit negatives, softmax


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


# ---------------------------------------------------------------- the breakdown's gradient column


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


def _softmax_ce_gradient_50_digits(x, q, w):
    """p_c sum_k w_k q_k - w_c q_c with Python's decimal at 50 digits."""
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        xs = [decimal.Decimal(float(v)) for v in x]
        e = [(v - max(xs)).exp() for v in xs]
        total = sum(e)
        wq = [decimal.Decimal(float(wc)) * decimal.Decimal(float(qc))
              for wc, qc in zip(w, q, strict=True)]
        return [float(ec / total * sum(wq) - m) for ec, m in zip(e, wq, strict=True)]


@pytest.mark.parametrize("smoothing", [0.0, 1e-3])
def test_softmax_ce_gradient_of_a_confident_target_keeps_its_digits(jit_mode, smoothing):
    # p_y M - w_y q_y cancelled: logits [50, -50, 0] gave 0 for -1.93e-22, and a loss of
    # 2.2e-9 a gradient wrong in its 8th digit
    x = np.array([[50.0, -50.0, 0.0], [20.0, 0.0, -3.0], [1.0, 30.0, 2.0]])
    w = np.array([1.0, 2.0, 0.5])
    r = losscli.evaluate("softmax-ce", {"logits": x, "target": np.array([0, 0, 1]),
                                        "weight": w}, label_smoothing=smoothing, grad=True)
    for b, y in enumerate((0, 0, 1)):
        q = np.full(3, smoothing / 3)
        q[y] += 1.0 - smoothing
        want = _softmax_ce_gradient_50_digits(x[b], q, w)
        got = r.terms.columns["gradient"][b]
        for c in range(3):
            assert math.isclose(got[c], want[c], rel_tol=1e-12, abs_tol=1e-300), (b, c, got, want)
        np.testing.assert_array_equal(r.gradients["logits"][b], got)


def test_infonce_gradient_column_is_p_minus_onehot(jit_mode):
    r = losscli.evaluate("infonce", sample("seed-example-1.json"))
    p = r.terms.columns["probability"][0]
    g = r.terms.columns["gradient"][0]
    np.testing.assert_allclose(g[1:], p[1:], rtol=1e-15)
    # p_0 - 1 computed without cancellation: equals minus the negatives' share
    assert_close(float(g[0]), -float(p[1:].sum()), rel=1e-12)


# ---------------------------------------------------------------- in-batch, pairs, paired inputs


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


@pytest.mark.parametrize("positives", ["positive", "positives"])
@pytest.mark.parametrize("similarity,scale", [("dot", 0.8), ("dot", 0.6), ("cosine", 1.0)])
def test_supcontrast_gradient_is_of_the_loss_it_reports(positives, similarity, scale):
    """SupContrast adds 1e-9 in the log after subtracting a row maximum that includes the
    view itself: the loss depends on that maximum (|z|^2 / t under dot), and the gradient is
    the loss's, not autograd's with the maximum detached. Unnormalised rows at t = 1 leave
    the shifted sum not far above 1e-9, where the two differ."""
    rng = rng_for("supcontrast", positives, similarity, scale)
    B, D = 5, 16
    a = scale * rng.normal(size=(B, D))
    inputs = {"anchor": a, "positive": a + scale * rng.normal(size=(B, D))}
    if positives == "positives":
        inputs = {"anchor": a, "positives": np.stack(
            [a + scale * rng.normal(size=(B, D)) for _ in range(2)], axis=1)}
    check_gradients("supcon", inputs, {"anchor": "sum", positives: "sum"},
                    like="supcontrast", similarity=similarity, temperature=1.0)


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


# ---------------------------------------------------------------- shapes


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


def test_gradient_shapes_follow_the_roles():
    rng = rng_for("shapes")
    inputs = {"anchor": rng.normal(size=(3, 4)), "positives": rng.normal(size=(2, 4)),
              "negatives": rng.normal(size=(5, 4))}
    g = losscli.evaluate("supcon", inputs, grad=True).gradients
    assert g["anchor"].shape == (3, 4)
    assert g["positives"].shape == (3, 2, 4)  # a shared bank: per example
    assert g["negatives"].shape == (3, 5, 4)
    assert losscli.evaluate("supcon", inputs).gradients is None


# ---------------------------------------------------------------- defined at the kinks
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
