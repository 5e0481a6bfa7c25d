"""Every loss against its plain float64 reference (tests/reference/) on random inputs of
several shapes, layouts (shared or per-anchor banks), options and reductions."""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import losscli
from tests import reference as ref
from tests.helpers import assert_close

# ---------------------------------------------------------------- explicit negatives, softmax

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


# ---------------------------------------------------------------- in-batch, pairs, paired inputs

BKD = [(1, 1, 3), (3, 4, 5), (5, 2, 8)]  # (B, K, D)
REL = 1e-11  # fsum references against BLAS and fused kernels: a few ulps of each logit


def rng_for(*key) -> np.random.Generator:
    """A generator seeded by the test's parameters (stable across runs, unlike hash())."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def unitish(rng, shape, spread=1.0):
    x = rng.normal(size=shape)
    return spread * x / np.linalg.norm(x, axis=-1, keepdims=True)


def rows(arr, b):
    """Row b of a per-anchor (B, ...) bank, or the shared bank itself."""
    return arr[b].tolist() if arr.ndim == 3 else arr.tolist()


def loss_of(name, inputs, **params):
    return losscli.evaluate(name, inputs, **params)


@pytest.mark.parametrize("B,K,D", BKD)
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_npair_dcl_hard_infonce_explicit(B, K, D, shared, similarity):
    rng = rng_for("explicit", B, K, D, shared, similarity)
    a = unitish(rng, (B, D), 1.3)
    p = a + 0.4 * rng.normal(size=(B, D))
    n = rng.normal(size=(K, D) if shared else (B, K, D))
    inputs = {"anchor": a, "positive": p, "negatives": n}
    al, pl = a.tolist(), p.tolist()

    r = loss_of("npair", inputs, similarity=similarity)
    assert_close(r.per_example, [ref.npair(al[b], pl[b], rows(n, b), similarity)
                                 for b in range(B)], REL)

    r = loss_of("dcl", inputs, similarity=similarity, temperature=0.3)
    assert_close(r.per_example, [ref.dcl(al[b], pl[b], rows(n, b), 0.3, similarity)
                                 for b in range(B)], REL, scale=10)
    r = loss_of("dcl", inputs, similarity=similarity, temperature=0.3, weighting="vmf",
                sigma=0.7)
    expected = ref.dcl_batch_explicit(al, pl, [rows(n, b) for b in range(B)], 0.3, similarity,
                                      "vmf", 0.7)
    assert_close(r.per_example, expected, REL, scale=10)

    for beta, tau in ((1.0, 0.1), (0.0, 0.0), (2.5, 0.3)):
        r = loss_of("hard-infonce", inputs, similarity=similarity, temperature=0.4, beta=beta,
                    tau_plus=tau)
        assert_close(r.per_example, [ref.hard_infonce(al[b], pl[b], rows(n, b), 0.4, beta, tau,
                                                      similarity) for b in range(B)], REL)


@pytest.mark.parametrize("B,K,D", BKD)
@pytest.mark.parametrize("P", [1, 3])
@pytest.mark.parametrize("layout", ["per-anchor", "shared", "positive"])
def test_supcon_multi_similarity_circle_lifted(B, K, D, P, layout):
    rng = rng_for("positives", B, K, D, P, layout)
    a = unitish(rng, (B, D))
    n = unitish(rng, (B, K, D), 1.1)
    if layout == "positive":
        P = 1
        pos = unitish(rng, (B, D)) + 0.5 * a
        inputs = {"anchor": a, "positive": pos, "negatives": n}
        bank = [[pos[b].tolist()] for b in range(B)]
    elif layout == "shared":
        pos = unitish(rng, (P, D), 0.9)
        inputs = {"anchor": a, "positives": pos, "negatives": n}
        bank = [pos.tolist()] * B
    else:
        pos = unitish(rng, (B, P, D), 0.9) + 0.5 * a[:, None]
        inputs = {"anchor": a, "positives": pos, "negatives": n}
        bank = [pos[b].tolist() for b in range(B)]
    al, nl = a.tolist(), n.tolist()

    for similarity in ("cosine", "dot"):
        r = loss_of("supcon", inputs, temperature=0.2, base_temperature=0.3,
                    similarity=similarity)
        assert_close(r.per_example, [ref.supcon(al[b], bank[b], nl[b], 0.2, 0.3, similarity)
                                     for b in range(B)], REL)
        assert r.shape["positives"] == P
        r = loss_of("multi-similarity", inputs, similarity=similarity, beta=10.0, base=0.3)
        assert_close(r.per_example, [ref.multi_similarity(al[b], bank[b], nl[b], 2.0, 10.0, 0.3,
                                                          similarity) for b in range(B)], REL)

    r = loss_of("circle", inputs, gamma=16.0, margin=0.25)
    assert_close(r.per_example, [ref.circle(al[b], bank[b], nl[b], 0.25, 16.0)
                                 for b in range(B)], REL, scale=10)
    for distance in ("euclidean", "sqeuclidean", "cosine"):
        r = loss_of("lifted-structure", inputs, variant="generalized", distance=distance,
                    margin=0.8, pos_margin=0.1)
        assert_close(r.per_example, [ref.lifted_generalized(al[b], bank[b], nl[b], 0.8, 0.1,
                                                            distance) for b in range(B)], REL,
                     scale=10)


@pytest.mark.parametrize("B,K,D", BKD)
@pytest.mark.parametrize("distance", ["euclidean", "sqeuclidean", "cosine"])
@pytest.mark.parametrize("shared", [False, True])
def test_lifted_song_and_margin(B, K, D, distance, shared):
    rng = rng_for("distances", B, K, D, distance, shared)
    a = unitish(rng, (B, D))
    p = unitish(rng, (B, D)) * 0.7 + a
    n = unitish(rng, (K, D) if shared else (B, K, D), 1.2)
    inputs = {"anchor": a, "positive": p, "negatives": n}
    al, pl = a.tolist(), p.tolist()
    r = loss_of("lifted-structure", inputs, distance=distance, margin=1.3, pos_margin=0.2)
    assert_close(r.per_example, [ref.lifted_song(al[b], pl[b], rows(n, b), 1.3, 0.2, distance)
                                 for b in range(B)], REL, scale=10)
    for beta, nu in ((1.2, 0.0), (0.6, 0.3), (2.0, 0.1)):
        r = loss_of("margin", inputs, distance=distance, beta=beta, nu=nu, margin=0.3)
        assert_close(r.per_example, [ref.margin(al[b], pl[b], rows(n, b), 0.3, beta, nu,
                                                distance) for b in range(B)], REL, scale=10)


@pytest.mark.parametrize("B,D", [(2, 2), (3, 5), (6, 8)])
@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_in_batch_losses(B, D, similarity):
    rng = rng_for("in-batch", B, D, similarity)
    a = unitish(rng, (B, D), 1.2)
    p = a + 0.6 * rng.normal(size=(B, D))
    inputs = {"anchor": a, "positive": p}
    al, pl = a.tolist(), p.tolist()
    r = loss_of("ntxent-batch", inputs, temperature=0.2, similarity=similarity)
    assert_close(r.per_example, ref.ntxent_batch(al, pl, 0.2, similarity), REL)
    r = loss_of("clip", inputs, temperature=0.15, similarity=similarity)
    assert_close(r.per_example, ref.clip(al, pl, 0.15, None, similarity), REL)
    r = loss_of("clip", inputs, scale=3.0, similarity=similarity)
    assert_close(r.per_example, ref.clip(al, pl, 1.0, 3.0, similarity), REL)
    r = loss_of("npair", inputs, similarity=similarity)
    assert_close(r.per_example, ref.npair_batch(al, pl, similarity), REL)
    for weighting in ("none", "vmf"):
        r = loss_of("dcl", inputs, temperature=0.3, similarity=similarity, weighting=weighting,
                    sigma=0.4)
        assert_close(r.per_example, ref.dcl_two_view(al, pl, 0.3, similarity, weighting, 0.4),
                     REL, scale=10)
    for beta, tau in ((1.0, 0.1), (0.0, 0.0), (3.0, 0.05)):
        r = loss_of("hard-infonce", inputs, temperature=0.5, beta=beta, tau_plus=tau,
                    similarity=similarity)
        assert_close(r.per_example, ref.hard_infonce_two_view(al, pl, 0.5, beta, tau,
                                                              similarity), REL)
    r = loss_of("siglip", inputs, scale=5.0, bias=-2.0, similarity=similarity)
    assert_close(r.per_example, ref.siglip(al, pl, 5.0, -2.0, similarity), REL)


def test_siglip_single_pair_matches_reference():
    a, p = [0.3, -1.2, 0.5], [0.1, -0.9, 0.8]
    r = loss_of("siglip", {"anchor": a, "positive": p})
    assert_close(r.per_example, ref.siglip([a], [p]), REL)


@pytest.mark.parametrize("B,D", [(1, 3), (4, 5), (7, 2)])
def test_pair_losses(B, D):
    rng = rng_for("pairs", B, D)
    x1 = rng.normal(size=(B, D))
    x2 = rng.normal(size=(B, D)) + 0.3 * x1
    y = rng.choice([-1.0, 1.0], size=B)
    inputs = {"x1": x1, "x2": x2, "label": y}
    for m in (0.0, 0.2, -0.3):
        r = loss_of("cosine-embedding", inputs, margin=m)
        assert_close(r.per_example, [ref.cosine_embedding(x1[b].tolist(), x2[b].tolist(), y[b],
                                                          m) for b in range(B)], REL)
    for distance in ("euclidean", "sqeuclidean", "cosine"):
        r = loss_of("hinge-embedding", inputs, distance=distance, margin=1.5)
        expected = [ref.hinge_embedding(ref.distance(x1[b].tolist(), x2[b].tolist(), distance),
                                        y[b], 1.5) for b in range(B)]
        assert_close(r.per_example, expected, REL)
    values = np.abs(rng.normal(size=B))
    r = loss_of("hinge-embedding", {"x1": values, "label": y}, margin=0.8)
    assert_close(r.per_example, [ref.hinge_embedding(values[b], y[b], 0.8) for b in range(B)])
    s1, s2 = rng.normal(size=B), rng.normal(size=B)
    r = loss_of("margin-ranking", {"x1": s1, "x2": s2, "label": y}, margin=0.25)
    assert_close(r.per_example, [ref.margin_ranking(s1[b], s2[b], y[b], 0.25)
                                 for b in range(B)], REL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions(reduction):
    rng = rng_for("reductions")
    inputs = {"anchor": rng.normal(size=(4, 3)), "positive": rng.normal(size=(4, 3))}
    r = loss_of("clip", inputs, reduction=reduction)
    per = r.per_example
    if reduction == "none":
        assert_close(r.value, per)
    else:
        assert_close(r.value, per.sum() / (4 if reduction == "mean" else 1))
