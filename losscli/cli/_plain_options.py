"""Option values without pydantic, for start-up time.

Typer (0.2x) coerces every option value through a pydantic TypeAdapter, and importing
pydantic costs about 50 ms of every run: a third of `losscli compute` on a small input
(docs/benchmarks.md). losscli's options are plain str, int, float and bool (or optional, or
lists of them); those are converted here the way the command line means them, and every
other annotation still goes to typer's own path. If typer's internals are not the ones this
was written against, `install()` changes nothing.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any

from losscli.errors import UsageError

PLAIN = (str, int, float, bool)
_KIND_NAMES = {int: "integer", float: "float", str: "text", bool: "boolean"}
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def _plain_type(annotation: Any) -> tuple[type, bool] | None:
    """(the plain type, whether it is a list of them), or None for anything else."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _plain_type(args[0]) if len(args) == 1 else None
    if origin is list:
        args = typing.get_args(annotation)
        inner = _plain_type(args[0]) if len(args) == 1 else None
        return (inner[0], True) if inner is not None and not inner[1] else None
    if annotation in PLAIN:
        return annotation, False
    return None


class OutOfRange(ValueError):
    """A number typed that float64 cannot hold: read as 0 (`-t 1e-400`) or as infinity
    (`-t 1e400`). args: the text typed, and what float64 made of it."""


def _underflows(text: str, value: float) -> bool:
    """Whether `text` spells a nonzero number that `value`, its float, lost to 0."""
    mantissa = text.lower().partition("e")[0]
    return value == 0.0 and any(c in "123456789" for c in mantissa)


def _overflows(text: str, value: float) -> bool:
    """Whether `text` spells a finite number that `value`, its float, made infinite."""
    return math.isinf(value) and "inf" not in text.lower()


def _convert(kind: type, value: Any) -> Any:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(text)
    if kind is str:
        return str(value)
    converted = kind(text)
    # Read as 0 it would be refused as "got 0.0" (a temperature), a number the user never
    # typed, or pass unseen (a margin); read as inf, "must be finite, got inf": each said
    # as typed, as loud as a JSON number out of float64's range.
    if kind is float and _underflows(text, converted):
        raise OutOfRange(text, "underflows to 0")
    if kind is float and _overflows(text, converted):
        raise OutOfRange(text, "overflows to infinity")
    return converted


def installed() -> bool:
    """Whether install() took (the typer it was written against): only then are numbers
    checked as typed (`-t 1e-400` said to underflow); an older typer converts them itself."""
    try:
        from typer import core
    except ImportError:
        return False
    return bool(getattr(getattr(core, "build_runtime_param", None), "_losscli_plain", False))


def install() -> bool:
    """Route plain annotations around pydantic; False when typer is not as expected."""
    try:
        from typer import _coercion, core
        from typer._click.exceptions import BadParameter
    except ImportError:
        return False
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or getattr(original, "_losscli_plain", False):
        return False

    class PlainRuntimeParam(base):  # type: ignore[misc, valid-type]
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind, many = _plain_type(self.annotation)  # type: ignore[misc]
            try:
                if many:
                    return [_convert(kind, v) for v in value]
                return _convert(kind, value)
            except OutOfRange as exc:
                option = next((o for o in param.opts if o.startswith("--")), param.name)
                typed, became = exc.args
                raise UsageError(f"{option} got {typed}, which {became} in float64",
                                 "give a number float64 holds (from about 4.9e-324 to "
                                 "1.8e308 in magnitude)") from None
            except (TypeError, ValueError):
                shown = value if not many else next(iter(value), value)
                raise BadParameter(f"{shown!r} is not a valid {_KIND_NAMES[kind]}",
                                   ctx=ctx, param=param) from None

    def build_runtime_param(descriptor: Any) -> Any:
        special = (descriptor.file_annotation is not None or descriptor.is_choice
                   or descriptor.is_ranged or descriptor.is_path or descriptor.is_datetime
                   or descriptor.is_tuple)
        if special or _plain_type(descriptor.annotation) is None:
            return original(descriptor)
        return PlainRuntimeParam(parameter_info=descriptor.parameter_info,
                                 annotation=descriptor.annotation)

    build_runtime_param._losscli_plain = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param
    return True
