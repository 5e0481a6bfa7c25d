"""The loss options are generated from the registry: a Param added to a spec is an option of
every command that evaluates a loss, with its kind, short flag and help; a choice's help
names its choices; every role and parameter of every loss is an option of each such command,
and option values convert like options."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from losscli.cli import app_for, run
from losscli.cli._options import with_loss_options
from losscli.losses import LOSSES, Param
from tests.helpers import SEED1

SEED = SEED1
EVALUATING_COMMANDS = ("compute", "batch", "sweep", "stats", "compare")

FAKE = SimpleNamespace(name="fake", params=(
    Param("zeta", 0.25, "zeta of the fake loss (finite, > 0)", check="positive", short="-z"),
    Param("mode", "plain", "how the fake loss combines its terms", kind="choice",
          choices=("plain", "tilted")),
    Param("flip", False, "flip the fake loss's sign", kind="bool"),
    Param("rounds", 3, "rounds of the fake loss", kind="int"),
))
FAKE_REGISTRY = {**LOSSES, "fake": FAKE}


def _noop(reduction: str | None = typer.Option(None), *, roles: dict[str, str],
          params: dict[str, Any]) -> None:
    """A command of no options of its own."""


def _app(command: Any) -> typer.Typer:
    app = typer.Typer()
    app.command()(command)
    return app


def _click(command: Any) -> Any:
    return typer.main.get_command(_app(command))


def _flags(click_command: Any) -> set[str]:
    return {f for p in click_command.params for f in (*p.opts, *p.secondary_opts)}


def _option_help(click_command: Any, flag: str) -> str:
    return next(p.help for p in click_command.params if flag in p.opts)


@pytest.mark.parametrize("command", EVALUATING_COMMANDS)
def test_a_parameter_added_to_a_spec_is_an_option_of_every_evaluating_command(command):
    module = importlib.import_module(f"losscli.cli.{command}")
    own = getattr(module, f"_{command}")
    built = _click(with_loss_options(own, losses=FAKE_REGISTRY))
    flags = _flags(built)
    assert {"--zeta", "-z", "--mode", "--flip", "--no-flip", "--rounds"} <= flags
    # and every option the real registry gives stays
    assert _flags(typer.main.get_command(app_for([command])).commands[command]) <= flags
    assert "fake: zeta of the fake loss" in _option_help(built, "--zeta")


def test_the_generated_options_parse_by_kind_and_reach_the_command():
    seen: dict[str, Any] = {}

    def own(loss: str = typer.Argument(...), reduction: str = typer.Option("mean"), *,
            roles: dict[str, str], params: dict[str, Any]) -> None:
        seen.update(loss=loss, reduction=reduction, roles=roles, params=params)

    command = _app(with_loss_options(own, losses=FAKE_REGISTRY))
    runner = CliRunner()
    done = runner.invoke(command, ["fake", "-z", "0.5", "--mode", "tilted", "--no-flip",
                                   "--rounds", "4", "--anchor", "a.npy", "--label", "l.json"])
    assert done.exit_code == 0, done.output
    assert seen["roles"] == {"anchor": "a.npy", "label": "l.json"}
    assert (seen["params"]["zeta"], seen["params"]["mode"], seen["params"]["flip"],
            seen["params"]["rounds"]) == (0.5, "tilted", False, 4)
    not_given = {name for name, value in seen["params"].items() if value is None}
    assert not_given == {p.name for spec in LOSSES.values() for p in spec.params}
    assert runner.invoke(command, ["fake", "--rounds", "4.5"]).exit_code == 2


def test_a_choice_help_names_its_choices_even_where_the_spec_help_does_not():
    command = _click(with_loss_options(_noop,
                                       losses=FAKE_REGISTRY))
    text = _option_help(command, "--mode")
    assert "one of plain, tilted" in text


@pytest.mark.parametrize("command", EVALUATING_COMMANDS)
def test_every_choice_option_lists_its_choices_in_help(command):
    import re

    click_command = typer.main.get_command(app_for([command])).commands[command]
    choice_params = {p.name: p for spec in LOSSES.values() for p in spec.params
                     if p.kind == "choice"}
    assert {"variant", "weighting", "negatives_reduction", "similarity", "distance"} <= \
        set(choice_params)
    for name, param in choice_params.items():
        text = _option_help(click_command, "--" + name.replace("_", "-"))
        text = text.split(" [default:")[0]
        for choice in param.choices:
            assert re.search(rf"(?<![\w-]){re.escape(choice)}(?![\w-])", text), (name, choice)


def test_a_parameter_declared_two_ways_or_named_like_a_role_is_refused():
    twice = SimpleNamespace(name="twice", params=(Param("margin", 1, "margin", kind="int"),))
    with pytest.raises(ValueError, match="margin"):
        with_loss_options(_noop,
                          losses={**LOSSES, "twice": twice})
    role = SimpleNamespace(name="role", params=(Param("anchor", 1.0, "anchor"),))
    with pytest.raises(ValueError, match="anchor"):
        with_loss_options(_noop,
                          losses={**LOSSES, "role": role})


@pytest.mark.parametrize("command", EVALUATING_COMMANDS)
def test_no_two_options_of_a_command_share_a_flag(command):
    click_command = typer.main.get_command(app_for([command])).commands[command]
    flags = [f for p in click_command.params for f in (*p.opts, *p.secondary_opts)]
    assert len(flags) == len(set(flags))


@pytest.mark.parametrize("command", EVALUATING_COMMANDS)
def test_every_command_that_evaluates_a_loss_takes_every_role_and_parameter(command):
    """Read from the click command a run builds: the options the registry generated."""
    import typer

    from losscli.cli import app_for

    click_command = typer.main.get_command(app_for([command])).commands[command]
    flags = {flag for p in click_command.params for flag in (*p.opts, *p.secondary_opts)}
    for spec in LOSSES.values():
        for role in spec.roles:
            assert f"--{role}" in flags, (command, spec.name, role)
        for param in spec.params:
            option = "--" + param.name.replace("_", "-")
            assert option in flags, (command, spec.name, option)
            if param.kind == "bool":
                assert "--no-" + option[2:] in flags, (command, option)
            if param.short:
                assert param.short in flags, (command, option, param.short)


def test_options_reach_the_api_in_a_fixed_order(capsys):
    """Two options a loss does not take: the error names the same one whichever comes first
    on the command line (the api meets them in the generated order)."""
    for argv in (["--label-smoothing", "0.1", "--margin", "1"],
                 ["--margin", "1", "--label-smoothing", "0.1"]):
        assert run(["compute", "infonce", SEED, *argv]) == 2
        assert capsys.readouterr().err.startswith("error: --margin does not apply to infonce")


def test_option_values_convert(capsys):
    assert run(["batch", "triplet", SEED, "--margin", "2", "--swap", "--chunk", "1",
                "-f", "jsonl"]) == 0
    assert '"margin": 2.0' in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["compute", "infonce", SEED1, "--show", "-1"],
                                  ["batch", "infonce", SEED1, "--show", "-1"]])
def test_a_negative_count_is_a_usage_error(argv, capsys):
    # --show -1 ran with exit 0 (and showed nothing), where --worst -1 and --top -1 are refused
    code = run(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: --show got -1") and err.count("\n") == 1, err
