"""An explicit loss's breakdown: whole when small, a block of examples at a time when large.

The explicit losses score an anchor against its positive and K negatives: T ~ K terms an
example, B x T in all, each row its own example's. Per-anchor negatives (B, K, D) are larger
than that breakdown, but a shared bank (K, D), MoCo's queue, gives B x K terms from O(K D)
of input: `compute infonce` with B = K = 8,192 held 2.4 GB for `--terms none`, triplet 5.1
GB. So above EAGER_TERMS the loss's kernel runs over blocks of examples, only the
per-example losses are kept, and a block's columns are computed again when the breakdown is
read (LazyTerms): the same kernel on the same rows, on the path (compiled or interpreted,
serial or parallel) the whole batch's work chooses, so the same bits as the whole-batch run.
Whatever spans the batch is made so that blocks add up to the same bits: a reduction over
all terms from per-example parts (`active_parts`), a shared bank's similarities from BLAS
products on a fixed grid of rows (`vectors.SimilarityRows`).

With `--grad` the breakdown stays whole: the gradient kernels read its columns, and the
gradients themselves (B x K x D numbers) are larger than it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from losscli.model import SCAN_TERMS, LazyTerms, Terms

# Terms above which an explicit loss's breakdown is computed a block at a time (~100 bytes
# a term held whole: ~200 MB).
EAGER_TERMS = 1 << 21

# rows(start, stop) -> (the per-example arrays of examples [start, stop), "loss" among them;
# their columns)
Rows = Callable[[int, int], tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]


def is_lazy(batch: int, terms: int, grad: bool) -> bool:
    """Whether a breakdown of batch x terms terms is computed a block at a time."""
    return not grad and batch * terms > EAGER_TERMS


def by_rows(batch: int, role: tuple[str, ...], index: tuple[int, ...], rows: Rows, grad: bool,
            ) -> tuple[dict[str, np.ndarray], Terms | LazyTerms]:
    """(the per-example arrays, the breakdown) of `rows`: each example's from its own row
    alone, its kernels' path chosen by the whole batch's work (`_jit.run(kernel,
    whole_work, ...)`). A reduction over all terms is made of per-example parts
    (active_parts), never summed across blocks."""
    if not is_lazy(batch, len(role), grad):
        examples, columns = rows(0, batch)
        return examples, Terms(role=role, index=index, columns=columns)
    examples: dict[str, np.ndarray] = {}
    names: tuple[str, ...] = ()
    step = max(1, SCAN_TERMS // max(1, len(role)))
    for start in range(0, batch, step):
        stop = min(batch, start + step)
        block_examples, columns = rows(start, stop)
        for name, values in block_examples.items():
            if name not in examples:
                examples[name] = np.empty(batch, dtype=values.dtype)
            examples[name][start:stop] = values
        names = tuple(columns)

    def block(start: int, stop: int) -> dict[str, np.ndarray]:
        return rows(start, stop)[1]

    return examples, LazyTerms(role, index, names, batch, block)


def example_rows(array: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Examples [start, stop) of a per-example array; a shared bank (one row of negatives
    for every example) whole."""
    return array if array.shape[0] == 1 else array[start:stop]


def active_parts(terms: np.ndarray) -> dict[str, np.ndarray]:
    """Each example's sum and count of its terms > 0 ((n, T) -> (n,) each): what a mean
    over the batch's active terms (PML's AvgNonZeroReducer) is made of, the same bits
    whether the examples come whole or by blocks (a running sum over blocks rounds apart
    from one sum over B x T)."""
    active = terms > 0.0
    return {"active_sum": np.where(active, terms, 0.0).sum(axis=1),
            "active_count": active.sum(axis=1)}


def mean_of_active(examples: dict[str, np.ndarray]) -> float:
    """The mean of the batch's terms > 0 from each example's active_parts; 0 when none is."""
    count = int(examples["active_count"].sum())
    return float(examples["active_sum"].sum() / count) if count else 0.0
