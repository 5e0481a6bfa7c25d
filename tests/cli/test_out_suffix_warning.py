"""`--out r.csv -f json` writes what --format asks for into a file whose suffix names
another format: the file is written as asked, with a warning naming both (QA7 L6); a suffix
that names the format written, or no format at all, gets none."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import run_cli

RNG = np.random.default_rng(75)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "x.npz", anchor=RNG.normal(size=(3, 4)),
             positive=RNG.normal(size=(3, 4)), negatives=RNG.normal(size=(3, 2, 4)))
    return tmp_path


SAID = ("--out r.csv gets JSON (--format json) though its suffix .csv names CSV; name it "
        "r.json for what it holds")


@pytest.mark.parametrize("command", [("compute", "triplet", "x.npz"),
                                     ("batch", "triplet", "x.npz"),
                                     ("stats", "triplet", "x.npz"),
                                     ("explain", "triplet"), ("losses",)],
                         ids=lambda c: c[0])
def test_a_suffix_naming_another_format_is_warned(here, capsys, command):
    code, out, err = run_cli(capsys, *command, "--out", "r.csv", "-f", "json")
    assert code == 0 and out == ""
    assert f"warning: {SAID}\n" in err
    json.loads((here / "r.csv").read_text())  # written as asked
    code, _, err = run_cli(capsys, *command, "--out", "r.json", "-f", "json")
    assert code == 0 and "--format" not in err  # the suffix names what is written


def test_compute_says_it_in_the_json_too(here, capsys):
    code, _, err = run_cli(capsys, "compute", "triplet", "x.npz", "--out", "r.csv", "-f",
                           "json")
    assert code == 0
    assert SAID in json.loads((here / "r.csv").read_text())["warnings"]
    code, _, err = run_cli(capsys, "compute", "triplet", "x.npz", "--out", "r.out", "-f",
                           "json")
    assert code == 0 and "suffix" not in err  # .out names no format: nothing to say
