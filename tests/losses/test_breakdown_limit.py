"""compute refuses a per-term breakdown (or --grad gradients) too large to materialise: exit 4
"too large for compute: use batch" (CONTRACT.md), checked before anything of that size is
allocated, with one shared limit for every loss whose breakdown is held whole. The in-batch
losses compute theirs on demand (a block of examples at a time): no limit applies."""

from __future__ import annotations

import json

import numpy as np
import pytest

import losscli
from losscli.cli import run
from losscli.errors import BadData
from losscli.losses.results import MAX_BREAKDOWN_TERMS, breakdown_limits

rng = np.random.default_rng(3)


def _pairs(B: int, D: int = 2) -> dict:
    a = rng.normal(size=(B, D))
    return {"anchor": a, "positive": a + rng.normal(size=(B, D))}


def test_two_view_batch_of_2100_is_computed_with_the_top_terms(tmp_path, capsys) -> None:
    """B = 2100 views give 2 (2B - 1) = 8398 terms per example: 17.6 million in all, once
    refused; now the default keeps each example's positives and 10 strongest others."""
    B = 2100
    assert B * 2 * (2 * B - 1) > MAX_BREAKDOWN_TERMS
    path = tmp_path / "views.npz"
    np.savez(path, **_pairs(B))
    assert run(["compute", "ntxent-batch", str(path), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert "2,100 x 8,398 = 17,635,800 terms" in err and "--terms all" in err
    assert [len(e["terms"]) for e in doc["examples"]] == [2 + 10] * B
    assert doc["terms_left_out"] == B * (8398 - 12)


@pytest.mark.parametrize("loss", ["clip", "siglip", "npair", "dcl", "hard-infonce",
                                  "ntxent-batch"])
def test_in_batch_losses_have_no_breakdown_limit(loss) -> None:
    with breakdown_limits(1, 1):
        r = losscli.evaluate(loss, _pairs(5), grad=True)
    assert r.terms.block(0, 5)["similarity"].shape[0] == 5


@pytest.mark.parametrize("loss,inputs,terms", [
    ("supcon", {"anchor": rng.normal(size=(5, 2)), "positives": rng.normal(size=(3, 2)),
                "negatives": rng.normal(size=(4, 2))}, 7),
    ("infonce", {**_pairs(5), "negatives": rng.normal(size=(6, 2))}, 7),
    ("triplet", {**_pairs(5), "negatives": rng.normal(size=(6, 2))}, 6),
    ("lifted-structure", {**_pairs(5), "negatives": rng.normal(size=(6, 2))}, 12),
    ("softmax-ce", {"logits": rng.normal(size=(5, 9)), "target": [0, 1, 2, 3, 4]}, 9),
    ("margin-ranking", {"x1": [0.1] * 5, "x2": [0.2] * 5, "label": [1] * 5}, 1),
])
def test_every_loss_checks_the_shared_limit(loss, inputs, terms) -> None:
    """The limit is shared: each loss refuses exactly above B x T."""
    with breakdown_limits(5 * terms):
        losscli.evaluate(loss, inputs)
    with breakdown_limits(5 * terms - 1), pytest.raises(BadData, match="above compute.s limit"):
        losscli.evaluate(loss, inputs)


def test_gradients_have_their_own_bound() -> None:
    inputs = {**_pairs(4, D=3), "negatives": rng.normal(size=(4, 5, 3))}
    entries = 4 * (2 + 5) * 3
    with breakdown_limits(10**6, entries):
        losscli.evaluate("triplet", inputs, grad=True)
    with breakdown_limits(10**6, entries - 1), pytest.raises(BadData, match="gradients"):
        losscli.evaluate("triplet", inputs, grad=True)
    with breakdown_limits(10**6, entries - 1):
        losscli.evaluate("triplet", inputs)  # without --grad there are no gradients


def test_no_limit_when_a_caller_keeps_no_breakdown() -> None:
    inputs = _pairs(3)
    with breakdown_limits(None):
        assert np.isfinite(losscli.evaluate("clip", inputs).value)


def test_above_the_fixed_limit_the_memory_available_decides(monkeypatch) -> None:
    """compute's 8 M-term refusal went away (issue 11): above MAX_BREAKDOWN_TERMS a breakdown
    is held where it takes at most half the memory available, else refused naming both."""
    from losscli.losses import results

    inputs = {**_pairs(5), "negatives": rng.normal(size=(6, 2))}  # triplet: 5 x 6 terms
    monkeypatch.setattr(results, "MAX_BREAKDOWN_TERMS", 10)
    monkeypatch.setattr(results, "available_memory", lambda: 2 * 30 * 100)
    assert np.isfinite(losscli.evaluate("triplet", inputs).value)
    monkeypatch.setattr(results, "available_memory", lambda: 2 * 30 * 100 - 2)
    with pytest.raises(BadData, match=r"5 x 6 = 30 terms \(about .* GiB\), more than half "
                                      r"the memory available"):
        losscli.evaluate("triplet", inputs)
    monkeypatch.setattr(results, "available_memory", lambda: None)
    with pytest.raises(BadData, match="above compute's limit of 10 "):
        losscli.evaluate("triplet", inputs)


def test_the_refusal_names_the_input(tmp_path, capsys, monkeypatch) -> None:
    # QA: `compute triplet large.npz` said "error: triplet's per-term breakdown would hold
    # ..." without the file, where CONTRACT's form is `error: <file>: <what>; <fix>`
    monkeypatch.chdir(tmp_path)
    a, p = _pairs(4).values()
    np.savez("big.npz", anchor=a, positive=p, negatives=rng.normal(size=(4, 3, 2)))
    np.save("a.npy", a)
    np.save("n.npy", rng.normal(size=(4, 3, 2)))
    for args, where in ((["big.npz"], "big.npz"),
                        (["big.npz", "--grad"], "big.npz"),
                        (["--anchor", "a.npy", "--positive", "a.npy", "--negatives", "n.npy"],
                         "a.npy, n.npy")):
        limit = (10**6, 1) if "--grad" in args else (11,)
        with breakdown_limits(*limit):
            assert run(["compute", "triplet", *args]) == 4
        err = capsys.readouterr().err
        assert err.startswith(f"error: {where}: triplet's ") and "too large" in err, err
