"""`compute --png`: which picture a result gets, from what it holds (not the loss's name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from losscli.errors import UsageError

SHOWN = 40  # anchors drawn in the picture of explicit candidates


def input_name(input: str | None, roles: dict[str, str]) -> str:
    """The input as a picture's title names it."""
    if input is not None:
        return "<stdin>" if input == "-" else input
    return ", ".join(roles.values()) or "<stdin>"


def compute_png(path: str, result: Any, inputs: Any, source: str,
                order: Sequence[int] | None, force: bool, sources: Sequence[str],
                ranking: str = "") -> None:
    """The similarity matrix of an in-batch form (block means for a large batch), else, and
    for the examples --worst/--best pick (`order`; `ranking` names them, "worst" or "best"),
    each anchor's positive and negatives on one axis (the first 40 of them)."""
    from losscli.explore import positive_negative
    from losscli.losses.similarity_map import similarity_map
    from losscli.render import pictures

    similarity = result.params.get("similarity", "cosine")
    # the matrix has no place for a ranking: the examples picked get their strips
    sim = None if order is not None else similarity_map(
        inputs, similarity == "cosine", result.shape.get("negatives"))
    if sim is not None:
        pictures.heatmap_png(path, result.loss, source, sim, similarity=similarity,
                             force=force, inputs=sources)
        return
    rows = list(order) if order is not None else list(range(min(result.batch, SHOWN)))
    shown = rows[:SHOWN]
    found = positive_negative(result, shown)
    if found is None:
        raise UsageError(f"compute --png draws similarity matrices and anchors' candidates; "
                         f"{result.loss} has neither", "drop --png")
    quantity, positive, negative = found
    positive = positive.reshape(len(shown), -1)
    negative = negative.reshape(len(shown), -1)
    if order is not None:
        which = f"{ranking} {len(order)}" if ranking else f"{len(order)} of {result.batch}"
        if len(order) > SHOWN:
            which += f", the first {SHOWN} drawn"
    else:
        which = f"first {len(rows)} of {result.batch}" if result.batch > len(rows) else ""
    pictures.candidates_png(path, result.loss, source, quantity, positive, negative,
                            shown, which=which, force=force, inputs=sources)
