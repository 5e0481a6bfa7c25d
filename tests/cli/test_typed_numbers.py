"""A number option is refused in the words the user typed, naming the option they typed
(QA17b L5): `-t 1e-400` underflows to 0 and says so, not "--temperature got 0.0"; a sweep
whose --from or --to leaves the parameter's range names --from or --to, not --temperature
(which was never given)."""

from __future__ import annotations

import pytest

from losscli.cli import _plain_options
from tests.helpers import SEED1, run_cli

# Numbers are checked as typed where losscli's typer hook is in place (cli/_plain_options.py:
# typer >= the version it was written against); an older typer (CI's lowest versions)
# converts them itself, and says "got 0.0" as before.
as_typed = pytest.mark.skipif(not _plain_options.installed(),
                              reason="this typer converts numbers itself")

RANGE_FIX = "give a number float64 holds (from about 4.9e-324 to 1.8e308 in magnitude)"


@as_typed
@pytest.mark.parametrize(("loss", "option", "typed"), [
    ("infonce", "-t", "1e-400"), ("infonce", "--temperature", "-1e-400"),
    ("triplet", "--margin", "1e-400"),  # read as 0 it ran, with a margin never typed
])
def test_a_number_that_underflows_is_echoed_as_typed(capsys, loss, option, typed):
    code, out, err = run_cli(capsys, "compute", loss, SEED1, option, typed)
    assert code == 2 and out == "", err
    flag = "--temperature" if option == "-t" else option
    assert err == f"error: {flag} got {typed}, which underflows to 0 in float64; {RANGE_FIX}\n"
    # a zero typed as one (0e5, -0.0) is no underflow: the option's own check decides
    code, _, err = run_cli(capsys, "compute", loss, SEED1, option, "-0e5")
    assert ("underflow" not in err) and (code == 0) == (loss == "triplet"), err


@as_typed
@pytest.mark.parametrize(("option", "typed"), [("-t", "1e400"), ("--margin", "-2e308")])
def test_a_number_that_overflows_is_echoed_as_typed(capsys, option, typed):
    code, out, err = run_cli(capsys, "compute", "triplet" if option == "--margin" else
                             "infonce", SEED1, option, typed)
    flag = "--temperature" if option == "-t" else option
    assert (code, out) == (2, "")
    assert err == (f"error: {flag} got {typed}, which overflows to infinity in float64; "
                   f"{RANGE_FIX}\n")
    code, _, err = run_cli(capsys, "compute", "infonce", SEED1, "-t", "inf")  # typed so
    assert code == 2 and "must be finite, got inf" in err


def test_a_negative_zero_is_reported_as_zero(capsys):
    code, out, err = run_cli(capsys, "compute", "triplet", SEED1, "--margin", "-0.0", "-f",
                             "json")
    assert code == 0, err
    assert '"margin": 0.0,' in out


@pytest.mark.parametrize(("start", "stop", "says"), [
    ("0", "1", "--from got 0.0, the first temperature of the sweep"),
    ("1", "-1", "--to got -1.0, the last temperature of the sweep"),
])
def test_a_sweep_out_of_range_names_from_or_to(capsys, start, stop, says):
    code, out, err = run_cli(capsys, "sweep", "infonce", SEED1, "--param", "temperature",
                             "--from", start, "--to", stop)
    assert code == 2 and out == "", err
    assert err == f"error: {says}; give a finite number > 0\n"


@as_typed
def test_a_sweep_end_that_underflows_names_from(capsys):
    code, _, err = run_cli(capsys, "sweep", "infonce", SEED1, "--param", "temperature",
                           "--from", "1e-400", "--to", "1")
    assert code == 2
    assert err == f"error: --from got 1e-400, which underflows to 0 in float64; {RANGE_FIX}\n"
