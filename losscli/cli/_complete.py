"""Shell completion of values: loss names and aliases, `--like` libraries, `--param` names,
the choices of a loss parameter and of `--format`.

Every answer comes from the registry, which is pure data: completing imports neither numpy
nor numba (a completion runs on each Tab press). Where the loss is already on the command
line, the answers are that loss's own (its parameters, the libraries it reproduces); an
alias is offered only once the word typed matches it, so that an empty Tab lists each loss
and library once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from losscli.losses import ALIASES, LOSSES, LossSpec
from losscli.losses.spec import LIBRARIES, LIBRARY_ALIASES, Convention

Item = tuple[str, str]  # (value, help): zsh and fish show the help beside the value

# A help longer than a line would be wrapped by typer (rich) into several, which fish reads
# as several completions.
HELP_WIDTH = 60


def _short(help: str) -> str:
    help = " ".join(help.split())
    return help if len(help) <= HELP_WIDTH else help[:HELP_WIDTH - 3].rstrip() + "..."


def _matching(items: Iterable[Item], aliases: Mapping[str, str], incomplete: str) -> list[Item]:
    """The items that start with `incomplete`; aliases too once something is typed."""
    word = incomplete.lower()
    items = [(value, _short(help)) for value, help in items]
    found = [(value, help) for value, help in items if value.startswith(word)]
    if word:
        helps = dict(items)
        found += [(alias, f"alias of {name}") for alias, name in aliases.items()
                  if alias.startswith(word) and name in helps]
    return found


# The commands whose first argument is a loss (their help and completion can be one loss's).
LOSS_COMMANDS = ("compute", "batch", "sweep", "stats", "compare")


def completion_words() -> list[str] | None:
    """The words before the one being completed, when the shell asks for completions
    (typer's scripts set _LOSSCLI_COMPLETE), else None."""
    if not os.environ.get("_LOSSCLI_COMPLETE"):
        return None
    from typer._click.shell_completion import split_arg_string

    if "COMP_WORDS" in os.environ:  # bash
        words = split_arg_string(os.environ["COMP_WORDS"])
        return words[1:int(os.environ.get("COMP_CWORD", len(words)))]
    line = os.environ.get("_TYPER_COMPLETE_ARGS", "")  # zsh, fish, PowerShell
    words = split_arg_string(line)[1:]
    return words[:-1] if words and not line[-1:].isspace() else words


def named_loss(words: list[str]) -> LossSpec | None:
    """The loss of a command line (`compute triplet ...`): the first word after a loss
    command that names a loss or an alias."""
    if not words or words[0] not in LOSS_COMMANDS:
        return None
    for word in words[1:]:
        key = word.strip().lower().replace("_", "-")
        if not word.startswith("-") and ALIASES.get(key, key) in LOSSES:
            return LOSSES[ALIASES.get(key, key)]
    return None


def loss_in(ctx: Any) -> LossSpec | None:
    """The loss named on the command line being completed, if any and known.

    click leaves the arguments unparsed when the word before the one completed is an
    option awaiting its value (`--like <Tab>`), so the words themselves are read then.
    """
    name = getattr(ctx, "params", {}).get("loss")
    if isinstance(name, str):
        key = name.strip().lower().replace("_", "-")
        return LOSSES.get(ALIASES.get(key, key))
    return named_loss(completion_words() or [])


def loss_names(incomplete: str) -> list[Item]:
    """Every loss (with its title), and the aliases that match what is typed."""
    return _matching([(spec.name, spec.title) for spec in LOSSES.values()], ALIASES,
                     incomplete)


def libraries(ctx: Any, incomplete: str) -> list[Item]:
    """The libraries --like reproduces: those of the chosen loss, else every one."""
    spec = loss_in(ctx)
    items = []
    for lib in LIBRARIES:
        conv = spec.conventions.get(lib) if spec is not None else None
        if spec is None:
            items.append((lib, "a library's convention"))
        elif isinstance(conv, Convention):
            items.append((lib, conv.api))
    return _matching(items, LIBRARY_ALIASES, incomplete)


def sweep_parameters(ctx: Any, incomplete: str) -> list[Item]:
    """The numeric parameters `sweep --param` can vary: the chosen loss's, else all."""
    spec = loss_in(ctx)
    specs = [spec] if spec is not None else list(LOSSES.values())
    items = {p.name.replace("_", "-"): p.help for s in specs for p in s.params
             if p.kind == "float"}
    return _matching(items.items(), {}, incomplete)


def parameter_choices(name: str) -> Callable[..., list[Item]]:
    """The choices of a choice parameter (--similarity, --distance, ...) for the chosen loss."""

    def complete(ctx: Any, incomplete: str) -> list[Item]:
        spec = loss_in(ctx)
        specs = [spec] if spec is not None else list(LOSSES.values())
        choices = dict.fromkeys(c for s in specs for p in s.params if p.name == name
                                for c in p.choices)
        return _matching([(c, "") for c in choices], {}, incomplete)

    return complete


def words(values: Iterable[str]) -> Callable[..., list[Item]]:
    """A fixed list of values (the formats a command writes)."""
    fixed = [(v, "") for v in values]

    def complete(incomplete: str) -> list[Item]:
        return _matching(fixed, {}, incomplete)

    return complete
