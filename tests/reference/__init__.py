"""Slow, obvious float64 references for every loss: Python floats, loops, math.fsum.

Independent of losscli on purpose: no numpy arithmetic, no helpers shared with the library.
Inputs are plain nested lists. Explicit losses take one example; in-batch losses take the
whole batch and return the per-example list. Each follows the formula as LOSSES.md and
LOSSES-MORE.md write it, not the library's stable rearrangement (the tests choose inputs
where the plain form is accurate). One module per family, as losscli/losses/specs/.
"""

from tests.reference.common import cosine, distance, dot, lse, norm, reduce, softplus
from tests.reference.explicit_negatives import (
    contrastive,
    contrastive_terms,
    infonce,
    quadruplet,
    triplet,
    triplet_terms,
)
from tests.reference.in_batch import (
    clip,
    dcl,
    dcl_batch_explicit,
    dcl_two_view,
    hard_infonce,
    hard_infonce_two_view,
    npair,
    npair_batch,
    ntxent_batch,
    siglip,
    supcon,
)
from tests.reference.paired_inputs import cosine_embedding, hinge_embedding, margin_ranking
from tests.reference.pairs import (
    circle,
    lifted_generalized,
    lifted_song,
    margin,
    multi_similarity,
)
from tests.reference.softmax import softmax_ce, softmax_ce_example

__all__ = [
    "circle", "clip", "contrastive", "contrastive_terms", "cosine", "cosine_embedding", "dcl",
    "dcl_batch_explicit", "dcl_two_view", "distance", "dot", "hard_infonce",
    "hard_infonce_two_view", "hinge_embedding", "infonce", "lifted_generalized", "lifted_song",
    "lse", "margin", "margin_ranking", "multi_similarity", "norm", "npair", "npair_batch",
    "ntxent_batch", "quadruplet", "reduce", "siglip", "softmax_ce", "softmax_ce_example",
    "softplus", "supcon", "triplet", "triplet_terms",
]
