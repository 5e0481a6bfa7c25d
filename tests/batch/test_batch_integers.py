"""64-bit integers beyond 2^53 that batch reads from .npy files by rows (a stack, a role set,
a tiled loss's pair) get the warning that compute and JSON give: float64 rounds them, and a
changed number must not pass unseen. Each chunk's count is added, said once per input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_cli

B = 7
BIG = 2**53 + 1  # rounds to 2^53 in float64


def _roles() -> dict[str, np.ndarray]:
    a = np.zeros((B, 2), dtype=np.int64)
    a[:, 0] = BIG
    a[0, 0] = 5  # exact: not counted
    p = np.zeros((B, 2), dtype=np.int64)
    p[:, 0] = 2**53  # exact
    n = np.zeros((B, 1, 2), dtype=np.int64)
    n[:, 0, 0] = BIG
    n[:, 0, 1] = 3
    return {"anchor": a, "positive": p, "negatives": n}


def _warnings(capsys, *argv: str) -> list[str]:
    code, out, err = run_cli(capsys, "batch", *argv, "-f", "jsonl")
    assert code == 0, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    return [w for w in record["warnings"] if "2^53" in w]


@pytest.mark.parametrize("chunk", ["2", "100"])
def test_a_stack_read_by_rows(tmp_path: Path, capsys, chunk: str):
    r = _roles()
    np.save(tmp_path / "s.npy", np.concatenate([r["anchor"][:, None], r["positive"][:, None],
                                                r["negatives"]], axis=1))
    found = _warnings(capsys, "triplet", str(tmp_path / "s.npy"), "--chunk", chunk)
    assert len(found) == 1
    assert "integers beyond 2^53 in anchor (6) and negatives (7)" in found[0]


def test_a_role_set_names_each_file(tmp_path: Path, capsys):
    for role, arr in _roles().items():
        np.save(tmp_path / f"e.{role}.npy", arr)
    found = _warnings(capsys, "triplet", str(tmp_path / "e.anchor.npy"), "--chunk", "3")
    assert sorted(w.split(": integers")[0].rsplit("/", 1)[-1] for w in found) == \
        ["e.anchor.npy", "e.negatives.npy"]
    assert any("in anchor (6)" in w for w in found)
    assert any("in negatives (7)" in w for w in found)


def test_a_tiled_loss_reads_its_pair_whole(tmp_path: Path, capsys):
    r = _roles()
    np.save(tmp_path / "q.anchor.npy", r["anchor"])
    np.save(tmp_path / "q.positive.npy", np.arange(2 * B).reshape(B, 2))
    found = _warnings(capsys, "clip", str(tmp_path / "q.anchor.npy"))
    assert len(found) == 1 and "in anchor (6)" in found[0]
