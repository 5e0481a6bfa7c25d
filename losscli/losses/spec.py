"""The shape of a registry entry: what a loss takes, its parameters, its breakdown columns.

Pure data and validation: no numpy, no numba, so `losscli --help` and `losscli losses`
stay fast.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli.errors import SURFACE, UsageError, closest_hint
from losscli.model import EXAMPLE_FORMS, ROLE_SHAPES, ExampleForm


@dataclass(frozen=True)
class Unused:
    """Where a given parameter does not enter the loss's value: while parameter `param`
    holds `value` (triplet's margin under --soft, whose term is softplus(d_ap - d_an)),
    unless the library convention applied (--like) has the flag `kept_by` (PML's soft term
    keeps the margin). Given there, a warning says so (`says`: what it still does, if
    anything, and what to use instead), so that a margin reported in `params` is not taken
    for one that moved the value."""

    param: str
    value: Any
    says: str
    kept_by: str | None = None


@dataclass(frozen=True)
class Param:
    """One parameter of a loss: its default, its type and the values it accepts."""

    name: str
    default: Any
    help: str
    kind: str = "float"  # float | int | bool | choice
    choices: tuple[str, ...] = ()
    # positive | nonnegative | unit (in [0, 1]) | unit-open (in [0, 1)) | signed-unit ([-1, 1])
    check: str | None = None
    short: str | None = None
    # The role without which the parameter does nothing (hinge-embedding's distance acts on
    # x1 and x2, not on given values): given without it, a usage error, never ignored.
    with_role: str | None = None
    unused: Unused | None = None

    @property
    def option(self) -> str:
        """The command-line flag: `--` and the name with dashes (tau_plus -> --tau-plus)."""
        return "--" + self.name.replace("_", "-")

    @property
    def named(self) -> str:
        """How a message names it: the option on the command line, the keyword argument in
        the library (errors.SURFACE)."""
        return self.option if SURFACE.get() == "cli" else self.name

    def validate(self, value: Any) -> Any:
        """The value checked and normalised, or a UsageError naming the option."""
        if value is None:
            return None
        if self.kind == "choice":
            if value not in self.choices:
                hint = closest_hint(str(value), self.choices)
                raise UsageError(f"{self.named} got {value!r}",
                                 f"choose one of {', '.join(self.choices)}{hint}")
            return value
        if self.kind == "bool":
            return flag(self.named, value)
        value = plain_number(value)
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"{self.named} got {value!r}", "give a whole number")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"{self.named} got {value!r}", "give a number")
        value = float(value)
        if not math.isfinite(value):
            raise UsageError(f"{self.named} must be finite, got {value}", _CHECK_FIX[self.check])
        bad = (
            (self.check == "positive" and not value > 0)
            or (self.check == "nonnegative" and not value >= 0)
            or (self.check == "unit" and not 0 <= value <= 1)
            or (self.check == "unit-open" and not 0 <= value < 1)
            or (self.check == "signed-unit" and not -1 <= value <= 1)
        )
        if bad:
            raise UsageError(f"{self.named} got {value}", _CHECK_FIX[self.check])
        return value + 0.0  # -0.0 as 0.0: params would echo "margin": -0.0 (QA17b L5)


def flag(option: str, value: Any) -> bool:
    """A yes/no option's value: True or False (numpy's bools too), never another value's
    truth ("no" and "false" are true strings: taking them so would run the other loss)."""
    if value is True or value is False:
        return value
    if type(value).__name__ in ("bool_", "bool") and type(value).__module__ == "numpy":
        return bool(value)
    raise UsageError(f"{option} got {value!r}", "give True or False")


def plain_number(value: Any) -> Any:
    """numpy's integers and floats (and 0-d arrays of them) as Python's int and float, so a
    parameter taken from an array is checked as the number it is; anything else unchanged.
    (numbers.Integral and numbers.Real hold numpy's scalar types; bools stay bools.)"""
    if getattr(value, "shape", None) == () and getattr(getattr(value, "dtype", None), "kind",
                                                           "") in ("i", "u", "f"):
        value = value.item()
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


_CHECK_FIX = {
    None: "give a finite number",
    "positive": "give a finite number > 0",
    "nonnegative": "give a finite number >= 0",
    "unit": "give a number in [0, 1]",
    "unit-open": "give a number in [0, 1)",
    "signed-unit": "give a number in [-1, 1]",
}


@dataclass(frozen=True)
class Column:
    """A column of the per-term breakdown (snake_case noun, as in the JSON).

    `form`: the input form whose terms have it, for a loss with two: "" every form, "batch"
    only the batch form (no explicit negatives: the paired or two-view batch is its own
    candidate set). Its help says so too; a test holds both to compute's output.
    """

    name: str
    help: str
    kind: str = "float"  # float | str | bool
    form: str = ""


CORE_LIBRARIES = ("torch", "pytorch-metric-learning", "sentence-transformers", "tf-addons",
                  "optax")
"""The five loss libraries of LOSSES.md: `compare` shows a row for each, defined or not."""

CODEBASES = ("open-clip", "supcontrast", "dcl-port", "nidl", "hcl", "ms-original")
"""Original or other code LOSSES-MORE.md names for its losses (the third column of its last
table): `compare` shows one only for the losses that name it."""

LIBRARIES = CORE_LIBRARIES + CODEBASES
"""Every name `--like` reproduces, in the order `compare` shows them."""

LIBRARY_ALIASES = {"pytorch": "torch", "pml": "pytorch-metric-learning",
                   "st": "sentence-transformers", "sbert": "sentence-transformers",
                   "tfa": "tf-addons", "tensorflow-addons": "tf-addons", "keras": "tf-addons",
                   "openclip": "open-clip", "sup-contrast": "supcontrast",
                   "hobbitlong": "supcontrast", "research-ms-loss": "ms-original",
                   "malongtech": "ms-original", "decoupled-contrastive-learning": "dcl-port"}

EPS_PLACEMENTS = ("none", "difference", "root", "norms", "probability", "partition")
LIKE_REDUCTIONS = ("mean", "sum", "none", "mean-nonzero", "mean-nonzero-split", "divisor")
DIRECTIONS = ("mean", "rows", "summed")


@dataclass(frozen=True)
class Note:
    """A note on a library's convention that applies only under some options: `when` maps a
    parameter (or "reduction") to the values it holds for. `inputs`: it is about inputs of
    some shape (a single pair), and a warning says so when they occur: `explain` shows it,
    a run does not (`explain` shows every note)."""

    text: str
    when: dict[str, tuple] = field(default_factory=dict)
    inputs: bool = False

    def applies(self, params: Mapping[str, Any], reduction: str | None = None) -> bool:
        """Whether a run with these parameters and reduction shows this note."""
        if self.inputs:
            return False
        values = {**params, "reduction": reduction}
        return all(values.get(name) in accepted for name, accepted in self.when.items())

    def __str__(self) -> str:
        if not self.when:
            return self.text
        under = ", ".join(f"{'--' + k.replace('_', '-')} {' or '.join(map(str, v))}"
                          for k, v in self.when.items())
        return f"{self.text} (with {under})"



@dataclass(frozen=True)
class FlagCondition:
    """When a Convention's formula flag touches an evaluation: while parameter `param` holds
    one of `values` (`negated`: none of them). `absent`: whether it does for a loss that has
    no such parameter."""

    param: str
    values: tuple[Any, ...]
    negated: bool = False
    absent: bool = True

    def holds(self, params: Mapping[str, Any]) -> bool:
        """Whether an evaluation with these parameters meets the condition."""
        if self.param not in params:
            return self.absent
        return (params[self.param] in self.values) != self.negated


FLAG_CONDITIONS: dict[str, tuple[FlagCondition, ...]] = {
    # The soft triplet term keeps its margin (PML's smooth_loss): only where there is one.
    "soft_margin": (FlagCondition("soft", (True,), absent=False),),
    # DCLW's weight without the factor B: only under the vmf weighting.
    "vmf_times_batch": (FlagCondition("weighting", ("vmf",), absent=False),),
    # An eps added to a euclidean distance: the other distances have none.
    "eps": (FlagCondition("distance", ("euclidean",)),),
    "eps_placement": (FlagCondition("distance", ("euclidean",)),),
    # Normalizing first changes nothing under cosine, which normalizes already.
    "normalize": (FlagCondition("distance", ("cosine",), negated=True),
                  FlagCondition("similarity", ("cosine",), negated=True)),
}
"""The formula flags that touch an evaluation only under some options (every condition
met); the other flags always do. `--like` reports and applies a flag only where it touches
the run, and `explain` says under which options."""


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _literal(value: Any) -> str:
    """A value as the library's Python call writes it: True, None, 0.5, 'x' stays x."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class Convention:
    """How one library computes a loss, as data: everything `--like LIBRARY` changes.

    `params` are losscli parameter values the library uses by default (an option the user
    gives still wins, and the output says so). `allowed` limits a parameter to the values the
    library can express; a parameter in `unsupported` has no counterpart there (exit 2, with
    the reason). The formula flags say how its arithmetic differs from losscli's own:

    - normalize: every embedding is scaled to unit length before distances/similarities
    - eps, eps_placement: where the library adds an eps losscli does not: to the euclidean
      distance's difference ("difference", torch.pairwise_distance) or under its root ("root",
      optax); to each squared norm of a cosine ("norms", torch's cosine_embedding_loss); to a
      softmax probability inside the log, -log(p + eps) ("probability", PML's NTXent); to the
      softmax partition after subtracting the row max, self-similarity included ("partition",
      SupContrast)
    - half, squared: the pairwise contrastive loss's 1/2 factors and squares
    - soft_margin: the soft triplet term keeps the margin, softplus(d_ap - d_an + m)
    - probabilities_input: softmax-ce's inputs are read as probabilities (Keras
      from_logits=False), normalized and clipped to [1e-7, 1 - 1e-7]
    - negatives_form: InfoNCE's candidates: "explicit" (losscli), "in-batch" (every anchor
      also scores the other examples' positives and negatives, as MNRL), "symmetric" (the
      mean of the anchor's and the positive's losses, as optax.ntxent on [a, p, n...])
    - tiled: under it the loss goes by tiles of a similarity matrix built from the batch's
      anchor and positive vectors (LossSpec.tiled): batch hands it the one (2B, D) buffer
    - columns: the breakdown columns its form has beside the loss's own (MNRL's candidates
      named by role and example): `batch --columns` takes them, `explain` lists them
    - reductions: the batch reductions the library offers, its default first: mean, sum,
      none, mean-nonzero (mean over the terms > 0 in the whole batch, PML AvgNonZero),
      mean-nonzero-split (that, over positive and negative pairs apart, summed)
    - term_reduction: how one example's terms combine (triplet's negatives reduction)
    - zero_single_pair: the library returns 0 when the whole call has a single positive
      pair and a single negative pair (PML's GenericPairLoss: B = 1, K = 1)

    For LOSSES-MORE.md's losses:

    - negatives_form "multi-view": every view of every example is an anchor (the anchor and
      its positives are one example's views) and the other examples' views are its negatives
      (SupContrast's SupConLoss without labels)
    - unsupported_roles: input roles the library has no place for (exit 2, with the reason)
    - unchecked_labels: labels other than +1/-1 are computed as the library computes them
      (torch checks none), instead of being an input error
    - directions: how the two directions of an in-batch loss combine: "mean" (losscli's
      (row + column) / 2), "rows" (the anchors' direction only), "summed" (row + column)
    - vmf_times_batch: DCLW's weight is 2 - B softmax (True) or 2 - softmax (False)
    - mask_logit: the positive and the view itself enter the negatives' log-sum-exp with this
      added to their logits (DCL port: log(1e-45)) instead of being left out
    - linear_space: the loss is computed with exponentials taken as they are (e^{s/t}),
      overflowing where the library's does (HCL)
    - softplus_threshold: softplus(x) is x above this (torch.nn.Softplus' threshold)
    - zero_without_pairs: an anchor without a negative (or a positive) pair has loss 0
    - shifted_log_prob: each log-probability is the library's (v_p - max v) - log(sum_j
      e^{v_j - max v}), not losscli's exact one: a confident anchor's loss below float64's
      resolution of its logits is exactly 0 there (PML's SupConLoss), which AvgNonZero then
      leaves out of the mean
    - float32_params: parameters the library stores as float32 before using them in float64
    - mining_margin: the library mines pairs inside the loss with this margin (MalongTech's
      multi-similarity: negatives with s_n + margin > min s_p, positives with
      s_p - margin < max s_n; an anchor left with none has loss 0)
    - negatives_layout: the only layout in which the library takes negatives, when it has
      one: "per-anchor" (torch's TripletMarginLoss, optax's triplet_margin_loss and
      sentence-transformers' TripletLoss take a negative tensor of the anchors' shape, row b
      anchor b's negative). 2-D negatives with a row per anchor are then read that way, not
      as a shared bank with the ambiguity warning, and --negatives-layout shared is refused
      (exit 2): the library cannot compute it
    """

    library: str
    api: str
    summary: str
    params: dict[str, Any] = field(default_factory=dict)
    # How `api` writes the values in use: `{margin}` is the margin, `{scale|1/temperature}`
    # the scale or else 1 / temperature, `{reduction}` the batch reduction; `api_values` maps
    # a parameter's value to the library's own spelling (a distance to its class).
    api_values: dict[str, dict[Any, str]] = field(default_factory=dict)
    allowed: dict[str, tuple] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)
    normalize: bool = False
    eps: float = 0.0
    eps_placement: str = "none"
    half: bool = True
    squared: bool = True
    soft_margin: bool = False
    probabilities_input: bool = False
    negatives_form: str = "explicit"
    tiled: bool = False
    columns: tuple[Column, ...] = ()
    reductions: tuple[str, ...] = ("mean", "sum", "none")
    term_reduction: dict[str, str] = field(default_factory=dict)
    zero_single_pair: bool = False
    unsupported_roles: dict[str, str] = field(default_factory=dict)
    unchecked_labels: bool = False
    directions: str = "mean"
    vmf_times_batch: bool = True
    mask_logit: float | None = None
    linear_space: bool = False
    softplus_threshold: float | None = None
    zero_without_pairs: bool = False
    shifted_log_prob: bool = False
    float32_params: tuple[str, ...] = ()
    mining_margin: float | None = None
    negatives_layout: str | None = None
    notes: tuple[str | Note, ...] = ()
    source: str = ""

    @property
    def reduction(self) -> str:
        """The library's default batch reduction."""
        return self.reductions[0]

    def flags(self) -> dict[str, Any]:
        """The formula flags that differ from losscli's own arithmetic (for the output)."""
        out: dict[str, Any] = {}
        if self.normalize:
            out["normalize"] = True
        if self.eps_placement != "none":
            out["eps"] = self.eps
            out["eps_placement"] = self.eps_placement
        if not self.half:
            out["half"] = False
        if not self.squared:
            out["squared"] = False
        if self.soft_margin:
            out["soft_margin"] = True
        if self.probabilities_input:
            out["probabilities_input"] = True
        if self.negatives_form != "explicit":
            out["negatives_form"] = self.negatives_form
        if self.unchecked_labels:
            out["unchecked_labels"] = True
        if self.directions != "mean":
            out["directions"] = self.directions
        if not self.vmf_times_batch:
            out["vmf_times_batch"] = False
        if self.mask_logit is not None:
            out["mask_logit"] = self.mask_logit
        if self.linear_space:
            out["linear_space"] = True
        if self.softplus_threshold is not None:
            out["softplus_threshold"] = self.softplus_threshold
        if self.zero_without_pairs:
            out["zero_without_pairs"] = True
        if self.shifted_log_prob:
            out["shifted_log_prob"] = True
        if self.float32_params:
            out["float32_params"] = list(self.float32_params)
        if self.mining_margin is not None:
            out["mining_margin"] = self.mining_margin
        return out

    def flags_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The formula flags that touch an evaluation with these parameters (FLAG_CONDITIONS:
        no soft-margin flag without --soft, no eps under a cosine distance, ...)."""
        return {flag: value for flag, value in self.flags().items()
                if all(c.holds(params) for c in FLAG_CONDITIONS.get(flag, ()))}

    def flag_conditions(self, params: Sequence[Param]) -> dict[str, dict[str, tuple]]:
        """Each formula flag with the options under which it touches the loss (whose
        parameters are `params`): {} when it does at the loss's defaults and this
        convention's parameters, else {parameter: the values, among those this library
        allows, that make it touch}. A flag that touches no evaluation is left out."""
        baseline = {**{p.name: p.default for p in params}, **self.params}
        known = {p.name: p for p in params}
        out: dict[str, dict[str, tuple]] = {}
        for flag in self.flags():
            when: dict[str, tuple] = {}
            for cond in FLAG_CONDITIONS.get(flag, ()):
                if cond.holds(baseline):
                    continue
                p = known.get(cond.param)
                options: tuple = () if p is None else (
                    (True, False) if p.kind == "bool" else p.choices)
                allowed = self.allowed.get(cond.param, options)
                values = tuple(v for v in options if v in allowed
                               and cond.holds({**baseline, cond.param: v}))
                if not values:  # no value this library allows meets it: the flag never acts
                    break
                when[cond.param] = values
            else:
                out[flag] = when
        return out

    def call(self, params: Mapping[str, Any], reduction: str | None = None) -> str:
        """The library call with the values in use written in (see `api_values`)."""
        values = {**params, "reduction": reduction or self.reduction}

        def fill(found: re.Match) -> str:
            for choice in found.group(1).split("|"):
                inverse = choice.startswith("1/")
                name = choice[2:] if inverse else choice
                value = values.get(name)
                if value is None:
                    continue
                if name in self.api_values and value in self.api_values[name]:
                    return _PLACEHOLDER.sub(fill, self.api_values[name][value])
                return _literal(float(f"{1.0 / float(value):.12g}") if inverse else value)
            return "None"

        return _PLACEHOLDER.sub(fill, self.api)

    def notes_for(self, params: Mapping[str, Any], reduction: str | None = None) -> list[str]:
        """The notes that apply under these options."""
        return [n if isinstance(n, str) else n.text for n in self.notes
                if isinstance(n, str) or n.applies(params, reduction)]


# explain's size options other than --batch-size, by the role each counts: one that the loss
# does not take is refused (losses without negatives have no K)
SIZE_ROLES = {"negatives": ("negatives", "--num-negatives"),
              "positives": ("positives", "--num-positives"),
              "classes": ("logits", "--num-classes")}


@dataclass(frozen=True)
class LossSpec:
    """Everything the help, the README, `losses`, `explain` and the tests know of a loss."""

    name: str
    title: str
    summary: str
    formula: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    params: tuple[Param, ...]
    columns: tuple[Column, ...]
    aliases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    pitfalls: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    # library -> Convention (a plain string is a description that --like cannot reproduce)
    conventions: dict[str, Convention | str] = field(default_factory=dict)
    # d loss / d inputs, as `explain` shows it (the kernels compute it under --grad)
    gradient: str = ""
    # Pairs of parameters that say the same thing two ways (clip's temperature and scale):
    # giving both is a usage error, and a sweep of one moves the other (`tied`).
    exclusive: tuple[tuple[str, str], ...] = ()
    # Its examples are independent rows: batch may evaluate an input a chunk of examples at a
    # time (and Dask a row range per task). False for the losses whose examples are each
    # other's candidates, which are evaluated on each input whole.
    streams: bool = False
    # Its B x B (or 2B x 2B) similarities go by tiles of rows from the anchor and positive
    # vectors (losses/forms.py): batch hands it one (2B, D) float64 buffer of the input's own
    # rows (under --dtype float32 too), that it may normalize in place, and no breakdown limit.
    tiled: bool = False
    # `--emulate FORMAT` covers it: losses/emulation/ has its op-by-op model (each family's
    # EMULATORS, which a test holds to this flag). A fact here so that `compute LOSS --help`
    # hides the option without importing that package (numpy).
    emulated: bool = False
    # The margin columns whose positive entries (on the negative terms) are the active terms
    # that batch records and summaries count.
    active_columns: tuple[str, ...] = ()
    # The column whose magnitude ranks an example's terms (compute --terms top keeps the
    # positive and the strongest others): the gradient for the softmax losses, the term for
    # the margin ones.
    strength: str = "gradient"
    # Its explicit negatives may be empty (K = 0: InfoNCE is then 0, with a warning); the
    # others refuse K = 0 (exit 4), and `explain --num-negatives 0` with them (exit 2),
    # rather than give reference values for a K it never computes.
    empty_negatives: bool = False
    # Optional roles without which the loss is 0 (InfoNCE without negatives, K = 0): a role
    # set of files named by role must hold them (io/rolesets.py).
    zero_without: tuple[str, ...] = ()
    # A required role that an optional one may take the place of (supcon's positives by one
    # `positive` per anchor): an input holding the stand-in lacks nothing.
    stand_ins: dict[str, str] = field(default_factory=dict)
    # Which term is an example's hardest (`batch --columns hardest,...`, its terms beside
    # each loss): (role, column), the term of that role with the largest value of the
    # column ("-column": the smallest), e.g. the negative nearest the anchor.
    hardest: tuple[str, str] = ()
    # What a role holds where this loss reads it otherwise than model.ROLE_SHAPES says (the
    # in-batch losses' anchor is a batch, never one example): for the help and `explain`.
    shapes: dict[str, str] = field(default_factory=dict)
    # Roles it does not read because it builds them from the batch itself, with where from
    # and what to give instead (clip's negatives: the batch's other positives). An array
    # given for one is not used, and `unused` says why rather than only listing the roles
    # (files that also feed other losses hold such keys, so it is not refused).
    from_batch: dict[str, str] = field(default_factory=dict)
    # What ONE example of a role is where this loss reads it otherwise than
    # model.EXAMPLE_FORMS says (margin-ranking's x1 is a score, never a vector): a row format
    # (JSON Lines, Parquet) checks each line's value against it before stacking the lines.
    example_forms: dict[str, ExampleForm] = field(default_factory=dict)

    def example_form(self, role: str) -> ExampleForm | None:
        """One example of `role` as this loss reads it (None: one for the whole batch)."""
        return self.example_forms.get(role, EXAMPLE_FORMS.get(role))

    # The least batch its batch form takes, where each example's negatives are the others
    # (clip, ntxent-batch; npair, dcl and hard-infonce without negatives: B >= 2). Its
    # evaluation refuses a smaller batch (exit 4) and `explain --batch-size` too (exit 2),
    # rather than give reference values for a batch it never computes.
    min_batch: int = 1

    def check_sizes(self, sizes: Mapping[str, int | None]) -> None:
        """A usage error (exit 2) for a `--batch-size` below `min_batch` in the batch form
        (the form without explicit negatives: no `--num-negatives` for a loss taking them),
        and for `--num-negatives 0` where the loss needs K >= 1; and for a size of a role the
        loss does not take (`--num-negatives` for margin-ranking: its reference values would
        echo a K it never sees)."""
        for size, (role, option) in SIZE_ROLES.items():
            if sizes.get(size) is None or role in self.roles:
                continue
            built = self.from_batch.get(role)
            if built:
                raise UsageError(f"{option}: {self.name} does not take {role}: {built}",
                                 f"give --batch-size B instead of {option}")
            if role == "negatives" and self.tiled:  # ntxent-batch: the batch's other views
                raise UsageError(f"{option}: {self.name} takes no negatives: they are the "
                                 "batch's other examples",
                                 f"give --batch-size B instead of {option}")
            raise UsageError(f"{option}: {self.name} takes no {role} "
                             f"(it takes {', '.join(self.roles)})", f"leave {option} out")
        if sizes.get("negatives") == 0 and "negatives" in self.roles \
                and not self.empty_negatives:
            raise UsageError(f"--num-negatives 0: {self.name} needs K >= 1 negatives",
                             "give --num-negatives 1 or more")
        batch = sizes.get("batch")
        explicit = sizes.get("negatives") is not None and "negatives" in self.roles
        if batch is None or explicit or batch >= self.min_batch:
            return
        fix = f"give --batch-size {self.min_batch} or more"
        if "negatives" in self.roles:
            fix += ", or --num-negatives K for its form with explicit negatives"
        raise UsageError(f"--batch-size {batch}: {self.name} needs a batch of "
                         f"B >= {self.min_batch} examples", fix)

    def shape(self, role: str) -> str:
        """What `role` holds for this loss, as the help and `explain` describe it."""
        return self.shapes.get(role, ROLE_SHAPES.get(role, ""))

    def unused(self, role: str) -> str:
        """The warning for an input `role` this loss does not read: why, where the loss
        builds that role from the batch (`from_batch`), else the roles it takes."""
        reason = self.from_batch.get(role)
        if reason:
            return f"{role} is not used by {self.name}: {reason}"
        return f"{role} is not used by {self.name} (it takes {', '.join(self.roles)})"

    def replaced_by(self, role: str, given: Container[str]) -> tuple[str, ...]:
        """The roles of an input that a --ROLE option replaces: its own, and the role that
        stands in for it or that it stands in for (positive for --positives and the other way
        round: LOSSES-MORE.md has either do), unless that one is `given` too (both: refused
        where the loss reads them)."""
        for required, stand_in in self.stand_ins.items():
            if role in (required, stand_in):
                partner = stand_in if role == required else required
                return (role,) if partner in given else (role, partner)
        return (role,)

    def missing(self, present: Container[str]) -> list[str]:
        """The required roles (and those without which the loss is 0) that neither `present`
        nor their stand-in is in."""
        needed = list(self.required) + [r for r in self.zero_without if r in self.roles]
        return [r for r in needed if r not in present
                and self.stand_ins.get(r, r) not in present]

    @property
    def roles(self) -> tuple[str, ...]:
        """Every input role the loss reads, the required ones first."""
        return self.required + self.optional

    @property
    def module(self) -> str:
        """The module that evaluates this loss: losscli.losses.<name, '-' as '_'>."""
        return "losscli.losses." + self.name.replace("-", "_")

    def tied(self, name: str) -> tuple[str, ...]:
        """The parameters that are another form of `name` (its partners in `exclusive`):
        they change whenever it does, so none of them is fixed while it varies."""
        return tuple(dict.fromkeys(other for pair in self.exclusive if name in pair
                                   for other in pair if other != name))

    def param(self, name: str) -> Param:
        """The Param called `name` (KeyError when the loss has none)."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """Every parameter of this loss: the given ones validated, the rest at their default.

        A parameter that belongs to no part of this loss is a usage error, not silently unused.
        """
        names = {p.name for p in self.params}
        for key in given:
            if key not in names:
                opt = "--" + key.replace("_", "-")
                accepted = ", ".join(p.option for p in self.params) or "none"
                raise UsageError(
                    f"{opt} does not apply to {self.name}",
                    f"its options are: {accepted}",
                )
        for first, second in self.exclusive:
            if given.get(first) is not None and given.get(second) is not None:
                raise UsageError(
                    f"--{first.replace('_', '-')} and --{second.replace('_', '-')} both given "
                    f"to {self.name}",
                    "give one of them: they set the same thing",
                )
        resolved = {}
        for p in self.params:
            value = p.validate(given.get(p.name))
            resolved[p.name] = p.default if value is None else value
        return resolved

    def unused_given(self, given: Mapping[str, Any], resolved: Mapping[str, Any],
                     convention: Any = None) -> tuple[str, ...]:
        """A warning for each parameter given where it does not enter the value
        (Param.unused)."""
        said = []
        for p in self.params:
            unused = p.unused
            if unused is None or given.get(p.name) is None \
                    or resolved.get(unused.param) != unused.value:
                continue
            if unused.kept_by is not None and getattr(convention, unused.kept_by, False):
                continue
            under = self.param(unused.param)
            setting = under.named if under.kind == "bool" else f"{under.named} {unused.value}"
            said.append(f"{p.named} does not enter {self.name}'s value under {setting}: "
                        f"{unused.says}")
        return tuple(said)
