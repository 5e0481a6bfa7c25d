"""`sweep`: the engine (losscli.explore through the api) and the command: values, known limits
and kinks, refusals, JSON Lines, CSV, the terminal chart and the PNG."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import losscli
from losscli import api, explore
from losscli.cli import run
from losscli.errors import UsageError
from tests.helpers import sample

SEED1 = "samples/seed-example-1.json"
BATCH = "samples/batch.npz"


def batch() -> dict:
    return sample("batch.npz")


def test_sweep_values_evaluate_through_the_api() -> None:
    values = explore.sweep_values(0.01, 1.0, 7, log=True)
    assert math.isclose(values[0], 0.01) and math.isclose(values[-1], 1.0)
    assert np.allclose(np.diff(np.log(values)), np.log(100) / 6)
    s = api.sweep("infonce", batch(), "temperature", values)
    for v, loss in zip(values, s.losses, strict=True):
        assert math.isclose(loss, losscli.evaluate("infonce", batch(), temperature=v).value,
                            rel_tol=1e-14)


def test_infonce_temperature_bounds_and_limits() -> None:
    inputs = batch()
    values = explore.sweep_values(1e-3, 1e3, 25, log=True)
    s = api.sweep("infonce", inputs, "temperature", values)
    assert np.all(s.columns["lower_bound"] <= s.losses * (1 + 1e-12))
    assert np.all(s.losses <= s.columns["upper_bound"] * (1 + 1e-12))
    K = inputs["negatives"].shape[-2]
    assert math.isclose(s.limits["large_temperature"], math.log(K + 1))
    assert math.isclose(s.losses[-1], math.log(K + 1), rel_tol=1e-3)
    # as t shrinks, t * loss tends to the mean gap (max s_n - s_p)+
    assert math.isclose(values[0] * s.losses[0], s.limits["small_temperature_gap"],
                        rel_tol=1e-2)


def test_triplet_margin_kinks_are_where_the_slope_changes() -> None:
    inputs = {"anchor": [0.0, 0.0], "positive": [1.0, 0.0], "negatives": [[1.5, 0.0],
                                                                          [3.0, 0.0]]}
    s = api.sweep("triplet", inputs, "margin", explore.sweep_values(0, 4, 9))
    assert s.limits["kinks"] == [0.5, 2.0]  # d_an - d_ap
    want = [(max(m - 0.5, 0) + max(m - 2.0, 0)) / 2 for m in s.values]
    np.testing.assert_allclose(s.losses, want, rtol=1e-14, atol=1e-15)
    assert s.columns["active_share"].tolist()[:3] == [0.0, 0.0, 0.5]  # 0 at the kink itself


def test_contrastive_and_quadruplet_kinks() -> None:
    inputs = {"anchor": [0.0, 0.0], "positive": [1.0, 0.0], "negatives": [[1.5, 0.0],
                                                                          [3.0, 0.0]]}
    s = api.sweep("contrastive", inputs, "margin", explore.sweep_values(0, 4, 5))
    assert s.limits["kinks"] == [1.5, 3.0]
    assert "quadratic" in s.limits["notes"][0]
    q = api.sweep("quadruplet", {**inputs, "negatives2": [[1.5, 1.0], [3.0, 2.0]]},
                      "margin2", explore.sweep_values(0, 4, 5), distance="euclidean")
    assert q.limits["kinks"] == [0.0, 1.0]  # d_nn - d_ap = 1 - 1, 2 - 1


def test_any_numeric_parameter_sweeps_and_equals_single_evaluations() -> None:
    from pathlib import Path

    ex = Path(__file__).resolve().parents[2] / "samples" / "ex.json"
    inputs = losscli.load_inputs(str(ex))
    values = np.array([0.0, 0.5, 2.0])
    swept = api.sweep("hard-infonce", inputs, "beta", values)
    for beta, loss in zip(values, swept.losses, strict=True):
        assert loss == losscli.evaluate("hard-infonce", inputs, beta=float(beta)).value
    with pytest.raises(UsageError, match="cannot be swept"):
        api.sweep("triplet", inputs, "swap", values)


def test_sweep_refuses_what_it_cannot_sweep() -> None:
    with pytest.raises(UsageError, match="cannot be swept"):
        api.sweep("triplet", batch(), "temperature", np.array([0.1, 0.2]))
    with pytest.raises(UsageError, match="both given"):
        api.sweep("triplet", batch(), "margin", np.array([0.1, 0.2]), margin=1.0)
    with pytest.raises(UsageError, match="--log needs a positive range"):
        explore.sweep_values(0.0, 1.0, 5, log=True)
    with pytest.raises(UsageError, match="^temperature got 0.0"):
        api.sweep("infonce", batch(), "temperature", np.array([0.0, 1.0]))


def test_sweep_cli_jsonl_then_limits(capsys) -> None:
    code = run(["sweep", "infonce", SEED1, "--param", "temperature", "--from", "0.01",
                "--to", "1", "--steps", "5", "--log"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 6
    assert [round(r["temperature"], 10) for r in records[:5]] == [0.01, 0.0316227766,
                                                                  0.1, 0.316227766, 1.0]
    assert "limits" in records[-1] and records[-1]["limits"]["notes"]


def test_sweep_cli_csv_and_plot(capsys) -> None:
    code = run(["sweep", "triplet", BATCH, "--param", "margin", "--from", "0", "--to", "2",
                "--steps", "3", "--format", "csv", "--plot"])
    assert code == 0
    out, err = capsys.readouterr()
    header = out.splitlines()[0].split(",")
    assert header[:4] == ["step", "margin", "value", "active_share"]
    assert len(out.splitlines()) == 4
    assert "loss against margin" in err and "note: piecewise linear" in err


def test_png_without_matplotlib_says_how_to_install(monkeypatch, tmp_path, capsys) -> None:
    import builtins

    real = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    png = tmp_path / "m.png"
    code = run(["sweep", "triplet", BATCH, "--param", "margin", "--from", "0", "--to", "2",
                "--png", str(png)])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'losscli[plot]'" in err
    assert len(err.strip().splitlines()) == 1 and not png.exists()


def test_png_written_when_matplotlib_is_there(tmp_path, capsys) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "m.png"
    code = run(["sweep", "triplet", BATCH, "--param", "margin", "--from", "0", "--to", "2",
                "--steps", "4", "--png", str(png)])
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run(["sweep", "triplet", BATCH, "--param", "margin", "--from", "0", "--to", "2",
                "--png", str(png)]) == 6  # exists: --force to overwrite


def _pair() -> dict:
    """A paired batch of three (clip, siglip): the input QA reproduced the sweep on."""
    r = np.random.default_rng(1)
    return {"anchor": r.normal(size=(3, 5)), "positive": r.normal(size=(3, 5))}


@pytest.mark.parametrize("param, tied", [("temperature", "scale"), ("scale", "temperature")])
def test_a_sweep_does_not_report_a_parameter_tied_to_the_swept_one_as_fixed(
        param: str, tied: str) -> None:
    """clip's scale is 1/temperature: sweeping one moves the other, so the fixed parameters
    (JSON `params`, the table's header) must not show it at its first step's value."""
    values = explore.sweep_values(0.1, 1.0, 3) if param == "temperature" else \
        explore.sweep_values(1.0, 10.0, 3)
    s = api.sweep("clip", _pair(), param, values)
    assert param not in s.params and tied not in s.params
    assert s.params == {"similarity": "cosine"}
    with pytest.raises(UsageError) as info:
        api.sweep("clip", _pair(), param, values, **{tied: 0.5})
    assert info.value.message() == (f"--{tied} and --param {param} both given; drop --{tied}: "
                                    f"it is another form of {param}, which the sweep sets")
    for v, loss in zip(values, s.losses, strict=True):  # the numbers were right already
        assert math.isclose(loss, losscli.evaluate("clip", _pair(), **{param: v}).value,
                            rel_tol=1e-14)


def test_a_parameter_that_defaults_to_the_swept_one_is_not_reported_fixed() -> None:
    """QA9 M1: supcon's base_temperature is t unless given, so it moves with a temperature
    sweep; `params` showed it at the first step's t (0.05), a value that reproduces no point
    but the first. Given, it is fixed and reported."""
    r = np.random.default_rng(3)
    x = {"anchor": r.normal(size=(3, 4)), "positives": r.normal(size=(3, 2, 4))}
    values = [0.05, 0.5, 1.0]
    s = api.sweep("supcon", x, "temperature", values)
    assert "base_temperature" not in s.params and s.params == {"similarity": "cosine"}
    for v, loss in zip(values, s.losses, strict=True):
        assert math.isclose(loss, losscli.evaluate("supcon", x, temperature=v).value,
                            rel_tol=1e-14)
    fixed = api.sweep("supcon", x, "temperature", values, base_temperature=0.07)
    assert fixed.params["base_temperature"] == 0.07


def test_the_tied_parameters_are_declared_by_the_specs() -> None:
    """The pairs of parameters that say one thing two ways are metadata of the spec (no
    layer branches on a loss's name): clip ties temperature and scale, siglip has only a
    scale (its temperature is not a parameter), the others tie nothing."""
    from losscli.losses import LOSSES

    assert LOSSES["clip"].tied("temperature") == ("scale",)
    assert LOSSES["clip"].tied("scale") == ("temperature",)
    assert LOSSES["siglip"].tied("scale") == ()
    for spec in LOSSES.values():
        for p in spec.params:
            for other in spec.tied(p.name):
                assert p.name in spec.tied(other) and other != p.name


def test_siglip_sweep_of_scale_keeps_its_bias_and_similarity() -> None:
    s = api.sweep("siglip", _pair(), "scale", explore.sweep_values(1.0, 10.0, 3))
    assert s.params == {"bias": -10.0, "similarity": "cosine"}


def test_sweep_cli_json_and_table_leave_out_the_tied_parameter(capsys, tmp_path) -> None:
    pair = tmp_path / "pair.json"
    pair.write_text(json.dumps({k: v.tolist() for k, v in _pair().items()}))
    code = run(["sweep", "clip", str(pair), "--param", "temperature", "--from", "0.1", "--to",
                "1", "--steps", "3", "-f", "json"])
    out = capsys.readouterr().out
    assert code == 0 and json.loads(out)["params"] == {"similarity": "cosine"}
    code = run(["sweep", "clip", str(pair), "--param", "scale", "--from", "1", "--to", "10",
                "--steps", "3", "-f", "table"])
    out = capsys.readouterr().out
    assert code == 0 and "clip: sweep of scale  (similarity=cosine; reduction mean)" in out


def test_a_zero_width_range_is_refused_in_one_line(capsys) -> None:
    with pytest.raises(UsageError, match="--from and --to are equal"):
        explore.sweep_values(0.1, 0.1, 3)
    for log in ([], ["--log"]):
        code = run(["sweep", "infonce", SEED1, "--param", "temperature", "--from", "0.1",
                    "--to", "0.1", "--steps", "3", *log])
        captured = capsys.readouterr()
        assert code == 2 and captured.out == ""
        assert captured.err == ("error: --from and --to are equal (0.1); give two different "
                                "values, or use compute for one value\n")


def test_a_descending_range_runs_from_from_to_to_and_is_documented(capsys) -> None:
    values = explore.sweep_values(1.0, 0.1, 3)
    assert values.tolist() == [1.0, 0.55, 0.1]
    assert explore.sweep_values(1.0, 0.01, 3, log=True)[0] == 1.0
    code = run(["sweep", "infonce", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0 and "either direction" in out
    from tests.helpers import ROOT

    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "from `--from` to `--to`, in either direction" in readme


@pytest.mark.parametrize("command", ["sweep", "stats", "compare"])
def test_explore_format_help_says_json_lines_when_piped(capsys, command) -> None:
    """They write JSON Lines when piped (the contract), and their help says so."""
    code = run([command, "--help"])
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert code == 0
    assert "auto (table on a terminal, JSON Lines when piped, or from --out's suffix), " \
        "table, jsonl, json or csv" in out
    assert "JSON when piped" not in out and "(jsonl)" not in out
