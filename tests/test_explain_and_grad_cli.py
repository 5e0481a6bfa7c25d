"""`explain` and `losses` read everything from the registry; `compute --grad` shows
gradient norms in the table and the full vectors in JSON."""

from __future__ import annotations

import json

import numpy as np

import losscli
from losscli.cli import run
from losscli.cli.catalog import explain_text
from losscli.losses import LIBRARIES, LOSSES, Convention
from losscli.losses.spec import CORE_LIBRARIES
from losscli.model import ROLE_SHAPES


def test_explain_shows_every_registry_fact() -> None:
    for spec in LOSSES.values():
        text = explain_text(spec)
        assert spec.formula.splitlines()[0] in text
        for role in spec.roles:
            assert f"{role}" in text and ROLE_SHAPES[role] in text
        for p in spec.params:
            assert f"{p.option}" in text and f"(default {p.default})" in text
        for c in spec.columns:
            assert f"  {c.name}: {c.help}" in text
        for item in spec.pitfalls + spec.references:
            assert item in text
        assert spec.gradient in text
        # The five loss libraries always (a missing one says so), other codebases where the
        # loss names them.
        for lib in LIBRARIES:
            conv = spec.conventions.get(lib)
            if lib not in CORE_LIBRARIES and conv is None:
                assert f"  {lib}:" not in text
            elif isinstance(conv, Convention):
                defaults = {p.name: p.default for p in spec.params}
                assert conv.call({**defaults, **conv.params}) in text and conv.summary in text
                assert all(str(note) in text for note in conv.notes)
            elif isinstance(conv, str):
                assert f"{lib}: {conv} (described" in text
            else:
                assert f"{lib}: no {spec.name} loss" in text


def test_pitfalls_the_issue_asks_for() -> None:
    joined = " ".join(p for spec in LOSSES.values() for p in spec.pitfalls)
    for needle in ("tiny temperature", "Zero vectors under cosine", "sqrt at zero distance"):
        assert needle.lower() in joined.lower()


def test_losses_json_carries_conventions(capsys) -> None:
    assert run(["losses", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    triplet = next(d for d in doc if d["name"] == "triplet")
    assert triplet["conventions"]["optax"]["flags"] == {"eps": 1e-6, "eps_placement": "root"}
    quad = next(d for d in doc if d["name"] == "quadruplet")
    assert all(not c["defined"] for c in quad["conventions"].values())


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
