"""The registry is the single source: the README and the implementations follow it, and
names and aliases resolve through it."""

from __future__ import annotations

import pytest

import losscli
from losscli.errors import LossCliError
from losscli.losses import ALIASES, LOSSES, get_spec, module_of
from tests.helpers import ROOT, sample

README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_is_documented_in_the_readme(name):
    spec = LOSSES[name]
    assert f"`{name}`" in README
    for param in spec.params:
        assert param.option in README, f"{param.option} of {name} not in README"
    for column in spec.columns:
        assert f"`{column.name}`" in README, f"column {column.name} of {name} not in README"


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_says_how_its_gradient_reaches_the_inputs(name):
    """`explain` promises each loss's gradients (README); 14 of 19 had none (QA12 M3)."""
    assert len(LOSSES[name].gradient) > 40


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_has_an_implementation_and_defaults_that_validate(name):
    spec = LOSSES[name]
    assert callable(module_of(spec).evaluate)
    resolved = spec.resolve({})
    assert resolved == {p.name: p.default for p in spec.params}


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_name_resolves_to_its_own_spec_however_it_is_spelt(name):
    spec = LOSSES[name]
    assert spec.name == name
    for spelling in (name, name.upper(), name.replace("-", "_"), f" {name} "):
        assert get_spec(spelling) is spec, spelling


def test_aliases_are_unique_and_resolve():
    assert not set(ALIASES) & set(LOSSES)
    for alias, name in ALIASES.items():
        assert get_spec(alias).name == name
        assert get_spec(alias.upper().replace("-", "_")).name == name


def test_aliases_resolve_to_the_same_loss():
    assert losscli.evaluate("ntxent", sample("seed-example-1.json")).loss == "infonce"
    assert losscli.evaluate("cross-entropy", {"logits": [2, 1, 0.1], "target": 0}).loss \
        == "softmax-ce"


def test_unknown_names_suggest_the_closest():
    with pytest.raises(LossCliError) as info:
        get_spec("triplett")
    assert "did you mean triplet?" in info.value.message()


def test_only_a_close_loss_name_is_suggested():
    # QA: "nosuchloss" was offered supconloss, an alias, close only by their `loss` endings
    hints = {
        "nosuchloss": None,
        "xyz": None,
        "tripletloss": "triplet",  # a `loss` ending and hyphens set aside
        "supcon-loss": "supcon",
        "hinge": "hinge-embedding",  # the one loss whose names begin with it
        "crossentropy": "cross-entropy, i.e. softmax-ce",  # an alias says its loss
        # QA21 L2: other losses, one letter off a two-letter alias, got that alias
        "mse": None,
        "bce": None,
        "circle-losss": "circle",  # a doubled s of the ending
        "supconlosss": "supcon",
        "margin-losses": "margin",
        # two equally close: both, not the first the registry lists
        "embedding": "hinge-embedding or cosine-embedding",
    }
    for typed, hint in hints.items():
        with pytest.raises(LossCliError) as info:
            get_spec(typed)
        message = info.value.message()
        if hint is None:
            assert "did you mean" not in message, message
        else:
            assert f"(did you mean {hint}?)" in message, message


def test_readme_loss_table_is_the_registry():
    from losscli.cli.catalog import markdown_table

    start = README.index("<!-- losses-table:start -->\n") + len("<!-- losses-table:start -->\n")
    end = README.index("<!-- losses-table:end -->")
    assert README[start:end] == markdown_table(), "regenerate the README table"


@pytest.mark.parametrize("spec", [s for s in LOSSES.values() if "positives" in s.roles],
                         ids=lambda s: s.name)
def test_positive_and_positives_stand_in_for_each_other(spec):
    """LOSSES-MORE.md: wherever positives is accepted, positive is accepted too (P = 1): the
    required one of the two names the other as its stand-in, so a role set or an input
    holding either lacks nothing, and the catalogue says so."""
    both = {"positive", "positives"}
    assert both <= set(spec.roles)
    (required,) = both & set(spec.required)
    (other,) = both - {required}
    assert spec.stand_ins == {required: other}
    assert spec.missing({"anchor", "negatives", other}) == []
