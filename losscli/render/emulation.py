"""`compute --emulate`: the emulated value beside the float64 one, as one line of text."""

from __future__ import annotations

from typing import Any


def _number(value: Any) -> str:
    if value is None:
        return "null (not finite)"
    if isinstance(value, list):
        shown = ", ".join(_number(v) for v in value[:6])
        return f"[{shown}{', ...' if len(value) > 6 else ''}]"
    return f"{value:.10g}"


def emulation_line(emulation: dict[str, Any]) -> str:
    """`emulated bfloat16: value = X (float64: Y; largest relative difference Z, example i)`."""
    line = (f"emulated {emulation['format']}: value = {_number(emulation['value'])} "
            f"(float64: {_number(emulation['float64_value'])}")
    if emulation.get("max_relative_difference") is not None:
        line += (f"; largest relative difference {emulation['max_relative_difference']:.3g}, "
                 f"example {emulation['worst_example']}")
    elif emulation.get("worst_example") is not None:
        lost = sum(v is None for v in emulation["per_example"])
        line += (f"; {lost} of {len(emulation['per_example'])} example(s) not finite in "
                 f"{emulation['format']}, the first example {emulation['worst_example']}")
    return line + ")"
