"""--emulate: the loss in float16 / bfloat16 / float32 arithmetic, against torch autocast on
the CPU (tests/fixtures/generate_emulation.py wrote the fixtures with torch 2.13), and the
diagnosis of where the format loses the loss."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.losses.emulation import FORMAT
from tests.helpers import run_cli

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "emulation.json").read_text())


def params_of(case):
    return {k: v for k, v in case["params"].items() if v is not None}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['loss']}-{c['format']}")
def test_emulation_equals_torch_autocast(case):
    result = losscli.evaluate(case["loss"], case["inputs"], reduction="none",
                              emulate=case["format"], **params_of(case))
    got = np.array([np.nan if v is None else v for v in result.emulation["per_example"]])
    torch = np.array([np.nan if v is None else v for v in case["per_example"]])
    assert np.array_equal(np.isnan(got), np.isnan(torch))  # lost where torch loses it
    ok = ~np.isnan(torch)
    # torch's float32 steps run in another order: a few float32 roundoffs apart
    np.testing.assert_allclose(got[ok], torch[ok], rtol=2e-6, atol=1e-6)
    exact_off = np.max(np.abs(result.per_example - torch)) if ok.all() else 0.0
    if case["format"] == "bfloat16" and exact_off > 0:
        # ... and far closer to torch than the float64 loss is
        assert np.max(np.abs(got - torch)) * 100 < exact_off


def test_bfloat16_rounds_to_nearest_even():
    bf16 = FORMAT["bfloat16"]
    ulp = 2.0 ** -7  # at 1
    x = np.array([1 + ulp / 2, 1 + 3 * ulp / 2, 1 + 0.51 * ulp, -(1 + ulp / 2), 3.4e38,
                  np.nan, np.inf])
    got = bf16.round(x)
    assert got[0] == 1.0  # the tie goes to the even mantissa
    assert got[1] == 1 + 2 * ulp
    assert got[2] == 1 + ulp
    assert got[3] == -1.0
    assert got[4] == np.inf  # past bfloat16's largest (3.3895e38) by over half an ulp
    assert np.isnan(got[5]) and got[6] == np.inf
    assert FORMAT["float16"].round(np.array([65520.0]))[0] == np.inf


def test_float16_overflow_is_diagnosed(capsys, tmp_path):
    big = next(c for c in CASES if c["loss"] == "clip" and c["params"]["similarity"] == "dot"
               and c["format"] == "float16")
    path = tmp_path / "big.json"
    path.write_text(json.dumps(big["inputs"]))
    code, out, err = run_cli(capsys, "compute", "clip", str(path), "--similarity", "dot",
                             "--emulate", "float16", "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["emulation"]["value"] is None and doc["value"] is not None
    assert "logits beyond float16's range" in err
    assert "lost in float16" in err
    assert any("above log(max float16)" in w for w in doc["warnings"])
    from tests.cli.test_schemas import validate

    validate("compute", doc)


def test_float64_value_is_shown_beside(capsys, tmp_path):
    case = next(c for c in CASES if c["loss"] == "infonce" and c["format"] == "bfloat16")
    path = tmp_path / "x.json"
    path.write_text(json.dumps(case["inputs"]))
    opts = [f"--{k.replace('_', '-')}={v}" for k, v in params_of(case).items()]
    code, out, _ = run_cli(capsys, "compute", "infonce", str(path), *opts, "--emulate",
                           "bfloat16", "-f", "table")
    assert code == 0
    result = losscli.evaluate("infonce", case["inputs"], emulate="bfloat16",
                              **params_of(case))
    assert f"emulated bfloat16: value = {result.emulation['value']:.10g}" in out
    assert f"(float64: {result.value:.10g}" in out
    assert math.isclose(result.emulation["float64_value"], result.value, rel_tol=1e-15)


def test_the_registry_says_which_losses_emulation_covers():
    """`compute LOSS --help` hides --emulate by the spec's `emulated` (the emulation package
    imports numpy, which a help must not): it names the losses of the families' EMULATORS,
    no more and no fewer."""
    import importlib
    import pkgutil

    from losscli.losses import LOSSES, emulation

    modelled = {name for found in pkgutil.iter_modules(emulation.__path__)
                for name in importlib.import_module(
                    f"{emulation.__name__}.{found.name}").EMULATORS}
    assert {name for name, spec in LOSSES.items() if spec.emulated} == modelled
    assert set(emulation.emulated_losses()) == modelled  # every family's module is read


def test_emulate_usage_errors(capsys, tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"anchor": [1, 0], "positive": [0, 1], "negatives": [[1, 1]]}))
    code, _, err = run_cli(capsys, "compute", "triplet", str(path), "--emulate", "float16")
    assert code == 2 and "--emulate is not available for triplet" in err
    code, _, err = run_cli(capsys, "compute", "infonce", str(path), "--emulate", "fp8")
    assert code == 2 and "choose one of float16, bfloat16, float32" in err


def test_an_example_lost_in_the_format_is_the_largest_difference():
    # QA10 F11: with 2 of 3 examples NaN in float16 the line said "largest relative
    # difference 2.9e-08": the finite example's, as if the format were fine
    data = {"logits": [[70000.0, 0.0, 1.0], [1.0, 2.0, 0.5], [0.0, -70000.0, 3.0]],
            "target": [1, 0, 2]}
    r = losscli.evaluate("softmax-ce", data, emulate="float16", reduction="none")
    lost = [i for i, v in enumerate(r.emulation["per_example"]) if v is None]
    assert lost and r.emulation["max_relative_difference"] is None
    assert r.emulation["worst_example"] == lost[0]
    from losscli.render.emulation import emulation_line

    assert f"{len(lost)} of 3 example(s) not finite in float16" in emulation_line(r.emulation)


def test_bfloat16_has_float32s_exponent_so_no_exp_overflow_warning():
    # QA10 F12: bfloat16's log(max) is float32's (88.72): the softmax taken in float32
    # overflows no sooner, so the warning (and its advice "not float32") was noise; and
    # losses that round to 0 were written -0.0
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 8))
    data = {"anchor": 30 * a, "positive": 30 * a + rng.normal(size=(4, 8))}
    b16 = losscli.evaluate("npair", data, similarity="dot", emulate="bfloat16")
    f16 = losscli.evaluate("npair", data, similarity="dot", emulate="float16")
    assert not any("above log(max bfloat16)" in w for w in b16.warnings)
    assert any("above log(max float16)" in w for w in f16.warnings)
    assert all(math.copysign(1.0, v) > 0 for v in b16.emulation["per_example"]
               if v is not None and v == 0)


def test_an_emulation_too_large_for_memory_is_refused(monkeypatch):
    """The emulation holds the similarity matrix whole, as the training step does: above
    half the memory available it is refused (exit 4) before anything is allocated (ntxent-
    batch at B = 8,192 took 10.7 GB); below, it runs."""
    from losscli.errors import TooLarge
    from losscli.losses import results

    rng = np.random.default_rng(4)
    inputs = {"anchor": rng.normal(size=(40, 8)), "positive": rng.normal(size=(40, 8))}
    assert losscli.evaluate("ntxent-batch", inputs, emulate="bfloat16").emulation is not None
    terms = 40 * 2 * 79  # 2B views, 2B - 1 candidates each
    monkeypatch.setattr(results, "available_memory", lambda: 2 * 48 * terms - 2)
    with pytest.raises(TooLarge, match="half the memory available"):
        losscli.evaluate("ntxent-batch", inputs, emulate="bfloat16")
    monkeypatch.setattr(results, "available_memory", lambda: 2 * 48 * terms)
    assert losscli.evaluate("ntxent-batch", inputs, emulate="bfloat16").emulation is not None
