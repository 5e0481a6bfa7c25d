"""--like: the registry's Convention data, its resolution, the changes it reports, the goldens
LOSSES.md and LOSSES-MORE.md give for each library's arithmetic, the cells a library does not
define and the options and roles it cannot express (exit 2), the gradients of the variant
arithmetic against finite differences, and losscli's own definition left untouched.

Library numbers themselves are checked in test_parity.py (fixtures the libraries made).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import losscli
from losscli.cli import run
from losscli.errors import BadData, UsageError
from losscli.losses import FAMILIES, LIBRARIES, LOSSES, Convention, get_spec
from losscli.losses.conventions import apply, defined_for, library_name
from losscli.losses.spec import DIRECTIONS, EPS_PLACEMENTS, LIKE_REDUCTIONS
from tests import reference as ref
from tests.helpers import SAMPLES, assert_close, check_gradients

GOLDEN = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}
BATCH = {"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.6, 0.8], [-0.6, 0.8]]}
EXPLICIT = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6], [0.0, 1.0]]}
EX = json.loads((SAMPLES / "ex.json").read_text())
rng = np.random.default_rng(7)


# ---------------------------------------------------------------- the registry's conventions


def test_every_convention_is_structured_data() -> None:
    """Every loss's conventions, the fourteen of LOSSES-MORE.md included, are Convention
    data --like reproduces (no description-only entries)."""
    for spec in LOSSES.values():
        for lib, conv in spec.conventions.items():
            assert lib in LIBRARIES
            assert isinstance(conv, Convention) and conv.library == lib
            assert conv.api and conv.summary and conv.source
            names = {p.name for p in spec.params}
            assert set(conv.params) <= names
            assert set(conv.unsupported) <= names
            assert set(conv.allowed) <= names
            assert set(conv.unsupported_roles) <= set(spec.roles)
            assert set(conv.reductions) <= set(LIKE_REDUCTIONS)
            assert conv.eps_placement in EPS_PLACEMENTS and conv.directions in DIRECTIONS


def test_every_in_batch_and_pair_loss_has_a_convention() -> None:
    for spec in (*FAMILIES["in-batch"], *FAMILIES["pairs"], *FAMILIES["paired-inputs"]):
        assert defined_for(spec), spec.name


def test_quadruplet_has_no_library() -> None:
    assert defined_for(get_spec("quadruplet")) == []
    with pytest.raises(UsageError, match="defines no quadruplet"):
        losscli.evaluate("quadruplet", {**GOLDEN, "negatives2": [[0, 1]]}, like="torch")


def test_aliases_and_unknown_library() -> None:
    assert library_name("PML") == "pytorch-metric-learning"
    assert library_name("pytorch") == "torch"
    with pytest.raises(UsageError, match="--like got") as exc:
        library_name("tensorflow-probability")
    assert "choose one of torch" in exc.value.message()


def test_apply_defaults_reduction_and_rejects_unknown_ones() -> None:
    spec = get_spec("triplet")
    assert apply(spec, "optax", {}, None).reduction == "none"
    with pytest.raises(UsageError, match="--reduction"):
        apply(spec, "torch", {}, "median")
    noted = apply(spec, "optax", {}, "mean")
    assert any("does not offer reduction" in n for n in noted.notes)


# ---------------------------------------------------------------- exit 2 and its words


@pytest.mark.parametrize("loss,like,inputs,needle", [
    ("softmax-ce", "pytorch-metric-learning", EX, "pytorch-metric-learning defines no softmax-ce"),
    ("softmax-ce", "sentence-transformers", EX, "sentence-transformers defines no softmax-ce"),
    ("infonce", "tf-addons", EX, "tf-addons defines no infonce"),
    ("contrastive", "optax", EX, "optax defines no contrastive"),
    ("supcon", "torch", EXPLICIT, "torch defines no supcon"),
    ("circle", "optax", EXPLICIT, "optax defines no circle"),
    ("siglip", "pml", BATCH, "pytorch-metric-learning defines no siglip"),
    ("dcl", "pml", BATCH, "pytorch-metric-learning defines no dcl"),
    ("margin-ranking", "supcontrast", {"x1": 1.0, "x2": 0.0, "label": 1},
     "supcontrast defines no margin-ranking"),
    ("npair", "pml", EXPLICIT, "negatives has no counterpart in pytorch-metric-learning's"),
    ("dcl", "nidl", EXPLICIT, "negatives has no counterpart in nidl's dcl"),
    ("hard-infonce", "hcl", EXPLICIT, "negatives has no counterpart in hcl's"),
    ("supcon", "supcontrast", EXPLICIT, "negatives has no counterpart in supcontrast's"),
])
def test_cells_a_library_does_not_define_exit_2(loss, like, inputs, needle, tmp_path,
                                                capsys) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(inputs))
    assert run(["compute", loss, str(path), "--like", like]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("loss,like,inputs,params,needle", [
    ("triplet", "torch", GOLDEN, {"soft": True}, "--soft has no counterpart in torch"),
    ("triplet", "optax", GOLDEN, {"distance": "cosine"}, "--distance cosine"),
    ("softmax-ce", "optax", {"logits": [1.0, 2.0], "target": 0, "weight": [1, 2]}, {},
     "no class weights"),
    ("supcon", "pml", EXPLICIT, {"base_temperature": 0.07}, "--base-temperature has no"),
    ("margin", "pml", EXPLICIT, {"nu": 0.1}, "--nu has no counterpart"),
    ("lifted-structure", "tfa", EXPLICIT, {"variant": "generalized"}, "--variant"),
    ("lifted-structure", "tfa", EXPLICIT, {"pos_margin": 0.2}, "--pos-margin has no"),
    ("lifted-structure", "pml", EXPLICIT, {"distance": "cosine"}, "--distance cosine"),
    ("hard-infonce", "hcl", BATCH, {"clamp": False}, "--clamp False"),
    ("multi-similarity", "ms-original", EXPLICIT, {"base": 0.3}, "--base 0.3"),
    ("dcl", "nidl", BATCH, {"similarity": "dot"}, "--similarity dot"),
    ("ntxent-batch", "optax", BATCH, {"similarity": "dot"}, "--similarity dot"),
])
def test_options_a_library_cannot_express_exit_2(loss, like, inputs, params, needle) -> None:
    with pytest.raises(UsageError, match=needle):
        losscli.evaluate(loss, inputs, like=like, **params)


def test_supcontrast_needs_each_anchors_own_positives() -> None:
    shared = {"anchor": [[1.0, 0.0], [0.0, 1.0]], "positives": [[0.6, 0.8], [0.8, 0.6]]}
    with pytest.raises(UsageError, match="each anchor's own positives"):
        losscli.evaluate("supcon", shared, like="supcontrast")


# ---------------------------------------------------------------- explicit negatives, softmax


def test_torch_triplet_puts_eps_in_the_difference() -> None:
    """LOSSES.md golden 1.2619716589662402 without eps; torch adds 1e-6 to x - y."""
    own = losscli.evaluate("triplet", GOLDEN)
    torch_like = losscli.evaluate("triplet", GOLDEN, like="torch")
    assert math.isclose(own.value, 1.2619716589662402, rel_tol=1e-12)
    a, p, n = (np.array(GOLDEN[k], dtype=float).reshape(-1) for k in GOLDEN)

    def d(x: np.ndarray, y: np.ndarray) -> float:
        return math.sqrt(math.fsum((xi - yi + 1e-6) ** 2 for xi, yi in zip(x, y, strict=True)))

    assert math.isclose(torch_like.value, d(a, p) - d(a, n) + 1.0, rel_tol=1e-13)
    assert torch_like.convention["flags"] == {"eps": 1e-6, "eps_placement": "difference"}


def test_pml_triplet_changes_margin_normalizes_and_averages_active_terms() -> None:
    """mission-anchors.md: PML m = 0.05 gives 0.311972 on the golden triplet; smooth 0.861250."""
    r = losscli.evaluate("triplet", GOLDEN, like="pytorch-metric-learning")
    assert math.isclose(r.value, 0.3119716589662402, rel_tol=1e-12)
    assert r.convention["changed"] == {
        "margin": {"losscli": 1.0, "pytorch-metric-learning": 0.05},
        "negatives_reduction": {"losscli": "mean", "pytorch-metric-learning": "mean-active"}}
    assert r.reduction == "mean-nonzero"
    soft = losscli.evaluate("triplet", GOLDEN, like="pml", soft=True)
    assert round(soft.value, 6) == 0.86125


def test_user_options_win_over_the_convention_and_say_so() -> None:
    r = losscli.evaluate("triplet", GOLDEN, like="pytorch-metric-learning", margin=0.2)
    assert r.params["margin"] == 0.2
    assert any("uses 0.05 by default" in n for n in r.convention["notes"])


def test_mean_nonzero_is_over_the_whole_batch_not_per_example() -> None:
    def unit(angle: float) -> list[float]:
        return [math.cos(angle), math.sin(angle)]

    inputs = {"anchor": [unit(0), unit(0)], "positive": [unit(0.5), unit(0.5)],
              "negatives": [[unit(0.3), unit(0.4)], [unit(0.45), unit(2.0)]]}
    r = losscli.evaluate("triplet", inputs, like="pytorch-metric-learning", margin=0.0)
    terms = r.terms.columns["term"]
    assert (terms > 0).sum() == 3
    assert math.isclose(r.value, terms[terms > 0].mean(), rel_tol=1e-15)
    assert not math.isclose(r.value, r.per_example.mean(), rel_tol=1e-6)


def test_contrastive_golden_under_pml() -> None:
    """mission-anchors.md: PML defaults give 0.894427 + 0.367544 on the golden pair; with a
    single positive and a single negative pair PML returns 0 (GenericPairLoss)."""
    two = {"anchor": [[1.0, 0.0], [1.0, 0.0]], "positive": [[0.6, 0.8], [0.6, 0.8]],
           "negatives": [[0.8, 0.6]]}
    r = losscli.evaluate("contrastive", two, like="pml")
    assert math.isclose(r.value, 0.894427190999916 + 0.3675444679663241, rel_tol=1e-12)
    single = losscli.evaluate("contrastive", GOLDEN, like="pml")
    assert single.value == 0.0 and any("single positive pair" in w for w in single.warnings)


def test_mnrl_scores_other_examples_candidates() -> None:
    """sentence-transformers: each anchor also sees the other examples' positives; with
    B = 1 it is plain InfoNCE at t = 0.05 under cosine."""
    one = losscli.evaluate("infonce", GOLDEN, like="sentence-transformers")
    plain = losscli.evaluate("infonce", GOLDEN, similarity="cosine", temperature=0.05)
    assert math.isclose(one.value, plain.value, rel_tol=1e-13)
    two = {"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.6, 0.8], [-0.6, 0.8]],
           "negatives": [[0.8, 0.6]]}
    r = losscli.evaluate("infonce", two, like="sentence-transformers")
    assert r.terms.count == 2 + 2  # B positives, then the bank once per row
    # example 1's own positive first, then p_0, then the bank's column for each example
    assert r.terms.columns["candidate_role"][1].tolist() == ["positive", "positive",
                                                             "negative 0", "negative 0"]
    assert r.terms.columns["candidate_index"][1].tolist() == [1, 0, 0, 1]


def test_keras_reads_probabilities() -> None:
    r = losscli.evaluate("softmax-ce", {"logits": [0.7, 0.2, 0.1], "target": 0}, like="keras")
    assert math.isclose(r.value, -math.log(0.7), rel_tol=1e-13)
    logits = losscli.evaluate("softmax-ce", {"logits": [2.0, 1.0, 0.1], "target": 0},
                              like="tf-addons")
    assert any("look like logits" in w for w in logits.warnings)


def test_a_term_reduction_set_by_the_convention_is_reported_as_changed() -> None:
    r = losscli.evaluate("triplet", {**GOLDEN, "negatives": [[0.8, 0.6], [0.0, 1.0]]},
                         like="tf-addons")
    assert r.params["negatives_reduction"] == "max"
    assert r.convention["changed"]["negatives_reduction"] == {"losscli": "mean",
                                                              "tf-addons": "max"}


# ---------------------------------------------------------------- in-batch, pairs, paired inputs


def test_cosine_embedding_torch_goldens() -> None:
    """torch adds its float32 eps to the squared norms: 0.5999999999999001 and, for tiny
    vectors, 0.7999999993606716 where the exact cosine gives 0."""
    pairs = {"x1": [[1, 0], [1, 0]], "x2": [[0.6, 0.8], [0.8, 0.6]], "label": [1, -1]}
    assert losscli.evaluate("cosine-embedding", pairs, like="torch").value == pytest.approx(
        0.5999999999999001, rel=1e-14)
    assert losscli.evaluate("cosine-embedding", pairs).value == pytest.approx(0.6, rel=1e-14)
    tiny = {"x1": [[3e-7, 4e-7]], "x2": [[3e-7, 4e-7]], "label": [1]}
    assert losscli.evaluate("cosine-embedding", tiny).value == 0.0
    assert losscli.evaluate("cosine-embedding", tiny, like="torch").value == pytest.approx(
        0.7999999993606716, rel=1e-12)


def test_torch_computes_any_label_where_losscli_refuses_it() -> None:
    odd = {"x1": [0.5, 0.3], "x2": [0.1, 0.9], "label": [0.0, 2.0]}
    with pytest.raises(BadData, match="is not \\+1 or -1"):
        losscli.evaluate("margin-ranking", odd)
    with pytest.raises(BadData, match="is not \\+1 or -1"):
        losscli.evaluate("hinge-embedding", {"x1": [0.5, 0.3], "label": [0.0, 2.0]})
    # hinge: a label 0 gets both terms, x + [m - x]+ = 0.5 + 0.5 and 0.3 + 0.7 (x1 alone)
    hinge = losscli.evaluate("hinge-embedding", {"x1": [0.5, 0.3], "label": [0.0, 0.0]},
                             like="torch")
    assert_close(hinge.per_example, [1.0, 1.0])
    # margin-ranking: y scales the difference, [-y (x1 - x2) + m]+
    ranking = losscli.evaluate("margin-ranking", odd, like="torch", margin=0.1)
    assert_close(ranking.per_example, [0.1, 1.3])
    # cosine-embedding: any other label gives 0
    cos = losscli.evaluate("cosine-embedding", {"x1": [[1, 0]], "x2": [[0, 1]],
                                                "label": [0.5]}, like="torch")
    assert cos.per_example.tolist() == [0.0]


def test_margin_pml_stores_beta_as_float32() -> None:
    """LOSSES-MORE.md: the first golden comes out 0.76754451565004 under PML."""
    r = losscli.evaluate("margin", EXPLICIT, like="pml")
    assert r.value == pytest.approx(0.76754451565004, rel=1e-12)
    assert r.params["beta"] == 1.2000000476837158
    assert losscli.evaluate("margin", EXPLICIT).params["beta"] == 1.2


def test_margin_pml_divides_the_batch_by_its_active_pairs() -> None:
    """DivisorReducer: the batch's summed terms over its active count, not a mean of the
    per-example ratios."""
    inputs = {"anchor": [[1.0, 0.0], [1.0, 0.0]], "positive": [[0.6, 0.8], [0.0, 1.0]],
              "negatives": [[0.8, 0.6], [0.0, 1.0]]}
    r = losscli.evaluate("margin", inputs, like="pml")
    assert r.reduction == "divisor"
    pos, neg = r.terms.columns["pos_term"], r.terms.columns["neg_term"]
    assert math.isclose(r.value, (pos.sum() + neg.sum()) / ((pos > 0).sum() + (neg > 0).sum()),
                        rel_tol=1e-14)
    assert not math.isclose(r.value, r.per_example.mean(), rel_tol=1e-6)


def test_supcontrast_is_ntxent_batch_up_to_its_1e9_on_the_golden_batch() -> None:
    """LOSSES-MORE.md: SupContrast without labels is ntxent-batch times t/t_b, with its 1e-9
    (1e-7 relative on the golden batch)."""
    own = losscli.evaluate("ntxent-batch", BATCH)
    assert own.value == pytest.approx(0.9018710813573522, rel=1e-12)
    sc = losscli.evaluate("supcon", BATCH, like="supcontrast")
    assert 1e-8 < abs(sc.value / own.value - 1) < 1e-6
    scaled = losscli.evaluate("supcon", BATCH, like="supcontrast", temperature=0.14)
    plain = losscli.evaluate("ntxent-batch", BATCH, temperature=0.14)
    assert scaled.value == pytest.approx(2 * plain.value, rel=1e-6)  # t / t_b = 2
    assert scaled.params["base_temperature"] == 0.07


def test_dcl_port_doubles_and_leaks_at_small_temperature() -> None:
    """The port sums its two directions (2x) and its log(1e-45) mask leaks: 3e-4 relative on
    the golden batch at t = 0.01."""
    own = losscli.evaluate("dcl", BATCH)
    port = losscli.evaluate("dcl", BATCH, like="dcl-port")
    assert port.value == pytest.approx(2 * own.value, rel=1e-12)
    own = losscli.evaluate("dcl", BATCH, temperature=0.01)
    port = losscli.evaluate("dcl", BATCH, temperature=0.01, like="dcl-port")
    assert 2e-4 < abs(port.value / (2 * own.value) - 1) < 4e-4
    nidl = losscli.evaluate("dcl", BATCH, weighting="vmf", like="nidl")
    assert nidl.value == pytest.approx(-2.100508875491023, rel=1e-12)


def test_hcl_overflows_where_its_linear_space_does() -> None:
    fine = losscli.evaluate("hard-infonce", BATCH, like="hcl")
    assert fine.value == pytest.approx(losscli.evaluate("hard-infonce", BATCH).value,
                                       rel=1e-12)
    r = losscli.evaluate("hard-infonce", BATCH, like="hcl", temperature=0.001)
    assert not r.finite and any("linear-space" in w for w in r.warnings)
    assert math.isfinite(losscli.evaluate("hard-infonce", BATCH, temperature=0.001).value)


def test_pml_zero_rows() -> None:
    """PML: an anchor without a negative, and a call with one pair of each kind, give 0."""
    no_neg = {"anchor": [[1.0, 0.0]], "positives": [[0.6, 0.8], [0.8, 0.6]]}
    own = ref.supcon([1.0, 0.0], [[0.6, 0.8], [0.8, 0.6]], [], temperature=0.1)
    assert own > 0
    assert_close(losscli.evaluate("supcon", no_neg).value, own)
    assert losscli.evaluate("supcon", no_neg, like="pml").value == 0.0
    with pytest.raises(BadData, match="no negatives"):
        losscli.evaluate("circle", no_neg)
    assert losscli.evaluate("circle", no_neg, like="pml").value == 0.0
    single = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}
    for loss in ("supcon", "multi-similarity", "circle"):
        assert losscli.evaluate(loss, single).value > 0
        r = losscli.evaluate(loss, single, like="pml", grad=True)
        assert r.value == 0.0 and any("GenericPairLoss" in w for w in r.warnings)
        assert all(not g.any() for g in r.gradients.values())


def test_circle_pml_softplus_is_linear_above_20() -> None:
    """torch.nn.Softplus(threshold=20): 38.4 + log1p(e^-38.4) becomes 38.4 exactly."""
    own = losscli.evaluate("circle", EXPLICIT)
    pml = losscli.evaluate("circle", EXPLICIT, like="pml")
    assert pml.value == 38.4 or math.isclose(pml.value, 38.4, rel_tol=1e-15)
    assert own.value - pml.value == pytest.approx(math.log1p(math.exp(-38.4)), rel=1e-3)


def test_ms_original_mines_and_uses_beta_40() -> None:
    inputs = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6], [0, 1]]}
    r = losscli.evaluate("multi-similarity", inputs, like="ms-original")
    assert r.params["beta"] == 40.0
    assert r.terms.columns["mined"].tolist() == [[True, True, False]]
    expected = 0.5 * math.log1p(math.exp(-2 * 0.1)) + math.log1p(math.exp(40 * 0.3)) / 40
    assert r.value == pytest.approx(expected, rel=1e-14)


def test_clip_conventions() -> None:
    own = losscli.evaluate("clip", BATCH)
    assert losscli.evaluate("clip", BATCH, like="torch").value == own.value
    rows = losscli.evaluate("clip", BATCH, like="pml")
    assert_close(rows.per_example, [3.6e-08, 0.693147], rel=2e-2)
    st = losscli.evaluate("clip", BATCH, like="sentence-transformers")
    assert st.params["scale"] == 20.0 and st.params["temperature"] == 0.05
    # the user's temperature replaces the library's scale (they say the same thing)
    mine = losscli.evaluate("clip", BATCH, like="sentence-transformers", temperature=0.1)
    assert mine.params["scale"] == 10.0
    assert any("uses scale 20.0 by default" in n for n in mine.convention["notes"])


# ---------------------------------------------------------- gradients of the variant arithmetic


def _views(B: int = 3, D: int = 4) -> dict:
    a = rng.normal(size=(B, D))
    return {"anchor": a, "positive": a + rng.normal(size=(B, D))}


@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_in_batch_variant_gradients(similarity) -> None:
    views = _views()
    both = {"anchor": "sum", "positive": "sum"}
    check_gradients("dcl", views, both, like="dcl-port", similarity=similarity, temperature=0.3)
    check_gradients("dcl", views, both, like="dcl-port", similarity=similarity, temperature=0.3,
                weighting="vmf", sigma=0.7)
    # SupContrast detaches its row max: its gradient is the loss's own where the max is the
    # (constant) self-similarity of unit vectors, or where 1e-9 is negligible beside the
    # partition; small dot vectors keep it so.
    small = {k: 0.3 * v for k, v in views.items()}
    check_gradients("supcon", small, both, like="supcontrast", similarity=similarity,
                temperature=0.4)
    check_gradients("clip", views, both, like="pml", similarity=similarity, temperature=0.5)
    check_gradients("ntxent-batch", views, both, like="pml", similarity=similarity,
                temperature=0.5)
    a = views["anchor"]
    several = {"anchor": 0.3 * a, "positives": 0.3 * (a[:, None] + rng.normal(size=(3, 2, 4)))}
    check_gradients("supcon", several, {"anchor": "sum", "positives": "sum"}, like="supcontrast",
                similarity=similarity, temperature=0.4)


def test_pair_variant_gradients() -> None:
    x1, x2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    labels = np.array([1.0, -1.0, 0.0, -1.0])
    check_gradients("cosine-embedding", {"x1": x1, "x2": x2, "label": labels},
                {"x1": "own", "x2": "own"}, like="torch", margin=-0.5)
    check_gradients("hinge-embedding", {"x1": x1, "x2": x2, "label": labels},
                {"x1": "own", "x2": "own"}, like="torch", margin=5.0)
    check_gradients("margin-ranking", {"x1": x1[:, 0], "x2": x2[:, 0],
                                   "label": [2.0, -0.5, 1.0, -1.0]},
                {"x1": "own", "x2": "own"}, like="torch", margin=3.0)


def test_explicit_variant_gradients() -> None:
    a = rng.normal(size=(3, 4))
    inputs = {"anchor": a, "positive": a + 0.3 * rng.normal(size=(3, 4)),
              "negatives": rng.normal(size=(3, 3, 4))}
    modes = {"anchor": "own", "positive": "own", "negatives": "own"}
    check_gradients("lifted-structure", inputs, modes, like="pml", margin=3.0)
    check_gradients("margin", inputs, modes, like="pml", margin=1.5)
    check_gradients("supcon", inputs, modes, like="pml", temperature=0.5)
    unit = a / np.linalg.norm(a, axis=1, keepdims=True)
    mined = {"anchor": unit, "positive": inputs["positive"], "negatives": inputs["negatives"]}
    check_gradients("multi-similarity", mined, modes, like="ms-original", beta=5.0)


# ---------------------------------------------------------------- what compute reports


def test_compute_json_reports_the_triplet_convention(capsys) -> None:
    code = run(["compute", "triplet", "samples/triplet-golden.json", "--like", "pml",
                "--format", "json"])
    assert code == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["convention"]["library"] == "pytorch-metric-learning"
    assert doc["params"]["margin"] == 0.05 and doc["reduction"] == "mean-nonzero"
    assert "note: like pytorch-metric-learning" in captured.err


def test_compute_json_reports_the_cosine_embedding_convention(capsys) -> None:
    assert run(["compute", "cosine-embedding", "--x1", "samples/a.npy", "--x2", "samples/b.npy",
                "--label", "samples/y.npy", "--like", "torch", "--format", "json"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["convention"]["library"] == "torch"
    assert doc["convention"]["flags"]["eps_placement"] == "norms"
    assert "note: like torch" in out.err
