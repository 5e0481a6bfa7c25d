"""compute --worst N / --best N: the examples with the largest (smallest) loss, with their
breakdown, in loss order, ties in input order."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from losscli.render.ranking import ranked
from tests.helpers import run_cli


@pytest.fixture
def triplets(tmp_path):
    """Five triplet examples, two of them with the same loss (a tie)."""
    d_an = np.array([1.5, 0.0, 1.5, -0.5, 3.0])  # the negative's y: examples 0, 2 tie
    anchor = np.zeros((5, 2))
    positive = np.tile([1.0, 0.0], (5, 1))
    negatives = np.array([[[0.0, y]] for y in d_an])
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"anchor": anchor.tolist(), "positive": positive.tolist(),
                                "negatives": negatives.tolist()}))
    return str(path)


def losses(capsys, path):
    code, out, _ = run_cli(capsys, "compute", "triplet", path, "-f", "json")
    assert code == 0
    return json.loads(out)["per_example"]


def test_ranked_orders_ties_by_input_and_nan_as_worst():
    x = np.array([1.0, 3.0, np.nan, 3.0, -np.inf, np.inf, 0.0])
    assert ranked(x, 7, True) == [2, 5, 1, 3, 0, 6, 4]
    assert ranked(x, 7, False) == [4, 6, 0, 1, 3, 5, 2]
    assert ranked(x, 2, True) == [2, 5]


def test_worst_json_lists_the_largest_first(capsys, triplets):
    per = losses(capsys, triplets)
    code, out, _ = run_cli(capsys, "compute", "triplet", triplets, "--worst", "3", "-f",
                           "json")
    assert code == 0
    doc = json.loads(out)
    shown = [e["index"] for e in doc["examples"]]
    expected = sorted(range(len(per)), key=lambda i: (-per[i], i))[:3]
    assert shown == expected
    assert [e["loss"] for e in doc["examples"]] == [per[i] for i in expected]
    assert doc["per_example"] == per  # the whole batch is still reported
    assert all(e["terms"] for e in doc["examples"])


def test_best_csv_and_table(capsys, triplets):
    per = losses(capsys, triplets)
    expected = sorted(range(len(per)), key=lambda i: (per[i], i))[:2]
    code, out, _ = run_cli(capsys, "compute", "triplet", triplets, "--best", "2", "-f", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["example"]) for r in rows] == expected  # K = 1: one row per example
    code, out, _ = run_cli(capsys, "compute", "triplet", triplets, "--best", "2", "-f",
                           "table")
    assert code == 0
    titles = [line.split(":")[0] for line in out.splitlines() if line.startswith("example ")]
    assert titles == [f"example {i}" for i in expected]


def test_worst_and_best_together_is_a_usage_error(capsys, triplets):
    code, _, err = run_cli(capsys, "compute", "triplet", triplets, "--worst", "1", "--best",
                           "1")
    assert code == 2 and "--worst and --best both given" in err
    code, _, err = run_cli(capsys, "compute", "triplet", triplets, "--worst", "0")
    assert code == 2 and "--worst got 0" in err
