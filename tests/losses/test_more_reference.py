"""Each LOSSES-MORE.md loss against the plain float64 reference (reference_more.py) on random
inputs of several shapes, layouts (shared or per-anchor banks) and options."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import losscli
from tests import reference as ref
from tests.helpers import assert_close

SHAPES = [(1, 1, 3), (3, 4, 5), (5, 2, 8)]  # (B, K, D)
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


# ---------------------------------------------------------------- explicit, one positive


@pytest.mark.parametrize("B,K,D", SHAPES)
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


# ---------------------------------------------------------------- explicit, several positives


@pytest.mark.parametrize("B,K,D", SHAPES)
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


@pytest.mark.parametrize("B,K,D", SHAPES)
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


# ---------------------------------------------------------------- in-batch forms


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


# ---------------------------------------------------------------- torch's pair losses


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
