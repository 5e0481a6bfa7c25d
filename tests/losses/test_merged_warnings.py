"""The same warning for several roles is one line naming the roles (issue 12.8), on stderr
and in the JSON warnings, for compute and for batch (whose chunks add their counts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from losscli.losses.notices import merge_role_warnings

HUGE = {"anchor": [[3e200, 0.0], [1.0, 2.0]], "positive": [[4e200, 1.0], [0.0, 0.0]],
        "negatives": [[[0.0, 1e200]], [[0.0, 0.0]]]}


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_compute_says_each_warning_once_for_all_roles(tmp_path: Path) -> None:
    (tmp_path / "h.json").write_text(json.dumps(HUGE))
    proc = cli(["compute", "infonce", "h.json", "--similarity", "cosine", "-t", "1", "-f",
                "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    huge = [line for line in lines if "1e+150" in line]
    zeros = [line for line in lines if "zero vectors" in line]
    assert huge == ["warning: anchor, positive and negatives have entries above 1e+150 in "
                    "magnitude: dot products and distances may overflow (non-finite results are "
                    "written as null); cosine scales each vector by its largest entry first"]
    assert len(zeros) == 1 and "in positive (1) and negatives (1) under" in zeros[0]
    assert json.loads(proc.stdout)["warnings"] == [x.removeprefix("warning: ") for x in lines]


def test_batch_chunks_add_up_to_computes_warnings(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a, p, n = rng.normal(size=(9, 3)), rng.normal(size=(9, 3)), rng.normal(size=(9, 2, 3))
    a[[1, 4, 8]] = 0.0
    p[[2, 7]] = 0.0
    np.save(tmp_path / "x.anchor.npy", a)
    np.save(tmp_path / "x.positive.npy", p)
    np.save(tmp_path / "x.negatives.npy", n)
    compute = cli(["compute", "infonce", "x.anchor.npy", "--similarity", "cosine", "-f", "json"],
                  tmp_path)
    want = [w for w in json.loads(compute.stdout)["warnings"] if "zero vectors" in w]
    assert want == ["zero vectors in anchor (3) and positive (2) under cosine similarity: "
                    "their cosine is taken as 0"]
    for chunk in ("1", "4", "100"):
        batch = cli(["batch", "infonce", ".", "--similarity", "cosine", "--chunk", chunk, "-f",
                     "jsonl"], tmp_path)
        record = json.loads(batch.stdout)
        assert [w for w in record["warnings"] if "zero vectors" in w] == want, chunk


def test_merging_keeps_order_and_other_warnings() -> None:
    got = merge_role_warnings(["temperature 1e-05 is below 0.001", "logits is not used by x",
                               "weight is not used by x", "temperature 1e-05 is below 0.001",
                               "zero vectors in anchor (2) under cosine distance: ..."])
    assert got == ["temperature 1e-05 is below 0.001", "logits and weight are not used by x",
                   "zero vectors in anchor (2) under cosine distance: ..."]
    assert merge_role_warnings(["zero vectors in anchor (2) under c", "zero vectors in anchor "
                                "(3) under c"], add_counts=True) == ["zero vectors in anchor (5) "
                                                                     "under c"]
    assert merge_role_warnings(["--positive p.json replaces positive from d.json",
                                "--anchor a.json replaces anchor from d.json"]) == [
        "--positive p.json replaces positive from d.json",
        "--anchor a.json replaces anchor from d.json"]


def test_the_in_batch_losses_zero_vectors_merge_with_their_counts() -> None:
    """The tiled losses phrase zero vectors as every loss does: one line, each role's count
    (they said "1 zero vector(s) in anchor and positive" once the counts matched, and two
    lines otherwise)."""
    import losscli

    a = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 1.0]])
    p = np.array([[0.0, 0.0], [2.0, 1.0], [1.0, 1.0]])
    for name, like in (("clip", None), ("ntxent-batch", None), ("npair", None),
                       ("infonce", "sentence-transformers")):
        r = losscli.evaluate(name, {"anchor": a, "positive": p}, similarity="cosine", like=like)
        zeros = [w for w in r.warnings if "zero vector" in w]
        assert zeros == ["zero vectors in anchor (2) and positive (1) under cosine similarity: "
                         "their cosine is taken as 0"], name


def test_a_shared_banks_zero_vectors_are_counted_once_under_mnrl() -> None:
    """MNRL's candidates hold a (K, D) bank once per example: its zero rows are the bank's."""
    import losscli

    rng = np.random.default_rng(2)
    bank = rng.normal(size=(3, 4))
    bank[1] = 0.0
    r = losscli.evaluate("infonce", {"anchor": rng.normal(size=(5, 4)),
                                     "positive": rng.normal(size=(5, 4)), "negatives": bank},
                         like="sentence-transformers")
    assert [w for w in r.warnings if "zero vectors" in w] == [
        "zero vectors in negatives (1) under cosine similarity: their cosine is taken as 0"]
