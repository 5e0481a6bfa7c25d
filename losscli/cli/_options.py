"""The options of the commands that evaluate a loss (compute, batch, sweep, stats, compare).

The per-role and loss-parameter options are generated from the registry: one role option
per input role, one option per distinct parameter name across the losses, with its kind,
short flag and help (which losses take it, what it means, its default, its choices) taken
from the specs. A Param added to a spec is an option of every such command. The output
options every command spells the same way are declared here too.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import typer

from losscli.cli import _complete
from losscli.errors import ExitCode, UsageError
from losscli.losses import LOSSES, LossSpec
from losscli.model import ROLES

ROLES_PANEL = "Inputs"
PARAMS_PANEL = "Loss parameters"

# The order in which --help lists the loss parameters and a command hands them to the api;
# the api checks them in this order, so it decides which of two options that do not apply
# to a loss the error names. A parameter not listed here comes after these, in the order
# of its first appearance in the registry: a new parameter needs no line here.
PARAMETER_ORDER = (
    "temperature", "similarity", "distance", "margin", "margin2", "label_smoothing",
    "ignore_index", "negatives_reduction", "swap", "soft", "base_temperature", "scale",
    "bias", "beta", "tau_plus", "clamp", "weighting", "sigma", "alpha", "base", "gamma",
    "pos_margin", "variant", "nu",
)

_ANNOTATIONS: dict[str, Any] = {
    "float": float | None, "int": int | None, "bool": bool | None, "choice": str | None,
}


def loss_argument() -> Any:
    """The LOSS argument every loss command takes first (completed from the registry)."""
    return typer.Argument(..., metavar="LOSS", help="loss name or alias (see `losscli "
                          "losses`)", autocompletion=_complete.loss_names)


def role_option(role: str, spec: LossSpec | None = None) -> Any:
    """`--ROLE FILE`; for one loss's help, what the role holds and whether it is optional."""
    help = f"{role} from a .npy or .json"
    if spec is not None:
        optional = "optional; " if role in spec.optional else ""
        help = f"{role} ({optional}{spec.shape(role)}) from a .npy or .json"
    return typer.Option(None, f"--{role}", metavar="FILE", help=help,
                        rich_help_panel=ROLES_PANEL)


def parameter_names(losses: Mapping[str, Any] = LOSSES) -> list[str]:
    """Every parameter name across the losses, once each, in PARAMETER_ORDER's order."""
    names = list(dict.fromkeys(p.name for spec in losses.values() for p in spec.params))
    rank = {name: i for i, name in enumerate(PARAMETER_ORDER)}
    return sorted(names, key=lambda name: rank.get(name, len(rank)))  # stable: ties keep order


def parameter_option(name: str, losses: Mapping[str, Any] = LOSSES) -> tuple[Any, Any]:
    """The typer option of one parameter name and its annotation, from every loss taking it.

    bool is a --x/--no-x flag; float and int take a typed value; a choice takes a str that
    the registry validates (its help lists the choices). Every option defaults to None (not
    given), so the loss's own default applies.
    """
    uses = [p for spec in losses.values() for p in spec.params if p.name == name]
    kinds = {p.kind for p in uses}
    shorts = {p.short for p in uses if p.short}
    if len(kinds) != 1 or kinds.pop() not in _ANNOTATIONS or len(shorts) > 1:
        raise ValueError(f"the losses declare parameter {name!r} differently: "
                         f"kinds {sorted({p.kind for p in uses})}, short flags {sorted(shorts)}")
    kind = uses[0].kind
    flag = "--" + name.replace("_", "-")
    decls = [f"{flag}/--no-{flag[2:]}"] if kind == "bool" else [flag, *shorts]
    completion = _complete.parameter_choices(name) if kind == "choice" else None
    option = typer.Option(None, *decls, help=param_help(name, losses),
                          rich_help_panel=PARAMS_PANEL, autocompletion=completion)
    return option, _ANNOTATIONS[kind]


def param_help(name: str, losses: Mapping[str, Any] = LOSSES) -> str:
    """The option's help, from the registry: which losses take it, what it means, defaults.

    A name that means different things to different losses (beta, margin, scale) lists each
    meaning with the losses it belongs to. A choice parameter's help names every choice:
    where the registry's help does not, "one of ..." is added. Built for one loss (its own
    --help), the help is that loss's, without the loss's name.
    """
    uses = [(spec.name, p) for spec in losses.values() for p in spec.params if p.name == name]
    meanings: dict[str, list[str]] = {}
    for loss, p in uses:
        meanings.setdefault(_meaning(p.help), []).append(loss)
    choices = {p.choices for _, p in uses}
    if len(losses) == 1:
        text = uses[0][1].help
    elif len(uses) > 1 and uses[0][1].kind == "choice" and len(choices) == 1:
        text = f"{', '.join(loss for loss, _ in uses)}: one of {', '.join(choices.pop())}"
    elif len(meanings) == 1:
        text = f"{', '.join(loss for loss, _ in uses)}: {min((p.help for _, p in uses), key=len)}"
    else:
        text = "; ".join(f"{', '.join(takers)}: {meaning}" for meaning, takers in
                         meanings.items())
    every_choice = list(dict.fromkeys(c for _, p in uses for c in p.choices))
    if not all(_names(text, choice) for choice in every_choice):
        text += f"; one of {', '.join(every_choice)}"
    defaults = {str(p.default) for _, p in uses}
    default = defaults.pop() if len(defaults) == 1 else "; ".join(
        f"{loss} {p.default}" for loss, p in uses)
    return f"{text} [default: {default}]"


def _meaning(help: str) -> str:
    """A parameter help's first clause (before its range), to group losses by meaning."""
    return help.split(" (")[0].split(";")[0]


def _names(text: str, word: str) -> bool:
    """Whether `text` has `word` as a word of its own (mean is not in mean-active)."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def loss_parameters(losses: Mapping[str, Any] = LOSSES,
                    roles: Sequence[str] = ROLES) -> list[inspect.Parameter]:
    """The role options (in ROLES' order), then one option per loss parameter name."""
    clash = set(ROLES) & {p.name for spec in losses.values() for p in spec.params}
    if clash:
        raise ValueError(f"loss parameters named like input roles: {sorted(clash)}")
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    single = next(iter(losses.values())) if len(losses) == 1 else None
    # A list, so that a role given twice reaches `once` instead of click keeping the last.
    roles = [inspect.Parameter(role, keyword, default=role_option(role, single),
                               annotation=list[str] | None) for role in ROLES if role in roles]
    params = []
    for name in parameter_names(losses):
        option, annotation = parameter_option(name, losses)
        params.append(inspect.Parameter(name, keyword, default=option, annotation=annotation))
    return roles + params


def with_loss_options(own: Callable[..., Any], before: str = "reduction",
                      losses: Mapping[str, Any] | None = None,
                      roles: Sequence[str] = ROLES) -> Callable[..., Any]:
    """A Typer command: `own`'s options with the role and loss-parameter options inserted
    before the option `before`.

    `own` takes `roles` (the per-role files given, in ROLES' order) and `params` (every loss
    parameter, None when not given) instead of one argument per option. `losses` is the
    registry to generate from (the tests give their own); `roles` the role options to offer.
    """
    shared = loss_parameters(LOSSES if losses is None else losses, roles)
    own_hints = typing.get_type_hints(own)
    own_params = [p.replace(annotation=own_hints[p.name])
                  for p in inspect.signature(own).parameters.values()
                  if p.name not in ("roles", "params")]
    position = [p.name for p in own_params].index(before)
    ordered = own_params[:position] + shared + own_params[position:]
    signature = inspect.Signature(ordered)
    role_names = _names_in(shared, ROLES_PANEL)
    param_names = _names_in(shared, PARAMS_PANEL)

    @functools.wraps(own)
    def command(**options: Any) -> Any:
        roles = {name: once(name, options.pop(name)) for name in role_names}
        params = {name: options.pop(name) for name in param_names}
        return own(roles={k: v for k, v in roles.items() if v is not None}, params=params,
                   **options)

    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in ordered}
    del command.__wrapped__  # typer must read the new signature, not own's
    command.losscli_build = (own, before)  # type: ignore[attr-defined]
    return command


def once(role: str, files: Sequence[str] | None) -> str | None:
    """The one file given for `--ROLE`; a usage error when it is given more than once:
    keeping the last, as for a scalar option, would read one role from a file the user
    meant for another (`--anchor a.npy --anchor p.npy`), a wrong number with exit 0."""
    if not files:
        return None
    if len(files) > 1:
        times = "twice" if len(files) == 2 else f"{len(files)} times"
        raise UsageError(f"--{role} given {times} ({', '.join(files)})",
                         "give each role once")
    return files[0]


def for_loss(command: Callable[..., Any], spec: LossSpec) -> Callable[..., Any]:
    """The same command with only `spec`'s role and parameter options (its --help and its
    completion); a command not built by with_loss_options is returned as it is. The options
    every loss command has but this loss does not take are hidden (a run still refuses them
    by name), and --like lists this loss's own libraries."""
    build = getattr(command, "losscli_build", None)
    if build is None:
        return command
    own, before = build
    single = with_loss_options(own, before, losses={spec.name: spec}, roles=spec.roles)
    signature = single.__signature__  # type: ignore[attr-defined]
    single.__signature__ = signature.replace(parameters=[  # type: ignore[attr-defined]
        p.replace(default=_fitted(p.name, p.default, spec))
        for p in signature.parameters.values()])
    return single


def _fitted(name: str, option: Any, spec: LossSpec) -> Any:
    """A generic option as `spec`'s help shows it: hidden when the loss does not take it."""
    if name == "like":
        libraries = list(spec.conventions)
        if not libraries:
            return _hidden(option)
        fitted = copy.copy(option)
        fitted.help = (f"reproduce a library's convention for {spec.name}: "
                       f"{', '.join(libraries)} (`losscli explain {spec.name}` says what "
                       "each changes); the output says what changed")
        return fitted
    if name == "emulate":  # the registry's fact: the emulation package imports numpy
        return option if spec.emulated else _hidden(option)
    role = {"negatives_layout": "negatives", "positives_layout": "positives"}.get(name)
    if role is not None and role not in spec.roles:
        return _hidden(option)
    return option


def _hidden(option: Any) -> Any:
    hidden = copy.copy(option)
    hidden.hidden = True
    return hidden


def _names_in(params: Iterable[inspect.Parameter], panel: str) -> list[str]:
    return [p.name for p in params if p.default.rich_help_panel == panel]


# The output options every evaluating command spells the same way.

# What sweep, stats and compare write (compute writes table, json or csv).
EXPLORE_FORMATS = ("table", "jsonl", "json", "csv")

FORMATS_HELP = "auto (table on a terminal, JSON when piped or from --out's suffix), " \
    "table, json, jsonl (the JSON on one line, a record to append to a log) or csv"

# sweep, stats and compare write JSON Lines when piped (CONTRACT.md), not compute's JSON.
EXPLORE_FORMATS_HELP = "auto (table on a terminal, JSON Lines when piped, or from --out's " \
    "suffix), table, jsonl, json or csv"

LIKE_HELP = ("reproduce a library's convention for this loss (parameters, distance, "
             "normalization, eps, 1/2 factors, reduction): torch, pytorch-metric-learning, "
             "sentence-transformers, tf-addons or optax, or the original code a loss names "
             "(open-clip, supcontrast, dcl-port, nidl, hcl, ms-original; `losscli explain "
             "LOSS` lists them); the output says what changed")


NEGATIVES_LAYOUT_HELP = (
    "how 2-D negatives (rows, D) are read: shared (K = rows negatives for every anchor, "
    "the default) or per-anchor (row b is anchor b's one negative: (B, 1, D), as torch's "
    "TripletMarginLoss takes them); unsaid, rows = B gives a warning")


def _layout_option(name: str, text: str) -> Any:
    return typer.Option(None, name, metavar="shared|per-anchor", help=text,
                        rich_help_panel=ROLES_PANEL,
                        autocompletion=_complete.words(("shared", "per-anchor")))


def negatives_layout_option() -> Any:
    return _layout_option("--negatives-layout", NEGATIVES_LAYOUT_HELP)


POSITIVES_LAYOUT_HELP = (
    "how 2-D positives (rows, D) are read: shared (P = rows positives for every anchor, "
    "the default) or per-anchor (row b is anchor b's one positive: (B, 1, D)); unsaid, "
    "rows = B gives a warning")


def positives_layout_option() -> Any:
    return _layout_option("--positives-layout", POSITIVES_LAYOUT_HELP)


MAP_HELP = ("read ROLE from the array, tensor, column or dataset NAME of the input, in "
            "every format (repeat it: --map anchor=query --map positive=doc)")
STRICT_KEYS_HELP = ("refuse inputs holding arrays that are not roles (ids, labels of another "
                    "kind) instead of ignoring them with a warning")


def map_option() -> Any:
    return typer.Option(None, "--map", metavar="ROLE=NAME", help=MAP_HELP,
                        rich_help_panel=ROLES_PANEL)


def strict_keys_option() -> Any:
    return typer.Option(False, "--strict-keys", help=STRICT_KEYS_HELP,
                        rich_help_panel=ROLES_PANEL)


def like_option() -> Any:
    return typer.Option(None, "--like", metavar="LIBRARY", help=LIKE_HELP,
                        autocompletion=_complete.libraries)


def format_option(help: str, choices: Sequence[str] = ("table", "json", "csv")) -> Any:
    return typer.Option("auto", "--format", "-f", help=help, rich_help_panel="Output",
                        autocompletion=_complete.words(("auto", *choices)))


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


FAIL_ABOVE_HELP = (f"exit {int(ExitCode.ABOVE_THRESHOLD)} when the loss is above X or not "
                   "finite (in batch, any input's value; under --reduction none, any "
                   "example's); the output is written in full first: a gate for CI")


def fail_above_option() -> Any:
    return typer.Option(None, "--fail-above", metavar="X", help=FAIL_ABOVE_HELP,
                        rich_help_panel="Errors")
