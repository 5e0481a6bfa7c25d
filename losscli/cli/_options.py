"""Option declarations shared by the commands that evaluate a loss (compute, batch, ...).

Each loss parameter's help comes from the registry: which losses take it, what it means,
its default. Declared once here so that every command spells its options the same way.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

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


SHARED_PANELS = ("Inputs", "Loss parameters")


def shared_parameters() -> tuple[list[inspect.Parameter], dict[str, Any]]:
    """compute's per-role and loss-parameter options, with their evaluated annotations.

    compute declares them once (from the registry); every other command that evaluates a
    loss takes them from there, so a parameter added to compute is everyone's option.
    """
    from losscli.cli import compute as _compute

    hints = typing.get_type_hints(_compute.compute)
    params = [p.replace(annotation=hints[p.name])
              for p in inspect.signature(_compute.compute).parameters.values()
              if getattr(p.default, "rich_help_panel", None) in SHARED_PANELS]
    return params, {p.name: hints[p.name] for p in params}


def with_loss_options(own: Callable[..., Any], before: str = "reduction") -> Callable[..., Any]:
    """A Typer command: `own`'s options plus compute's shared ones, inserted before `before`.

    `own` takes `roles` (the per-role files given) and `params` (every loss parameter, None
    when not given) instead of one argument per option.
    """
    own_hints = typing.get_type_hints(own)
    own_params = [p.replace(annotation=own_hints[p.name])
                  for p in inspect.signature(own).parameters.values()
                  if p.name not in ("roles", "params")]
    shared, shared_hints = shared_parameters()
    position = [p.name for p in own_params].index(before)
    signature = inspect.Signature(own_params[:position] + shared + own_params[position:])

    @functools.wraps(own)
    def command(**options: Any) -> Any:
        roles = {p.name: options.pop(p.name) for p in shared
                 if p.default.rich_help_panel == "Inputs"}
        params = {p.name: options.pop(p.name) for p in shared
                  if p.default.rich_help_panel == "Loss parameters"}
        return own(roles={k: v for k, v in roles.items() if v is not None}, params=params,
                   **options)

    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {**{k: v for k, v in own_hints.items()
                                  if k not in ("roles", "params")}, **shared_hints}
    del command.__wrapped__  # typer must read the new signature, not own's
    return command


# The output options every evaluating command spells the same way.

def format_option(help: str) -> Any:
    return typer.Option("auto", "--format", "-f", help=help, rich_help_panel="Output")


def out_option() -> Any:
    return typer.Option(None, "--out", "-o", metavar="FILE",
                        help="write here (atomically) instead of stdout",
                        rich_help_panel="Output")


def force_option(help: str = "overwrite --out if it exists") -> Any:
    return typer.Option(False, "--force", help=help, rich_help_panel="Output")


def quiet_option(help: str = "no warnings on stderr") -> Any:
    return typer.Option(False, "--quiet", "-q", help=help, rich_help_panel="Output")


def debug_option() -> Any:
    return typer.Option(False, "--debug", help="tracebacks for internal errors",
                        rich_help_panel="Output")
