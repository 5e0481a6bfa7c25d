"""`losscli compute`: its JSON, table and CSV, `--out`, and real subprocesses (pipes, stdin,
`python -m losscli`)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, SAMPLES, SEED1
from tests.helpers import run_cli as invoke


def cli(*args: str, stdin: bytes | None = None, env: dict | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "losscli", *args], input=stdin,
                          capture_output=True, cwd=cwd or ROOT, env={**os.environ, **(env or {})},
                          timeout=120)


def test_seed_example_json_value_to_12_digits(capsys):
    code, out, err = invoke(capsys, "compute", "infonce", SEED1, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert math.isclose(doc["value"], 4.9068650660199903e-05, rel_tol=1e-12)
    assert f"{doc['value']:.12g}" == "4.90686506602e-05"


def test_json_schema_1(capsys):
    code, out, _ = invoke(capsys, "compute", "triplet", str(SAMPLES / "batch.npz"), "-f", "json",
                          "--reduction", "none")
    assert code == 0
    doc = json.loads(out)
    assert list(doc) == ["schema", "loss", "params", "reduction", "value", "per_example",
                         "shape", "examples", "warnings"]
    assert doc["schema"] == 1 and doc["loss"] == "triplet" and doc["reduction"] == "none"
    assert doc["params"] == {"margin": 1.0, "distance": "euclidean", "negatives_reduction": "mean",
                             "swap": False, "soft": False}
    assert doc["shape"] == {"batch": 6, "negatives": 4, "dim": 16, "classes": None,
                            "positives": None}
    assert doc["value"] == doc["per_example"] and len(doc["value"]) == 6
    ex = doc["examples"][2]
    assert ex["index"] == 2 and ex["loss"] == doc["per_example"][2]
    assert [t["index"] for t in ex["terms"]] == [0, 1, 2, 3]
    assert set(ex["terms"][0]) == {"role", "index", "d_ap", "d_an", "violation", "term",
                                   "regime"}
    assert "gradients" not in ex


def test_piped_output_is_json_and_a_tty_gets_a_table(capsys, monkeypatch):
    code, out, _ = invoke(capsys, "compute", "infonce", SEED1)
    assert code == 0 and json.loads(out)["loss"] == "infonce"
    monkeypatch.setattr("losscli.render.is_tty", lambda stream=None: True)
    code, out, _ = invoke(capsys, "compute", "infonce", SEED1)
    assert code == 0
    assert "probability" in out and "positive" in out and "4.906865066" in out


def test_table_lists_the_columns_and_summarises_large_batches(capsys):
    code, out, _ = invoke(capsys, "compute", "softmax-ce", str(SAMPLES / "softmax-ce-logits.npy"),
                          "--target", str(SAMPLES / "softmax-ce-target.npy"), "-f", "table",
                          "--show", "2")
    assert code == 0
    assert "example 1" in out and "example 2" not in out
    assert "14 more examples" in out


def test_csv_has_one_row_per_term(capsys):
    code, out, _ = invoke(capsys, "compute", "contrastive", str(SAMPLES / "pairs.npz"),
                          "-f", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 4 * (1 + 3)
    assert rows[0]["example"] == "0" and rows[0]["role"] == "positive"
    assert rows[0]["kind"] == "similar" and rows[1]["kind"] == "dissimilar"
    assert {r["example_loss"] for r in rows[:4]} == {rows[0]["example_loss"]}


@pytest.mark.parametrize("args,value", [
    (["infonce", "samples/seed-example-2.json"], 1.0986122899985275),
    (["infonce", "samples/infonce-cosine-golden.json", "--similarity", "cosine"],
     2.912997059197858),
    (["contrastive", "samples/contrastive-euclidean.json"], 0.23377223398316212),
    (["triplet", "samples/triplet-golden.json", "--margin", "1"], 1.2619716589662402),
    (["quadruplet", "samples/quadruplet-golden.json"], 1.9),
    (["softmax-ce", "samples/classification.json", "--reduction", "none"], None),
])
def test_goldens_through_the_cli(capsys, monkeypatch, args, value):
    monkeypatch.chdir(ROOT)
    code, out, err = invoke(capsys, "compute", *args, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    if value is None:
        assert math.isclose(doc["value"][0], 0.4170300162778335, rel_tol=1e-12)
    else:
        assert math.isclose(doc["value"], value, rel_tol=1e-12)


def test_out_writes_the_file_by_suffix_and_refuses_to_overwrite(capsys, tmp_path):
    target = tmp_path / "r.csv"
    code, out, _ = invoke(capsys, "compute", "infonce", SEED1, "--out", str(target))
    assert code == 0 and out == ""
    assert target.read_text().startswith("example,example_loss,role,index,similarity")
    code, _, err = invoke(capsys, "compute", "infonce", SEED1, "--out", str(target))
    assert code == 6 and "--force" in err
    code, _, _ = invoke(capsys, "compute", "infonce", SEED1, "--out", str(target), "--force",
                        "-f", "json")
    assert code == 0 and json.loads(target.read_text())["loss"] == "infonce"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


# ---------------------------------------------------------------- real processes


def test_subprocess_pipe_gives_json_and_python_m_works():
    proc = cli("compute", "contrastive", "samples/pairs.npz", "--distance", "cosine")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["params"]["distance"] == "cosine" and doc["shape"]["batch"] == 4


def test_subprocess_stdin():
    proc = cli("compute", "quadruplet", "-", "--format", "json",
               stdin=(SAMPLES / "batch.json").read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["shape"] == {"batch": 3, "negatives": 4, "dim": 5,
                                                "classes": None, "positives": None}


def test_version():
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith(b"losscli ")


@pytest.mark.parametrize("args", [
    ["infonce", str(SEED1)],
    ["infonce", str(SAMPLES / "batch.npz"), "--grad"],
    ["clip", str(SAMPLES / "views.npz"), "--terms", "top", "--top", "2"],
    ["triplet", str(SAMPLES / "batch.npz"), "--worst", "2", "--terms", "none"],
])
def test_jsonl_is_the_json_document_on_one_line(capsys, tmp_path, args):
    # QA9 L5: CONTRACT.md lists jsonl among --format's values; compute refused it
    code, doc_text, _ = invoke(capsys, "compute", *args, "-f", "json")
    assert code == 0
    code, line, _ = invoke(capsys, "compute", *args, "-f", "jsonl")
    assert code == 0 and line.endswith("}\n") and line.count("\n") == 1
    assert json.loads(line) == json.loads(doc_text)
    # QA22b L7: spaced as json.dumps (and batch's records) space it: ", " and ": "
    assert line == json.dumps(json.loads(line)) + "\n"
    out = tmp_path / "r.jsonl"
    assert invoke(capsys, "compute", *args, "--out", str(out))[0] == 0
    assert out.read_text() == line
