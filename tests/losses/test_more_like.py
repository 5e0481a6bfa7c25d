"""--like for LOSSES-MORE.md's losses: the goldens its text gives for each library's
arithmetic, the cells a library does not define (exit 2), options and roles a library cannot
express (exit 2), gradients of the variant arithmetic against finite differences, and the
issue's `compare` and `compute --grad` through the CLI.

Library numbers themselves are checked in test_more_parity.py (fixtures the libraries made).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import losscli
from losscli.cli import run
from losscli.errors import BadData, UsageError
from losscli.losses import FAMILIES
from tests.helpers import assert_close, check_gradients

BATCH = {"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.6, 0.8], [-0.6, 0.8]]}
EXPLICIT = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6], [0.0, 1.0]]}
rng = np.random.default_rng(7)


# ------------------------------------------------------------- LOSSES-MORE.md's numbers


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
    assert losscli.evaluate("supcon", no_neg).value == pytest.approx(math.log(2) + 0.0,
                                                                     abs=1.0)
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


# ------------------------------------------------------------------- exit 2 and its words


def test_every_new_loss_has_a_structured_convention() -> None:
    from losscli.losses.conventions import defined_for

    for spec in (*FAMILIES["in-batch"], *FAMILIES["pairs"], *FAMILIES["paired-inputs"]):
        assert defined_for(spec), spec.name


@pytest.mark.parametrize("loss,like,inputs,needle", [
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


# ------------------------------------------------------- gradients of the variant arithmetic


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


# ---------------------------------------------------------------------- the CLI


def test_compare_supcon_ex_json(capsys) -> None:
    """`losscli compare supcon ex.json`: losscli's own row first, then one per convention."""
    assert run(["compare", "supcon", "samples/ex.json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = [r["convention"] for r in rows]
    assert names == ["losscli", "torch", "pytorch-metric-learning", "sentence-transformers",
                     "tf-addons", "optax", "supcontrast"]
    own, pml = rows[0], rows[2]
    assert own["defined"] and pml["defined"] and pml["reduction"] == "mean-nonzero"
    assert pml["value"] == pytest.approx(own["value"], rel=1e-15)
    assert "defines no supcon" in rows[1]["reason"]
    assert "negatives has no counterpart" in rows[-1]["reason"]


@pytest.mark.parametrize("loss,extra,expected", [
    ("dcl", [], {"dcl-port", "nidl"}),
    ("clip", [], {"torch", "pytorch-metric-learning", "sentence-transformers", "open-clip"}),
    ("supcon", [], {"supcontrast", "pytorch-metric-learning"}),
    ("cosine-embedding", ["--x1", "samples/a.npy", "--x2", "samples/b.npy", "--label",
                          "samples/y.npy"], {"torch"}),
])
def test_compare_rows_for_the_new_losses(loss, extra, expected, capsys) -> None:
    args = ["compare", loss] + (["samples/views.npz"] if loss in ("dcl", "clip", "supcon")
                                else [])
    assert run(args + extra) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["convention"] == "losscli"
    assert {r["convention"] for r in rows if r["defined"]} == expected | {"losscli"}
    for r in rows:
        assert r["defined"] == (r["value"] is not None) or r["value"] is None


def test_compute_like_json_reports_the_convention(capsys) -> None:
    assert run(["compute", "cosine-embedding", "--x1", "samples/a.npy", "--x2", "samples/b.npy",
                "--label", "samples/y.npy", "--like", "torch", "--format", "json"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["convention"]["library"] == "torch"
    assert doc["convention"]["flags"]["eps_placement"] == "norms"
    assert "note: like torch" in out.err


# ---------------------------------------------------------------- compute --grad, the CLI


@pytest.mark.parametrize("args,roles", [
    (["supcon", "samples/ex.json"], {"anchor", "positive", "negatives"}),
    (["supcon", "samples/positives.json"], None),
    (["clip", "samples/views.npz"], {"anchor", "positive"}),
    (["ntxent-batch", "samples/views.npz"], {"anchor", "positive"}),
    (["siglip", "samples/views.npz"], {"anchor", "positive"}),
    (["dcl", "samples/views.npz"], {"anchor", "positive"}),
    (["hard-infonce", "samples/ex.json"], {"anchor", "positive", "negatives"}),
    (["multi-similarity", "samples/ex.json"], {"anchor", "positive", "negatives"}),
    (["circle", "samples/ex.json"], {"anchor", "positive", "negatives"}),
    (["lifted-structure", "samples/ex.json"], {"anchor", "positive", "negatives"}),
    (["margin", "samples/ex.json"], {"anchor", "positive", "negatives"}),
    (["cosine-embedding", "--x1", "samples/a.npy", "--x2", "samples/b.npy", "--label",
      "samples/y.npy"], {"x1", "x2"}),
    (["hinge-embedding", "samples/hinge.json"], {"x1"}),
    (["margin-ranking", "samples/ranking.json"], {"x1", "x2"}),
])
def test_compute_grad_json_and_table(args, roles, capsys, monkeypatch) -> None:
    """--grad through the CLI: the JSON carries each example's gradients by role (the
    in-batch forms: of the summed loss w.r.t. the example's own a_i and p_i), equal to the
    api's; the table shows a norm per term and per role."""
    assert run(["compute", *args, "--grad", "--format", "json"]) == 0, capsys.readouterr().err
    doc = json.loads(capsys.readouterr().out)
    if roles is not None:
        assert all(set(ex["gradients"]) == roles for ex in doc["examples"])
    loss, path = args[0], args[1]
    if path.endswith((".json", ".npz")) and loss not in ("hinge-embedding",
                                                          "margin-ranking"):
        inputs = dict(np.load(path)) if path.endswith(".npz") else json.loads(
            open(path).read())
        if loss in ("clip", "ntxent-batch", "siglip", "dcl"):
            inputs.pop("negatives", None)
        r = losscli.evaluate(loss, inputs, grad=True)
        last = doc["examples"][-1]
        for role, g in r.gradients.items():
            np.testing.assert_allclose(np.asarray(last["gradients"][role], dtype=float),
                                       g[-1] if g.shape[0] == r.batch else g[0], rtol=1e-15)
    monkeypatch.setenv("COLUMNS", "400")  # room for every column's header
    assert run(["compute", *args, "--grad", "--format", "table", "--show", "1"]) == 0
    table = " ".join(capsys.readouterr().out.split())
    assert "|grad|" in table and "gradient norms:" in table
    assert run(["compute", *args, "--grad", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    column = lines[0].split(",").index("grad_norm")
    norms = [float(line.split(",")[column]) for line in lines[1:] if line.split(",")[column]]
    assert norms and all(math.isfinite(n) for n in norms)
