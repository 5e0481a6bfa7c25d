"""Role sets of `STEM.ROLE.npy` files and lone .npy stacks (issue 12.2 and 12.3): a file
named like a member reads its whole set; a misnamed member is an error with "did you mean",
never a stack of its own; a set without a role the loss needs is an error naming the file to
add, never an input with K = 0; a lone 2-D .npy read as one example says so. Through the real
CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

RNG = np.random.default_rng(5)
A, P, N = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(3, 2, 4))


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def role_set(root: Path, stem: str = "x", **extra: np.ndarray) -> None:
    for role, arr in {"anchor": A, "positive": P, "negatives": N, **extra}.items():
        np.save(root / f"{stem}.{role}.npy", arr)


def values(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("member", ["anchor", "positive", "negatives"])
def test_a_member_as_input_reads_its_whole_set(member: str, tmp_path: Path) -> None:
    role_set(tmp_path)
    want = values(cli(["compute", "infonce", "--anchor", "x.anchor.npy", "--positive",
                       "x.positive.npy", "--negatives", "x.negatives.npy", "-f", "json"],
                      tmp_path))
    proc = cli(["compute", "infonce", f"x.{member}.npy", "-f", "json"], tmp_path)
    got = values(proc)
    assert got["shape"] == want["shape"] == {"batch": 3, "negatives": 2, "dim": 4,
                                             "classes": None, "positives": None}
    np.testing.assert_allclose(got["per_example"], want["per_example"], rtol=1e-12)
    said = [w for w in got["warnings"] if "role set x.*.npy" in w]
    assert len(said) == 1 and "x.negatives.npy" in said[0], got["warnings"]
    assert f"warning: {said[0]}" in proc.stderr.splitlines()


def test_a_role_option_replaces_a_member_and_says_so(tmp_path: Path) -> None:
    role_set(tmp_path)
    np.save(tmp_path / "other.npy", N[:, :1])
    got = values(cli(["compute", "triplet", "x.anchor.npy", "--negatives", "other.npy", "-f",
                      "json"], tmp_path))
    assert got["shape"]["negatives"] == 1
    assert any("--negatives other.npy replaces x.negatives.npy" in w for w in got["warnings"])


@pytest.mark.parametrize("stray", ["negative", "anchors", "neg"])
def test_a_misnamed_member_is_refused_and_never_read_as_a_stack(stray: str,
                                                                 tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    np.save(tmp_path / "d" / "x.anchor.npy", A)
    np.save(tmp_path / "d" / "x.positive.npy", P)
    np.save(tmp_path / "d" / f"x.{stray}.npy", N[:, 0])
    for args in (["compute", "infonce", f"d/x.{stray}.npy"],
                 ["compute", "infonce", "d/x.anchor.npy"]):
        proc = cli(args, tmp_path)
        assert proc.returncode == 4, proc.stderr
        assert f"{stray!r} is not a role" in proc.stderr and "did you mean" in proc.stderr
        assert proc.stdout == ""
    for inputs in (["d"], ["d/*.npy"]):
        proc = cli(["batch", "infonce", *inputs, "-f", "jsonl"], tmp_path)
        assert proc.returncode == 7, proc.stderr
        records = [json.loads(line) for line in proc.stdout.splitlines()]
        assert [r["file"] for r in records] == ["d/x.*.npy"]  # no record of a stack
        assert f"'{stray}' is not a role" in records[0]["error"]


def test_a_set_without_a_needed_role_names_the_file_to_add(tmp_path: Path) -> None:
    np.save(tmp_path / "x.anchor.npy", A)
    np.save(tmp_path / "x.positive.npy", P)
    for loss in ("infonce", "triplet"):  # infonce: negatives optional, but K = 0 is 0
        proc = cli(["compute", loss, "x.anchor.npy"], tmp_path)
        assert proc.returncode == 4
        assert "no negatives" in proc.stderr and "add x.negatives.npy" in proc.stderr
        batch = cli(["batch", loss, ".", "-f", "jsonl"], tmp_path)
        record = json.loads(batch.stdout.splitlines()[0])
        assert record["value"] is None and "no negatives" in record["error"]
    given = values(cli(["compute", "infonce", "x.anchor.npy", "--negatives", "x.anchor.npy",
                        "-f", "json"], tmp_path))
    assert given["shape"]["negatives"] == 3


@pytest.mark.parametrize("loss,given,stand_in", [
    ("multi-similarity", "positives", "positive"), ("circle", "positives", "positive"),
    ("supcon", "positives", "positive"), ("lifted-structure", "positive", "positives")])
def test_a_set_holding_the_stand_in_of_a_required_role_is_evaluated(
        loss: str, given: str, stand_in: str, tmp_path: Path) -> None:
    """LOSSES-MORE.md: wherever positives is accepted, positive is too (P = 1), and the
    other way round where positive is the required one: a set need not hold the name the
    catalogue lists first. The same values as the role under its own name, in compute and
    batch."""
    wide = {"positive": P, "positives": P.reshape(3, 1, 4)}
    np.save(tmp_path / "x.anchor.npy", A)
    np.save(tmp_path / "x.negatives.npy", N)
    np.save(tmp_path / f"x.{given}.npy", wide[given])
    want = values(cli(["compute", loss, "x.anchor.npy", "-f", "json"], tmp_path))
    os.remove(tmp_path / f"x.{given}.npy")
    np.save(tmp_path / f"x.{stand_in}.npy", wide[stand_in])
    got = values(cli(["compute", loss, "x.anchor.npy", "-f", "json"], tmp_path))
    np.testing.assert_allclose(got["per_example"], want["per_example"], rtol=1e-12)
    record = json.loads(cli(["batch", loss, ".", "-f", "jsonl"], tmp_path).stdout)
    assert record["error"] is None and record["value"] == pytest.approx(want["value"],
                                                                         rel=1e-12)


@pytest.mark.parametrize("loss,held,option", [
    ("supcon", "positive", "positives"), ("multi-similarity", "positive", "positives"),
    ("lifted-structure", "positives", "positive")])
def test_a_role_option_replaces_the_stand_in_the_input_holds(
        loss: str, held: str, option: str, tmp_path: Path) -> None:
    """CONTRACT.md: a per-role option replaces that role of INPUT, with a warning. positive
    and positives stand in for each other (QA14 L1): --positives over an input holding
    positive replaced nothing and both were refused. Now it replaces it, in compute and
    batch, for a file and a role set; the value is the option's."""
    wide = {"positive": P, "positives": P.reshape(3, 1, 4)}
    other = {"positive": A + 0.5, "positives": (A + 0.5).reshape(3, 1, 4)}
    np.savez(tmp_path / "ex.npz", anchor=A, negatives=N, **{held: wide[held]})
    if held == "positive":
        role_set(tmp_path)
    np.save(tmp_path / "opt.npy", other[option])
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "n.npy", N)
    want = values(cli(["compute", loss, "--anchor", "a.npy", "--negatives", "n.npy",
                       f"--{option}", "opt.npy", "-f", "json"], tmp_path))
    proc = cli(["compute", loss, "ex.npz", f"--{option}", "opt.npy", "-f", "json"], tmp_path)
    got = values(proc)
    assert f"--{option} opt.npy replaces {held} from ex.npz" in proc.stderr
    assert got["per_example"] == want["per_example"]
    batch = cli(["batch", loss, "ex.npz", f"--{option}", "opt.npy", "-f", "jsonl"], tmp_path)
    assert json.loads(batch.stdout)["value"] == pytest.approx(want["value"], rel=1e-12)
    one = {"positive": [0.5, 0.5, 0.5, 0.5], "positives": [[0.5, 0.5, 0.5, 0.5]]}
    lines = [json.dumps({"anchor": A[i].tolist(), "negatives": N[i].tolist(),
                         held: np.asarray(wide[held][i]).tolist()}) for i in range(3)]
    (tmp_path / "ex.jsonl").write_text("\n".join(lines) + "\n")
    np.save(tmp_path / "one.npy", np.array(one[option]))
    rows = cli(["batch", loss, "ex.jsonl", f"--{option}", "one.npy", "-f", "jsonl"], tmp_path)
    records = [json.loads(line) for line in rows.stdout.splitlines()]
    assert len(records) == 3 and all(r["error"] is None for r in records), rows.stderr
    assert f"--{option} one.npy replaces {held} from ex.jsonl:1" in rows.stderr
    if held == "positive":  # x.positive.npy in the set x.*.npy
        proc = cli(["compute", loss, "x.anchor.npy", f"--{option}", "opt.npy", "-f", "json"],
                   tmp_path)
        assert "replaces x.positive.npy" in proc.stderr
        assert values(proc)["per_example"] == want["per_example"]


def test_a_loss_that_needs_no_negatives_takes_a_set_without_them(tmp_path: Path) -> None:
    np.save(tmp_path / "x.anchor.npy", A)
    np.save(tmp_path / "x.positive.npy", P)
    got = values(cli(["compute", "ntxent-batch", "x.anchor.npy", "-f", "json"], tmp_path))
    assert got["shape"]["batch"] == 3


@pytest.mark.parametrize("name", ["run.2024.npy", "run.train.npy"])
def test_dotted_names_that_are_no_roles_stay_stacks(name: str, tmp_path: Path) -> None:
    stack = np.concatenate([A[:, None], P[:, None], N], axis=1)
    np.save(tmp_path / name, stack)
    np.save(tmp_path / "plain.npy", stack)
    got = values(cli(["compute", "triplet", name, "-f", "json"], tmp_path))
    want = values(cli(["compute", "triplet", "plain.npy", "-f", "json"], tmp_path))
    assert got["per_example"] == want["per_example"]
    assert not any("role set" in w for w in got["warnings"])


def test_a_lone_2d_npy_is_one_example_and_says_so(tmp_path: Path) -> None:
    np.save(tmp_path / "one.npy", np.concatenate([A[:1], P[:1], N[0]]))
    proc = cli(["compute", "triplet", "one.npy", "-f", "json"], tmp_path)
    got = values(proc)
    assert got["shape"]["batch"] == 1 and got["shape"]["negatives"] == 2
    said = [w for w in got["warnings"] if "2-D .npy" in w]
    assert len(said) == 1 and "(B = 1, K = 2, D = 4)" in said[0] and "--anchor" in said[0]
    assert any(line.startswith("warning: one.npy: a 2-D .npy (4, 4)")
               for line in proc.stderr.splitlines())
    batch = cli(["batch", "triplet", "one.npy", "-f", "jsonl"], tmp_path)
    record = json.loads(batch.stdout)
    assert any("(B = 1, K = 2, D = 4)" in w for w in record["warnings"])


def test_a_lone_3d_stack_is_read_without_a_guess(tmp_path: Path) -> None:
    # more examples than rows per example, and more than roles listed by hand would give
    # (69 > 66): no reading to announce (below)
    stack = np.concatenate([A[:, None], P[:, None], N], axis=1)
    np.save(tmp_path / "stack.npy", np.concatenate([stack] * 23))
    got = values(cli(["compute", "triplet", "stack.npy", "-f", "json"], tmp_path))
    assert got["shape"]["batch"] == 69 and got["warnings"] == []


ROLES_FIRST = "if axis 0 holds the roles, save it with np.stack([...], axis=1)"


def test_a_stack_saved_roles_first_is_announced_once_in_compute_and_batch(
        tmp_path: Path) -> None:
    # np.stack([a, p, n]) of (6, 5) arrays, numpy's default axis: (3, 6, 5), read as B = 3
    # examples of K = 4 negatives. QA7 C5: it was read so without a word.
    a, p, n = RNG.normal(size=(3, 6, 5))
    np.save(tmp_path / "roles_first.npy", np.stack([a, p, n]))
    np.save(tmp_path / "ok.npy", np.stack([a, p, n], axis=1))
    proc = cli(["compute", "triplet", "roles_first.npy", "-f", "json"], tmp_path)
    said = [w for w in values(proc)["warnings"] if ROLES_FIRST in w]
    assert said == ["roles_first.npy: a (3, 6, 5) stack is read as B = 3 examples, each an "
                    "anchor, a positive and K = 4 negatives (axis 1 holds the roles); saved "
                    "roles-first, as np.stack([a, p, n]) puts them, it would be B = 6 "
                    "examples, each an anchor, a positive and K = 1 negative: " + ROLES_FIRST
                    + " (or save np.swapaxes(x, 0, 1) of this array), (6, 3, 5)"]
    assert sum(ROLES_FIRST in line for line in proc.stderr.splitlines()) == 1
    batch = cli(["batch", "triplet", "roles_first.npy", "ok.npy", "--chunk", "1", "-f",
                 "jsonl"], tmp_path)
    first, second = (json.loads(line) for line in batch.stdout.splitlines())
    assert [w for w in first["warnings"] if ROLES_FIRST in w] == said
    # the file saved as documented is as short as roles listed by hand: its reading is said
    # too, the other way round
    assert second["warnings"] == values(cli(["compute", "triplet", "ok.npy", "-f", "json"],
                                            tmp_path))["warnings"]
    assert [w.split(" (axis 1")[0] for w in second["warnings"]] == [
        "ok.npy: a (6, 3, 5) stack is read as B = 6 examples, each an anchor, a positive and "
        "K = 1 negative"]


@pytest.mark.parametrize("shape,said", [
    ((2, 2, 3), True),  # np.stack([a, p]) of two anchors: as likely roles-first
    ((3, 3, 3), True),  # np.stack([a, p, n]) of three anchors
    ((3, 2, 3), True),  # np.stack([a, p, n]) of two anchors (the seed example's B)
    ((7, 3, 4), True),  # QA17 H1: np.stack([a, p, n1..n5]) of three anchors, once silent
    ((66, 3, 2), True),  # 64 negatives listed by hand
    ((3, 80, 2), True),  # no more examples than rows
    ((67, 3, 2), False),  # more examples than rows, more than roles listed by hand
    ((1, 5, 3), False),  # one example: roles-first would need a single role
])
def test_the_stack_reading_is_announced_where_roles_first_is_likely(
        shape: tuple[int, ...], said: bool, tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", RNG.normal(size=shape))
    got = values(cli(["compute", "infonce", "s.npy", "-f", "json"], tmp_path))
    assert any(ROLES_FIRST in w for w in got["warnings"]) is said


@pytest.mark.parametrize("shape,said", [
    ((3, 2, 3), False),  # clip reads no negatives: roles-first would be np.stack([a, p]) only
    ((2, 3, 3), True),  # np.stack([a, p]) of three pairs
])
def test_a_loss_without_negatives_has_two_roles_to_stack(
        shape: tuple[int, ...], said: bool, tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", RNG.normal(size=shape))
    proc = cli(["compute", "clip", "s.npy", "-f", "json"], tmp_path)
    assert any(ROLES_FIRST in w for w in values(proc)["warnings"]) is said


@pytest.mark.parametrize("command", ["compute", "batch"])
@pytest.mark.parametrize("loss,shape,other", [
    # np.stack([a, p, n]) of two examples: the documented reading has no negatives
    ("triplet", (3, 2, 4), "it would be B = 2 examples, each an anchor, a positive and K = 1 "
                           "negative"),
    # np.stack([a, p]) of five examples: the documented reading has negatives it refuses
    ("ntxent-batch", (2, 5, 4), "it would be B = 5 examples, each an anchor and a positive"),
])
def test_a_refusal_of_the_stack_reading_says_the_other(command, loss, shape, other,
                                                        tmp_path: Path) -> None:
    """Where the reading taken ends in a refusal, the warning never printed: the error says
    the other reading, the one that works (QA18 M1)."""
    np.save(tmp_path / "s.npy", RNG.normal(size=shape))
    proc = cli([command, loss, "s.npy", "-f", "json"], tmp_path)
    assert proc.returncode == (4 if command == "compute" else 7), proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: s.npy: ") and other in line and ROLES_FIRST in line


def test_a_square_stack_says_which_vectors_each_reading_pairs(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", RNG.normal(size=(2, 2, 4)))
    said = [w for w in values(cli(["compute", "clip", "s.npy", "-f", "json"], tmp_path))[
        "warnings"] if ROLES_FIRST in w]
    assert len(said) == 1 and "would pair x[0, b] with x[1, b] where this reading pairs " \
        "x[b, 0] with x[b, 1]" in said[0] and "np.swapaxes(x, 0, 1)" in said[0]


@pytest.mark.parametrize("shape,extra", [
    ((2, 2, 4), []),  # np.stack([a, p]) either way: neither reading has negatives
    ((3, 2, 4), ["--anchor", "a.npy"]),  # the anchor from a file: the other reading is gone
])
def test_the_other_reading_is_offered_only_where_it_would_fit(shape, extra,
                                                               tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", RNG.normal(size=shape))
    np.save(tmp_path / "a.npy", RNG.normal(size=(shape[0], shape[2])))
    proc = cli(["compute", "triplet", "s.npy", *extra, "-f", "json"], tmp_path)
    assert proc.returncode == 4
    assert ROLES_FIRST not in proc.stderr.splitlines()[-1], proc.stderr
