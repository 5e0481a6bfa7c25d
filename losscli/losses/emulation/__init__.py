"""`--emulate float16|bfloat16|float32`: a loss computed with the arithmetic of mixed-precision
training (torch autocast), beside its float64 value, and where that arithmetic loses it.

The model, op by op as torch's autocast runs it (checked against torch 2.13 on the CPU by
tests/fixtures/generate_emulation.py):

1. the embeddings (or logits) arrive in the format: the outputs of the network's last layer,
   a matmul under autocast;
2. cosine: the normalization in the format (the norm rounded, then each quotient);
3. each similarity is a matmul in the format: float32 accumulation, the output rounded;
4. the logits, s / t (scale s + bias), computed in the format (float32 arithmetic, rounded);
5. the loss from the logits in float32: cross_entropy and binary_cross_entropy_with_logits
   are autocast's float32 ops, and the log-softmax is taken in float32.

float32 runs every step in float32. bfloat16 is rounded here in numpy, to nearest even on
the float32 bits; float16 through float32, as torch rounds its float32 results. One module
per family (as losses/specs/), each with EMULATORS: loss name -> emulate(inputs, params,
fmt) -> Trace.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.errors import UsageError
from losscli.model import Inputs

FORMATS = ("float16", "bfloat16", "float32")


# The largest x whose exp(x) is finite in float32, where the emulated softmaxes are taken.
FLOAT32_EXP_LIMIT = math.log(float(np.finfo(np.float32).max))


@dataclass(frozen=True)
class Format:
    """A floating-point format: its largest finite value and its unit roundoff."""

    name: str
    max: float
    eps: float

    @property
    def exp_limit(self) -> float:
        """The largest x whose exp(x) is finite in this format."""
        return math.log(self.max)

    def round(self, x: Any) -> np.ndarray:
        """x rounded to the format (to nearest, ties to even), as float32 values."""
        x32 = np.asarray(x, dtype=np.float32)
        if self.name == "float32":
            return x32
        if self.name == "float16":
            with np.errstate(over="ignore"):  # beyond 65504: inf, as the format gives
                return x32.astype(np.float16).astype(np.float32)
        bits = x32.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        out = rounded.astype(np.uint32).view(np.float32)
        return np.where(np.isnan(x32), x32, out)


FORMAT = {
    "float16": Format("float16", 65504.0, 2.0 ** -11),
    "bfloat16": Format("bfloat16", float.fromhex("0x1.fep127"), 2.0 ** -8),
    "float32": Format("float32", float(np.finfo(np.float32).max), 2.0 ** -24),
}


@dataclass
class Trace:
    """What one emulated evaluation computed: the per-example losses (float32 values), and
    the exact (float64) values the format had to hold, by stage, for the diagnosis."""

    per_example: np.ndarray
    stages: dict[str, np.ndarray] = field(default_factory=dict)  # stage -> exact values


Emulator = Callable[[Inputs, Mapping[str, Any], Format], Trace]


# ---------------------------------------------------------------- the ops, as autocast runs them

def normalize(x: np.ndarray, fmt: Format) -> np.ndarray:
    """F.normalize in the format: x / max(||x||, 1e-12), the norm and the quotient rounded."""
    x32 = np.asarray(x, dtype=np.float32)
    norm = fmt.round(np.sqrt(np.sum(x32 * x32, axis=-1, keepdims=True, dtype=np.float32)))
    return fmt.round(x32 / np.maximum(norm, np.float32(1e-12)))


def matmul(subscripts: str, a: np.ndarray, b: np.ndarray, fmt: Format) -> np.ndarray:
    """A matmul (einsum) in the format: float32 accumulation, the output rounded."""
    return fmt.round(np.einsum(subscripts, np.asarray(a, np.float32), np.asarray(b, np.float32)))


def divide(x: np.ndarray, t: float, fmt: Format) -> np.ndarray:
    """x / t in the format (float32 arithmetic, rounded): the logits of a temperature."""
    return fmt.round(np.asarray(x, np.float32) / np.float32(t))


def multiply(x: np.ndarray, s: float, fmt: Format) -> np.ndarray:
    """x * s in the format: the logits of a scale."""
    return fmt.round(np.asarray(x, np.float32) * np.float32(s))


def add(x: np.ndarray, b: float, fmt: Format) -> np.ndarray:
    """x + b in the format: a bias on the logits."""
    return fmt.round(np.asarray(x, np.float32) + np.float32(b))


def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """log_softmax in float32, as torch takes it (the max subtracted first)."""
    x = np.asarray(logits, np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        shifted = x - np.where(np.isfinite(m), m, np.float32(0))
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True,
                                       dtype=np.float32))


def exact_similarity(a: np.ndarray, b: np.ndarray, subscripts: str, cosine: bool,
                     ) -> np.ndarray:
    """The float64 similarities the format has to hold (the diagnosis' reference)."""
    if cosine:
        a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-300)
        b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-300)
    return np.einsum(subscripts, a, b)


# ---------------------------------------------------------------- the registry and the diagnosis

def _emulators() -> dict[str, Emulator]:
    from losscli.losses.emulation import explicit_negatives, in_batch, softmax

    found: dict[str, Emulator] = {}
    for family in (softmax, explicit_negatives, in_batch):
        found.update(family.EMULATORS)
    return found


def emulated_losses() -> tuple[str, ...]:
    """The losses --emulate covers."""
    return tuple(_emulators())


def check_format(loss: str, name: str) -> Format:
    """The Format of --emulate NAME for this loss, or a usage error."""
    if name not in FORMAT:
        raise UsageError(f"--emulate got {name!r}", f"choose one of {', '.join(FORMATS)}")
    if loss not in _emulators():
        raise UsageError(f"--emulate is not available for {loss}",
                         f"it covers {', '.join(emulated_losses())}")
    return FORMAT[name]


# Bytes an emulation holds per term of the loss's breakdown: it computes the similarity
# matrix whole, as the training step does (the format's product, the exact similarities,
# the logits, the log-softmax): ntxent-batch at B = 8,192 peaked at 10.7 GB for its 268 M
# terms, 40 bytes a term; clip at 14.
BYTES_PER_TERM = 48


def check_size(loss: str, terms: int, where: str | None) -> None:
    """Refuse (exit 4) an emulation whose whole matrices would take more than half the
    memory available, before any is allocated."""
    from losscli.errors import TooLarge
    from losscli.losses import results

    need = terms * BYTES_PER_TERM
    available = results.available_memory()
    if available is not None and need > available // 2:
        raise TooLarge(f"--emulate holds {loss}'s similarities whole: about "
                       f"{need / 2**30:.3g} GiB for {terms:,} terms, more than half the "
                       f"memory available ({available / 2**30:.3g} GiB)",
                       "emulate a smaller batch (a slice of the input), or drop --emulate",
                       where=where)


def emulate(loss: str, inputs: Inputs, params: Mapping[str, Any], fmt: Format,
            reference: np.ndarray, reduce: Callable[[np.ndarray], Any], terms: int,
            ) -> dict[str, Any]:
    """The loss in the format beside its float64 per-example `reference`: the emulated
    per-example losses and value, their differences, and the diagnosis (a list of lines).
    `terms`: the breakdown's terms, which size the emulation's matrices (check_size)."""
    roles = [role for role in ("anchor", "logits") if role in inputs]
    check_size(loss, terms, inputs.where(roles[0]) if roles else None)
    trace = _emulators()[loss](inputs, params, fmt)
    per = trace.per_example.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(per - reference) / np.maximum(np.abs(reference), 1e-300)
    finite = np.isfinite(per)
    # An example the format lost (not finite where float64 is) is off by more than any
    # finite difference: the largest is then null, and the worst example the first lost.
    lost = np.flatnonzero(~finite & np.isfinite(reference))
    if lost.size:
        worst: int | None = int(lost[0])
    else:
        worst = int(np.nanargmax(np.where(finite, rel, -1.0))) if finite.any() else None
    return {
        "format": fmt.name,
        "value": _plain(reduce(per)),
        "per_example": [_plain(v) for v in per.tolist()],
        "float64_value": _plain(reduce(reference)),
        "max_relative_difference": None if worst is None or lost.size
        else _plain(float(rel[worst])),
        "worst_example": worst,
        "diagnosis": diagnose(trace, fmt, per, reference),
    }


def _plain(v: Any) -> Any:
    if isinstance(v, list):
        return [_plain(x) for x in v]
    v = float(v) + 0.0  # -0.0 (a log-softmax of the max) written as 0.0
    return v if math.isfinite(v) else None


def diagnose(trace: Trace, fmt: Format, per: np.ndarray, reference: np.ndarray) -> list[str]:
    """Where the format overflows or loses the loss, each finding one line."""
    lines = []
    for stage, exact in trace.stages.items():
        big = np.abs(exact) > fmt.max
        if big.any():
            at = np.unravel_index(int(np.argmax(np.abs(exact))), exact.shape)
            where = "" if stage == "inputs" else f" at {list(map(int, at))}"
            lines.append(f"{int(big.sum())} {stage} beyond {fmt.name}'s range (largest "
                         f"in magnitude {float(np.max(np.abs(exact))):.6g}{where} > "
                         f"{fmt.max:.6g}): they become inf")
    logits = trace.stages.get("logits")
    # Only a format narrower than float32's range overflows an exp float32 would not
    # (bfloat16 has float32's exponent: its log(max) is float32's, 88.72)
    if logits is not None and fmt.exp_limit < FLOAT32_EXP_LIMIT - 1.0:
        over = logits > fmt.exp_limit
        if over.any():
            lines.append(f"{int(over.sum())} logits above log(max {fmt.name}) = "
                         f"{fmt.exp_limit:.4g}: exp of them overflows {fmt.name} (a softmax "
                         f"or exp taken in {fmt.name}, not float32, gives inf, then inf/inf "
                         "= NaN)")
    lost = ~np.isfinite(per) & np.isfinite(reference)
    if lost.any():
        first = int(np.argmax(lost))
        lines.append(f"{int(lost.sum())} example loss(es) lost in {fmt.name} (first: example "
                     f"{first}, {per[first]} where float64 gives {reference[first]:.10g}): "
                     "an inf logit makes inf - inf (0 x inf) in the log-sum-exp")
    zero = (per == 0) & (reference > 0)
    if zero.any():
        lines.append(f"{int(zero.sum())} example loss(es) round to 0 in {fmt.name} while "
                     "float64 gives > 0: their gradient is lost too")
    return lines
