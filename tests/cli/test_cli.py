"""The command line, through `losscli.cli.run` (in process) and through real subprocesses."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from losscli.cli import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SEED1 = str(SAMPLES / "seed-example-1.json")


def invoke(capsys, *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


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


def test_per_role_files_and_a_replaced_role(capsys, tmp_path):
    a, p, n = (str(SAMPLES / f) for f in ("a.npy", "p.npy", "n.npy"))
    code, out, _ = invoke(capsys, "compute", "triplet", "--anchor", a, "--positive", p,
                          "--negatives", n, "--margin", "0.5", "-f", "json")
    assert code == 0
    per_role = json.loads(out)
    neg = tmp_path / "neg.json"
    neg.write_text(json.dumps({"negatives": np.load(n).tolist()}))
    doc = {"anchor": np.load(a).tolist(), "positive": np.load(p).tolist(),
           "negatives": np.zeros((4, 16)).tolist()}
    (tmp_path / "ex.json").write_text(json.dumps(doc))
    code, out, err = invoke(capsys, "compute", "triplet", str(tmp_path / "ex.json"),
                            "--negatives", str(neg), "--margin", "0.5", "-f", "json")
    assert code == 0
    replaced = json.loads(out)
    assert "replaces negatives" in err
    assert any("replaces negatives" in w for w in replaced["warnings"])
    np.testing.assert_allclose(replaced["per_example"], per_role["per_example"], rtol=1e-12)


def test_lone_npy_is_a_stack(capsys):
    stack = np.load(SAMPLES / "infonce-stack.npy")
    code, out, _ = invoke(capsys, "compute", "infonce", str(SAMPLES / "infonce-stack.npy"),
                          "-f", "json")
    assert code == 0
    from_stack = json.loads(out)["value"]
    import losscli

    direct = losscli.evaluate("infonce", {"anchor": stack[:, 0], "positive": stack[:, 1],
                                          "negatives": stack[:, 2:]}).value
    assert math.isclose(from_stack, direct, rel_tol=1e-12)


def test_format_is_found_by_content_not_extension(capsys, tmp_path):
    lying = tmp_path / "really-json.npy"
    lying.write_bytes((SAMPLES / "seed-example-1.json").read_bytes())
    code, out, _ = invoke(capsys, "compute", "infonce", str(lying), "-f", "json")
    assert code == 0
    assert math.isclose(json.loads(out)["value"], 4.9068650660199903e-05, rel_tol=1e-12)


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
    got, out, err = invoke(capsys, *args)
    assert got == code
    assert out == ""
    assert err.startswith("error: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3
    for word in words:
        assert word in err


def test_losses_lists_the_registry_as_json(capsys):
    code, out, _ = invoke(capsys, "losses", "-f", "json")
    assert code == 0
    names = [entry["name"] for entry in json.loads(out)]
    assert names[:5] == ["softmax-ce", "infonce", "contrastive", "triplet", "quadruplet"]
    from losscli.losses import LOSSES

    assert names == list(LOSSES)


def test_explain_says_which_contrastive_is_which(capsys):
    code, out, _ = invoke(capsys, "explain", "infonce")
    assert code == 0 and "contrastive_loss" in out and "--temperature" in out
    code, out, _ = invoke(capsys, "explain", "contrastive")
    assert code == 0 and "`infonce`" in out


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


def test_help_and_losses_do_not_import_numba():
    code = ("import sys; from losscli.cli import run; rc = run(sys.argv[1:]); "
            "assert 'numba' not in sys.modules, 'numba imported'; sys.exit(rc)")
    for args in (["--help"], ["compute", "--help"], ["losses", "-f", "json"],
                 ["explain", "triplet"], ["compute", "infonce", SEED1]):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              env={**os.environ, "LOSSCLI_JIT": "auto"}, timeout=60)
        assert proc.returncode == 0, (args, proc.stderr)


def test_large_input_runs_compiled_and_agrees(tmp_path):
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "big.npz", anchor=rng.normal(size=(300, 64)),
             positive=rng.normal(size=(300, 64)), negatives=rng.normal(size=(300, 8, 64)))
    results = {}
    for mode in ("auto", "never"):
        proc = cli("compute", "infonce", str(tmp_path / "big.npz"), "-f", "json",
                   "--reduction", "none", env={"LOSSCLI_JIT": mode})
        assert proc.returncode == 0, proc.stderr
        results[mode] = json.loads(proc.stdout)["value"]
    np.testing.assert_allclose(results["auto"], results["never"], rtol=1e-12)


def test_version():
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith(b"losscli ")


def test_main_skips_teardown_only_when_no_worker_processes_ran(monkeypatch):
    """os._exit saves ~20 ms, but after --jobs or a Dask cluster multiprocessing's
    finalisers must run (the resource tracker would report leaked semaphores)."""
    import multiprocessing  # noqa: F401 - as after a --jobs or --scheduler run
    import warnings

    import losscli.cli as cli_module

    def no_fast_exit(code):
        raise AssertionError("os._exit called after multiprocessing ran")

    monkeypatch.setattr(cli_module, "run", lambda: 0)
    monkeypatch.setattr(cli_module.os, "_exit", no_fast_exit)
    with warnings.catch_warnings(), pytest.raises(SystemExit) as info:
        cli_module.main()
    assert info.value.code == 0
