"""`explain LOSS --batch-size B ...`: the loss's reference values for those sizes and
parameters (losses/references/), as a JSON record and as text."""

from __future__ import annotations

from typing import Any

from losscli.losses import LossSpec
from losscli.losses.references import SIZE_SYMBOLS, reference_values


def reference_section(spec: LossSpec, given: dict[str, Any], sizes: dict[str, int | None],
                      ) -> dict[str, Any]:
    """{"sizes", "params", "values"}: the parameters resolved (usage error when one does not
    apply), the sizes given, each reference value with its formula and condition."""
    params = spec.resolve(given)
    spec.check_sizes(sizes)
    values = reference_values(spec.name, params, sizes)
    return {"sizes": {k: v for k, v in sizes.items() if v is not None},
            "params": params, "values": [v.as_dict() for v in values]}


def reference_text(section: dict[str, Any]) -> str:
    """The section as explain's text shows it, after the rest."""
    sizes = ", ".join(f"{SIZE_SYMBOLS[k]} = {v}" for k, v in section["sizes"].items())
    params = ", ".join(f"{k} {v}" for k, v in section["params"].items() if v is not None)
    head = "; ".join(part for part in (sizes, params) if part)
    lines = ["", f"reference values ({head}):"]
    if not section["values"]:
        lines.append("  none known for this loss")
    width = max((len(v["kind"]) for v in section["values"]), default=0)
    shown = [f"{v['value']:.10g}" for v in section["values"]]
    digits = max(map(len, shown), default=0)
    for v, value in zip(section["values"], shown, strict=True):
        lines.append(f"  {v['kind']:<{width}}  {value:<{digits}}  = {v['formula']}")
        if v["condition"]:
            lines.append(f"  {'':<{width}}  {v['condition']}")
    return "\n".join(lines) + "\n"
