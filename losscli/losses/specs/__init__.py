"""The registry's entries, one module per family of losses (pure data: no numpy, no numba).

    softmax             softmax-ce
    explicit_negatives  infonce, contrastive, triplet, quadruplet
    in_batch            supcon, ntxent-batch, clip, npair, dcl, hard-infonce, siglip
    pairs               multi-similarity, circle, lifted-structure, margin
    paired_inputs       cosine-embedding, hinge-embedding, margin-ranking

A new loss is one LossSpec in its family's module (and in that module's SPECS), the module
`losscli/losses/<name>.py` that evaluates it, and its kernel.
"""

from __future__ import annotations

from losscli.losses.spec import LossSpec
from losscli.losses.specs import explicit_negatives, in_batch, paired_inputs, pairs, softmax

FAMILIES: dict[str, tuple[LossSpec, ...]] = {
    "softmax": softmax.SPECS,
    "explicit-negatives": explicit_negatives.SPECS,
    "in-batch": in_batch.SPECS,
    "pairs": pairs.SPECS,
    "paired-inputs": paired_inputs.SPECS,
}
