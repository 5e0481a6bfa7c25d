"""Row formats keep their rows' meaning (QA7 C2, M3): a JSON Lines line, a Parquet or Arrow
row, is ONE example, so each role's value on it is read as one example of the role (as that
line alone in a JSON file would be) before the rows are stacked. (D,) negatives on a line
are that example's one negative (K = 1), not a row of a bank shared by every line; a number
where a vector belongs is refused naming the line; a line holding a batch is refused naming
that line and `losscli batch`. `compute FILE.jsonl` agrees with `batch FILE.jsonl
--per-example`, which reads each line as its own input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import losscli
from tests.helpers import assert_close, optional_module, run_cli, run_cli_json

RNG = np.random.default_rng(77)
B, D, K, C = 4, 5, 3, 6


def vectors(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape)


def write_lines(path: Path, columns: dict[str, Any]) -> str:
    """One JSON object per example: row b of every column."""
    rows = [{role: np.asarray(values)[b].tolist() for role, values in columns.items()}
            for b in range(B)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


# loss, its per-line columns: (D,) negatives and positives are one per example (K = P = 1)
CASES: list[tuple[str, dict[str, Any]]] = [
    ("triplet", {"anchor": vectors(B, D), "positive": vectors(B, D),
                 "negatives": vectors(B, D)}),
    ("quadruplet", {"anchor": vectors(B, D), "positive": vectors(B, D),
                    "negatives": vectors(B, D), "negatives2": vectors(B, D)}),
    ("supcon", {"anchor": vectors(B, D), "positives": vectors(B, D),
                "negatives": vectors(B, K, D)}),
    ("multi-similarity", {"anchor": vectors(B, D), "positives": vectors(B, D),
                          "negatives": vectors(B, K, D)}),
    ("softmax-ce", {"logits": vectors(B, C), "target": [5, 0, 2, 3]}),
    ("infonce", {"anchor": vectors(B, D), "positive": vectors(B, D),
                 "negatives": vectors(B, K, D)}),
    ("margin-ranking", {"x1": vectors(B), "x2": vectors(B), "label": [1, -1, -1, 1]}),
]


def test_compute_on_lines_agrees_with_batch_per_example(tmp_path, capsys):
    wrong = []
    for loss, columns in CASES:
        path = write_lines(tmp_path / f"{loss}.jsonl", columns)
        doc = run_cli_json(capsys, "compute", loss, path, "--reduction", "none")
        code, out, err = run_cli(capsys, "batch", loss, path, "--per-example", "-f", "jsonl")
        assert code == 0, err
        records = [json.loads(line) for line in out.splitlines()]
        assert [r["file"] for r in records] == [f"{path}:{b + 1}" for b in range(B)]
        per_line = np.array([r["loss"] for r in records])
        if not np.allclose(doc["per_example"], per_line, rtol=1e-9, atol=1e-12):
            wrong.append(f"{loss}: compute {doc['per_example']} != batch {per_line.tolist()}")
    assert not wrong, "\n".join(wrong)


def test_one_negative_per_line_is_k_1_and_lines_do_not_change_each_other(tmp_path, capsys):
    columns = dict(CASES[0][1])
    path = write_lines(tmp_path / "one.jsonl", columns)
    doc = run_cli_json(capsys, "compute", "triplet", path, "--reduction", "none")
    want = losscli.evaluate("triplet", {"anchor": columns["anchor"],
                                        "positive": columns["positive"],
                                        "negatives": columns["negatives"][:, None, :]},
                            reduction="none")
    assert doc["shape"]["negatives"] == 1 and doc["warnings"] == []
    assert_close(doc["per_example"], want.per_example)
    two = tmp_path / "two.jsonl"  # its first two lines: line 1's loss must not move
    two.write_text("".join(Path(path).read_text().splitlines(keepends=True)[:2]))
    got = run_cli_json(capsys, "compute", "triplet", str(two), "--reduction", "none")
    assert_close(got["per_example"], want.per_example[:2])


def test_a_number_where_a_vector_belongs_names_the_line(tmp_path, capsys):
    lines = tmp_path / "ce.jsonl"  # a binary classifier's one logit per line
    lines.write_text('{"logits": 2.3, "target": 0}\n{"logits": -0.5, "target": 1}\n'
                     '{"logits": 1.1, "target": 0}\n')
    code, _, err = run_cli(capsys, "compute", "softmax-ce", str(lines))
    assert code == 4, err
    assert f"{lines}:1:logits: a single number on line 1 where an array belongs" in err
    assert "one example's logits must be (C,)" in err and err.count("\n") == 1
    scalars = tmp_path / "scalars.jsonl"
    scalars.write_text('\n{"anchor": 0.1, "positive": 0.3, "negatives": 0.2}\n'
                       '{"anchor": 0.5, "positive": 0.4, "negatives": 2.0}\n')
    code, _, err = run_cli(capsys, "compute", "triplet", str(scalars))
    assert code == 4 and f"{scalars}:2:anchor: a single number on line 2" in err, err
    pairs = tmp_path / "pairs.jsonl"  # cosine-embedding's pair is two vectors, not numbers
    pairs.write_text('{"x1": 0.1, "x2": 0.3, "label": 1}\n{"x1": 0.5, "x2": 0.4, "label": -1}\n')
    code, _, err = run_cli(capsys, "compute", "cosine-embedding", str(pairs))
    assert code == 4 and f"{pairs}:1:x1: a single number on line 1" in err, err


def test_a_line_holding_a_batch_names_line_1_and_points_to_batch(tmp_path, capsys):
    path = tmp_path / "batches.jsonl"
    line = '{"anchor": [[1,0],[0,1]], "positive": [[0.6,0.8],[0.8,0.6]], "negatives": [[0.8,0.6]]}'
    path.write_text(f"{line}\n{line}\n")
    code, _, err = run_cli(capsys, "compute", "triplet", str(path))
    assert code == 4, err
    assert f"{path}:1:anchor: anchor (2, 2) on line 1 is more than one example" in err
    assert "compute reads a JSON Lines file one example per line" in err
    assert f"`losscli batch triplet {path}`" in err and "(2, 2, 2)" not in err
    # a batch of ONE on a line is that example, as the line alone in a JSON file is read
    ones = tmp_path / "ones.jsonl"
    ones.write_text('{"x1": [0.3], "x2": [0.1], "label": [1]}\n'
                    '{"x1": [0.5], "x2": [0.9], "label": [-1]}\n'
                    '{"x1": [0.5], "x2": [0.2], "label": [-1]}\n')
    doc = run_cli_json(capsys, "compute", "margin-ranking", str(ones), "--reduction", "none",
                       "--margin", "0.5")
    assert_close(doc["per_example"], [0.3, 0.1, 0.8])


def test_the_library_reads_lines_as_examples_too(tmp_path):
    columns = dict(CASES[2][1])  # supcon, one positive per line
    path = write_lines(tmp_path / "supcon.jsonl", columns)
    got = losscli.evaluate_file("supcon", path, reduction="none")
    want = losscli.evaluate("supcon", {"anchor": columns["anchor"],
                                       "positive": columns["positives"],
                                       "negatives": columns["negatives"]}, reduction="none")
    assert got.shape["positives"] == 1
    assert_close(got.per_example, want.per_example)
    # a per-role JSON Lines file: its lines are the examples' negatives too
    anchors = write_lines(tmp_path / "ap.jsonl", {"anchor": CASES[0][1]["anchor"],
                                                  "positive": CASES[0][1]["positive"]})
    negatives = write_lines(tmp_path / "n.jsonl", {"negatives": CASES[0][1]["negatives"]})
    got = losscli.evaluate_file("triplet", anchors, role_files={"negatives": negatives},
                                reduction="none")
    assert got.shape["negatives"] == 1 and got.shape["batch"] == B


def _write_table(pa, path: Path, columns: dict[str, Any], kind: str) -> str:
    table = pa.table({role: [np.asarray(v)[b].tolist() for b in range(B)]
                      for role, v in columns.items()})
    if kind == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path, row_group_size=3)
    else:
        import pyarrow.feather as feather

        feather.write_feather(table, path)
    return str(path)


def test_parquet_and_arrow_rows_are_one_example_each(tmp_path, capsys):
    pa = optional_module("pyarrow")
    for kind in ("parquet", "arrow"):
        for loss, columns in CASES[:3]:  # one negative (K = 1), one positive (P = 1) per row
            path = _write_table(pa, tmp_path / f"{loss}.{kind}", columns, kind)
            lines = write_lines(tmp_path / f"{loss}.jsonl", columns)
            doc = run_cli_json(capsys, "compute", loss, path, "--reduction", "none")
            want = run_cli_json(capsys, "compute", loss, lines, "--reduction", "none")
            assert doc["shape"] == want["shape"] and doc["warnings"] == want["warnings"]
            assert_close(doc["per_example"], want["per_example"])
            if kind == "parquet":  # batch reads a Parquet file by row groups: the same rows
                code, out, err = run_cli(capsys, "batch", loss, path, "--per-example",
                                         "-f", "jsonl")
                assert code == 0, err
                assert_close([json.loads(r)["loss"] for r in out.splitlines()],
                             want["per_example"])
    path = _write_table(pa, tmp_path / "scalars.parquet",
                        {"anchor": vectors(B), "positive": vectors(B),
                         "negatives": vectors(B)}, "parquet")
    code, _, err = run_cli(capsys, "compute", "triplet", path)
    assert code == 4 and f"{path}:anchor: a single number on row 0" in err, err


def test_no_negatives_on_every_line_is_k_0_as_in_one_json_object(tmp_path, capsys):
    # CONTRACT.md: InfoNCE with no negatives (K = 0) is 0 with a warning; `[]` on every line
    # stacked to (B, 0) and was refused as an empty array
    lines = ['{"anchor": [1, 0], "positive": [0.5, 0.5], "negatives": []}',
             '{"anchor": [0, 1], "positive": [0.2, 0.9], "negatives": []}']
    path = tmp_path / "k0.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli(capsys, "compute", "infonce", str(path), "-f", "json")
    doc = json.loads(out)
    assert code == 0 and doc["value"] == 0.0 and doc["shape"]["negatives"] == 0, err
    assert "no negatives (K = 0)" in err
    code, _, err = run_cli(capsys, "compute", "triplet", str(path))
    assert code == 4 and "K = 0" in err and "at least one negative" in err, err


def test_class_weights_as_a_column_are_read_once_as_json_lines_read_them(tmp_path, capsys):
    # QA7 L10: the same weights on every Parquet row were refused as "(B, C) does not match
    # (B, C)", and batch on the file failed with an IndexError
    pa = optional_module("pyarrow")
    weight = np.abs(vectors(C)) + 0.5
    columns = {"logits": vectors(B, C), "target": [5, 0, 2, 3], "weight": np.tile(weight, (B, 1))}
    want = run_cli_json(capsys, "compute", "softmax-ce",
                        write_lines(tmp_path / "w.jsonl", columns), "--reduction", "none")
    unweighted = run_cli_json(capsys, "compute", "softmax-ce", write_lines(
        tmp_path / "u.jsonl", {k: v for k, v in columns.items() if k != "weight"}))
    assert want["value"] != unweighted["value"]  # the weights change the value
    for kind in ("parquet", "arrow"):
        path = _write_table(pa, tmp_path / f"w.{kind}", columns, kind)
        doc = run_cli_json(capsys, "compute", "softmax-ce", path, "--reduction", "none")
        assert_close(doc["per_example"], want["per_example"])
        code, out, err = run_cli(capsys, "batch", "softmax-ce", path, "-f", "jsonl",
                                 "--reduction", "none")
        assert code == 0, err
        assert_close(json.loads(out)["per_example"], want["per_example"])
    differing = np.tile(weight, (B, 1))
    differing[3, 1] += 1.0  # in the second row group: batch reads groups one at a time
    path = _write_table(pa, tmp_path / "d.parquet", {**columns, "weight": differing}, "parquet")
    for command, exit_code in (("compute", 4), ("batch", 7)):
        code, _, err = run_cli(capsys, command, "softmax-ce", path)
        assert code == exit_code, err
        assert f"{path}:weight: weight on row 3 differs from the first row's" in err, err
