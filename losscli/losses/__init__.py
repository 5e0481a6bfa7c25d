"""The registry of losses: the single source of each loss's facts.

Written out explicitly (no import-time discovery): `losscli losses`, `explain`, `--help`,
the README table and the parametrized tests all read LOSSES. Implementations are imported
only when a loss runs, so reading the registry imports neither numpy nor numba.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from losscli.errors import UsageError
from losscli.losses._more_specs import MORE_LOSSES
from losscli.losses.spec import Column, LossSpec, Param, closest_hint

REDUCTIONS = ("mean", "sum", "none")
DISTANCES = ("euclidean", "sqeuclidean", "cosine")
SIMILARITIES = ("dot", "cosine")

_DISTANCE_HELP = "euclidean (exact, no eps), sqeuclidean (squared), or cosine (1 - cosine)"

SOFTMAX_CE = LossSpec(
    name="softmax-ce",
    title="softmax cross entropy",
    summary="Classification: -sum_c w_c q_c log softmax(x)_c, index or probability targets.",
    formula=(
        "p_c = exp(x_c - LSE(x))\n"
        "index target y:        loss = -w_y log p_y\n"
        "probability target q:  loss = -sum_c w_c q_c log p_c\n"
        "label smoothing e:     q = (1 - e) onehot(y) + e / C  (or (1 - e) q + e / C)\n"
        "mean over a batch: / sum_n w_{y_n} (index targets), / B (probability targets)"
    ),
    required=("logits", "target"),
    optional=("weight",),
    params=(
        Param("label_smoothing", 0.0, "mass e spread uniformly over the C classes", check="unit"),
        Param("ignore_index", None, "drop examples whose class-index target equals this",
              kind="int"),
    ),
    columns=(
        Column("logit", "the class's logit x_c"),
        Column("probability", "softmax probability p_c"),
        Column("log_probability", "log p_c"),
        Column("target_mass", "target probability q_c (after label smoothing)"),
        Column("contribution", "-w_c q_c log p_c; the example's loss is their sum"),
        Column("gradient", "d loss / d logit_c = p_c sum_k w_k q_k - w_c q_c"),
    ),
    implementation="losscli.losses.softmax_ce:evaluate",
    aliases=("cross-entropy", "ce", "softmax-cross-entropy"),
    notes=(
        "Targets: one class index per example (integral floats accepted) or a row of "
        "probabilities per example.",
        "Ignored examples (--ignore-index) show loss 0 and are left out of the mean.",
    ),
    pitfalls=(
        "With class weights, `mean` divides by the sum of the targets' weights, not by B (torch).",
    ),
    references=("torch.nn.CrossEntropyLoss; optax.softmax_cross_entropy",),
    conventions={
        "torch": "weighted mean divides by sum w_y; smoothing (1-e) onehot + e/C",
        "tf-addons": "Keras: probability targets by default",
        "optax": "unreduced, one loss per example",
    },
)

INFONCE = LossSpec(
    name="infonce",
    title="InfoNCE, the softmax contrastive loss (NT-Xent)",
    summary="Softmax over the similarities of positive and negatives: -log softmax(s / t)_0.",
    formula=(
        "v_0 = s(a, p) / t,  v_k = s(a, n_k) / t\n"
        "loss = -log( exp(v_0) / sum_{j=0..K} exp(v_j) ) = LSE(v) - v_0"
    ),
    required=("anchor", "positive"),
    optional=("negatives",),
    params=(
        Param("temperature", 0.07, "softmax temperature t (finite, > 0)", check="positive",
              short="-t"),
        Param("similarity", "dot", "dot (as in the seed) or cosine", kind="choice",
              choices=SIMILARITIES),
    ),
    columns=(
        Column("similarity", "s(a, p) for the positive, s(a, n_k) for negative k"),
        Column("logit", "similarity / temperature"),
        Column("probability", "softmax share of the partition; large ones are hard negatives"),
        Column("gradient", "d loss / d logit_j = p_j - [j = 0]"),
    ),
    implementation="losscli.losses.infonce:evaluate",
    aliases=("ntxent", "nt-xent", "info-nce", "softmax-contrastive"),
    notes=(
        "The seed's `contrastive_loss` is this loss; the pairwise margin loss is `contrastive`.",
        "Without negatives (K = 0) the loss is 0, with a warning.",
    ),
    pitfalls=(
        "A tiny temperature turns the softmax into a max: the loss becomes (max s_n - s_p)+ / t.",
        "Under cosine, a zero vector has no direction: its cosine is taken as 0 (warning).",
    ),
    references=(
        "van den Oord, Li, Vinyals 2018, Representation Learning with Contrastive Predictive "
        "Coding; Chen et al. 2020 (SimCLR, NT-Xent)",
    ),
    conventions={
        "torch": "CrossEntropy over [s_ap, s_an] / t",
        "pytorch-metric-learning": "NTXent t = 0.07, cosine, normalized inputs",
        "sentence-transformers": "MNRL scale 20 (t = 0.05), cosine",
        "optax": "ntxent t = 0.07, cosine",
    },
)

_MARGIN = Param("margin", 1.0, "margin m (finite, >= 0)", check="nonnegative")

CONTRASTIVE = LossSpec(
    name="contrastive",
    title="pairwise margin contrastive loss (Hadsell, Chopra, LeCun 2006)",
    summary="1/2 d^2 for the similar pair, 1/2 [m - d]+^2 per dissimilar pair, mean over pairs.",
    formula=(
        "similar pair (a, p):      1/2 d^2\n"
        "dissimilar pair (a, n_k): 1/2 [m - d]+^2\n"
        "loss = mean over the 1 + K pairs"
    ),
    required=("anchor", "positive", "negatives"),
    optional=(),
    params=(
        _MARGIN,
        Param("distance", "euclidean", _DISTANCE_HELP, kind="choice", choices=DISTANCES),
    ),
    columns=(
        Column("kind", "similar (a, p) or dissimilar (a, n_k)", kind="str"),
        Column("distance", "d of the pair"),
        Column("hinge", "what is squared: d (similar) or [m - d]+ (dissimilar)"),
        Column("term", "1/2 hinge^2"),
        Column("active", "term > 0", kind="bool"),
    ),
    implementation="losscli.losses.contrastive:evaluate",
    aliases=("pairwise-contrastive", "margin-contrastive", "hadsell"),
    notes=(
        "With sqeuclidean, d is the squared distance and the similar term is 1/2 d^2 of it "
        "(literal substitution).",
    ),
    pitfalls=("Not the softmax 'contrastive loss' of SimCLR/CLIP: that one is `infonce`.",),
    references=(
        "Hadsell, Chopra, LeCun 2006, Dimensionality Reduction by Learning an Invariant "
        "Mapping, Eq. 4",
    ),
    conventions={
        "torch": "HingeEmbedding on distances, labels +-1",
        "pytorch-metric-learning": "pos_margin 0, neg_margin 1, not squared, no 1/2, normalized "
        "inputs, mean over non-zero pos + mean over non-zero neg",
        "sentence-transformers": "1/2 (y d^2 + (1-y)[m-d]+^2), cosine distance, m = 0.5, mean",
        "tf-addons": "y d^2 + (1-y)[m-d]+^2, no 1/2, m = 1",
    },
)

_REGIME = Column("regime", "hard (d_an < d_ap), semi-hard (d_an < d_ap + m) or easy", kind="str")

TRIPLET = LossSpec(
    name="triplet",
    title="triplet margin loss",
    summary="[d(a, p) - d(a, n_k) + m]+ per negative, reduced over the K negatives.",
    formula=(
        "term k = [d(a, p) - d(a, n_k) + m]+        (soft: softplus(d(a, p) - d(a, n_k)))\n"
        "swap:   d(a, n_k) -> min(d(a, n_k), d(p, n_k))\n"
        "loss = mean_k term k  (or sum, max, mean over active terms)"
    ),
    required=("anchor", "positive", "negatives"),
    optional=(),
    params=(
        _MARGIN,
        Param("distance", "euclidean", _DISTANCE_HELP, kind="choice", choices=DISTANCES),
        Param("negatives_reduction", "mean", "how the K terms of an example combine",
              kind="choice", choices=("mean", "sum", "max", "mean-active")),
        Param("swap", False, "use min(d(a, n), d(p, n)) as the negative distance", kind="bool"),
        Param("soft", False, "softplus(d_ap - d_an) instead of the hinge (margin unused)",
              kind="bool"),
    ),
    columns=(
        Column("d_ap", "distance anchor-positive"),
        Column("d_an", "distance anchor-negative (after swap)"),
        Column("violation", "d_ap - d_an + m (m = 0 when soft)"),
        Column("term", "[violation]+, or softplus(d_ap - d_an) when soft"),
        _REGIME,
    ),
    implementation="losscli.losses.triplet:evaluate",
    aliases=("triplet-margin",),
    notes=(
        "With K = 1 and euclidean distance this is torch's TripletMarginLoss with eps = 0.",
        "mean-active over no active term is 0.",
    ),
    pitfalls=(
        "A loss of exactly m means d_ap = d_an: often collapsed embeddings.",
        "sqrt at zero distance: the euclidean gradient there is taken as 0, never NaN.",
    ),
    references=("Schroff, Kalenichenko, Philbin 2015, FaceNet; Balntas et al. 2016 (swap)",),
    conventions={
        "torch": "m = 1, p = 2, d = norm(x - y + 1e-6), swap off",
        "pytorch-metric-learning": "m = 0.05, normalized inputs, mean over non-zero terms",
        "sentence-transformers": "m = 5, euclidean",
        "tf-addons": "m = 1",
        "optax": "m = 1, d = (sum (x-y)^2 + 1e-6)^(1/2)",
    },
)

QUADRUPLET = LossSpec(
    name="quadruplet",
    title="quadruplet loss (Chen, Chen, Zhang, Huang, CVPR 2017)",
    summary="Triplet terms plus pair terms [d(a, p) - d(n2_k, n_k) + m2]+ between two negatives.",
    formula=(
        "triplet term k = [d(a, p) - d(a, n_k) + m1]+\n"
        "pair term k    = [d(a, p) - d(n2_k, n_k) + m2]+\n"
        "loss = mean_k triplet terms + mean_k pair terms"
    ),
    required=("anchor", "positive", "negatives"),
    optional=("negatives2",),
    params=(
        Param("margin", 1.0, "margin m1 of the triplet terms (finite, >= 0)",
              check="nonnegative"),
        Param("margin2", 0.5, "margin m2 of the pair terms (finite, >= 0; the paper asks m2 < m1)",
              check="nonnegative"),
        Param("distance", "sqeuclidean", _DISTANCE_HELP + "; the paper uses sqeuclidean",
              kind="choice", choices=DISTANCES),
    ),
    columns=(
        Column("d_ap", "distance anchor-positive"),
        Column("d_an", "distance anchor-negative k"),
        Column("d_nn", "distance between negative k and its partner n2_k"),
        Column("triplet_term", "[d_ap - d_an + m1]+"),
        Column("pair_term", "[d_ap - d_nn + m2]+"),
        _REGIME,
    ),
    implementation="losscli.losses.quadruplet:evaluate",
    aliases=("quad",),
    notes=(
        "Without negatives2, n2_k is the next negative n_{(k+1) mod K} (needs K >= 2); "
        "params then say \"pairing\": \"rolled\".",
    ),
    pitfalls=("margin2 > margin inverts the paper's ordering (warning).",),
    references=(
        "Chen, Chen, Zhang, Huang 2017, Beyond triplet loss: a deep quadruplet network for "
        "person re-identification",
    ),
)

LOSSES: dict[str, LossSpec] = {
    spec.name: spec for spec in (SOFTMAX_CE, INFONCE, CONTRASTIVE, TRIPLET, QUADRUPLET,
                                 *MORE_LOSSES)
}

ALIASES: dict[str, str] = {alias: s.name for s in LOSSES.values() for alias in s.aliases}


def get_spec(name: str) -> LossSpec:
    """The registry entry for a name or alias, or a usage error with the closest name."""
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key in LOSSES:
        return LOSSES[key]
    names = list(LOSSES) + list(ALIASES)
    raise UsageError(
        f"unknown loss {name!r}",
        f"choose one of {', '.join(LOSSES)}{closest_hint(key, names)}",
    )


def implementation(spec: LossSpec) -> Callable:
    """The function that evaluates a loss, imported on first use."""
    module, _, func = spec.implementation.partition(":")
    return getattr(importlib.import_module(module), func)


__all__ = [
    "ALIASES",
    "DISTANCES",
    "LOSSES",
    "REDUCTIONS",
    "SIMILARITIES",
    "Column",
    "LossSpec",
    "Param",
    "get_spec",
    "implementation",
]
