"""Per-role options as the command line gives them (QA7 C4, M1).

- A per-role option given twice (`--anchor a.npy --anchor p.npy`) is a usage error in every
  command that takes per-role files: keeping the last read the anchor from the positive's
  file, a wrong number with exit 0.
- A per-role option for a role the loss has no use for (`--negatives2` to triplet) is a
  usage error naming the loss's roles, as any option that does not apply; a role the loss
  builds from the batch itself (clip's negatives) stays a warning saying why, and so do
  arrays inside an input file that the loss does not use.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import run_cli

RNG = np.random.default_rng(72)
A, P, N = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(3, 2, 4))


@pytest.fixture
def here(tmp_path, monkeypatch):
    """a.npy, p.npy, n.npy in the working directory (messages name the files as given)."""
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "p.npy", P)
    np.save(tmp_path / "n.npy", N)
    return tmp_path


ROLES = ("--positive", "p.npy", "--negatives", "n.npy")
COMMANDS = [("compute",), ("batch",), ("stats",), ("compare",),
            ("sweep", "--param", "margin", "--from", "0.1", "--to", "1")]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_role_given_twice_is_a_usage_error(here, capsys, command):
    code, out, err = run_cli(capsys, *command[:1], "triplet", *command[1:], "--anchor",
                             "a.npy", "--anchor", "p.npy", *ROLES)
    assert (code, out) == (2, "")
    assert err == "error: --anchor given twice (a.npy, p.npy); give each role once\n"


def test_three_times_says_how_many(here, capsys):
    code, _, err = run_cli(capsys, "compute", "triplet", "--anchor", "a.npy", *ROLES,
                           "--negatives", "a.npy", "--negatives", "p.npy")
    assert code == 2
    assert err == ("error: --negatives given 3 times (n.npy, a.npy, p.npy); give each role "
                   "once\n")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_role_option_the_loss_has_no_use_for_is_a_usage_error(here, capsys, command):
    for role in ("negatives2", "weight", "label"):
        code, out, err = run_cli(capsys, *command[:1], "triplet", *command[1:], "--anchor",
                                 "a.npy", *ROLES, f"--{role}", "n.npy")
        assert (code, out) == (2, ""), err
        assert err == (f"error: --{role} does not apply to triplet; it takes anchor, "
                       f"positive, negatives: drop --{role}\n")


def test_the_same_roles_inside_a_file_and_the_batchs_own_negatives_stay_warnings(here,
                                                                                  capsys):
    code, _, err = run_cli(capsys, "compute", "triplet", "--anchor", "a.npy", *ROLES,
                           "--negatives2", "n.npy")
    assert code == 2  # the option: refused
    np.savez(here / "x.npz", anchor=A, positive=P, negatives=N, negatives2=N)
    code, out, err = run_cli(capsys, "compute", "triplet", "x.npz", "-f", "json")
    assert code == 0  # the same array inside INPUT: a warning
    said = "negatives2 is not used by triplet (it takes anchor, positive, negatives)"
    assert said in json.loads(out)["warnings"] and f"warning: {said}\n" in err
    for command in ("compute", "batch"):  # clip builds its negatives from the batch
        code, out, err = run_cli(capsys, command, "clip", "--anchor", "a.npy", "--positive",
                                 "p.npy", "--negatives", "n.npy")
        assert code == 0, err
        assert "negatives is not used by clip: its negatives are the batch's other " \
            "positives" in err


def test_the_library_refuses_it_too(here):
    import losscli
    from losscli.errors import UsageError

    files = {"anchor": "a.npy", "positive": "p.npy", "negatives": "n.npy",
             "negatives2": "n.npy"}
    with pytest.raises(UsageError, match="--negatives2 does not apply to triplet"):
        losscli.evaluate_file("triplet", role_files=files)
    with pytest.raises(UsageError, match="--negatives2 does not apply to triplet"):
        list(losscli.evaluate_files("triplet", [], role_files=files))


def test_a_parameter_of_a_form_the_input_is_not_is_a_usage_error(tmp_path, capsys):
    """hinge-embedding's --distance acts on x1 and x2: on given values (x1 alone) it was
    dropped without a word (QA12 M4); batch and the library say so too."""
    values = tmp_path / "h.json"
    values.write_text('{"x1": [0.5, 0.3, 1.4], "label": [1, -1, -1]}')
    for command in ("compute", "batch"):
        code, out, err = run_cli(capsys, command, "hinge-embedding", str(values),
                                 "--distance", "cosine", "-f", "json")
        if command == "compute":
            assert (code, out) == (2, ""), err
        assert "--distance applies to hinge-embedding only with x2 given" in err
    code, out, err = run_cli(capsys, "compute", "hinge-embedding", str(values), "-f", "json")
    assert code == 0 and json.loads(out)["value"] == pytest.approx(0.4)
    vectors = tmp_path / "v.json"
    vectors.write_text('{"x1": [[0.5, 0.3]], "x2": [[1.4, 0.2]], "label": [1]}')
    code, out, err = run_cli(capsys, "compute", "hinge-embedding", str(vectors),
                             "--distance", "cosine", "-f", "json")
    assert code == 0, err
