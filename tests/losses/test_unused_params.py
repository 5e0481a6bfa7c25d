"""A parameter given where it does not enter the value (triplet's margin under --soft, whose
term is softplus(d_ap - d_an)) is said in a warning, in compute, batch and sweep alike: the
margin reported in `params` is not one that moved the value (QA17 M1). A convention whose
soft term keeps the margin (PML's smooth_loss) has no such warning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.losses import LOSSES
from losscli.losses.spec import Convention

RNG = np.random.default_rng(17)
INPUTS = {"anchor": RNG.normal(size=(4, 5)), "positive": RNG.normal(size=(4, 5)),
          "negatives": RNG.normal(size=(4, 3, 5))}
SAID = "margin does not enter triplet's value under"  # --margin, --soft in the CLI


def unused_said(warnings: list[str] | tuple[str, ...]) -> bool:
    return any(SAID in w for w in warnings)


def test_a_margin_given_with_soft_is_said_and_moves_no_value():
    with_margin = losscli.evaluate("triplet", INPUTS, soft=True, margin=0.5)
    without = losscli.evaluate("triplet", INPUTS, soft=True)
    assert with_margin.value == without.value
    assert unused_said(with_margin.warnings) and not unused_said(without.warnings)


@pytest.mark.parametrize("options", [{"margin": 0.5}, {"margin": 0.5, "soft": False},
                                     {"soft": True, "margin": 0.5,
                                      "like": "pytorch-metric-learning"}])
def test_no_warning_where_the_margin_enters_the_value(options):
    r = losscli.evaluate("triplet", INPUTS, **options)
    assert not unused_said(r.warnings)


def test_batch_records_say_it_in_the_streamed_form(tmp_path):
    np.savez(tmp_path / "t.npz", **INPUTS)
    [record] = losscli.evaluate_files("triplet", [str(tmp_path / "t.npz")], soft=True,
                                      margin=2.0)
    assert unused_said(record.warnings)
    [plain] = losscli.evaluate_files("triplet", [str(tmp_path / "t.npz")], soft=True)
    assert not unused_said(plain.warnings)


def test_a_sweep_of_the_margin_under_soft_says_it_in_its_limits():
    # the sweep sets the margin, it was not given: the limits' note says the loss is
    # constant in it, not a warning about an option never typed (QA18 L4)
    r = losscli.sweep("triplet", INPUTS, "margin", [0.0, 0.5, 1.0], soft=True)
    assert len(set(r.losses)) == 1
    assert not unused_said(r.warnings)
    assert "soft: the margin is unused, the loss is constant in it" in r.limits["notes"]


def test_every_unused_declaration_names_a_parameter_and_a_convention_flag():
    flags = set(Convention.__dataclass_fields__)
    declared = 0
    for spec in LOSSES.values():
        for p in spec.params:
            if p.unused is not None:
                declared += 1
                spec.param(p.unused.param)  # KeyError if the loss has no such parameter
                assert p.unused.kept_by is None or p.unused.kept_by in flags
    assert declared >= 1


def test_the_cli_names_the_options(capsys):
    from tests.helpers import run_cli

    seed = Path(__file__).resolve().parents[2] / "samples" / "seed-example-1.json"
    code, out, err = run_cli(capsys, "compute", "triplet", str(seed),
                             "--soft", "--margin", "0.5", "-f", "json")
    assert code == 0, err
    assert "warning: --margin does not enter triplet's value under --soft: " in err
