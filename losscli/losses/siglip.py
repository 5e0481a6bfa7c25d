"""SigLIP's pairwise sigmoid loss over the paired batch (Zhai et al. 2023).

    x_ij = scale * s(a_i, p_j) + bias;  z_ii = +1, z_ij = -1 (j != i)
    l_ij = softplus(-z_ij x_ij);  example i: sum_j l_ij;  mean = (1/B) sum_ij l_ij

Every pair stands alone, so each tile of rows (losses/tiles.py) gives its rows' losses whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.kernels import _jit
from losscli.kernels import tiles as tk
from losscli.losses import tiles
from losscli.losses.forms import PairedBatch, paired_batch
from losscli.losses.results import result, shape_dict
from losscli.losses.spec import Convention
from losscli.losses.specs.in_batch import SIGLIP
from losscli.losses.term_columns import Cells, Column, Reordered
from losscli.model import Inputs, LazyTerms, Result

NAMES = ("label", "similarity", "logit", "sigmoid", "term", "gradient", "candidate_index")


def evaluate(inputs: Inputs, params: dict[str, Any], reduction: str, grad: bool = False,
             convention: Convention | None = None) -> Result:
    """torch's BCE-with-logits and open_clip's SigLipLoss are this definition: `convention`
    changes nothing here."""
    warnings: list[str] = []
    scale, bias = float(params["scale"]), float(params["bias"])
    pairs = paired_batch(inputs, SIGLIP.name, params["similarity"] == "cosine", warnings,
                         minimum=SIGLIP.min_batch, grad=grad, differenced=False)
    B = pairs.batch
    loss = np.empty(B)
    with _jit.job(pairs.work):
        for r0, tile in pairs.tiles():
            _jit.run(tk.sigmoid_row_losses, pairs.work, tile, r0, scale, bias, loss)
    terms = LazyTerms(("positive",) + ("negative",) * (B - 1), (0,) + tuple(range(B - 1)),
                      NAMES, B, tiles.on_demand(_Breakdown(pairs, scale, bias).block, pairs.work),
                      pairs.pairs)
    gradients = None
    if grad:
        def to_grad(r0: int, tile: np.ndarray) -> None:
            _jit.run(tk.sigmoid_tile_grad, pairs.work, tile, r0, scale, bias, scale)

        with _jit.job(pairs.work):
            gradients = pairs.gradients(to_grad)
    return result(SIGLIP.name, params, reduction, loss, shape_dict(B, B - 1, pairs.dim),
                  terms, warnings, gradients)


class _Breakdown:
    """Row i of the pairs on demand: (a_i, p_i) first, then (a_i, p_j) for j != i."""

    def __init__(self, pairs: PairedBatch, scale: float, bias: float) -> None:
        self.pairs, self.scale, self.bias = pairs, scale, bias

    def block(self, start: int, stop: int) -> dict[str, Column]:
        B = self.pairs.batch
        S = self.pairs.rows(start, stop)
        logit = np.empty_like(S)
        sig = np.empty_like(S)
        term = np.empty_like(S)
        grad = np.empty_like(S)
        _jit.run(tk.sigmoid_row_terms, S.size * 8, S, start, self.scale, self.bias, logit,
                 sig, term, grad)
        n = stop - start
        first = np.arange(start, stop)
        every = np.broadcast_to(np.arange(B), S.shape)
        columns: dict[str, Column] = {"label": Cells(n, B, -1.0, {0: np.ones(n)})}
        columns.update((name, Reordered(values, first)) for name, values in
                       (("similarity", S), ("logit", logit), ("sigmoid", sig), ("term", term),
                        ("gradient", grad), ("candidate_index", every)))
        return columns


__all__ = ["evaluate"]
