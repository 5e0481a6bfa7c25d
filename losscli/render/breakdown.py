"""Which terms of a breakdown an output shows (`compute --terms`), a block of examples at a
time so that no output holds the whole breakdown.

- all: every term;
- top: per example its positive terms and the `top` strongest others (largest |strength|,
  the loss's ranking column: the gradient for the softmax losses, the term for the margin
  ones), strongest first;
- none: no terms (value, per_example and warnings: the fast path for `| jq .value`).

Without --terms the output has every term up to AUTO_ALL_TERMS terms in all, and the top
terms above that, with a warning that says how to get all; a table (read on a terminal, a
few examples at a time) shows the top terms of examples with more than TABLE_ALL_TERMS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import largest as lk
from losscli.model import LazyTerms, Result, Terms, laid_out, taken

DEFAULT_TOP = 10
# The default shows every term up to this many (about 30 MB of JSON), the top ones above.
AUTO_ALL_TERMS = 100_000
# ... and a table every term of an example up to this many: clip at B = 200 listed 400 rows
# under each example shown (~2,000 lines for the default five).
TABLE_ALL_TERMS = 50
# Terms per block of examples: what one block of an output holds at a time.
BLOCK_TERMS = 65_536


@dataclass(frozen=True)
class TermsView:
    """What examples[].terms holds: mode all, top (with `top` and the ranking column) or
    none."""

    mode: str = "all"
    top: int = DEFAULT_TOP
    strength: str = "gradient"

    def kept(self, count: int, positives: int) -> int:
        """Terms kept per example out of `count`."""
        if self.mode == "all":
            return count
        if self.mode == "none":
            return 0
        return min(count, positives + self.top)


def choose(mode: str | None, result: Result, strength: str, top: int = DEFAULT_TOP,
           table: bool = False) -> tuple[TermsView, str | None]:
    """The view for --terms `mode` (None: the default; `table`: for a table) and the warning
    the default gives when it leaves terms out."""
    count = result.terms.count
    total = result.batch * count
    if mode is None:
        positives = sum(1 for role in result.terms.role if role == "positive")
        every = total <= AUTO_ALL_TERMS and not (table and count > TABLE_ALL_TERMS)
        view = TermsView("all" if every else "top", top, strength)
        if view.kept(count, positives) < count:
            shown = (f"each example's positive and its {top} strongest others" if positives
                     else f"each example's {top} strongest terms")  # softmax-ce: classes
            return view, (f"the breakdown has {result.batch:,} x {count:,} = {total:,} "
                          f"terms: showing {shown} (--terms all for every term, --terms none "
                          f"for none)")
        return view, None
    return TermsView(mode, top, strength), None


@dataclass
class Block:
    """Examples [start, start + n) with the terms kept: `order` (n, kept) the term positions
    in output order, `columns` the kept cells (n, kept) per column name."""

    start: int
    order: np.ndarray
    columns: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        """The examples in the block."""
        return self.order.shape[0]


def block_size(result: Result) -> int:
    """Examples per block: about BLOCK_TERMS terms at a time."""
    return max(1, BLOCK_TERMS // max(1, result.terms.count))


def blocks(result: Result, view: TermsView, first: int = 0, stop: int | None = None,
           order: list[int] | None = None) -> Iterator[Block]:
    """The kept terms of examples [first, stop), a block of examples at a time; with
    `order` (--worst, --best), those examples in that order, a block of one each."""
    terms = result.terms
    end = result.batch if stop is None else min(stop, result.batch)
    size = block_size(result)
    T = terms.count
    positive = np.array([role == "positive" for role in terms.role], dtype=bool)
    if order is None:
        spans = ((start, min(end, start + size), None) for start in range(first, end, size))
    elif view.mode == "none" or T == 0:
        spans = ((b, b + 1, None) for b in order)
    else:
        spans = ((b, b + 1, row) for b, row in _rows_of(terms, order, size))
    for start, finish, read in spans:
        n = finish - start
        if view.mode == "none" or T == 0:
            yield Block(start, np.zeros((n, 0), dtype=np.int64), {})
            continue
        if view.mode == "all" or view.kept(T, int(positive.sum())) >= T:
            columns = terms.block(start, finish) if read is None else read
            yield Block(start, np.broadcast_to(np.arange(T), (n, T)), columns)
            continue
        # a lazy breakdown's columns as the loss keeps them: only the ranking column is
        # laid out whole, the others read at the kept cells
        if read is not None:
            deferred = read
        elif isinstance(terms, LazyTerms):
            deferred = terms.deferred(start, finish)
        else:
            deferred = terms.block(start, finish)
        strength = deferred.get(view.strength)
        kept = _strongest(None if strength is None else laid_out(strength), positive,
                          view.top, n, result.batch * T)
        yield Block(start, kept, {name: taken(col, kept) for name, col in deferred.items()})


def _rows_of(terms: Terms | LazyTerms, order: list[int], size: int,
             ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """(b, example b's columns) for b in `order`, read `size` examples at a time in
    ascending order: a lazy breakdown computes a row from the tile it lies in, and rows read
    in ranking order paid a tile each (`--worst 4000`: 5-15x slower than held whole)."""
    for c0 in range(0, len(order), size):
        chunk = order[c0:c0 + size]
        read = {b: terms.block(b, b + 1) for b in sorted(set(chunk))}
        for b in chunk:
            yield b, read[b]


def _strongest(strength: np.ndarray | None, positive: np.ndarray, top: int, n: int,
               work: int) -> np.ndarray:
    """Per row: the positive terms (in order), then the `top` others of largest |strength|
    (ties and a missing column: the first ones)."""
    T = positive.shape[0]
    keep = int(positive.sum()) + top
    if (strength is not None and strength.dtype.kind == "f" and 0 < keep
            and _jit.path_for(work) != "py"):
        # each rank taken as the row is read: numpy's passes building a rank array first
        # took 17-30 ms a block of 64 clip examples at B = 8,192, this ~3.5 ms
        out = np.empty((n, min(keep, T)), dtype=np.int64)
        _jit.run(lk.strongest_first, work, np.ascontiguousarray(strength), positive,
                 min(keep, T), np.empty(min(keep, T)), out, parallel=False)
        return out
    if strength is None or strength.dtype.kind not in "fiub":
        rank = np.zeros((n, T))
    else:
        with np.errstate(invalid="ignore"):
            rank = np.abs(strength.astype(np.float64))
        rank = np.where(np.isnan(rank), -1.0, rank)
    rank = np.where(positive[None, :], np.inf, rank)
    return first_largest(rank, keep, work)


def first_largest(rank: np.ndarray, keep: int, work: int | None = None) -> np.ndarray:
    """Per row of rank (n, T), the indices of its `keep` largest values, largest first and
    ties by index: np.argsort(-rank, axis=1, kind="stable")[:, :keep], in linear time.
    Compiled (kernels/largest.py) when the whole breakdown, `work` terms, is large enough.

    The keep-th largest value of each row (np.partition) splits it: every index above it,
    then the first indices equal to it, as many as are left; only those are sorted. (The
    in-batch losses rank 2B - 1 terms per example: a full sort of each row cost ~40% of
    `--terms top` at B = 8,000.)
    """
    n, T = rank.shape
    if keep <= 0:  # --top 0 on a loss without positive terms: no term kept
        return np.empty((n, 0), dtype=np.int64)
    whole = rank.size if work is None else work
    if _jit.path_for(whole) != "py":
        out = np.empty((n, keep), dtype=np.int64)
        # serial: a block is a few rows, and a parallel call's thread-pool setup costs more
        _jit.run(lk.largest_first, whole, np.ascontiguousarray(rank), keep, out,
                 parallel=False)
        return out
    if keep * 8 >= T:  # few enough terms: the sort itself
        return np.argsort(-rank, axis=1, kind="stable")[:, :keep]
    kth = -np.partition(-rank, keep - 1, axis=1)[:, keep - 1]
    above = rank > kth[:, None]
    tied = rank == kth[:, None]
    room = keep - above.sum(axis=1)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= room[:, None]))
    candidates = np.nonzero(chosen)[1].reshape(n, keep)
    within = np.argsort(-np.take_along_axis(rank, candidates, axis=1), axis=1, kind="stable")
    return np.take_along_axis(candidates, within, axis=1)


def left_out(result: Result, view: TermsView) -> int:
    """How many terms per example the view leaves out."""
    positives = sum(1 for role in result.terms.role if role == "positive")
    return result.terms.count - view.kept(result.terms.count, positives)


def says_left_out(view: TermsView, missing: int) -> bool:
    """Whether an output says how many terms are left out (JSON `terms_left_out`, the
    table's line under each example): always under top, so that a script reading the key
    finds it (0 when --top keeps every term); otherwise where some are (none)."""
    return view.mode == "top" or missing > 0
