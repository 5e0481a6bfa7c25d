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
    """The option's help, from the registry: which losses take it, what it means, defaults."""
    uses = [(spec.name, p) for spec in LOSSES.values() for p in spec.params if p.name == name]
    text = min((p.help for _, p in uses), key=len)
    defaults = {str(p.default) for _, p in uses}
    default = defaults.pop() if len(defaults) == 1 else "; ".join(
        f"{loss} {p.default}" for loss, p in uses)
    return f"{', '.join(loss for loss, _ in uses)}: {text} [default: {default}]"


def param(name: str, *decls: str) -> typer.models.OptionInfo:
    snake = name.replace("-", "_")
    if snake in ("swap", "soft"):
        return typer.Option(None, f"--{name}/--no-{name}", help=param_help(snake),
                            rich_help_panel="Loss parameters")
    return typer.Option(None, f"--{name}", *decls, help=param_help(snake),
                        rich_help_panel="Loss parameters")
