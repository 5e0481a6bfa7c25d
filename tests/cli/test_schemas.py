"""Every machine-readable record of every command carries "schema": 1 and validates against
its JSON Schema file in losscli/schemas/: real outputs of real runs, for every loss."""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from losscli.cli import run
from losscli.losses import LOSSES

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

# An input each loss accepts, from samples/ (per-role files where no one file fits).
INPUTS = {
    "softmax-ce": ["classification.json"],
    "ntxent-batch": ["views.npz"],
    "clip": ["views.npz"],
    "supcon": ["positives.json"],
    "multi-similarity": ["positives.json"],
    "circle": ["positives.json"],
    "cosine-embedding": ["--x1", "a.npy", "--x2", "b.npy", "--label", "y.npy"],
    "hinge-embedding": ["hinge.json"],
    "margin-ranking": ["ranking.json"],
}


def sample(loss: str) -> list[str]:
    return [str(SAMPLES / a) if not a.startswith("-") else a
            for a in INPUTS.get(loss, ["batch.npz"])]


def schema(kind: str) -> dict:
    text = resources.files("losscli").joinpath("schemas", f"{kind}.schema.json").read_text()
    return json.loads(text)


@functools.cache
def validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(kind))


def validate(kind: str, record) -> None:
    error = jsonschema.exceptions.best_match(validator(kind).iter_errors(record))
    if error is not None:
        raise error


def output(capsys, *args: str, code: int = 0) -> str:
    rc = run(list(args))
    captured = capsys.readouterr()
    assert rc == code, captured.err
    return captured.out


def lines(text: str) -> list[dict]:
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert records
    return records


def test_every_schema_file_is_a_valid_json_schema():
    kinds = sorted(p.name.split(".")[0] for p in
                   resources.files("losscli").joinpath("schemas").iterdir()
                   if p.name.endswith(".schema.json"))
    assert kinds == ["batch-example", "batch-record", "batch-summary", "compare", "compute",
                     "explain", "losses", "stats", "sweep"]
    for kind in kinds:
        jsonschema.Draft202012Validator.check_schema(schema(kind))


@pytest.mark.parametrize("loss", list(LOSSES))
def test_compute_json_of_every_loss(capsys, loss):
    for extra in ([], ["--grad"], ["--reduction", "none"]):
        doc = json.loads(output(capsys, "compute", loss, *sample(loss), "-f", "json", *extra))
        assert doc["schema"] == 1
        validate("compute", doc)


@pytest.mark.parametrize("loss", ["clip", "ntxent-batch", "triplet"])
def test_compute_json_with_terms_top_and_none(capsys, loss):
    top = json.loads(output(capsys, "compute", loss, *sample(loss), "-f", "json", "--terms",
                            "top", "--top", "1"))
    assert top["terms_left_out"] > 0 and top["examples"][0]["terms_left_out"] > 0
    validate("compute", top)
    for extra in ([], ["--grad"]):
        none = json.loads(output(capsys, "compute", loss, *sample(loss), "-f", "json",
                                 "--terms", "none", *extra))
        assert ("examples" in none) == bool(extra)
        validate("compute", none)


def test_compute_json_with_a_convention_and_ignored_rows(capsys, tmp_path):
    doc = json.loads(output(capsys, "compute", "triplet", *sample("triplet"), "-f", "json",
                            "--like", "pml"))
    assert doc["convention"]["library"] == "pytorch-metric-learning"
    validate("compute", doc)
    path = tmp_path / "ignored.json"
    path.write_text(json.dumps({"logits": [[1.0, 2.0], [0.5, 0.1]], "target": [0, -100]}))
    doc = json.loads(output(capsys, "compute", "softmax-ce", str(path), "-f", "json",
                            "--ignore-index", "-100"))
    assert doc["examples"][1]["ignored"] is True
    validate("compute", doc)


@pytest.mark.parametrize("loss", ["triplet", "infonce", "softmax-ce", "supcon", "clip"])
def test_batch_records_per_input_per_example_and_summary(capsys, loss):
    missing = str(SAMPLES / "no-such-input.json")
    args = ["batch", loss, *sample(loss)]
    if not args[2].startswith("-"):
        args.append(missing)
    failed = 7 if len(args) == 4 else 0
    records = lines(output(capsys, *args, "-f", "jsonl", code=failed))
    assert {r["error"] is None for r in records} == ({True, False} if failed else {True})
    for record in records:
        validate("batch-record", record)
    for record in json.loads(output(capsys, *args, "-f", "json", "--reduction", "none",
                                    code=failed)):
        validate("batch-record", record)
    examples = lines(output(capsys, *args, "--per-example", "-f", "jsonl", code=failed))
    for record in examples:
        validate("batch-example", record)
    assert any(r["index"] is not None for r in examples)
    summary = json.loads(output(capsys, *args, "--summary", "-f", "json", code=failed))
    validate("batch-summary", summary)


def test_batch_summary_with_every_input_failed(capsys):
    summary = lines(output(capsys, "batch", "triplet", str(SAMPLES / "no-such-input.json"),
                           "--summary", code=7))
    assert summary[0]["count"] == 0 and summary[0]["mean"] is None
    validate("batch-summary", summary[0])


@pytest.mark.parametrize("loss", [name for name, spec in LOSSES.items()
                                  if any(p.kind == "float" and isinstance(p.default, float)
                                         for p in spec.params)])
def test_sweep_steps_limits_and_document(capsys, loss):
    param = next(p for p in LOSSES[loss].params if p.kind == "float"
                 and isinstance(p.default, float))
    value = param.default
    span = ["--from", repr(value / 2), "--to", repr(value * 2)] if value > 0 else \
        ["--from", repr(value - 0.5), "--to", repr(value)] if value < 0 else \
        ["--from", "0", "--to", "0.5"]
    args = ["sweep", loss, *sample(loss), "--param", param.name, *span, "--steps", "3"]
    records = lines(output(capsys, *args, "-f", "jsonl"))
    assert "limits" in records[-1] and [r.get("step") for r in records[:-1]] == [0, 1, 2]
    for record in records:
        validate("sweep", record)
    validate("sweep", json.loads(output(capsys, *args, "-f", "json")))


def test_sweep_document_under_a_convention(capsys):
    doc = json.loads(output(capsys, "sweep", "infonce", *sample("infonce"), "--param",
                            "temperature", "--from", "0.05", "--to", "1", "--steps", "3",
                            "--like", "torch", "-f", "json"))
    assert doc["convention"]["library"] == "torch"
    validate("sweep", doc)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_stats_records_and_document(capsys, loss):
    for record in lines(output(capsys, "stats", loss, *sample(loss), "-f", "jsonl")):
        validate("stats", record)
    validate("stats", json.loads(output(capsys, "stats", loss, *sample(loss), "-f", "json")))


@pytest.mark.parametrize("loss", list(LOSSES))
def test_compare_records_and_document(capsys, loss):
    records = lines(output(capsys, "compare", loss, *sample(loss), "-f", "jsonl"))
    assert records[0]["convention"] == "losscli"
    for record in records:
        validate("compare", record)
    validate("compare", json.loads(output(capsys, "compare", loss, *sample(loss), "-f",
                                          "json")))


def test_losses_and_explain(capsys):
    everything = json.loads(output(capsys, "losses", "-f", "json"))
    validate("losses", everything)
    assert [entry["name"] for entry in everything] == list(LOSSES)
    for name in LOSSES:
        validate("explain", json.loads(output(capsys, "explain", name, "-f", "json")))


def test_the_schemas_refuse_what_the_records_must_not_be(capsys):
    """A schema that accepted anything would pass every test above."""
    doc = json.loads(output(capsys, "compute", "triplet", *sample("triplet"), "-f", "json"))
    record = lines(output(capsys, "batch", "triplet", *sample("triplet"), "-f", "jsonl"))[0]
    broken = [
        ("compute", {k: v for k, v in doc.items() if k != "value"}),
        ("compute", {**doc, "schema": 2}),
        ("compute", {**doc, "unexpected": 1}),
        ("compute", {**doc, "value": "0.5"}),
        ("batch-record", {k: v for k, v in record.items() if k != "schema"}),
        ("batch-record", {**record, "seconds": -1}),
        ("batch-example", {"schema": 1, "file": "x", "index": 0}),
        ("explain", {"schema": 1, "name": "triplet"}),
    ]
    nested = copy.deepcopy(doc)
    del nested["examples"][0]["terms"][0]["role"]
    broken.append(("compute", nested))
    for kind, bad in broken:
        with pytest.raises(jsonschema.ValidationError):
            validate(kind, bad)
