"""The registry is the single source: the CLI, the README and the implementations follow it."""

from __future__ import annotations

from pathlib import Path

import pytest

from losscli.errors import LossCliError
from losscli.losses import ALIASES, LOSSES, get_spec, module_of

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_is_documented_in_the_readme(name):
    spec = LOSSES[name]
    assert f"`{name}`" in README
    for param in spec.params:
        assert param.option in README, f"{param.option} of {name} not in README"
    for column in spec.columns:
        assert f"`{column.name}`" in README, f"column {column.name} of {name} not in README"


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_has_an_implementation_and_defaults_that_validate(name):
    spec = LOSSES[name]
    assert callable(module_of(spec).evaluate)
    resolved = spec.resolve({})
    assert resolved == {p.name: p.default for p in spec.params}


def test_aliases_are_unique_and_resolve():
    assert not set(ALIASES) & set(LOSSES)
    for alias, name in ALIASES.items():
        assert get_spec(alias).name == name
        assert get_spec(alias.upper().replace("-", "_")).name == name


def test_unknown_names_suggest_the_closest():
    with pytest.raises(LossCliError) as info:
        get_spec("triplett")
    assert "did you mean triplet?" in info.value.message()


def test_readme_loss_table_is_the_registry():
    from losscli.cli.catalog import markdown_table

    start = README.index("<!-- losses-table:start -->\n") + len("<!-- losses-table:start -->\n")
    end = README.index("<!-- losses-table:end -->")
    assert README[start:end] == markdown_table(), "regenerate the README table"


EVALUATING_COMMANDS = ("compute", "batch", "sweep", "stats", "compare")


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
