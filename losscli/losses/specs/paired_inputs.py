"""Losses over labelled pairs: x1, x2 and a +1/-1 label per example (torch's embedding and
ranking losses; LOSSES-MORE.md)."""

from __future__ import annotations

from dataclasses import replace

from losscli.losses.spec import Column, Convention, LossSpec, Param
from losscli.losses.specs.common import (
    DISTANCE_HELP,
    distance,
)
from losscli.model import ExampleForm

# The libraries' constants, as the float64 numbers their float64 arithmetic uses.
TORCH_COSINE_EPS = 9.999999960041972e-13  # aten Loss.cpp `constexpr float EPSILON = 1e-12`

_TORCH_LOSS_CPP = "pytorch/pytorch aten/src/ATen/native/Loss.cpp (torch 2.13 run to confirm)"

_LABEL_NOTE = "label is +1 or -1 per pair (integral floats accepted); anything else is an " \
    "input error (torch does not check)."

COSINE_EMBEDDING = LossSpec(
    hardest=("pair", "term"),
    name="cosine-embedding",
    title="torch's CosineEmbeddingLoss",
    summary="1 - cos(x1, x2) for label +1, [cos(x1, x2) - m]+ for label -1.",
    formula=(
        "c = cos(x1, x2)  (exact; 0 with a warning for an all-zero vector)\n"
        "label +1: 1 - c        label -1: [c - m]+"
    ),
    # One pair is two vectors: a number per line is not a pair (stacked, the numbers would
    # be read as one pair of vectors of the lines' length).
    example_forms={"x1": ExampleForm((1,), "(D,)"),
                   "x2": ExampleForm((1,), "(D,), x1's shape")},
    required=("x1", "x2", "label"),
    optional=(),
    params=(
        Param("margin", 0.0, "margin m (finite, in [-1, 1]; torch suggests 0 to 0.5)",
              check="signed-unit"),
    ),
    strength="term",
    columns=(
        Column("label", "+1 (similar) or -1 (dissimilar)"),
        Column("cosine", "cos(x1, x2)"),
        Column("term", "1 - c, or [c - m]+"),
        Column("active", "label -1 and c > m", kind="bool"),
    ),
    aliases=("cosine-embedding-loss", "cosineembedding"),
    notes=(
        "x1 and x2 are (D,) for one pair or (B, D) for a batch.",
        _LABEL_NOTE,
        "Gradient through the cosine; the subgradient is 0 at the kink c = m.",
    ),
    pitfalls=(
        "torch adds eps = 1e-12 (a float32 constant) to the squared norms: cos(x, x) < 1 and "
        "tiny vectors are pulled toward 0 (--like torch).",
    ),
    gradient="d term / d c = -1 for label +1; for label -1, +1 while c > m and 0 otherwise "
    "(subgradient 0 at the kink c = m); through the cosine: dc / dx1 = (u2 - c u1) / "
    "|x1|, dc / dx2 = (u1 - c u2) / |x2|",
    references=("torch.nn.CosineEmbeddingLoss (aten/src/ATen/native/Loss.cpp)",),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.cosine_embedding_loss(x1, x2, label, margin={margin}, "
            "reduction='{reduction}')",
            "c = x1.x2 / sqrt((|x1|^2 + eps)(|x2|^2 + eps)) with torch's float32 eps 1e-12 "
            "(9.999999960041972e-13 in float64), so cos(x, x) < 1 and tiny vectors are pulled "
            "toward 0; a label other than +1/-1 gives 0",
            eps=TORCH_COSINE_EPS, eps_placement="norms", unchecked_labels=True,
            source=_TORCH_LOSS_CPP,
        ),
    },
)

HINGE_EMBEDDING = LossSpec(
    hardest=("pair", "term"),
    name="hinge-embedding",
    title="torch's HingeEmbeddingLoss",
    summary="x for label +1, [m - x]+ for label -1, with x given or a distance d(x1, x2).",
    formula=(
        "x = x1 (given values), or x = d(x1, x2) for vectors\n"
        "label +1: x        label -1: [m - x]+"
    ),
    # x2 is only ever the second vector of a pair (x1 alone may be a value per pair).
    example_forms={"x2": ExampleForm((1,), "(D,), x1's shape")},
    required=("x1", "label"),
    optional=("x2",),
    params=(
        Param("margin", 1.0, "margin m (finite, >= 0)", check="nonnegative"),
        replace(distance(DISTANCE_HELP + "; used when x2 is given (vector form)"),
                with_role="x2"),
    ),
    strength="term",
    columns=(
        Column("label", "+1 or -1"),
        Column("x", "the value x (given, or d(x1, x2))"),
        Column("term", "x, or [m - x]+"),
        Column("active", "label +1, or label -1 with x < m", kind="bool"),
    ),
    aliases=("hinge-embedding-loss", "hingeembedding"),
    notes=(
        "Either x1 alone, (B,) values (torch's input, e.g. precomputed distances), or x1 and x2 "
        "(B, D) with x = d(x1, x2).",
        _LABEL_NOTE,
        "d term / d x is 1 for label +1; for label -1 it is -1 while x < m and 0 otherwise, "
        "including at the kink.",
    ),
    pitfalls=(
        "torch's docs suggest an L1 distance as x: pass it precomputed as x1.",
        "torch's pairwise_distance adds eps 1e-6 to the difference; losscli's distance is exact.",
    ),
    gradient="d term / d x = 1 for label +1; for label -1, -1 while x < m and 0 otherwise, the "
    "kink included; on given values that is d term / d x1, on vectors it flows through "
    "the distance as in LOSSES.md (euclidean: (x1 - x2) / d, 0 at d = 0)",
    references=("torch.nn.HingeEmbeddingLoss (aten/src/ATen/native/Loss.cpp)",),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.hinge_embedding_loss(x, label, margin={margin}, "
            "reduction='{reduction}'), x = x1 or "
            "torch.nn.functional.pairwise_distance(x1, x2)",
            "where(label != 1, [m - x]+, 0) + where(label != -1, x, 0): a label that is "
            "neither +1 nor -1 (e.g. 0) gets both terms; the vector form's distance adds eps "
            "1e-6 to the difference",
            allowed={"distance": ("euclidean",)},
            eps=1e-6, eps_placement="difference", unchecked_labels=True,
            source=_TORCH_LOSS_CPP + ", Distance.cpp",
        ),
    },
)

MARGIN_RANKING = LossSpec(
    hardest=("pair", "term"),
    name="margin-ranking",
    title="torch's MarginRankingLoss",
    summary="[-y (x1 - x2) + m]+: x1 should rank above x2 when y = +1, below when y = -1.",
    formula="term = [-y (x1 - x2) + m]+",
    # One pair is two scores: a vector per line would be several pairs.
    example_forms={"x1": ExampleForm((0,), "a number (a score)"),
                   "x2": ExampleForm((0,), "a number (a score)")},
    required=("x1", "x2", "label"),
    optional=(),
    params=(Param("margin", 0.0, "margin m (finite, >= 0)", check="nonnegative"),),
    strength="term",
    columns=(
        Column("label", "y: +1 (x1 should rank higher) or -1"),
        Column("x1", "the first score"),
        Column("x2", "the second score"),
        Column("signed_difference", "y (x1 - x2)"),
        Column("term", "[-y (x1 - x2) + m]+"),
        Column("active", "term > 0", kind="bool"),
    ),
    aliases=("margin-ranking-loss", "ranking", "marginranking"),
    notes=(
        "x1, x2 and label are scalars for one pair or (B,) each; the shapes must match exactly "
        "(no broadcasting, as torch since PR #64975).",
        _LABEL_NOTE,
        "While a term is active d/dx1 = -y and d/dx2 = +y; otherwise 0, including at the kink.",
    ),
    pitfalls=("torch accepts a negative margin; losscli treats it as a usage error.",),
    gradient="while a term is active, d term / d x1 = -y and d term / d x2 = +y; otherwise 0, the "
    "kink included",
    references=("torch.nn.MarginRankingLoss (aten/src/ATen/native/Loss.cpp)",),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.margin_ranking_loss(x1, x2, label, margin={margin}, "
            "reduction='{reduction}')",
            "[-y (x1 - x2) + m]+ for any real y: labels are not checked, so a y other than "
            "+1/-1 scales the difference",
            unchecked_labels=True,
            source=_TORCH_LOSS_CPP,
        ),
    },
)

SPECS: tuple[LossSpec, ...] = (COSINE_EMBEDDING, HINGE_EMBEDDING, MARGIN_RANKING,)
