"""`stats -f csv` carries everything the JSON (and the table) carry (issue 12.13): every field
of every record, the regimes, active terms and false-negative counts, and the histogram as
one row per series and bin. Through the real CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def cli(args: list[str]) -> str:
    env = dict(os.environ, LOSSCLI_JIT="never")
    proc = subprocess.run([sys.executable, "-m", "losscli", *args], cwd=SAMPLES, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def same(cell: str, value: object) -> bool:
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == str(value)
    if isinstance(value, (int, float)):
        return cell != "" and float(cell) == float(value)
    return cell == str(value)


@pytest.mark.parametrize("loss,input", [("triplet", "batch.npz"), ("infonce", "batch.json"),
                                        ("contrastive", "pairs.npz"),
                                        ("quadruplet", "batch.json")])
def test_csv_holds_every_field_of_the_json(loss: str, input: str) -> None:
    doc = json.loads(cli(["stats", loss, input, "--bins", "7", "-f", "json"]))
    records = doc["stats"]
    rows = list(csv.DictReader(io.StringIO(cli(["stats", loss, input, "--bins", "7", "-f",
                                                "csv"]))))
    # the warnings last, a row each, the text in `quantity`
    assert [r["quantity"] for r in rows if r["stat"] == "warning"] == doc["warnings"]
    plain = [r for r in rows if r["stat"] not in ("histogram", "warning")]
    assert [r["stat"] for r in plain] == [r["stat"] for r in records if r["stat"] != "histogram"]
    for record, row in zip([r for r in records if r["stat"] != "histogram"], plain, strict=True):
        for key, value in record.items():
            assert key in row, (key, list(row))
            assert same(row[key], value), (record["stat"], key, row[key], value)
    histogram = next(r for r in records if r["stat"] == "histogram")
    bins = [r for r in rows if r["stat"] == "histogram"]
    for series, counts in histogram["counts"].items():
        mine = [r for r in bins if r["series"] == series]
        assert [int(r["count"]) for r in mine] == counts
        assert [int(r["bin"]) for r in mine] == list(range(len(counts)))
        edges = [float(r["lower"]) for r in mine] + [float(mine[-1]["upper"])]
        assert edges == histogram["edges"]
        assert {r["quantity"] for r in mine} == {histogram["quantity"]}


def test_the_regimes_and_active_terms_of_the_table_are_in_the_csv() -> None:
    rows = {r["stat"]: r for r in csv.DictReader(io.StringIO(cli(
        ["stats", "triplet", "batch.npz", "-f", "csv"]))) if r["stat"] != "histogram"}
    table = cli(["stats", "triplet", "batch.npz", "-f", "table"])
    regimes = rows["regimes"]
    assert (f"regimes: hard {regimes['hard']}, semi-hard {regimes['semi-hard']}, easy "
            f"{regimes['easy']}") in " ".join(table.split())
    assert int(rows["active term"]["active"]) <= int(rows["active term"]["terms"])
