"""What the in-batch losses say about inputs they cannot use as given (QA defects):

- clip and siglip leave a `negatives` array unused (exit 0) with a warning that says why,
  and `explain` says it;
- every role an in-batch loss's `explain` names is one its compute JSON uses;
- under `--terms top` the JSON always says how many terms are left out (0 included).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.cli import run
from losscli.losses import get_spec

RNG = np.random.default_rng(7)
A, P, N = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4)), RNG.standard_normal((3, 2, 4))


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def here(tmp_path: Path, monkeypatch) -> Path:
    """A folder of inputs, the working directory (messages name the files as given)."""
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "A.npy", RNG.standard_normal((4, 3)))  # (2 + K, D): K = 2
    np.save(tmp_path / "two.npy", RNG.standard_normal((2, 3)))  # K = 0
    np.save(tmp_path / "S.npy", np.stack([A, P], axis=1))  # (B, 2, D)
    np.savez(tmp_path / "t.npz", anchor=A, positive=P)
    np.savez(tmp_path / "tn.npz", anchor=A, positive=P, negatives=N)
    return tmp_path


@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_paired_batch_losses_say_why_negatives_are_not_used(capsys, here, loss):
    code, out, err = _cli(capsys, "compute", loss, "tn.npz", "-f", "json")
    assert code == 0
    said = (f"negatives is not used by {loss}: its negatives are the batch's other positives "
            "(the paired batch); use infonce for explicit negatives")
    assert f"warning: {said}\n" in err and said in json.loads(out)["warnings"]
    _, out, _ = _cli(capsys, "batch", loss, "tn.npz", "-f", "jsonl")
    assert said in json.loads(out)["warnings"]
    _, out, _ = _cli(capsys, "explain", loss, "-f", "table")
    pitfalls = out.split("pitfalls:")[1].split("references:")[0]
    assert "A `negatives` array is not used" in pitfalls
    assert "the batch's other positives (the paired batch)" in pitfalls
    assert "use infonce for explicit negatives" in pitfalls


def test_other_unused_roles_still_list_what_the_loss_takes(capsys, here):
    np.savez(here / "tl.npz", anchor=A, positive=P, label=np.ones(3))
    code, _, err = _cli(capsys, "compute", "clip", "tl.npz", "-f", "json")
    assert code == 0
    assert "warning: label is not used by clip (it takes anchor, positive)\n" in err


IN_BATCH = ("clip", "siglip", "ntxent-batch", "npair", "dcl", "hard-infonce", "supcon")


@pytest.mark.parametrize("loss", IN_BATCH)
def test_explain_names_only_roles_the_output_uses(capsys, here, loss):
    inputs = {"anchor": A, "positive": P}
    if loss == "supcon":
        inputs = {"anchor": A, "positives": N, "negatives": N[::-1]}
    roles = {t for t in losscli.evaluate(loss, inputs).terms.role}
    if "negatives" in get_spec(loss).optional and loss != "supcon":
        roles |= set(losscli.evaluate(loss, {**inputs, "negatives": N}).terms.role)
    _, text, _ = _cli(capsys, "explain", loss, "-f", "table")
    named = set(re.findall(r"\(role `(\w+)`\)", text))
    assert named <= roles, (named, roles)


def test_ntxent_batch_explain_calls_the_partner_positive(capsys):
    _, text, _ = _cli(capsys, "explain", "ntxent-batch", "-f", "table")
    assert "the partner (role `positive`)" in text and "`partner`" not in text


def test_terms_top_always_says_how_many_are_left_out(capsys, here):
    B, T = 3, 2 * 3
    _, out, _ = _cli(capsys, "compute", "clip", "t.npz", "-f", "json", "--terms", "top",
                     "--top", "1000")
    doc = json.loads(out)
    assert doc["terms_left_out"] == 0
    assert [e["terms_left_out"] for e in doc["examples"]] == [0] * B
    assert [len(e["terms"]) for e in doc["examples"]] == [T] * B
    _, out, _ = _cli(capsys, "compute", "clip", "t.npz", "-f", "json", "--terms", "top",
                     "--top", "2")
    doc = json.loads(out)
    assert doc["terms_left_out"] == B * (T - 4)
    assert [e["terms_left_out"] for e in doc["examples"]] == [T - 4] * B
    _, out, _ = _cli(capsys, "compute", "clip", "t.npz", "-f", "json", "--terms", "all")
    doc = json.loads(out)
    assert "terms_left_out" not in doc
    assert all("terms_left_out" not in e for e in doc["examples"])


def test_the_table_says_it_under_terms_top_too(capsys, here):
    _, out, _ = _cli(capsys, "compute", "clip", "t.npz", "-f", "table", "--terms", "top",
                     "--top", "1000", "--show", "0")
    assert out.count("(no terms left out: --top 1000 keeps all 6)") == 3
    _, out, _ = _cli(capsys, "compute", "clip", "t.npz", "-f", "table", "--terms", "top",
                     "--top", "2", "--show", "0")
    assert out.count("... 2 more terms (--terms all for every term)") == 3
    _, out, _ = _cli(capsys, "compute", "clip", "t.npz", "-f", "table", "--terms", "all",
                     "--show", "0")
    assert "more terms" not in out and "no terms left out" not in out
