"""JSON Lines given to `compute` (issue 13.4): one example per line, stacked into a batch,
instead of "Extra data" at line 2; a bad line is named as FILE:LINE."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import losscli
from tests.helpers import assert_close, run_cli, run_cli_json

RNG = np.random.default_rng(13)
A, P, N = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3)), RNG.normal(size=(4, 2, 3))


def write_lines(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_each_line_is_one_example_of_the_batch(tmp_path, capsys):
    rows = [{"anchor": A[i].tolist(), "positive": P[i].tolist(), "negatives": N[i].tolist()}
            for i in range(4)]
    path = write_lines(tmp_path / "ex.jsonl", rows)
    doc = run_cli_json(capsys, "compute", "triplet", path, "--reduction", "none")
    want = losscli.evaluate("triplet", {"anchor": A, "positive": P, "negatives": N},
                            reduction="none")
    assert doc["shape"]["batch"] == 4 and doc["shape"]["negatives"] == 2
    assert_close(np.array(doc["per_example"]), want.per_example)


def test_lines_under_a_json_name_and_blank_lines_and_class_indices(tmp_path, capsys):
    logits = RNG.normal(size=(3, 5))
    target = [4, 0, 2]
    text = "\n\n".join(json.dumps({"logits": logits[i].tolist(), "target": target[i]})
                       for i in range(3))
    (tmp_path / "ce.json").write_text(text + "\n")
    doc = run_cli_json(capsys, "compute", "softmax-ce", str(tmp_path / "ce.json"))
    want = losscli.evaluate("softmax-ce", {"logits": logits, "target": target})
    assert_close(doc["value"], want.value)


def test_a_bad_line_is_named_by_its_number(tmp_path, capsys):
    rows = [{"anchor": [1, 0], "positive": [0, 1], "negatives": [[1, 1]]},
            {"anchor": [1, 0, 2], "positive": [0, 1, 0], "negatives": [[1, 1, 0]]}]
    path = write_lines(tmp_path / "bad.jsonl", rows)
    code, _, err = run_cli(capsys, "compute", "triplet", path)
    assert code == 4
    assert f"{path}:2:anchor" in err and "shape (3,)" in err and "line 1" in err
    (tmp_path / "keys.jsonl").write_text('{"anchor": [1, 0], "positive": [0, 1]}\n'
                                         '{"anchor": [1, 0]}\n')
    code, _, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "keys.jsonl"))
    assert code == 4 and "keys.jsonl:2" in err and "same keys" in err
    (tmp_path / "syntax.jsonl").write_text('{"anchor": [1, 0]}\n{"anchor": [1, 0}\n')
    code, _, err = run_cli(capsys, "compute", "triplet", str(tmp_path / "syntax.jsonl"))
    assert code == 4 and "syntax.jsonl:2" in err and "Extra data" not in err


def test_a_key_that_is_not_a_role_is_ignored_whatever_it_holds(tmp_path, capsys):
    rows = [{"anchor": A[i].tolist(), "positive": P[i].tolist(), "negatives": N[i].tolist(),
             "id": f"q{i}", "tags": list(range(i))} for i in range(4)]
    path = write_lines(tmp_path / "ids.jsonl", rows)
    doc = run_cli_json(capsys, "compute", "triplet", path)
    assert_close(doc["value"], losscli.evaluate(
        "triplet", {"anchor": A, "positive": P, "negatives": N}).value)
    assert any("ignored 'id', 'tags'" in w for w in doc["warnings"]), doc["warnings"]
    code, _, err = run_cli(capsys, "compute", "triplet", path, "--map", "anchor=id")
    assert code == 4 and f"{path}:1:id: a string where a number belongs" in err, err
    code, _, err = run_cli(capsys, "compute", "triplet", path, "--map", "anchor=tags")
    assert code == 4 and f"{path}:2:tags: tags has shape (1,), but (0,) on line 1" in err, err


def test_integers_beyond_2_53_are_counted_per_key_across_lines(tmp_path, capsys):
    rows = [{"anchor": [2**60 + 1, 0.0, 0.0], "positive": P[0].tolist(),
             "negatives": N[0].tolist()},
            {"anchor": A[1].tolist(), "positive": P[1].tolist(), "negatives": N[1].tolist()}]
    path = write_lines(tmp_path / "big.jsonl", rows)
    doc = run_cli_json(capsys, "compute", "triplet", path)
    assert any("beyond 2^53 in anchor (1)" in w for w in doc["warnings"]), doc["warnings"]
