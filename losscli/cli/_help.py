"""The help of each command: its summary, two or three examples, its text, the losses.

`losscli compute LOSS --help` (and batch, sweep, stats, compare) is the help of that loss:
examples written for it, its inputs and formula, and only its options (cli/_options.py
builds them for the one loss). The per-loss examples are generated from the registry, so
they name only options the loss takes, with values it accepts (a test runs them through
the parser).
"""

from __future__ import annotations

from losscli.cli._complete import LOSS_COMMANDS
from losscli.losses import LOSSES, LossSpec, Param
from losscli.losses.spec import Convention

EXAMPLES = {
    "losscli": [
        "losscli compute infonce ex.json           # a table on a terminal, JSON in a pipe",
        "losscli batch triplet shards/ --summary   # many inputs, one summary",
        "losscli explain triplet                   # formula, inputs, pitfalls, libraries",
    ],
    "compute": [
        "losscli compute infonce ex.json",
        "losscli compute triplet --anchor a.npy --positive p.npy --negatives n.npy "
        "--margin 0.5",
        "losscli compute softmax-ce logits.json --grad -f json | jq .value",
    ],
    "batch": [
        "losscli batch infonce shards/ -f jsonl > records.jsonl",
        "losscli batch triplet runs/*.npz --summary",
        "losscli batch contrastive shards/ --fail-above 0.5   # exit 8 above 0.5: a CI gate",
    ],
    "losses": [
        "losscli losses",
        "losscli losses -f json | jq -r '.[].name'",
    ],
    "explain": [
        "losscli explain triplet",
        "losscli explain ntxent -f json | jq .formula",
        "losscli explain ntxent-batch --batch-size 512   # collapse, chance, minimum",
    ],
    "sweep": [
        "losscli sweep infonce ex.json --param temperature --from 0.01 --to 1 --log",
        "losscli sweep triplet ex.json --param margin --from 0 --to 2 --steps 9 --plot",
    ],
    "stats": [
        "losscli stats triplet batch.npz",
        "losscli stats infonce batch.npz -f jsonl | jq -c 'select(.stat == \"loss\")'",
        "losscli stats triplet batch.npz --png stats.png",
    ],
    "compare": [
        "losscli compare triplet ex.json",
        "losscli compare supcon ex.json -f json | jq '.conventions[] | {convention, value}'",
    ],
}


def command_help(command: str, text: str, spec: LossSpec | None = None) -> str:
    """The help text: the summary line, the examples, the command's own paragraphs, the
    losses (all, or the one given), and the exit codes last."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    summary, body = paragraphs[0], paragraphs[1:]
    codes = [p for p in body if p.startswith("Exit codes")]
    body = [p for p in body if not p.startswith("Exit codes")]
    examples = loss_examples(command, spec) if spec is not None else EXAMPLES.get(command, [])
    parts = [summary]
    if examples:
        # \b keeps click from re-wrapping the lines of a paragraph.
        parts.append("Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in examples))
    parts += body
    if command in LOSS_COMMANDS:
        parts += [loss_paragraph(spec)] if spec is not None else losses_paragraphs(command)
    return "\n\n".join(parts + codes) + "\n"


def losses_paragraphs(command: str) -> list[str]:
    """compute lists every loss with its title and aliases; the others name them."""
    focus = f"`losscli {command} LOSS --help` shows that loss's inputs and options only."
    if command != "compute":
        return [f"LOSS is one of {', '.join(LOSSES)} (or an alias: `losscli losses`). {focus}"]
    lines = ['Losses (the seed\'s "contrastive loss" is infonce; the pairwise margin loss is '
             f"contrastive). {focus}"]
    for spec in LOSSES.values():
        alias = f" (aliases: {', '.join(spec.aliases)})" if spec.aliases else ""
        lines.append(f"{spec.name}: {spec.title}{alias}")
    return lines


def loss_paragraph(spec: LossSpec) -> str:
    """One loss: its name, title, aliases, inputs and formula (not re-wrapped)."""
    lines = ["\b", f"{spec.name}: {spec.title}"]
    if spec.aliases:
        lines.append(f"aliases: {', '.join(spec.aliases)}")
    lines.append("inputs:")
    for role in spec.roles:
        optional = " (optional)" if role in spec.optional else ""
        lines.append(f"  {role}{optional}: {spec.shape(role)}")
    lines.append("formula:")
    lines += [f"  {line}" for line in spec.formula.splitlines()]
    lines.append(f"`losscli explain {spec.name}` for the breakdown columns, pitfalls and "
                 "each library's convention.")
    return "\n".join(lines)


def loss_examples(command: str, spec: LossSpec) -> list[str]:
    """Examples for one loss, from its spec: its role files, a choice it offers, a numeric
    parameter with a range it accepts, a library it reproduces."""
    name = spec.name
    roles = " ".join(f"--{role} {role}.npy" for role in spec.required)
    choice = _choice_example(spec)
    numeric = _numeric_param(spec)
    if command == "compute":
        setting = choice
        if not setting and numeric is not None:
            lo, hi, _ = _sweep_range(numeric)
            setting = f"{numeric.option} {hi if hi != numeric.default else lo!r}"
        lines = [f"losscli compute {name} ex.json",
                 f"losscli compute {name} {roles} {setting}".rstrip(),
                 f"losscli compute {name} batch.npz --grad -f json | jq .value"]
        library = next((lib for lib, conv in spec.conventions.items()
                        if isinstance(conv, Convention)), None)
        if library is not None:
            lines[2] = f"losscli compute {name} batch.npz --like {library} -f json | jq .value"
        return lines
    if command == "batch":
        return [f"losscli batch {name} shards/ -f jsonl > records.jsonl",
                f"losscli batch {name} runs/*.npz --summary",
                f"losscli batch {name} shards/ --fail-above 1.0   # exit 8 above 1.0"]
    if command == "sweep":
        if numeric is None:
            return [f"# {name} has no numeric parameter to sweep"]
        lo, hi, log = _sweep_range(numeric)
        sweep = (f"losscli sweep {name} ex.json --param {numeric.option[2:]} --from {lo!r} "
                 f"--to {hi!r}" + (" --log" if log else ""))
        return [sweep, f"{sweep} --steps 9 --plot"]
    if command == "stats":
        return [f"losscli stats {name} batch.npz",
                f"losscli stats {name} batch.npz --bins 40 -f jsonl"]
    if command == "compare":
        return [f"losscli compare {name} ex.json",
                f"losscli compare {name} ex.json -f json | jq '.conventions[] | "
                "{convention, value}'"]
    return EXAMPLES.get(command, [])


def _choice_example(spec: LossSpec) -> str:
    """`--similarity cosine`: a choice parameter set to a value other than its default."""
    for p in spec.params:
        if p.kind == "choice":
            other = next((c for c in p.choices if c != p.default), None)
            if other is not None:
                return f"{p.option} {other}"
    return ""


def _numeric_param(spec: LossSpec) -> Param | None:
    """The first numeric parameter that has a default (clip's scale has none)."""
    return next((p for p in spec.params if p.kind == "float"
                 and isinstance(p.default, float)), None)


def _sweep_range(p: Param) -> tuple[float, float, bool]:
    """(from, to, geometric) around the default, inside the values the parameter accepts."""
    default = float(p.default)
    if p.check == "positive":
        return float(f"{default / 10:.6g}"), float(f"{default * 10:.6g}"), True
    if p.check in ("unit", "unit-open"):
        return 0.0, 0.5, False
    if p.check == "signed-unit":
        return -1.0, 1.0, False
    if default == 0:
        return 0.0, 1.0, False
    lo, hi = sorted((0.0, 2 * default))
    return lo, hi, False
