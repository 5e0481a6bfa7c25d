"""Option declarations shared by the commands that evaluate a loss (compute, batch, ...).

Each loss parameter's help comes from the registry: which losses take it, what it means,
its default. Declared once here so that every command spells its options the same way.
"""

from __future__ import annotations

import typer

from losscli.losses import LOSSES


def role(role: str) -> typer.models.OptionInfo:
    return typer.Option(None, f"--{role}", metavar="FILE", help=f"{role} from a .npy or .json",
                        rich_help_panel="Inputs")


def param_help(name: str) -> str:
    """The option's help, from the registry: which losses take it, what it means, defaults.

    A name that means different things to different losses (beta, margin, scale) lists each
    meaning with the losses it belongs to.
    """
    uses = [(spec.name, p) for spec in LOSSES.values() for p in spec.params if p.name == name]
    meanings: dict[str, list[str]] = {}
    for loss, p in uses:
        meanings.setdefault(_meaning(p.help), []).append(loss)
    choices = {p.choices for _, p in uses}
    if len(uses) > 1 and uses[0][1].kind == "choice" and len(choices) == 1:
        text = f"{', '.join(loss for loss, _ in uses)}: one of {', '.join(choices.pop())}"
    elif len(meanings) == 1:
        text = f"{', '.join(loss for loss, _ in uses)}: {min((p.help for _, p in uses), key=len)}"
    else:
        text = "; ".join(f"{', '.join(losses)}: {meaning}" for meaning, losses in
                         meanings.items())
    defaults = {str(p.default) for _, p in uses}
    default = defaults.pop() if len(defaults) == 1 else "; ".join(
        f"{loss} {p.default}" for loss, p in uses)
    return f"{text} [default: {default}]"


def _meaning(help: str) -> str:
    """A parameter help's first clause (before its range), to group losses by meaning."""
    return help.split(" (")[0].split(";")[0]


def param(name: str, *decls: str) -> typer.models.OptionInfo:
    snake = name.replace("-", "_")
    if snake in ("swap", "soft", "clamp"):
        return typer.Option(None, f"--{name}/--no-{name}", help=param_help(snake),
                            rich_help_panel="Loss parameters")
    return typer.Option(None, f"--{name}", *decls, help=param_help(snake),
                        rich_help_panel="Loss parameters")
