"""The loss options are generated from the registry: a Param added to a spec is an option of
every command that evaluates a loss, with its kind, short flag and help; a choice's help
names its choices."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from losscli.cli import app_for, run
from losscli.cli._options import with_loss_options
from losscli.losses import LOSSES, Param

SEED = str(Path(__file__).resolve().parents[2] / "samples" / "seed-example-1.json")
EVALUATING_COMMANDS = ("compute", "batch", "sweep", "stats", "compare")

# A loss the registry does not have, with one parameter of each kind.
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


def test_options_reach_the_api_in_a_fixed_order(capsys):
    """Two options a loss does not take: the error names the same one whichever comes first
    on the command line (the api meets them in the generated order)."""
    for argv in (["--label-smoothing", "0.1", "--margin", "1"],
                 ["--margin", "1", "--label-smoothing", "0.1"]):
        assert run(["compute", "infonce", SEED, *argv]) == 2
        assert capsys.readouterr().err.startswith("error: --margin does not apply to infonce")


def test_the_cli_modules_import_one_another_without_a_cycle():
    cli = Path(importlib.import_module("losscli.cli").__file__).parent
    modules = {p.stem for p in cli.glob("*.py")}
    edges: dict[str, set[str]] = {}
    for name in modules:
        tree = ast.parse((cli / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("losscli.cli."):
                    edges.setdefault(name, set()).add(node.module.split(".")[2])
                elif node.module == "losscli.cli":
                    edges.setdefault(name, set()).update(
                        a.name if a.name in modules else "__init__" for a in node.names)
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name not in done:
            for target in edges.get(name, ()):
                visit(target, (*path, name))
            done.add(name)

    for name in modules:
        visit(name, ())
