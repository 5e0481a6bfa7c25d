"""`compare`: losscli's own row first, then one row per library convention, each equal to
`--like` on the same inputs, or the reason the library has no such loss or option."""

from __future__ import annotations

import json

import pytest

import losscli
from losscli import api
from losscli.cli import run
from tests.helpers import sample


def batch() -> dict:
    return sample("batch.npz")


def test_compare_rows_losscli_first_then_each_library(capsys) -> None:
    rows = api.compare("triplet", batch())
    assert [r.convention for r in rows] == ["losscli", "torch", "pytorch-metric-learning",
                                            "sentence-transformers", "tf-addons", "optax"]
    for r in rows[1:]:
        like = losscli.evaluate("triplet", batch(), like=r.convention)
        assert r.value == like.value
    rows = api.compare("softmax-ce", {"logits": [[1.0, 2.0]], "target": [1]})
    undefined = [r.convention for r in rows if not r.defined]
    assert undefined == ["pytorch-metric-learning", "sentence-transformers"]
    assert run(["compare", "quadruplet", "samples/quadruplet-golden.json"]) == 0
    records = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert records[0]["convention"] == "losscli" and records[0]["defined"]
    assert not any(r["defined"] for r in records[1:])


def test_compare_row_says_when_an_option_does_not_exist_there() -> None:
    rows = api.compare("triplet", batch(), soft=True)
    torch_row = next(r for r in rows if r.convention == "torch")
    assert not torch_row.defined and "--soft" in torch_row.reason


def test_compare_supcon_ex_json(capsys) -> None:
    """`losscli compare supcon ex.json`: losscli's own row first, then one per convention."""
    assert run(["compare", "supcon", "samples/ex.json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = [r["convention"] for r in rows]
    assert names == ["losscli", "torch", "pytorch-metric-learning", "sentence-transformers",
                     "tf-addons", "optax", "supcontrast"]
    own, pml = rows[0], rows[2]
    assert own["defined"] and pml["defined"] and pml["reduction"] == "mean-nonzero"
    assert pml["value"] == pytest.approx(own["value"], rel=1e-15)
    assert "defines no supcon" in rows[1]["reason"]
    assert "negatives has no counterpart" in rows[-1]["reason"]


@pytest.mark.parametrize("loss,extra,expected", [
    ("dcl", [], {"dcl-port", "nidl"}),
    ("clip", [], {"torch", "pytorch-metric-learning", "sentence-transformers", "open-clip"}),
    ("supcon", [], {"supcontrast", "pytorch-metric-learning"}),
    ("cosine-embedding", ["--x1", "samples/a.npy", "--x2", "samples/b.npy", "--label",
                          "samples/y.npy"], {"torch"}),
])
def test_compare_rows_of_in_batch_and_paired_input_losses(loss, extra, expected, capsys) -> None:
    args = ["compare", loss] + (["samples/views.npz"] if loss in ("dcl", "clip", "supcon")
                                else [])
    assert run(args + extra) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["convention"] == "losscli"
    assert {r["convention"] for r in rows if r["defined"]} == expected | {"losscli"}
    for r in rows:
        if r["value"] is not None:  # a defined row may still be null (not finite)
            assert r["defined"]


def test_compare_rows_of_one_negative_per_row_libraries_read_b_d_negatives_per_anchor(
) -> None:
    # (B, D) negatives with B = the anchors: torch, optax and sentence-transformers take
    # them one per anchor row (their only layout), losscli's own row reads them shared.
    data = {"anchor": [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]],
            "positive": [[0.8, 0.6], [0.6, 0.8], [0.0, 1.0]],
            "negatives": [[0.9, 0.1], [1.0, 0.0], [0.7, 0.7]]}
    per_anchor = {**data, "negatives": [[row] for row in data["negatives"]]}
    rows = {r.convention: r for r in api.compare("triplet", data)}
    assert rows["losscli"].per_example == losscli.evaluate("triplet", data).per_example.tolist()
    for lib in ("torch", "optax", "sentence-transformers"):
        like = losscli.evaluate("triplet", per_anchor, like=lib)
        assert rows[lib].per_example == like.per_example.tolist()
    refused = {r.convention: r for r in api.compare("triplet", data, negatives_layout="shared")}
    for lib in ("torch", "optax", "sentence-transformers"):
        assert not refused[lib].defined and "one per anchor row" in refused[lib].reason
    assert refused["tf-addons"].defined


def test_a_row_whose_library_reads_what_losscli_refuses_still_computes(tmp_path,
                                                                       capsys) -> None:
    # QA8 F5: class index -100 (torch's default ignore_index) refused the whole comparison,
    # though its torch row is what `compute --like torch` computes
    data = {"logits": [[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [0.0, 0.1, 0.2]],
            "target": [1, -100, 2]}
    path = tmp_path / "ce.json"
    path.write_text(json.dumps(data))
    rows = {r.convention: r for r in api.compare("softmax-ce", data)}
    assert not rows["losscli"].defined and "-100" in rows["losscli"].reason
    assert rows["torch"].defined
    assert rows["torch"].value == losscli.evaluate("softmax-ce", data, like="torch").value
    assert run(["compare", "softmax-ce", str(path), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["defined"] for r in doc["conventions"][:2]] == [False, True]
    # data every row refuses is refused, as compute refuses it
    path.write_text(json.dumps({**data, "target": [1, 7, 2]}))
    assert run(["compare", "softmax-ce", str(path)]) == 4
    assert "class index 7" in capsys.readouterr().err


def test_tf_addons_triplet_says_what_it_is_not() -> None:
    # QA8 F3, F6: triplet_hard_loss makes every embedding an anchor; the convention is its
    # term for the given anchors, and the function returns only the mean
    data = sample("batch.npz")
    r = losscli.evaluate("triplet", data, like="tf-addons", reduction="sum")
    notes = " ".join(r.convention["notes"])
    assert "does not offer reduction 'sum'" in notes
    assert "makes every embedding an anchor" in notes
    assert "term for each of the anchors" in r.convention["api"]
