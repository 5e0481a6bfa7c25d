"""One loss call, resolved and validated once: what every engine evaluates.

    call = LossCall.of("triplet", {"margin": 0.5}, reduction="none")
    call.params        {"margin": 0.5, "distance": "euclidean", ...}   every parameter
    call.reduction     "none"
    call.with_params(margin=1.0)      another call, resolved the same way

`api`, batch (local and Dask workers) and the explorer take a LossCall; it is immutable and
picklable (strings, numbers and frozen dataclasses), so it travels to worker processes as it
is. Pure data: no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from losscli.errors import UsageError
from losscli.losses import REDUCTIONS, get_spec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from losscli.losses.conventions import Applied
    from losscli.losses.spec import Convention, LossSpec

Items = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class LossCall:
    """A loss with every parameter resolved, the batch reduction, and the library convention
    (`--like`) applied to both.

    `given`, `requested` and `like` are what the caller asked for; `with_params` and
    `with_like` resolve a variation of it the same way (a sweep's steps, compare's rows).
    """

    loss: str
    resolved: Items
    reduction: str
    applied: Applied | None = None
    given: Items = ()
    requested: str | None = None  # the reduction asked for (None: the default)
    like: str | None = None

    @classmethod
    def of(cls, name: str, params: Mapping[str, Any] | None = None, reduction: str | None = None,
           like: str | None = None) -> LossCall:
        """Resolve `name` (or an alias) with `params` (None values are not given).

        Usage errors (exit 2): an unknown loss, a parameter the loss does not take or a bad
        value, a reduction that is not one of REDUCTIONS, and under `like` anything the
        library cannot express.
        """
        spec = get_spec(name)
        given = {k: v for k, v in (params or {}).items() if v is not None}
        requested = reduction
        applied = None
        effective = dict(given)
        if like is not None:
            from losscli.losses.conventions import apply

            applied = apply(spec, like, given, reduction)
            effective, reduction = applied.params, applied.reduction
        elif reduction is None:
            reduction = "mean"
        elif reduction not in REDUCTIONS:
            raise UsageError(f"--reduction got {reduction!r}",
                             f"choose one of {', '.join(REDUCTIONS)}")
        resolved = spec.resolve(effective)
        return cls(spec.name, tuple(resolved.items()), reduction, applied,
                   tuple(given.items()), requested, like)

    @property
    def spec(self) -> LossSpec:
        """The loss's LossSpec, from the registry by name."""
        return get_spec(self.loss)

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter of the loss (a new dict each time: the call stays immutable)."""
        return dict(self.resolved)

    @property
    def convention(self) -> Convention | None:
        """The Convention `--like` applied, or None for losscli's own definition."""
        return None if self.applied is None else self.applied.convention

    @property
    def unused_given(self) -> tuple[str, ...]:
        """Warnings for parameters given where they do not enter the value (Param.unused)."""
        return self.spec.unused_given(dict(self.given), self.params, self.convention)

    @property
    def streams(self) -> bool:
        """Whether batch may evaluate an input a chunk of examples at a time (the spec's
        `streams`). Under a library's convention each input is evaluated whole, as compute
        evaluates it: the library's reduction need not be a mean of per-example losses (PML's
        AvgNonZero counts terms), and some make the examples each other's negatives
        (SupContrast's views, MNRL's in-batch negatives)."""
        return self.spec.streams and self.applied is None

    @property
    def tiled(self) -> bool:
        """Whether the loss goes by tiles of a similarity matrix built from the batch (the
        spec's `tiled`, or the applied convention's: MNRL's in-batch candidates): batch
        then hands it one (2B, D) float64 buffer of the anchor and positive rows."""
        return self.spec.tiled or (self.applied is not None and self.applied.convention.tiled)

    def with_params(self, **changes: Any) -> LossCall:
        """The same call with some parameters given other values."""
        return LossCall.of(self.loss, {**dict(self.given), **changes}, self.requested, self.like)

    def with_like(self, like: str | None) -> LossCall:
        """The same call under another library's convention (None: losscli's own)."""
        return LossCall.of(self.loss, dict(self.given), self.requested, like)

    def with_reduction(self, reduction: str) -> LossCall:
        """The same parameters, reduced another way (batch evaluates chunks unreduced)."""
        return LossCall.of(self.loss, dict(self.given), reduction, self.like)
