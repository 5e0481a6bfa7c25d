"""Errors of the loss names, parameters and data through the CLI: the exit code and the one
`error:` line that names the fix; warnings and null results where a value is defined but
risky (tests/cli/test_bad_inputs.py holds the catalogue of bad files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from losscli.cli import run
from tests.helpers import ROOT, SAMPLES, SEED1
from tests.helpers import run_cli as cli
from tests.helpers import run_cli_json as cli_json


@pytest.fixture(autouse=True)
def _in_samples(monkeypatch):
    monkeypatch.chdir(SAMPLES)  # the commands name the samples bare, as the README does


@pytest.mark.parametrize("args,code,words", [
    (["compute", "infonc", SEED1], 2, ["unknown loss", "infonce"]),
    (["compute", "infonce", SEED1, "--temperature", "0"], 2, ["--temperature", "> 0"]),
    (["compute", "infonce", SEED1, "--temperature", "nan"], 2, ["--temperature", "finite"]),
    (["compute", "infonce", SEED1, "--margin", "1"], 2, ["--margin", "does not apply"]),
    (["compute", "triplet", SEED1, "--distance", "manhattan"], 2, ["euclidean"]),
    (["compute", "infonce", "missing.json"], 3, ["missing.json", "no such file"]),
    (["compute", "quadruplet", "samples/triplet-golden.json"], 4, ["negatives2"]),
    (["compute", "infonce", SEED1, "--bogus"], 2, ["--bogus"]),
])
def test_errors_are_one_line_with_their_exit_code(capsys, monkeypatch, args, code, words):
    monkeypatch.chdir(ROOT)
    got, out, err = cli(capsys, *args)
    assert got == code
    assert out == ""
    assert err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3
    for word in words:
        assert word in err


@pytest.mark.parametrize("command", ["compute", "batch", "sweep", "stats", "compare"])
def test_a_command_without_its_loss_is_a_usage_error(capsys, command):
    # QA: compute, batch, sweep, stats and compare with no arguments printed their help and
    # exited 0, where explain said "Missing argument 'LOSS'" and exited 2
    code, out, err = cli(capsys, command)
    assert (code, out) == (2, "")
    assert err.splitlines() == ["error: Missing argument 'LOSS'.",
                                f"try 'losscli {command} --help'"]
    assert cli(capsys, "explain")[:2] == (2, "")
    # `losscli` alone names no command yet: the help is the answer there (exit 0, stdout)
    code, out, err = cli(capsys)
    assert (code, err) == (0, "") and out.startswith("Usage: losscli")


@pytest.mark.parametrize("argv", [
    ["compute", "infonce", SEED1, "-t", "abc"],
    ["compute", "softmax-ce", SEED1, "--ignore-index", "2.5"],
    ["batch", "infonce", SEED1, "--jobs", "two"],
    ["batch", "infonce", SEED1, "--jobs", "0"],
    ["batch", "infonce", SEED1, "--dtype", "float16"],
])
def test_bad_option_values_are_usage_errors(capsys, argv):
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def write(tmp_path: Path, doc: dict) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    return str(path)


BAD_DATA = [
    ("cosine-embedding", {"x1": [[1, 0]], "x2": [[0, 1]], "label": [0]}, "is not +1 or -1"),
    ("cosine-embedding", {"x1": [[1, 0]], "x2": [[0, 1]], "label": [0.5]}, "is not +1 or -1"),
    ("margin-ranking", {"x1": [1, 2], "x2": [1, 2], "label": [2, 1]}, "is not +1 or -1"),
    ("cosine-embedding", {"x1": [[1, 0]], "x2": [[0, 1, 2]], "label": [1]}, "does not match"),
    ("cosine-embedding", {"x1": [[1, 0], [0, 1]], "x2": [[0, 1], [1, 0]], "label": [1]},
     "does not fit"),
    ("margin-ranking", {"x1": [1, 2], "x2": [1], "label": [1, 1]}, "does not match"),
    ("supcon", {"anchor": [1, 0], "positive": [1, 0], "positives": [[1, 0]]},
     "both positive and positives"),
    ("supcon", {"anchor": [1, 0], "positives": [[1, 0, 0]]}, "do not match anchor dimension"),
    ("supcon", {"anchor": [1, 0]}, "no positives given"),
    ("ntxent-batch", {"anchor": [[1, 0], [0, 1]], "positive": [[1, 0], [0, 1]],
                      "negatives": [[1, 1]]}, "use infonce"),
    ("clip", {"anchor": [1, 0], "positive": [0, 1]}, "B >= 2"),
    ("ntxent-batch", {"anchor": [[1, 0]], "positive": [[0, 1]]}, "B >= 2"),
    ("dcl", {"anchor": [[1, 0]], "positive": [[0, 1]]}, "B >= 2"),
    ("dcl", {"anchor": [1, 0], "positive": [0, 1], "negatives": [[]]}, "empty"),
    ("circle", {"anchor": [1, 0], "positive": [0, 1]}, "no negatives given"),
    ("lifted-structure", {"anchor": [1, 0], "positives": [[0, 1], [1, 1]],
                          "negatives": [[1, 1]]}, "--variant generalized"),
    ("hinge-embedding", {"x1": [[1, 0]], "label": [1]}, "must be a number"),
]


@pytest.mark.parametrize("loss,doc,words", BAD_DATA)
def test_bad_data_exits_4_with_one_line(capsys, tmp_path, loss, doc, words):
    code, out, err = cli(capsys, "compute", loss, write(tmp_path, doc))
    assert code == 4, err
    assert words in err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert out == "" and "Traceback" not in err


USAGE = [
    ("clip", ["--temperature", "0.1", "--scale", "10"], "both given"),
    ("hard-infonce", ["--tau-plus", "1"], "[0, 1)"),
    ("hard-infonce", ["--beta", "-1"], ">= 0"),
    ("margin-ranking", ["--margin", "-0.1"], ">= 0"),
    ("cosine-embedding", ["--margin", "1.5"], "[-1, 1]"),
    ("siglip", ["--scale", "0"], "> 0"),
    ("siglip", ["--bias", "nan"], "finite"),
    ("dcl", ["--weighting", "vfm"], "did you mean vmf"),
    ("lifted-structure", ["--variant", "songs"], "did you mean song"),
    ("circle", ["--similarity", "dot"], "does not apply to circle"),
    ("supcon", ["--base-temperature", "0"], "> 0"),
]


@pytest.mark.parametrize("loss,args,words", USAGE)
def test_bad_parameters_exit_2(capsys, loss, args, words):
    code, out, err = cli(capsys, "compute", loss, "ex.json", *args)
    assert code == 2, err
    assert words in err and "Traceback" not in err and out == ""


def test_no_clamp_negative_ng_is_null_with_a_warning(capsys, tmp_path):
    # The positive dominates: R - tau+ N e^{v0} < 0.
    path = write(tmp_path, {"anchor": [1, 0], "positive": [1, 0], "negatives": [[-1, 0]]})
    code, out, err = cli(capsys, "compute", "hard-infonce", path, "--no-clamp", "--tau-plus",
                         "0.5", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["value"] is None and doc["per_example"] == [None]
    assert "Ng <= 0" in err
    code, _, _ = cli(capsys, "compute", "hard-infonce", path, "--no-clamp", "--tau-plus", "0.5",
                     "--strict")
    assert code == 5
    doc = cli_json(capsys, "compute", "hard-infonce", path, "--tau-plus", "0.5")
    assert doc["value"] is not None
    assert doc["examples"][0]["terms"][0]["floor_binds"] is True


@pytest.mark.parametrize("name", ["supcon", "ntxent-batch", "clip", "dcl", "hard-infonce"])
def test_tiny_temperature_warns(capsys, name):
    code, out, err = cli(capsys, "compute", name, "views.npz", "--temperature", "1e-4",
                         "--format", "json")
    assert code == 0
    assert "temperature 0.0001 is below 0.001" in err
    assert any("below 0.001" in w for w in json.loads(out)["warnings"])
