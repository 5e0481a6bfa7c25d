"""What the in-batch losses say about inputs they cannot use as given (QA defects):

- a lone 2-D .npy is read as one stacked example (B = 1, rows 2.. the negatives): a form that
  needs a batch, or refuses negatives, says it was that reading and how to give a batch,
  instead of blaming an anchor or negatives the user never gave;
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
from tests.helpers import close

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


def _said_of_the_reading(err: str, file: str, shape: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"error: {file}: a 2-D .npy {shape} is read as one stacked example"
                           ", rows as roles"), line
    for fix in ("(B, 2, D) stack", "--anchor a.npy --positive p.npy",
                "an .npz with anchor and positive"):
        assert fix in line, line


@pytest.mark.parametrize("loss,file,shape,refused", [
    ("clip", "A.npy", "(4, 3)", "needs a batch of B >= 2 examples"),
    ("ntxent-batch", "A.npy", "(4, 3)", "takes its negatives from the batch"),
    ("clip", "two.npy", "(2, 3)", "needs a batch of B >= 2 examples"),
    ("ntxent-batch", "two.npy", "(2, 3)", "needs a batch of B >= 2 examples"),
    ("npair", "two.npy", "(2, 3)", "needs a batch of B >= 2 examples"),
    ("dcl", "two.npy", "(2, 3)", "needs a batch of B >= 2 examples"),
    ("hard-infonce", "two.npy", "(2, 3)", "needs a batch of B >= 2 examples"),
])
def test_a_lone_2d_npy_refused_by_an_in_batch_form_says_it_was_read_as_one_example(
        capsys, here, loss, file, shape, refused):
    code, out, err = _cli(capsys, "compute", loss, file, "-f", "json")
    assert code == 4 and out == ""
    _said_of_the_reading(err, file, shape)
    assert refused in err


def test_batch_says_the_same_of_a_lone_2d_npy(capsys, here):
    code, out, err = _cli(capsys, "batch", "clip", "A.npy", "-f", "jsonl")
    assert code == 7
    record = json.loads(out)
    assert record["error"].startswith("A.npy: a 2-D .npy (4, 3) is read as one stacked example")


def test_a_convention_refusing_negatives_of_a_lone_2d_npy_says_so(capsys, here):
    code, _, err = _cli(capsys, "compute", "dcl", "A.npy", "--like", "dcl-port")
    assert code == 2
    _said_of_the_reading(err, "A.npy", "(4, 3)")
    assert "negatives has no counterpart in dcl-port's dcl" in err


def test_a_batch_of_one_given_by_role_keeps_its_own_message(capsys, here):
    np.save(here / "a1.npy", A[:1])
    np.save(here / "p1.npy", P[:1])
    code, _, err = _cli(capsys, "compute", "clip", "--anchor", "a1.npy", "--positive", "p1.npy")
    assert code == 4
    assert err == ("error: a1.npy:anchor: clip's paired batch needs a batch of B >= 2 examples,"
                   " found B = 1; give anchor and positive as (B, D) with B >= 2\n")
    code, _, err = _cli(capsys, "compute", "ntxent-batch", "tn.npz")
    assert code == 4 and err == (
        "error: tn.npz:negatives: ntxent-batch takes its negatives from the batch, not from "
        "negatives; drop negatives, or use infonce for explicit negatives\n")


@pytest.mark.parametrize("loss", ["clip", "siglip", "ntxent-batch"])
def test_a_b_2_d_stack_is_the_batch(capsys, here, loss):
    code, out, err = _cli(capsys, "compute", loss, "S.npy", "-f", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    want = losscli.evaluate(loss, {"anchor": A, "positive": P})
    assert doc["shape"]["batch"] == 3
    assert all(close(got, w) for got, w in zip(doc["per_example"], want.per_example, strict=True))


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


def test_top_alone_means_terms_top_and_beside_all_or_none_is_refused(capsys, here):
    # QA7 L8: `--top 1` without `--terms top` was ignored without a word
    B, T = 3, 2 * 3
    _, out, _ = _cli(capsys, "compute", "clip", "t.npz", "-f", "json", "--top", "2")
    doc = json.loads(out)
    assert doc["terms_left_out"] == B * (T - 4)
    for mode in ("all", "none"):
        code, out, err = _cli(capsys, "compute", "clip", "t.npz", "-f", "json", "--terms", mode,
                              "--top", "2")
        assert code == 2 and out == "", err
        assert f"--top 2 chooses terms for --terms top, not --terms {mode}" in err
