"""--per-example output goes out a piece of EXAMPLE_PIECE examples at a time: an input of
20 M examples was made into one text (~5 GB of JSON Lines, ~10 GB as a JSON array) before its
first line was written (QA20a M1). The pieces join to the same bytes in every format."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from losscli.cli import run
from losscli.render import batchout


@pytest.fixture
def stack(tmp_path):
    path = tmp_path / "s.npz"
    x = np.random.default_rng(5).normal(size=(10, 3, 2))
    np.savez(path, anchor=x[:, 0], positive=x[:, 1], negatives=x[:, 2:])
    return path


def _losses(path) -> list[float]:
    with np.load(path) as z:
        x = np.stack([z["anchor"], z["positive"], z["negatives"][:, 0]], axis=1)
    d = np.linalg.norm(x[:, 0] - x[:, 1], axis=1) - np.linalg.norm(x[:, 0] - x[:, 2], axis=1)
    return np.maximum(d + 1.0, 0.0).tolist()  # triplet, margin 1, K = 1


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_examples_are_written_in_pieces_that_join_to_every_example(fmt, stack, capsys,
                                                                   monkeypatch):
    pieces = []
    real = batchout.example_line_pieces if fmt != "csv" else batchout.example_csv_pieces

    def spy(result):
        for piece in real(result):
            pieces.append(piece)
            yield piece

    monkeypatch.setattr(batchout, "EXAMPLE_PIECE", 3)
    monkeypatch.setattr(batchout, "example_csv_pieces" if fmt == "csv"
                        else "example_line_pieces", spy)
    assert run(["batch", "triplet", str(stack), "--per-example", "-f", fmt]) == 0
    out = capsys.readouterr().out
    assert len(pieces) == 4  # 10 examples, 3 a piece
    if fmt == "jsonl":
        records = [json.loads(line) for line in out.splitlines()]
    elif fmt == "json":
        records = json.loads(out)
    else:
        records = [{"index": int(r["index"]), "loss": float(r["loss"])}
                   for r in csv.DictReader(io.StringIO(out))]
    assert [r["index"] for r in records] == list(range(10))
    np.testing.assert_allclose([r["loss"] for r in records], _losses(stack), rtol=1e-12)
