"""Every command's help starts with examples; `losscli COMMAND LOSS --help` is that loss's
help: its options only, and examples that the parser and the registry accept."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer

from losscli.cli import COMMANDS, app_for, run
from losscli.cli._complete import LOSS_COMMANDS
from losscli.cli._help import loss_examples
from losscli.losses import LOSSES
from losscli.model import ROLES

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def help_text(capsys, *args: str) -> str:
    assert run([*args, "--help"]) == 0
    return capsys.readouterr().out


def examples_of(text: str) -> list[str]:
    """The example lines right after the summary: `Examples:`, a blank line, the lines."""
    paragraphs = text.split("\n\n")
    start = next(i for i, p in enumerate(paragraphs) if p.strip() == "Examples:")
    assert start == 2, "the examples come right after the usage line and the summary"
    return [line.strip() for line in paragraphs[start + 1].splitlines() if line.strip()]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_starts_with_two_or_three_examples(capsys, command):
    text = help_text(capsys, *([command] if command else []))
    examples = examples_of(text)
    assert 2 <= len(examples) <= 3
    assert all(e.startswith(f"losscli {command or ''}".rstrip()) for e in examples)


def test_compute_help_lists_every_loss_and_every_option(capsys):
    text = help_text(capsys, "compute")
    for name in LOSSES:
        assert f"\n  {name}: " in text
    assert "--temperature" in text and "--logits" in text and "--x1" in text


def test_compute_loss_help_shows_only_that_loss(capsys):
    text = help_text(capsys, "compute", "triplet")
    options = text[text.index("Options:"):]
    for option in ("--anchor", "--positive", "--negatives", "--margin", "--distance",
                   "--negatives-reduction", "--swap", "--soft", "--like", "--fail-above"):
        assert option in options
    for option in ("--temperature", "--logits", "--target", "--x1", "--beta", "--negatives2",
                   "--label-smoothing"):
        assert option not in options
    assert "triplet: triplet margin loss" in text and "\n  softmax-ce: " not in text
    # the parameter's own help, its default, and what the role holds
    words = " ".join(options.split())
    assert "margin m (finite, >= 0) [default: 1.0]" in words
    assert "(K, D) shared by every anchor" in words


def test_an_alias_or_an_option_before_the_loss_still_finds_it(capsys):
    by_alias = help_text(capsys, "batch", "ntxent")
    assert "infonce: InfoNCE" in by_alias and "--temperature" in by_alias
    assert "--margin" not in by_alias[by_alias.index("Options:"):]
    later = help_text(capsys, "sweep", "-q", "circle")
    assert "--gamma" in later and "--temperature" not in later[later.index("Options:"):]


def test_an_unknown_loss_gets_the_whole_help(capsys):
    text = help_text(capsys, "compute", "tripplet")
    assert "\n  triplet: " in text and "--temperature" in text


def test_a_run_still_names_an_option_the_loss_does_not_take(capsys):
    assert run(["compute", "triplet", str(SAMPLES / "ex.json"), "--temperature", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "--temperature" in err and "No such option" not in err


def _shown_options(command: str, loss: str) -> set[str]:
    """The long options `losscli COMMAND LOSS --help` lists."""
    click_command = typer.main.get_command(app_for([command, loss], one_loss=True)
                                           ).commands[command]
    return {name for p in click_command.params if not getattr(p, "hidden", False)
            for name in p.opts if name.startswith("--")}


@pytest.mark.parametrize("command", LOSS_COMMANDS)
@pytest.mark.parametrize("loss", list(LOSSES))
def test_a_loss_help_leaves_out_the_generic_options_it_refuses(command, loss):
    """--emulate, --negatives-layout, --positives-layout and --like appear in a loss's help
    only where a run of that loss takes them (a run refuses them by name elsewhere)."""
    from losscli.losses.emulation import emulated_losses

    spec = LOSSES[loss]
    every = _shown_options(command, "no-such-loss")
    shown = _shown_options(command, loss)
    expected = {"--emulate": loss in emulated_losses(),
                "--negatives-layout": "negatives" in spec.roles,
                "--positives-layout": "positives" in spec.roles,
                "--like": bool(spec.conventions)}
    for option, takes in expected.items():
        if option in every:
            assert (option in shown) == takes, (command, loss, option)


def test_the_like_help_names_the_loss_libraries():
    click_command = typer.main.get_command(app_for(["compute", "hard-infonce"], one_loss=True)
                                           ).commands["compute"]
    like = next(p.help for p in click_command.params if "--like" in p.opts)
    assert "convention for hard-infonce: hcl (" in like
    assert "tf-addons" not in like and "optax" not in like


@pytest.mark.parametrize(("argv", "meant"), [
    (["compute", "triplet", "x.json", "--margn", "1"], ["--margin"]),
    (["compute", "infonce", "x.json", "--temprature", "0.1"], ["--temperature"]),
    (["batch", "triplet", "x.json", "--neg", "n.npy"],
     ["--negatives", "--negatives-layout", "--negatives-reduction"]),
])
def test_a_misspelt_option_is_matched_against_that_loss_options(capsys, argv, meant):
    """Suggestions from the loss's own options (triplet was offered --margin2 and
    --pos-margin, which it refuses), and the loss's own help to look at."""
    assert run(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: No such option: {argv[3]} (Possible options: {', '.join(meant)})"
    assert err[1] == f"try 'losscli {argv[0]} {argv[1]} --help'"


def _parse(command: str, words: list[str]) -> dict:
    """Parse an example's words with the command a run of that loss builds."""
    click_command = typer.main.get_command(app_for([command])).commands[command]
    ctx = click_command.make_context(command, words)
    return ctx.params


@pytest.mark.parametrize("command", LOSS_COMMANDS)
@pytest.mark.parametrize("loss", list(LOSSES))
def test_each_loss_examples_parse_and_validate(command, loss):
    spec = LOSSES[loss]
    examples = loss_examples(command, spec)
    assert 2 <= len(examples) <= 3 or examples[0].startswith("#")
    for example in examples:
        if example.startswith("#"):
            assert not any(p.kind == "float" and isinstance(p.default, float)
                           for p in spec.params)
            continue
        words = shlex.split(example.split(" | ")[0].split("  #")[0].split(" > ")[0])
        assert words[:3] == ["losscli", command, loss]
        params = _parse(command, words[2:])
        for name, value in params.items():
            if name in ROLES and value:  # a role option is a list (() when not given)
                assert name in spec.roles, (example, name)
            if value is not None and any(p.name == name for p in LOSSES[loss].params):
                spec.param(name).validate(value)
        if command == "sweep":
            swept = spec.param(params["param"].replace("-", "_"))
            for value in (params["start"], params["stop"]):
                swept.validate(value)
        if params.get("like") is not None:
            from losscli.losses.call import LossCall

            LossCall.of(loss, {}, like=params["like"])
