"""The issue's commands through the real CLI, the new roles from every input format, and the
errors of the new roles and parameters (exit codes and messages)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.cli import run

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(autouse=True)
def _in_samples(monkeypatch):
    monkeypatch.chdir(SAMPLES)  # the commands name the samples bare


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys, *argv: str) -> dict:
    code, out, err = cli(capsys, *argv, "--format", "json")
    assert code == 0, err
    assert "Traceback" not in err
    return json.loads(out)


# ---------------------------------------------------------------- the commands


def test_supcon_on_ex_json(capsys):
    doc = cli_json(capsys, "compute", "supcon", "ex.json", "--temperature", "0.1")
    ex = json.loads((SAMPLES / "ex.json").read_text())
    expected = losscli.evaluate("supcon", ex, temperature=0.1).value
    assert doc["value"] == pytest.approx(expected, rel=1e-12)
    assert doc["params"] == {"temperature": 0.1, "base_temperature": 0.1,
                             "similarity": "cosine"}
    assert doc["shape"]["positives"] == 1
    term = doc["examples"][0]["terms"][0]
    assert {"role", "index", "kind", "similarity", "logit", "probability", "gradient"} <= set(
        term)


def test_supcon_with_several_positives(capsys):
    doc = cli_json(capsys, "compute", "supcon", "positives.json")
    assert doc["shape"] == {"batch": 3, "negatives": 5, "dim": 8, "classes": None,
                            "positives": 3}
    roles = [t["role"] for t in doc["examples"][0]["terms"]]
    assert roles == ["positive"] * 3 + ["negative"] * 5


def test_clip_on_pairs_npz(capsys):
    code, out, err = cli(capsys, "compute", "clip", "pairs.npz", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    z = np.load(SAMPLES / "pairs.npz")
    r = losscli.evaluate("clip", {"anchor": z["anchor"], "positive": z["positive"]})
    assert doc["value"] == pytest.approx(r.value, rel=1e-12)
    assert "negatives is not used by clip" in err  # pairs.npz also feeds contrastive
    assert len(doc["examples"][0]["terms"]) == 2 * 4


def test_ntxent_batch_on_views_npz_value(capsys):
    doc = cli_json(capsys, "compute", "ntxent-batch", "views.npz")
    z = np.load(SAMPLES / "views.npz")
    r = losscli.evaluate("ntxent-batch", {"anchor": z["anchor"], "positive": z["positive"]})
    assert isinstance(doc["value"], float)
    assert doc["value"] == pytest.approx(r.value, rel=1e-12)
    term = doc["examples"][0]["terms"][0]
    assert term["role"] == "partner" and term["view"] == "anchor"
    assert term["candidate_role"] == "positive" and term["candidate_index"] == 0


def test_siglip_on_pairs_npz(capsys):
    doc = cli_json(capsys, "compute", "siglip", "pairs.npz", "--scale", "10", "--bias", "-10")
    assert doc["params"] == {"scale": 10.0, "bias": -10.0, "similarity": "cosine"}
    z = np.load(SAMPLES / "pairs.npz")
    r = losscli.evaluate("siglip", {"anchor": z["anchor"], "positive": z["positive"]})
    assert doc["value"] == pytest.approx(r.value, rel=1e-12)


def test_hard_infonce_on_ex_json(capsys):
    doc = cli_json(capsys, "compute", "hard-infonce", "ex.json", "--beta", "1", "--tau-plus",
                   "0.1")
    assert doc["params"]["beta"] == 1.0 and doc["params"]["tau_plus"] == 0.1
    assert doc["params"]["form"] == "explicit"
    positive_row = doc["examples"][0]["terms"][0]
    assert positive_row["importance"] is None and positive_row["share"] is None


def test_cosine_embedding_from_role_files(capsys):
    doc = cli_json(capsys, "compute", "cosine-embedding", "--x1", "a.npy", "--x2", "b.npy",
                   "--label", "y.npy")
    r = losscli.evaluate("cosine-embedding", {"x1": np.load(SAMPLES / "a.npy"),
                                              "x2": np.load(SAMPLES / "b.npy"),
                                              "label": np.load(SAMPLES / "y.npy")})
    assert doc["value"] == pytest.approx(r.value, rel=1e-12)
    assert doc["shape"]["batch"] == 6
    assert [t["label"] for e in doc["examples"] for t in e["terms"]] == [1, -1] * 3


def test_table_output_of_an_in_batch_loss(capsys):
    code, out, _ = cli(capsys, "compute", "clip", "views.npz", "--format", "table", "--show",
                       "1")
    assert code == 0
    assert "a->p" in out and "p->a" in out and "more examples" in out


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_ranking_and_hinge_samples(capsys, fmt):
    code, out, err = cli(capsys, "compute", "margin-ranking", "ranking.json", "--format", fmt)
    assert code == 0, err
    code, out, err = cli(capsys, "compute", "hinge-embedding", "hinge.json", "--format", fmt)
    assert code == 0, err


def test_losses_lists_every_new_loss_with_roles_and_defaults(capsys):
    code, out, _ = cli(capsys, "losses", "--format", "json")
    assert code == 0
    specs = {s["name"]: s for s in json.loads(out)}
    assert {"supcon", "ntxent-batch", "clip", "npair", "dcl", "hard-infonce", "siglip",
            "multi-similarity", "circle", "lifted-structure", "margin", "cosine-embedding",
            "hinge-embedding", "margin-ranking"} <= set(specs)
    assert specs["hard-infonce"]["params"][1] == {
        "name": "beta", "option": "--beta", "default": 1.0, "kind": "float", "choices": None,
        "help": specs["hard-infonce"]["params"][1]["help"]}
    assert specs["cosine-embedding"]["roles"] == {"required": ["x1", "x2", "label"],
                                                  "optional": []}
    assert "supcontrast" in specs["supcon"]["conventions"]


@pytest.mark.parametrize("name", ["supcon", "clip", "dcl", "hard-infonce", "circle",
                                  "lifted-structure", "margin-ranking"])
def test_explain_the_new_losses(capsys, name):
    code, out, _ = cli(capsys, "explain", name, "--format", "table")
    assert code == 0
    assert out.startswith(f"{name}:") and "breakdown columns" in out
    assert "other libraries" in out


def test_aliases(capsys):
    doc = cli_json(capsys, "compute", "simclr", "views.npz")
    assert doc["loss"] == "ntxent-batch"
    doc = cli_json(capsys, "compute", "multi_similarity", "ex.json")
    assert doc["loss"] == "multi-similarity"


# ---------------------------------------------------------------- new roles, every format


def test_new_roles_from_json_npz_npy_and_stdin(capsys, tmp_path, monkeypatch):
    x1 = np.array([[1.0, 0.0], [1.0, 0.0]])
    x2 = np.array([[0.6, 0.8], [0.8, 0.6]])
    label = np.array([1.0, -1.0])
    expected = 0.6
    (tmp_path / "in.json").write_text(json.dumps({"x1": x1.tolist(), "x2": x2.tolist(),
                                                  "label": label.tolist()}))
    np.savez(tmp_path / "in.npz", x1=x1, x2=x2, label=label)
    np.save(tmp_path / "x1.npy", x1)
    np.save(tmp_path / "x2.npy", x2)
    (tmp_path / "label.json").write_text("[1, -1]")
    (tmp_path / "label-keyed.json").write_text('{"label": [1, -1]}')
    runs = [
        ["in.json"], ["in.npz"],
        ["--x1", "x1.npy", "--x2", "x2.npy", "--label", "label.json"],
        ["--x1", "x1.npy", "--x2", "x2.npy", "--label", "label-keyed.json"],
    ]
    for args in runs:
        doc = cli_json(capsys, "compute", "cosine-embedding", *[
            str(tmp_path / a) if not a.startswith("--") else a for a in args])
        assert doc["value"] == pytest.approx(expected, rel=1e-12), args
    stdin = io.BytesIO((tmp_path / "in.json").read_bytes())
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stdin))
    inputs = losscli.load_inputs("-", None, losscli.get_spec("cosine-embedding"), stdin=stdin)
    assert losscli.evaluate("cosine-embedding", inputs).value == pytest.approx(expected)


def test_positives_from_a_role_file_replace_nothing(capsys, tmp_path):
    np.save(tmp_path / "pos.npy", np.array([[0.6, 0.8], [0.8, 0.6]]))
    (tmp_path / "in.json").write_text(json.dumps({"anchor": [1, 0], "negatives": [[0, 1]]}))
    doc = cli_json(capsys, "compute", "supcon", str(tmp_path / "in.json"), "--positives",
                   str(tmp_path / "pos.npy"))
    assert doc["value"] == pytest.approx(1.1272234419014062, rel=1e-12)


def test_scalar_roles_for_one_pair(capsys, tmp_path):
    (tmp_path / "one.json").write_text('{"x1": 0.3, "x2": 0.5, "label": 1}')
    doc = cli_json(capsys, "compute", "margin-ranking", str(tmp_path / "one.json"))
    assert doc["value"] == pytest.approx(0.2, rel=1e-12)
    assert doc["shape"]["batch"] == 1


# ---------------------------------------------------------------- errors


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


def test_numba_is_not_imported_by_a_small_compute():
    import subprocess
    import sys

    code = ("import sys; from losscli.cli import run; "
            "rc = run(['compute', 'clip', 'views.npz', '--format', 'json']); "
            "sys.stderr.write(f'rc={rc} numba={\"numba\" in sys.modules}')")
    out = subprocess.run([sys.executable, "-c", code], cwd=SAMPLES, capture_output=True,
                         text=True, env={**os.environ, "LOSSCLI_JIT": "auto"})
    assert out.stderr.strip().endswith("rc=0 numba=False"), out.stderr
    assert json.loads(out.stdout)["loss"] == "clip"


@pytest.mark.parametrize("name", ["supcon", "ntxent-batch", "clip", "dcl", "hard-infonce"])
def test_tiny_temperature_warns(capsys, name):
    code, out, err = cli(capsys, "compute", name, "views.npz", "--temperature", "1e-4",
                         "--format", "json")
    assert code == 0
    assert "temperature 0.0001 is below 0.001" in err
    assert any("below 0.001" in w for w in json.loads(out)["warnings"])
