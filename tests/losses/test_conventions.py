"""--like: the registry's Convention data, its resolution, the changes it reports, the
cells a library does not define (exit 2), and losscli's own definition left untouched."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import losscli
from losscli.cli import run
from losscli.errors import UsageError
from losscli.losses import LIBRARIES, LOSSES, Convention, get_spec
from losscli.losses.conventions import apply, defined_for, library_name
from losscli.losses.spec import DIRECTIONS, EPS_PLACEMENTS, LIKE_REDUCTIONS

GOLDEN = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}


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


def test_quadruplet_has_no_library() -> None:
    assert defined_for(get_spec("quadruplet")) == []
    with pytest.raises(UsageError, match="defines no quadruplet"):
        losscli.evaluate("quadruplet", {**GOLDEN, "negatives2": [[0, 1]]}, like="torch")


@pytest.mark.parametrize("loss,like", [("softmax-ce", "pytorch-metric-learning"),
                                       ("softmax-ce", "sentence-transformers"),
                                       ("infonce", "tf-addons"), ("contrastive", "optax")])
def test_undefined_cells_exit_2(loss: str, like: str, capsys) -> None:
    code = run(["compute", loss, "samples/ex.json", "--like", like])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"{like} defines no {loss}" in err
    assert len(err.strip().splitlines()) == 1


def test_aliases_and_unknown_library() -> None:
    assert library_name("PML") == "pytorch-metric-learning"
    assert library_name("pytorch") == "torch"
    with pytest.raises(UsageError, match="--like got") as exc:
        library_name("tensorflow-probability")
    assert "choose one of torch" in exc.value.message()


def test_options_a_library_cannot_express_exit_2() -> None:
    with pytest.raises(UsageError, match="--soft has no counterpart in torch"):
        losscli.evaluate("triplet", GOLDEN, like="torch", soft=True)
    with pytest.raises(UsageError, match="--distance cosine"):
        losscli.evaluate("triplet", GOLDEN, like="optax", distance="cosine")
    with pytest.raises(UsageError, match="no class weights"):
        losscli.evaluate("softmax-ce", {"logits": [1.0, 2.0], "target": 0, "weight": [1, 2]},
                         like="optax")


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
    assert r.terms.columns["target"][0].tolist() == [True, False, False, False]


def test_keras_reads_probabilities() -> None:
    r = losscli.evaluate("softmax-ce", {"logits": [0.7, 0.2, 0.1], "target": 0}, like="keras")
    assert math.isclose(r.value, -math.log(0.7), rel_tol=1e-13)
    logits = losscli.evaluate("softmax-ce", {"logits": [2.0, 1.0, 0.1], "target": 0},
                              like="tf-addons")
    assert any("look like logits" in w for w in logits.warnings)


def test_compute_json_reports_the_convention(capsys) -> None:
    code = run(["compute", "triplet", "samples/triplet-golden.json", "--like", "pml",
                "--format", "json"])
    assert code == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["convention"]["library"] == "pytorch-metric-learning"
    assert doc["params"]["margin"] == 0.05 and doc["reduction"] == "mean-nonzero"
    assert "note: like pytorch-metric-learning" in captured.err


def test_apply_defaults_reduction_and_rejects_unknown_ones() -> None:
    spec = get_spec("triplet")
    assert apply(spec, "optax", {}, None).reduction == "none"
    with pytest.raises(UsageError, match="--reduction"):
        apply(spec, "torch", {}, "median")
    noted = apply(spec, "optax", {}, "mean")
    assert any("does not offer reduction" in n for n in noted.notes)


def test_a_term_reduction_set_by_the_convention_is_reported_as_changed() -> None:
    r = losscli.evaluate("triplet", {**GOLDEN, "negatives": [[0.8, 0.6], [0.0, 1.0]]},
                         like="tf-addons")
    assert r.params["negatives_reduction"] == "max"
    assert r.convention["changed"]["negatives_reduction"] == {"losscli": "mean",
                                                              "tf-addons": "max"}
