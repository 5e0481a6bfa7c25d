"""The in-batch losses by tiles of rows equal their whole-matrix float64 references.

Tiles are forced small (1, 3 and 4 rows; one tile larger than B) so that every kernel meets
tile boundaries: B not a multiple of the tile, B smaller than the tile, B = 1 where the loss
allows it; clip's columns merge across tiles with their running maximum changing. Every
option and `--like` convention of each loss; gradients equal the single-tile ones (which
tests/losses/test_gradients.py checks against finite differences); float32 vectors (batch
--dtype float32) against the float64 reference within float32's precision.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losscli
from losscli.losses import tiles
from losscli.losses.call import LossCall
from losscli.losses.run import run
from losscli.model import Inputs
from tests import reference as ref
from tests.helpers import assert_close

TILE_ROWS = [1, 3, 4, 1000]


@pytest.fixture(params=TILE_ROWS, ids=[f"tile{n}" for n in TILE_ROWS])
def tile(request, monkeypatch):
    """Tiles of exactly n rows (the product buffer holds n rows of S)."""
    monkeypatch.setattr(tiles, "TILE_BYTES", 1)
    monkeypatch.setattr(tiles, "MIN_TILE_ROWS", request.param)
    return request.param


def pairs(B: int, D: int = 5, seed: int = 0, spread: float = 0.8) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, B, D])
    a = rng.normal(size=(B, D))
    return {"anchor": a, "positive": a + spread * rng.normal(size=(B, D))}


def lists(inputs: dict[str, np.ndarray]) -> tuple[list, list]:
    return inputs["anchor"].tolist(), inputs["positive"].tolist()


def single_tile(name: str, inputs: dict, **params):
    """The whole matrix in one tile (what the default gives below 128 rows)."""
    saved = tiles.TILE_BYTES, tiles.MIN_TILE_ROWS
    tiles.TILE_BYTES, tiles.MIN_TILE_ROWS = 1, 10**6
    try:
        return losscli.evaluate(name, inputs, grad=True, **params)
    finally:
        tiles.TILE_BYTES, tiles.MIN_TILE_ROWS = saved


# ------------------------------------------------------------------ against the references

@pytest.mark.parametrize("B", [2, 7, 9])
@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_losscli_definitions_match_the_references(path, tile, B, similarity):
    inputs = pairs(B)
    al, pl = lists(inputs)
    # The references' plain LSE - L_pos cancels on tiny losses: compare with an absolute
    # floor of 1e-15 times the logits' scale (CONTRACT.md), here up to ~100.
    close = {"scale": 100}
    r = losscli.evaluate("ntxent-batch", inputs, temperature=0.3, similarity=similarity)
    assert_close(r.per_example, ref.ntxent_batch(al, pl, 0.3, similarity), **close)
    r = losscli.evaluate("clip", inputs, temperature=0.25, similarity=similarity)
    assert_close(r.per_example, ref.clip(al, pl, 0.25, None, similarity), **close)
    r = losscli.evaluate("clip", inputs, scale=2.5, similarity=similarity)
    assert_close(r.per_example, ref.clip(al, pl, 1.0, 2.5, similarity), **close)
    r = losscli.evaluate("npair", inputs, similarity=similarity)
    assert_close(r.per_example, ref.npair_batch(al, pl, similarity), **close)
    r = losscli.evaluate("siglip", inputs, scale=4.0, bias=-1.5, similarity=similarity)
    assert_close(r.per_example, ref.siglip(al, pl, 4.0, -1.5, similarity), **close)
    for weighting in ("none", "vmf"):
        r = losscli.evaluate("dcl", inputs, temperature=0.4, similarity=similarity,
                             weighting=weighting, sigma=0.6)
        assert_close(r.per_example, ref.dcl_two_view(al, pl, 0.4, similarity, weighting, 0.6),
                     **close)
    for beta, tau, clamp in ((1.0, 0.1, True), (0.0, 0.0, True), (2.5, 0.05, False)):
        r = losscli.evaluate("hard-infonce", inputs, temperature=0.5, beta=beta,
                             tau_plus=tau, similarity=similarity, clamp=clamp)
        assert_close(r.per_example, ref.hard_infonce_two_view(al, pl, 0.5, beta, tau,
                                                              similarity, clamp), **close)


def test_siglip_of_one_pair(tile):
    inputs = pairs(1)
    assert_close(losscli.evaluate("siglip", inputs).per_example, ref.siglip(*lists(inputs)))


def tiny_clip_reference(A, P, scale):
    """clip when every positive leads its row and column by far: log1p of the others' sum,
    exact where LSE - L_ii would cancel to nothing."""
    B = len(A)
    L = [[scale * ref.cosine(A[i], P[j]) for j in range(B)] for i in range(B)]
    rows = [math.log1p(math.fsum(math.exp(L[i][j] - L[i][i]) for j in range(B) if j != i))
            for i in range(B)]
    cols = [math.log1p(math.fsum(math.exp(L[j][i] - L[i][i]) for j in range(B) if j != i))
            for i in range(B)]
    return [(r + c) / 2 for r, c in zip(rows, cols, strict=True)]


def test_tiny_losses_keep_their_relative_precision(jit_mode, tile):
    """Positives far ahead (cosine 1 against at most ~0.3, t = 0.02): losses ~1e-15 and
    below, to 1e-12 relative in both directions, across tile boundaries."""
    rng = np.random.default_rng(5)
    A = np.linalg.qr(rng.normal(size=(12, 12)))[0][:7]  # orthonormal rows
    P = A + 0.01 * rng.normal(size=A.shape)
    r = losscli.evaluate("clip", {"anchor": A, "positive": P}, temperature=0.02)
    expected = tiny_clip_reference(A.tolist(), P.tolist(), 50.0)
    assert max(expected) < 1e-15
    assert_close(r.per_example, expected)


def test_column_maxima_change_across_tiles(jit_mode, tile):
    """Columns whose positive does not lead: their running maximum moves tile by tile."""
    rng = np.random.default_rng(9)
    A = rng.normal(size=(9, 3))
    P = rng.normal(size=(9, 3))  # unrelated: the positives lead about 1 row in 9
    al, pl = A.tolist(), P.tolist()
    for t in (0.05, 1.0):
        r = losscli.evaluate("clip", {"anchor": A, "positive": P}, temperature=t,
                             similarity="dot")
        assert_close(r.per_example, ref.clip(al, pl, t, None, "dot"), scale=1 / t)


# ------------------------------------------------------------------ options and conventions

CASES = [
    ("ntxent-batch", {}), ("ntxent-batch", {"like": "pml"}), ("ntxent-batch", {"like": "optax"}),
    ("clip", {}), ("clip", {"like": "pml"}), ("clip", {"like": "sentence-transformers"}),
    ("clip", {"like": "torch"}), ("clip", {"like": "open-clip", "similarity": "dot"}),
    ("npair", {}), ("npair", {"like": "pml"}), ("npair", {"like": "tf-addons"}),
    ("siglip", {}), ("siglip", {"like": "torch", "similarity": "dot"}),
    ("siglip", {"like": "open-clip"}),
    ("dcl", {}), ("dcl", {"weighting": "vmf"}), ("dcl", {"like": "dcl-port"}),
    ("dcl", {"like": "dcl-port", "weighting": "vmf", "temperature": 0.05}),
    ("dcl", {"like": "nidl", "weighting": "vmf"}),
    ("hard-infonce", {}), ("hard-infonce", {"tau_plus": 0.4, "clamp": False}),
    ("hard-infonce", {"like": "hcl"}), ("hard-infonce", {"like": "hcl", "temperature": 0.2}),
    ("supcon", {"like": "supcontrast"}),
    ("supcon", {"like": "supcontrast", "temperature": 0.3, "similarity": "dot"}),
    ("infonce", {"like": "sentence-transformers"}),
    ("infonce", {"like": "sentence-transformers", "temperature": 0.3, "similarity": "dot"}),
]


def several_positives(B: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([3, B])
    a = rng.normal(size=(B, 4))
    return {"anchor": a, "positives": a[:, None] + rng.normal(size=(B, 2, 4))}


@pytest.mark.parametrize("name,params", CASES)
@pytest.mark.parametrize("B", [2, 5])
def test_every_option_and_convention_equals_the_whole_matrix(path, tile, name, params, B):
    inputs = pairs(B)
    whole = single_tile(name, inputs, **params)
    r = losscli.evaluate(name, inputs, grad=True, **params)
    assert_close(r.per_example, whole.per_example, scale=10)
    for role, g in whole.gradients.items():
        np.testing.assert_allclose(r.gradients[role], g, rtol=1e-12, atol=1e-14, err_msg=role)
    if name == "supcon":
        inputs = several_positives(B)
        whole = single_tile(name, inputs, **params)
        r = losscli.evaluate(name, inputs, grad=True, **params)
        assert_close(r.per_example, whole.per_example)
        np.testing.assert_allclose(r.gradients["positives"], whole.gradients["positives"],
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,params", CASES)
def test_a_block_of_the_breakdown_is_those_examples_rows(name, params):
    """Examples [2, 4) computed on demand equal the same rows of the whole breakdown."""
    inputs = pairs(5)
    r = losscli.evaluate(name, inputs, **params)
    whole = r.terms.columns
    part = r.terms.block(2, 4)
    assert set(part) == set(whole) == set(r.terms.names)
    for column, values in part.items():
        assert values.shape == (2, r.terms.count), column
        if values.dtype.kind == "f":
            np.testing.assert_allclose(values, whole[column][2:4], rtol=1e-13, atol=1e-15,
                                       err_msg=column)
        else:
            assert (values == whole[column][2:4]).all(), column


def mnrl_inputs(B: int, K: int, layout: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([8, B, K])
    inputs = pairs(B)
    shape = (B, K, 5) if layout == "per-anchor" else (K, 5)
    inputs["negatives"] = rng.normal(size=shape)
    return inputs


def mnrl_reference(inputs: dict[str, np.ndarray], t: float, similarity: str) -> list[float]:
    """MNRL: anchor b's candidates are every example's positive and every negative (a shared
    bank counts once per example: it is every row's negative column), its own positive the
    target (tests/reference's infonce over the others as negatives)."""
    A, P = inputs["anchor"], inputs["positive"]
    N = np.broadcast_to(inputs["negatives"], (len(A), *inputs["negatives"].shape[-2:]))
    out = []
    for b in range(len(A)):
        others = [P[j].tolist() for j in range(len(A)) if j != b]
        others += [n.tolist() for n in N.reshape(-1, N.shape[-1])]
        out.append(ref.infonce(A[b].tolist(), P[b].tolist(), others, t, similarity))
    return out


@pytest.mark.parametrize("layout", ["per-anchor", "shared"])
@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_in_batch_infonce_with_negatives_equals_the_reference(path, tile, layout, similarity):
    """sentence-transformers' MNRL with negatives: rows of S = A [P; N_0; N_1]^T by tiles
    equal the plain reference; gradients the single tile's; each example's breakdown lists
    its own positive first, then every other candidate once, named by its role and example."""
    B, K, t = 5, 2, 0.4
    inputs = mnrl_inputs(B, K, layout)
    r = losscli.evaluate("infonce", inputs, like="sentence-transformers", temperature=t,
                         similarity=similarity, grad=True)
    assert_close(r.per_example, mnrl_reference(inputs, t, similarity), scale=10)
    whole = single_tile("infonce", inputs, like="sentence-transformers", temperature=t,
                        similarity=similarity)
    for role, g in whole.gradients.items():
        np.testing.assert_allclose(r.gradients[role], g, rtol=1e-12, atol=1e-14, err_msg=role)
    columns = r.terms.columns
    assert r.terms.role == ("positive",) + ("negative",) * (B * (1 + K) - 1)
    assert r.shape["negatives"] == B * (1 + K) - 1  # the candidates, as the other forms count
    named = {("positive", j) for j in range(B)} | {(f"negative {k}", j) for k in range(K)
                                                   for j in range(B)}
    for b in range(B):
        candidates = list(zip(columns["candidate_role"][b], columns["candidate_index"][b],
                              strict=True))
        assert candidates[0] == ("positive", b)
        assert sorted(candidates) == sorted(named)


# ------------------------------------------------------------------ labels (issue point 4)

def own_candidate(name: str, columns: dict[str, np.ndarray], B: int) -> np.ndarray:
    """Where each term's candidate is the example's own positive (or partner / own view)."""
    i = np.arange(B)[:, None]
    if "direction" in columns:  # clip: a->p scores p_j, p->a scores a_j; both own at j = i
        return columns["j"] == i
    if "kind" in columns:  # supcon multi-view: the same example's views
        return columns["kind"] == "positive"
    if "view" in columns:  # two-view: the other view of the same example
        return (columns["candidate_index"] == i) & (columns["candidate_role"] != columns["view"])
    return columns["candidate_index"] == i


@pytest.mark.parametrize("name,params", CASES)
def test_the_matching_pair_is_positive_and_every_other_candidate_negative(name, params):
    B = 4
    r = losscli.evaluate(name, pairs(B), **params)
    columns = r.terms.columns
    role = np.broadcast_to(np.array(r.terms.role), (B, r.terms.count))
    own = own_candidate(name, columns, B)
    assert set(r.terms.role) == {"positive", "negative"}
    assert ((role == "positive") == own).all()


# ------------------------------------------------------------------ float32 (batch --dtype)

FLOAT32 = [("ntxent-batch", {}), ("clip", {}), ("npair", {"similarity": "cosine"}),
           ("siglip", {}), ("dcl", {"weighting": "vmf"}), ("hard-infonce", {})]


def float32_run(name: str, inputs: dict, owned: bool, **params):
    a = inputs["anchor"].astype(np.float32)
    p = inputs["positive"].astype(np.float32)
    if owned:  # as batch hands them over: one buffer, anchors then positives
        z = np.concatenate([a, p])
        a, p = z[:len(a)], z[len(a):]
    call = LossCall.of(name, params)
    return run(call, Inputs({"anchor": a, "positive": p}, owned=owned))


@pytest.mark.parametrize("name,params", FLOAT32)
@pytest.mark.parametrize("owned", [False, True])
def test_float32_vectors_within_float32_precision(path, tile, name, params, owned):
    """sgemm similarities (~1e-7 relative each), softmax statistics in float64: the losses
    of unit vectors agree with float64 to about 1e-5 of their scale."""
    inputs = pairs(6, D=16)
    expected = losscli.evaluate(name, {k: v.astype(np.float32).astype(np.float64)
                                       for k, v in inputs.items()}, **params).per_example
    got = float32_run(name, inputs, owned, **params).per_example
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5 * np.abs(expected).max())


def test_owned_float32_inputs_are_normalized_in_place():
    inputs = pairs(4)
    a = inputs["anchor"].astype(np.float32)
    z = np.concatenate([a, inputs["positive"].astype(np.float32)])
    run(LossCall.of("clip", {}), Inputs({"anchor": z[:4], "positive": z[4:]}, owned=True))
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-6)
    kept = pairs(4)
    losscli.evaluate("clip", kept)
    np.testing.assert_array_equal(kept["anchor"], pairs(4)["anchor"])  # the caller's own


def test_the_row_reader_serves_any_blocks_across_its_tiles(monkeypatch):
    """compute's breakdown reads S a few rows at a time through tiles.RowReader, which
    computes a tile ahead: blocks in order across tile boundaries, one out of order
    (--worst), and back, each equal to the rows of Q C^T."""
    monkeypatch.setattr(tiles, "MIN_TILE_ROWS", 1)
    monkeypatch.setattr(tiles, "TILE_BYTES", 5 * 7 * 8)  # 5 rows of 7 columns a tile
    rng = np.random.default_rng(6)
    Q, C = rng.normal(size=(17, 3)), rng.normal(size=(7, 3))
    read = tiles.RowReader(Q, C, False)
    for r0, r1 in [(0, 2), (2, 4), (4, 7), (7, 8), (8, 13), (13, 17), (11, 12), (3, 6), (6, 9)]:
        np.testing.assert_allclose(read(r0, r1), Q[r0:r1] @ C.T, rtol=1e-14)
