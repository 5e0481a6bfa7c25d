"""The roles in batch form: shapes checked and named in errors, values warned about.

Every loss module reads its inputs through these (CONTRACT.md: one-line errors naming the
file, the role, the shapes found and the accepted ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from losscli.errors import BadData
from losscli.kernels.codes import HUGE_ENTRY
from losscli.model import Inputs

TINY_TEMPERATURE = 1e-3


_ACCEPTED = {
    "anchor": "(D,) for one example or (B, D) for a batch",
    "positive": "the anchor's shape",
    "negatives": "(D,) or (K, D) shared by every anchor, or (B, K, D) per anchor",
    "negatives2": "(D,) or (K, D) shared, or (B, K, D) per anchor, with the negatives' K",
}
LAYOUT_OPTION = "--negatives-layout"
POSITIVES_LAYOUT_OPTION = "--positives-layout"


@dataclass
class EmbeddingBatch:
    """anchor, positive (B, D); negatives (Bn, K, D) with Bn in {1, B}; negatives2 likewise."""

    anchor: np.ndarray
    positive: np.ndarray
    negatives: np.ndarray
    negatives2: np.ndarray | None
    warnings: list[str]

    @property
    def batch(self) -> int:
        """B, the examples."""
        return self.anchor.shape[0]

    @property
    def k(self) -> int:
        """K, the negatives of each example."""
        return self.negatives.shape[1]

    @property
    def dim(self) -> int:
        """D, the length of every vector."""
        return self.anchor.shape[1]

    def work(self) -> int:
        """Multiply-adds of one pass over the pairs, for the compile-or-interpret choice."""
        pairs = self.batch * (self.k + 2)
        if self.negatives2 is not None:
            pairs += self.batch * self.k
        return pairs * self.dim


def shape_error(inputs: Inputs, role: str, found: tuple, detail: str = "") -> BadData:
    """The bad-data error for a role whose shape does not fit, naming the shapes it accepts."""
    accepted = _ACCEPTED.get(role, "")
    what = f"shape {found} does not fit"
    if detail:
        what = f"{what}: {detail}"
    return BadData(what, f"{role} must be {accepted}", where=inputs.where(role))


def embedding_batch(inputs: Inputs, *, negatives: str = "required",
                    negatives2: bool = False) -> EmbeddingBatch:
    """The embedding roles in batch form, every mismatch named with both roles and shapes.

    negatives: "required" (K >= 1), or "optional" (absent or empty means K = 0).
    """
    expected = ("anchor", "positive", "negatives") + (("negatives2",) if negatives2 else ())
    for role in ("anchor", "positive"):
        if role not in inputs:
            raise missing_role(inputs, role, expected)
    anchor = inputs["anchor"]
    positive = inputs["positive"]
    if anchor.ndim not in (1, 2) or anchor.shape[-1] == 0 or anchor.shape[0] == 0:
        raise shape_error(inputs, "anchor", anchor.shape)
    single = anchor.ndim == 1
    a2 = anchor.reshape(1, -1) if single else anchor
    B, D = a2.shape
    if positive.shape != anchor.shape:
        raise BadData(
            f"positive {positive.shape} does not match anchor {anchor.shape}",
            "positive must have the anchor's shape: (D,) or (B, D)",
            where=inputs.where("positive"),
        )
    p2 = positive.reshape(B, D)
    layouts = _negatives_layouts(inputs, B) if negatives2 else {}
    if "negatives" in inputs:
        n3 = negatives_3d(inputs, "negatives", B, D, single,
                           allow_empty=negatives == "optional",
                           layout=layouts.get("negatives", inputs.negatives_layout))
    elif negatives == "optional":
        n3 = np.zeros((1, 0, D))
    else:
        raise missing_role(inputs, "negatives", expected)
    n2 = None
    if negatives2 and "negatives2" in inputs:
        n2 = negatives_3d(inputs, "negatives2", B, D, single, allow_empty=False,
                          layout=layouts.get("negatives2", inputs.negatives_layout))
        if n2.shape[1] != n3.shape[1]:
            raise BadData(
                f"negatives2 has K = {n2.shape[1]} but negatives has K = {n3.shape[1]} "
                f"(shapes {inputs['negatives2'].shape} and {inputs['negatives'].shape})",
                "give negatives2 the same number of negatives as negatives"
                + _per_anchor_hint(inputs, B, n3.shape[1], n2.shape[1]),
                where=inputs.where("negatives2"),
            )
    return EmbeddingBatch(a2, p2, n3, n2, [])


def _per_anchor_hint(inputs: Inputs, B: int, k: int, k2: int) -> str:
    """The end of quadruplet's K-mismatch fix when the per-anchor reading would resolve it:
    one role (B, D), read as K = B shared, the other with K = 1 per anchor."""
    if inputs.negatives_layout is not None:
        return ""
    for role, other_k in (("negatives", k2), ("negatives2", k)):
        if inputs[role].ndim == 2 and inputs[role].shape[0] == B and other_k == 1:
            return (f", or give {LAYOUT_OPTION} per-anchor to read {role} "
                    f"{inputs[role].shape} as one negative per anchor")
    return ""


def _negatives_layouts(inputs: Inputs, B: int) -> dict[str, str | None]:
    """The layout each of two negatives roles is read in (quadruplet's negatives and
    negatives2), where LOSSES.md lets them differ: one shared (K, D), the other per anchor.

    --negatives-layout decides the 2-D roles it can read (per-anchor: B rows; shared: any);
    when it decides one, the other role is read in its only reading ((K, D) with K != B
    shared, (B, K, D) per anchor) instead of refused. When it decides neither, it stays
    given to both, so a (K, D) role under per-anchor is still refused as the likely mistake.
    """
    layout = inputs.negatives_layout
    present = [r for r in ("negatives", "negatives2") if r in inputs]

    def decided(role: str) -> bool:
        arr = inputs[role]
        return arr.ndim == 2 and (layout == "shared" or arr.shape[0] == B)

    if layout is None or not any(decided(r) for r in present):
        return {}
    return {r: layout if decided(r) else None for r in present}


def negatives_3d(inputs: Inputs, role: str, B: int, D: int, single: bool,
                  allow_empty: bool, layout: str | None) -> np.ndarray:
    """A negatives role as (Bn, K, D), Bn in {1, B}: (D,) one shared negative, (K, D) shared
    or, with the per-anchor layout, (B, D) one per anchor, (B, K, D) per anchor.
    layout: the reading of this role's 2-D form (None: by its shape alone)."""
    arr = inputs[role]
    shape = arr.shape
    if arr.shape == (0,):  # JSON `[]`: no negatives at all
        arr = arr.reshape(0, D)
    elif arr.ndim == 3 and arr.shape[1:] == (0, 0):  # `[]` on every JSON Lines line
        arr = arr.reshape(arr.shape[0], 0, D)
    if arr.ndim == 0 or arr.shape[-1] != D:
        raise BadData(
            f"{role} {shape} do not match anchor dimension D = {D} "
            f"(anchor {inputs['anchor'].shape})",
            f"{role} must be {_ACCEPTED[role]}",
            where=inputs.where(role),
        )
    if arr.ndim == 3 and layout == "shared":
        raise BadData(f"{role} {shape} are per anchor (B, K, D), but {LAYOUT_OPTION} shared "
                      "was given", f"drop {LAYOUT_OPTION}, or give {role} as (K, D)",
                      where=inputs.where(role))
    if arr.ndim == 1:
        n3 = arr.reshape(1, 1, D)
    elif arr.ndim == 2 and layout == "per-anchor":
        if arr.shape[0] != B:
            raise BadData(f"{role} {shape} cannot be one per anchor: there are {B} anchor(s) "
                          f"(anchor {inputs['anchor'].shape})", f"give {role} as ({B}, D) "
                          f"for {LAYOUT_OPTION} per-anchor, or drop it to share the "
                          f"{arr.shape[0]} rows", where=inputs.where(role))
        n3 = arr.reshape(B, 1, D)
    elif arr.ndim == 2:
        n3 = arr.reshape(1, arr.shape[0], D)
    elif arr.ndim == 3 and not single and arr.shape[0] == B:
        n3 = arr
    else:
        raise BadData(
            f"{role} {shape} do not fit anchor {inputs['anchor'].shape}",
            f"{role} must be {_ACCEPTED[role]}",
            where=inputs.where(role),
        )
    if n3.shape[1] == 0 and not allow_empty:
        raise BadData(f"{role} is empty (K = 0): this loss needs at least one negative",
                      f"give {role} as (K, D) or (B, K, D) with K >= 1",
                      where=inputs.where(role))
    return n3


def _rows_per_anchor(inputs: Inputs, role: str, layout: str | None,
                     roles: tuple[str, ...]) -> tuple[tuple[int, ...], int, int] | None:
    """(role's shape, B, D) when 2-D `role` has as many rows as there are anchors (B > 1) and
    no layout was given: the reading the layout warnings describe; None otherwise."""
    if layout is not None or role not in roles:
        return None
    if "anchor" not in inputs or role not in inputs:
        return None
    anchor, arr = inputs["anchor"], inputs[role]
    if anchor.ndim != 2 or arr.ndim != 2 or arr.shape != anchor.shape:
        return None
    B, D = anchor.shape
    return (arr.shape, B, D) if B >= 2 else None


def negatives_layout_warning(inputs: Inputs, roles: tuple[str, ...]) -> str | None:
    """When 2-D negatives have as many rows as there are anchors (B > 1) and no layout was
    given: they are read as shared, and the warning says so, names the per-anchor reading
    and the option that chooses."""
    found = _rows_per_anchor(inputs, "negatives", inputs.negatives_layout, roles)
    if found is None:
        return None
    shape, B, D = found
    return (f"negatives {shape} have as many rows as there are anchors (B = {B}): "
            f"read as K = {B} negatives shared by every anchor, (1, {B}, {D}); if row b is "
            f"anchor b's own negative (one hard negative per anchor, as torch's "
            f"TripletMarginLoss takes them), give {LAYOUT_OPTION} per-anchor to read them as "
            f"({B}, 1, {D}); {LAYOUT_OPTION} shared keeps this reading and drops this warning")


def positives_layout_warning(inputs: Inputs, roles: tuple[str, ...]) -> str | None:
    """The negatives' warning for positives: 2-D positives with as many rows as there are
    anchors (B > 1) and no layout given are read as P = B positives shared by every anchor;
    the warning says so, names the per-anchor reading and the option that chooses."""
    found = _rows_per_anchor(inputs, "positives", inputs.positives_layout, roles)
    if found is None:
        return None
    shape, B, D = found
    return (f"positives {shape} have as many rows as there are anchors (B = {B}): "
            f"read as P = {B} positives shared by every anchor, (1, {B}, {D}); if row b is "
            f"anchor b's own positive, give {POSITIVES_LAYOUT_OPTION} per-anchor to read them "
            f"as ({B}, 1, {D}) (or name the key positive); {POSITIVES_LAYOUT_OPTION} shared "
            "keeps this reading and drops this warning")


def anchor_rows(inputs: Inputs) -> tuple[np.ndarray, bool]:
    """The anchor as (B, D), and whether it was one (D,) example."""
    if "anchor" not in inputs:
        raise missing_role(inputs, "anchor")
    anchor = inputs["anchor"]
    if anchor.ndim not in (1, 2) or anchor.shape[-1] == 0 or anchor.shape[0] == 0:
        raise BadData(f"shape {anchor.shape} does not fit",
                      "anchor must be (D,) for one example or (B, D) for a batch",
                      where=inputs.where("anchor"))
    single = anchor.ndim == 1
    return (anchor.reshape(1, -1) if single else anchor), single


def positives_bank(inputs: Inputs, B: int, D: int, single: bool) -> tuple[np.ndarray, str]:
    """`positives` (P, D) shared or (B, P, D) per anchor, or `positive` as P = 1: (Bp, P, D).

    Returns the bank and the role it came from (for the gradients' key).
    """
    has_one, has_many = "positive" in inputs, "positives" in inputs
    if has_one and has_many:
        raise BadData("both positive and positives given",
                      "give one: positive for one per anchor, positives for several",
                      where=inputs.where("positives"))
    if has_one:
        positive = inputs["positive"]
        anchor = inputs["anchor"]
        if positive.shape != anchor.shape:
            raise BadData(f"positive {positive.shape} does not match anchor {anchor.shape}",
                          "positive must have the anchor's shape: (D,) or (B, D); use "
                          "positives for several per anchor", where=inputs.where("positive"))
        return positive.reshape(B, 1, D), "positive"
    if not has_many:
        raise missing_role(inputs, "positives")
    arr = inputs["positives"]
    accepted = "positives must be (P, D) shared by every anchor or (B, P, D) per anchor"
    layout = inputs.positives_layout
    if arr.ndim == 0 or arr.shape[-1] != D:
        raise BadData(f"positives {arr.shape} do not match anchor dimension D = {D} "
                      f"(anchor {inputs['anchor'].shape})", accepted,
                      where=inputs.where("positives"))
    if arr.ndim == 3 and layout == "shared":
        raise BadData(f"positives {arr.shape} are per anchor (B, P, D), but "
                      f"{POSITIVES_LAYOUT_OPTION} shared was given",
                      f"drop {POSITIVES_LAYOUT_OPTION}, or give positives as (P, D)",
                      where=inputs.where("positives"))
    if arr.ndim == 1:
        bank = arr.reshape(1, 1, D)
    elif arr.ndim == 2 and layout == "per-anchor":
        if arr.shape[0] != B:
            raise BadData(f"positives {arr.shape} cannot be one per anchor: there are {B} "
                          f"anchor(s) (anchor {inputs['anchor'].shape})",
                          f"give positives as ({B}, D) for {POSITIVES_LAYOUT_OPTION} "
                          f"per-anchor, or drop it to share the {arr.shape[0]} rows",
                          where=inputs.where("positives"))
        bank = arr.reshape(B, 1, D)
    elif arr.ndim == 2:
        bank = arr.reshape(1, arr.shape[0], D)
    elif arr.ndim == 3 and not single and arr.shape[0] == B:
        bank = arr
    else:
        raise BadData(f"positives {arr.shape} do not fit anchor {inputs['anchor'].shape}",
                      accepted, where=inputs.where("positives"))
    if bank.shape[1] == 0:
        raise BadData("positives is empty (P = 0)", "give at least one positive",
                      where=inputs.where("positives"))
    return bank, "positives"


def negatives_bank(inputs: Inputs, B: int, D: int, single: bool, *, required: bool,
                   allow_empty: bool = False) -> np.ndarray:
    """`negatives` as (Bn, K, D), Bn in {1, B}; (1, 0, D) when optional and absent."""
    if "negatives" not in inputs:
        if required:
            raise missing_role(inputs, "negatives")
        return np.zeros((1, 0, D))
    return negatives_3d(inputs, "negatives", B, D, single, allow_empty=allow_empty,
                        layout=inputs.negatives_layout)


def paired_rows(inputs: Inputs, first: str = "x1", second: str = "x2",
                ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Two roles holding one vector per pair: (D,) or (B, D) each, the same shape."""
    for role in (first, second):
        if role not in inputs:
            raise missing_role(inputs, role)
    x1, x2 = inputs[first], inputs[second]
    if x1.ndim not in (1, 2) or x1.shape[-1] == 0:
        raise BadData(f"shape {x1.shape} does not fit",
                      f"{first} must be (D,) for one pair or (B, D) for a batch",
                      where=inputs.where(first))
    if x2.shape != x1.shape:
        raise BadData(f"{second} {x2.shape} does not match {first} {x1.shape}",
                      f"{second} must have {first}'s shape: (D,) or (B, D)",
                      where=inputs.where(second))
    single = x1.ndim == 1
    return (x1.reshape(1, -1), x2.reshape(1, -1), True) if single else (x1, x2, False)


def scores(inputs: Inputs, role: str) -> np.ndarray:
    """A role holding one number per pair: a scalar (one pair) or (B,), as (B,)."""
    if role not in inputs:
        raise missing_role(inputs, role)
    arr = inputs[role]
    if arr.ndim > 1:
        raise BadData(f"shape {arr.shape} does not fit",
                      f"{role} must be a number for one pair or (B,) for a batch",
                      where=inputs.where(role))
    return arr.reshape(-1)


def labels(inputs: Inputs, B: int, checked: bool = True) -> np.ndarray:
    """`label` as (B,) of +1/-1: a scalar or (1,) for one pair, (B,) for a batch.

    checked=False (a library that checks none, `--like torch`) accepts any finite number.
    """
    if "label" not in inputs:
        raise missing_role(inputs, "label")
    arr = inputs["label"]
    if not (arr.shape == (B,) or (B == 1 and arr.ndim == 0)):
        raise BadData(f"label {arr.shape} does not fit {B} pair(s)",
                      f"label must be one +1 or -1 per pair: shape ({B},)"
                      + (" or a single number" if B == 1 else ""),
                      where=inputs.where("label"))
    y = arr.reshape(B)
    if not checked:
        return np.ascontiguousarray(y)
    bad = (y != 1.0) & (y != -1.0)
    if bad.any():
        first = int(np.argmax(bad))
        raise BadData(f"label {float(y[first])!r} at index {first} is not +1 or -1",
                      "give +1 (similar, or x1 ranked higher) or -1 per pair",
                      where=inputs.where("label"))
    return np.ascontiguousarray(y)


def input_document(inputs: Inputs) -> str | None:
    """The INPUT file the roles were keyed in (`doc.json` of `doc.json:anchor`), if any."""
    for role, source in inputs.sources.items():
        if source.endswith(f":{role}"):
            return source[: -len(role) - 1]
    return inputs.document


def input_name(inputs: Inputs) -> str | None:
    """What a message about the whole input names: INPUT, else the files its roles were read
    from (`a.npy, n.npy`; `<memory>` for arrays given in memory), or None if none is known."""
    document = input_document(inputs)
    if document is not None:
        return document
    return ", ".join(dict.fromkeys(inputs.sources.values())) or None


def missing_role(inputs: Inputs, role: str, roles: tuple[str, ...] = ()) -> BadData:
    """A required role is absent: say where it was looked for, what was found and the fix."""
    given = ", ".join(sorted(inputs.arrays)) or "none"
    doubt = inputs.stack_doubt
    if doubt is not None and doubt.would_fit(role):  # the other reading holds it
        return BadData(f"no {role}: {doubt.reading}", f"{doubt.fix}; or give --{role} FILE",
                       where=doubt.where)
    expected = f"; expected keys: {', '.join(roles)}" if roles else ""
    return BadData(f"no {role} given (found: {given}{expected})",
                   f"add the key {role!r} or use --{role} FILE", where=input_document(inputs))


def huge_entry_warning(role: str) -> str:
    """One warning per role, so that chunks of one input (batch) merge to compute's set."""
    return (f"{role} has entries above {HUGE_ENTRY:g} in magnitude: dot products and "
            "distances may overflow (non-finite results are written as null); cosine scales "
            "each vector by its largest entry first")


def largest_magnitude(arr: np.ndarray) -> float:
    """max |entry| without a temporary of the array's size (0 for an empty array)."""
    return max(float(arr.max()), -float(arr.min())) if arr.size else 0.0


def check_magnitudes(batch: EmbeddingBatch, warnings: list[str]) -> None:
    """A warning for each role with entries above HUGE_ENTRY in magnitude."""
    for name in ("anchor", "positive", "negatives", "negatives2"):
        arr = getattr(batch, name)
        if arr is not None and largest_magnitude(arr) > HUGE_ENTRY:
            warnings.append(huge_entry_warning(name))


def check_huge(arrays: dict[str, np.ndarray | None], warnings: list[str],
               risk: str = "distances and similarities may overflow") -> None:
    """A warning for each array with entries above HUGE_ENTRY in magnitude (CONTRACT.md),
    saying what may overflow (`risk`)."""
    for name, arr in arrays.items():
        if arr is not None and largest_magnitude(arr) > HUGE_ENTRY:
            warnings.append(f"{name} has entries above {HUGE_ENTRY:g} in magnitude; {risk}")


def check_temperature(t: float, warnings: list[str]) -> None:
    """CONTRACT.md: warn below 1e-3, where a softmax is nearly a max."""
    if t < TINY_TEMPERATURE:
        warnings.append(f"temperature {t:g} is below {TINY_TEMPERATURE:g}: the softmax is "
                        "nearly a max over the candidates")
