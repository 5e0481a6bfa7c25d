"""`compute --grad`: the full gradient vectors in JSON (equal to the library's), gradient norms
in the table (and the hardest push) and a norm column in CSV, for every loss."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

import losscli
from losscli.cli import run


def test_compute_grad_json(capsys) -> None:
    assert run(["compute", "infonce", "samples/batch.npz", "--grad", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    r = losscli.evaluate("infonce", dict(np.load("samples/batch.npz")), grad=True)
    ex = doc["examples"][1]
    np.testing.assert_allclose(ex["gradients"]["negatives"], r.gradients["negatives"][1],
                               rtol=1e-15)
    assert set(ex["gradients"]) == {"anchor", "positive", "negatives"}
    assert "gradients" not in json.loads(_plain(capsys))["examples"][0]


def _plain(capsys) -> str:
    run(["compute", "infonce", "samples/batch.npz", "--format", "json"])
    return capsys.readouterr().out


def test_compute_grad_table_shows_norms_and_the_hardest_push(capsys) -> None:
    assert run(["compute", "infonce", "samples/seed-example-2.json", "--grad", "--format",
                "table"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "|grad|" in out and "gradient norms: anchor" in out
    # the two negatives equal to the positive take the partition: they push hardest
    assert "pushes hardest: negative 0" in out


def test_compute_grad_csv_has_a_norm_column(capsys) -> None:
    assert run(["compute", "triplet", "samples/triplet-golden.json", "--grad", "--format",
                "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.endswith("grad_norm")


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


def test_every_in_batch_candidate_shows_its_vectors_gradient(capsys, tmp_path) -> None:
    """MNRL's breakdown names each candidate by its role (positive, or negative k: column k
    of the negatives) and example: grad_norm is the norm of that vector's gradient of the
    summed loss, for every term (the negative candidates' cells were empty)."""
    rng = np.random.default_rng(9)
    inputs = {"anchor": rng.normal(size=(4, 3)), "positive": rng.normal(size=(4, 3)),
              "negatives": rng.normal(size=(4, 2, 3))}
    path = tmp_path / "in.json"
    path.write_text(json.dumps({k: v.tolist() for k, v in inputs.items()}))
    assert run(["compute", "infonce", str(path), "--like", "sentence-transformers", "--grad",
                "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4 * 12
    g = losscli.evaluate("infonce", inputs, like="sentence-transformers", grad=True).gradients
    for row in rows:
        j = int(row["candidate_index"])
        role = row["candidate_role"]
        vector = g["positive"][j] if role == "positive" else \
            g["negatives"][j, int(role.split()[1])]
        assert float(row["grad_norm"]) == pytest.approx(np.linalg.norm(vector), rel=1e-12)
