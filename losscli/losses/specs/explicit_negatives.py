"""Losses over explicit negatives: each anchor scores its positive against negatives it is given
(InfoNCE's softmax, the margin losses' hinges; LOSSES.md)."""

from __future__ import annotations

from dataclasses import replace

from losscli.losses.spec import Column, Convention, LossSpec, Note, Param, Unused
from losscli.losses.specs.common import (
    DISTANCE_HELP,
    DISTANCES,
    PML_DISTANCES,
    PML_REDUCERS,
    SIMILARITIES,
    SINGLE_PAIR,
    SQRT_AT_ZERO,
    ZERO_COSINE,
)

_MARGIN = Param("margin", 1.0, "margin m (finite, >= 0)", check="nonnegative")

_REGIME = Column("regime", "hard (d_an < d_ap), semi-hard (d_an < d_ap + m) or easy", kind="str")

INFONCE = LossSpec(
    hardest=("negative", "probability"),
    name="infonce",
    emulated=True,
    title="InfoNCE, the softmax contrastive loss (NT-Xent)",
    summary="Softmax over the similarities of positive and negatives: -log softmax(s / t)_0.",
    formula=(
        "v_0 = s(a, p) / t,  v_k = s(a, n_k) / t\n"
        "loss = -log( exp(v_0) / sum_{j=0..K} exp(v_j) ) = LSE(v) - v_0"
    ),
    required=("anchor", "positive"),
    optional=("negatives",),
    zero_without=("negatives",),
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
        Column("false_negative", "possible false negative: s(a, n_k) >= s(a, p)", kind="bool"),
    ),
    streams=True,
    aliases=("ntxent", "nt-xent", "info-nce", "softmax-contrastive"),
    notes=(
        "The seed's `contrastive_loss` is this loss; the pairwise margin loss is `contrastive`.",
        "Without negatives (K = 0) the loss is 0, with a warning.",
    ),
    pitfalls=(
        "A tiny temperature turns the softmax into a max: the loss becomes (max s_n - s_p)+ / t "
        "and its gradient grows as 1 / t (warning below t = 1e-3); a large one flattens it "
        "towards log(K + 1).",
        ZERO_COSINE,
        "Dot similarity on unnormalized embeddings: the logits scale with the norms, so the "
        "effective temperature does too.",
        "A negative as similar to the anchor as the positive (s_an >= s_ap) may be a false "
        "negative: the `false_negative` column flags it.",
        "Libraries differ in the candidates: sentence-transformers' MNRL adds every other "
        "example's positive and negatives (in-batch), optax.ntxent averages both views.",
    ),
    gradient="with g_j = p_j - [j = 0] (the `gradient` column): dL/dp = g_0 a / t, "
    "dL/dn_k = g_k a / t, dL/da = (sum_k p_k n_k + (p_0 - 1) p) / t; under cosine these go "
    "through the normalization, (g - (g.u) u) / |x|",
    references=(
        "van den Oord, Li, Vinyals 2018, Representation Learning with Contrastive Predictive "
        "Coding; Chen et al. 2020 (SimCLR, NT-Xent)",
    ),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.cross_entropy(logits / {temperature}, zeros, "
            "reduction='{reduction}') over the logits [s(a, p), s(a, n_1), ...]",
            "losscli's own definition: cross entropy with the positive at index 0",
            source="pytorch/pytorch aten/src/ATen/native/LossNLL.cpp",
        ),
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.NTXentLoss(temperature={temperature}) with "
            "{similarity}",
            "cosine of normalized embeddings (its DotProductSimilarity normalizes too), "
            "t = 0.07, mean over the positive pairs; adds finfo.tiny inside the log",
            params={"similarity": "cosine", "temperature": 0.07},
            api_values={"similarity": {"cosine": "CosineSimilarity()",
                                       "dot": "DotProductSimilarity()"}},
            normalize=True, zero_single_pair=True,
            notes=(SINGLE_PAIR,),
            source="KevinMusgrave/pytorch-metric-learning src/pytorch_metric_learning/"
            "losses/ntxent_loss.py",
        ),
        "sentence-transformers": Convention(
            "sentence-transformers",
            "sentence_transformers.losses.MultipleNegativesRankingLoss(scale={1/temperature}, "
            "similarity_fct={similarity})",
            "cosine, scale 20 (t = 0.05), in-batch negatives: every anchor also scores the "
            "other examples' positives and negatives; (B, D) negatives are its negative "
            "column, one per anchor row (a bank of another size is every row's, so it counts "
            "B times); mean",
            params={"similarity": "cosine", "temperature": 0.05},
            api_values={"similarity": {"cosine": "cos_sim", "dot": "dot_score"}},
            negatives_form="in-batch", tiled=True,
            columns=(Column("candidate_role", "the candidate's role: positive, or negative k "
                            "(column k of the negatives)", kind="str"),
                     Column("candidate_index", "the candidate's example", kind="int")),
            negatives_layout="per-anchor",
            reductions=("mean", "none"),
            source="UKPLab/sentence-transformers sentence_transformers/losses/"
            "MultipleNegativesRankingLoss.py",
        ),
        "optax": Convention(
            "optax",
            "optax.losses.ntxent(embeddings=[a, p, n_1, ..., n_K], labels=[0, 0, 1, 2, ..., "
            "K], "
            "temperature={temperature}), one call per example",
            "cosine, t = 0.07, symmetric: the mean of the anchor's loss and the positive's "
            "(both views of the pair are anchors against the same negatives)",
            params={"similarity": "cosine", "temperature": 0.07},
            allowed={"similarity": ("cosine",)},
            negatives_form="symmetric",
            reductions=("mean", "none"),
            source="google-deepmind/optax optax/losses/_self_supervised.py",
        ),
    },
    empty_negatives=True,
)

CONTRASTIVE = LossSpec(
    hardest=("negative", "-distance"),
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
        Param("distance", "euclidean", DISTANCE_HELP, kind="choice", choices=DISTANCES),
    ),
    strength="term",
    columns=(
        Column("kind", "similar (a, p) or dissimilar (a, n_k)", kind="str"),
        Column("distance", "d of the pair"),
        Column("hinge", "what is squared: d (similar) or [m - d]+ (dissimilar)"),
        Column("term", "1/2 hinge^2"),
        Column("active", "term > 0", kind="bool"),
    ),
    streams=True,
    active_columns=("hinge",),
    aliases=("pairwise-contrastive", "margin-contrastive", "hadsell"),
    notes=(
        "With sqeuclidean, d is the squared distance and the similar term is 1/2 d^2 of it "
        "(literal substitution).",
    ),
    pitfalls=(
        "Not the softmax 'contrastive loss' of SimCLR/CLIP: that one is `infonce`.",
        "Squares and 1/2 factors differ between libraries (PML and torch use neither): the "
        "same name gives numbers 2x or d-vs-d^2 apart; `losscli compare` shows them.",
        SQRT_AT_ZERO,
        ZERO_COSINE,
    ),
    gradient="similar pair: d * dd/d(a, p) / (K + 1); dissimilar pair k: -[m - d_k]+ * "
    "dd_k/d(a, n_k) / (K + 1); euclidean dd/dx = (x - y) / d (0 at d = 0), sqeuclidean "
    "2 (x - y), cosine through the normalization",
    references=(
        "Hadsell, Chopra, LeCun 2006, Dimensionality Reduction by Learning an Invariant "
        "Mapping, Eq. 4",
    ),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.HingeEmbeddingLoss(margin={margin}, reduction='{reduction}') on "
            "torch.nn.functional.pairwise_distance(eps=1e-6), labels +1 (similar) / -1",
            "not squared, no 1/2: d for the similar pair, [m - d]+ for a dissimilar one; "
            "eps 1e-6 added to the difference; mean over all the pairs",
            allowed={"distance": ("euclidean",)},
            eps=1e-6, eps_placement="difference", half=False, squared=False,
            term_reduction={"sum": "sum"},
            source="pytorch/pytorch aten/src/ATen/native/Loss.cpp, Distance.cpp",
        ),
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.ContrastiveLoss(pos_margin=0, neg_margin={margin}"
            "{reduction}) with {distance}",
            "normalized embeddings, not squared, no 1/2: [d - 0]+ and [m - d]+ "
            "(m = neg_margin); AvgNonZero over the positive pairs plus AvgNonZero over the "
            "negative pairs (--reduction mean: MeanReducer, the mean over the positive pairs "
            "plus the mean over the negative pairs; sum: SumReducer)",
            allowed={"distance": ("euclidean", "sqeuclidean")},
            normalize=True, half=False, squared=False, zero_single_pair=True,
            reductions=("mean-nonzero-split", "mean", "sum", "none"),
            term_reduction={"mean-nonzero-split": "split", "none": "split",
                            "mean": "split-mean", "sum": "sum"},
            api_values={"distance": PML_DISTANCES,
                        "reduction": {**PML_REDUCERS, "mean-nonzero-split": ""}},
            notes=(SINGLE_PAIR,),
            source="KevinMusgrave/pytorch-metric-learning src/pytorch_metric_learning/"
            "losses/contrastive_loss.py",
        ),
        "sentence-transformers": Convention(
            "sentence-transformers",
            "sentence_transformers.losses.ContrastiveLoss(distance_metric={distance}, "
            "margin={margin}, size_average={reduction})",
            "1/2 (y d^2 + (1 - y)[m - d]+^2) with d = 1 - cos, m = 0.5, mean over the pairs "
            "(EUCLIDEAN is pairwise_distance: eps 1e-6 added to the difference)",
            params={"distance": "cosine", "margin": 0.5},
            allowed={"distance": ("cosine", "euclidean")},
            api_values={"distance": {"cosine": "COSINE_DISTANCE", "euclidean": "EUCLIDEAN"},
                        "reduction": {"mean": "True", "sum": "False"}},
            eps=1e-6, eps_placement="difference",
            reductions=("mean", "sum"),
            term_reduction={"sum": "sum"},
            source="UKPLab/sentence-transformers sentence_transformers/losses/"
            "ContrastiveLoss.py",
        ),
        "tf-addons": Convention(
            "tf-addons",
            "tfa.losses.contrastive_loss(y_true, y_pred=distances, margin={margin})",
            "y d^2 + (1 - y)[m - d]+^2: squared, no 1/2, m = 1; mean over the pairs "
            "(SUM_OVER_BATCH_SIZE)",
            half=False,
            term_reduction={"sum": "sum"},
            source="tensorflow/addons tensorflow_addons/losses/contrastive.py",
        ),
    },
)

# The soft triplet term is softplus(d_ap - d_an): a margin given with --soft moves only the
# regimes' labels (QA17 M1: --soft --margin 0.5 and --margin 3 gave one value, the margin
# reported in params without a word).
_TRIPLET_MARGIN = replace(_MARGIN, unused=Unused(
    "soft", True, "the soft term is softplus(d_ap - d_an); the margin sets only the regimes' "
    "semi-hard band, d_ap <= d_an < d_ap + m (--no-soft for the hinge [d_ap - d_an + m]+, or "
    "--like pytorch-metric-learning, whose soft term keeps it)", kept_by="soft_margin"))

TRIPLET = LossSpec(
    hardest=("negative", "-d_an"),
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
        _TRIPLET_MARGIN,
        Param("distance", "euclidean", DISTANCE_HELP, kind="choice", choices=DISTANCES),
        Param("negatives_reduction", "mean", "how the K terms of an example combine",
              kind="choice", choices=("mean", "sum", "max", "mean-active")),
        Param("swap", False, "use min(d(a, n), d(p, n)) as the negative distance", kind="bool"),
        Param("soft", False, "softplus(d_ap - d_an) instead of the hinge (margin unused)",
              kind="bool"),
    ),
    strength="term",
    columns=(
        Column("d_ap", "distance anchor-positive"),
        Column("d_an", "distance anchor-negative (after swap)"),
        Column("violation", "d_ap - d_an + m (m = 0 when soft)"),
        Column("term", "[violation]+, or softplus(d_ap - d_an) when soft"),
        _REGIME,
    ),
    streams=True,
    active_columns=("term",),
    aliases=("triplet-margin",),
    notes=(
        "With K = 1 and euclidean distance this is torch's TripletMarginLoss with eps = 0.",
        "mean-active over no active term is 0.",
    ),
    pitfalls=(
        "A loss of exactly m means d_ap = d_an: often collapsed embeddings.",
        SQRT_AT_ZERO,
        ZERO_COSINE,
        "Default margins span 0.05 (PML, on normalized embeddings) to 5 (sentence-"
        "transformers) for the 'same' loss; PML averages only the terms > 0.",
    ),
    gradient="term k's slope s_k = [violation_k > 0] (sigmoid(violation_k) when soft), times "
    "the reduction's weight w_k (1/K mean, 1 sum, the largest term for max, 1/#active for "
    "mean-active): dL/d(a, p) via d_ap with sum_k w_k s_k, dL/d(a, n_k) via d_an with "
    "-w_k s_k (via d(p, n_k) when swap chose it)",
    references=("Schroff, Kalenichenko, Philbin 2015, FaceNet; Balntas et al. 2016 (swap)",),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.TripletMarginLoss(margin={margin}, p=2, eps=1e-6, swap={swap}, "
            "reduction='{reduction}')",
            "d = ||x - y + 1e-6||_2 (eps added to the difference, so d(x, x) > 0); mean over "
            "the B K triplets",
            allowed={"distance": ("euclidean",)},
            unsupported={
                "soft": "torch's TripletMarginLoss has no soft term",
                "negatives_reduction": "torch reduces over all the triplets: use --reduction",
            },
            eps=1e-6, eps_placement="difference",
            term_reduction={"sum": "sum"},
            source="pytorch/pytorch aten/src/ATen/native/Loss.cpp, Distance.cpp",
            negatives_layout="per-anchor",
        ),
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.TripletMarginLoss(margin={margin}, swap={swap}, "
            "smooth_loss={soft}{reduction}) with {distance}",
            "normalized embeddings, m = 0.05, AvgNonZero: the mean over the triplets with a "
            "loss > 0 in the whole batch; smooth_loss is softplus(d_ap - d_an + m), margin "
            "kept",
            params={"margin": 0.05},
            unsupported={"negatives_reduction": "PML reduces over all the triplets of the "
                         "batch (AvgNonZeroReducer): use --reduction"},
            normalize=True, soft_margin=True,
            reductions=("mean-nonzero", "mean", "sum", "none"),
            term_reduction={"mean-nonzero": "mean-active", "none": "mean-active",
                            "sum": "sum"},
            api_values={"distance": PML_DISTANCES,
                        "reduction": {**PML_REDUCERS, "mean-nonzero": ""}},
            notes=(Note("cosine is CosineSimilarity: s_an - s_ap + m equals d_ap - d_an + m",
                        when={"distance": ("cosine",)}),),
            source="KevinMusgrave/pytorch-metric-learning src/pytorch_metric_learning/"
            "losses/triplet_margin_loss.py",
        ),
        "sentence-transformers": Convention(
            "sentence-transformers",
            "sentence_transformers.losses.TripletLoss(distance_metric={distance}, "
            "triplet_margin={margin})",
            "m = 5, exact euclidean distance (COSINE: 1 - cos), mean over the triplets",
            params={"margin": 5.0},
            allowed={"distance": ("euclidean", "cosine")},
            unsupported={
                "swap": "sentence-transformers' TripletLoss has no swap",
                "soft": "sentence-transformers' TripletLoss has no soft term "
                "(BatchHardSoftMarginTripletLoss mines its own triplets)",
                "negatives_reduction": "TripletLoss averages every triplet",
            },
            reductions=("mean",),
            api_values={"distance": {"euclidean": "EUCLIDEAN", "cosine": "COSINE"}},
            negatives_layout="per-anchor",
            notes=(Note("versions before 2025 measured EUCLIDEAN with F.pairwise_distance, "
                        "which adds eps 1e-6 to the difference (--like torch shows that "
                        "arithmetic)", when={"distance": ("euclidean",)}),),
            source="UKPLab/sentence-transformers sentence_transformers/sentence_transformer/"
            "losses/triplet.py (6.2)",
        ),
        "tf-addons": Convention(
            "tf-addons",
            "tfa.losses.triplet_hard_loss(margin={margin}, soft={soft}, "
            "distance_metric={distance})'s term for each of the anchors",
            "TF Addons' batch-hard term, for the anchors only, the positive being the hardest: "
            "[d_ap - min_k d_an + m]+ (soft: log1p(exp(d_ap - min_k d_an)), no margin); mean "
            "over the anchors. Not the value of any one call: triplet_hard_loss(labels, "
            "embeddings) makes every embedding an anchor (given [a, p, n_1, ...] it scores p "
            "and each n too, with their own hardest positive)",
            unsupported={
                "swap": "TF Addons' triplet losses have no swap",
                "negatives_reduction": "triplet_hard_loss keeps the hardest negative",
            },
            term_reduction={"mean": "max", "sum": "max", "none": "max"},
            reductions=("mean",),
            api_values={"distance": {"euclidean": "'L2'", "sqeuclidean": "'squared-L2'",
                                     "cosine": "'angular'"}},
            notes=("TF Addons computes the distances through a Gram matrix (about 1e-8 "
                   "relative off the exact ones losscli uses)",
                   "not what triplet_hard_loss returns on your arrays: it makes every "
                   "embedding an anchor; this is its term for each of your anchors"),
            source="tensorflow/addons tensorflow_addons/losses/triplet.py",
        ),
        "optax": Convention(
            "optax",
            "optax.losses.triplet_margin_loss(margin={margin}, norm_degree=2, eps=1e-6)",
            "d = (sum (x - y)^2 + 1e-6)^(1/2) (eps under the root); unreduced, one loss "
            "per triplet",
            allowed={"distance": ("euclidean",)},
            unsupported={
                "swap": "optax's triplet_margin_loss has no swap",
                "soft": "optax's triplet_margin_loss has no soft term",
                "negatives_reduction": "optax returns one loss per triplet",
            },
            eps=1e-6, eps_placement="root",
            reductions=("none",),
            negatives_layout="per-anchor",
            notes=(Note("with K > 1 negatives an example's loss is the mean of its K triplets",
                        inputs=True),),
            source="google-deepmind/optax optax/losses/_self_supervised.py",
        ),
    },
)

QUADRUPLET = LossSpec(
    hardest=("negative", "-d_an"),
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
        Param("distance", "sqeuclidean", DISTANCE_HELP + "; the paper uses sqeuclidean",
              kind="choice", choices=DISTANCES),
    ),
    strength="triplet_term",
    columns=(
        Column("d_ap", "distance anchor-positive"),
        Column("d_an", "distance anchor-negative k"),
        Column("d_nn", "distance between negative k and its partner n2_k"),
        Column("triplet_term", "[d_ap - d_an + m1]+"),
        Column("pair_term", "[d_ap - d_nn + m2]+"),
        _REGIME,
    ),
    streams=True,
    active_columns=("triplet_term", "pair_term"),
    aliases=("quad",),
    notes=(
        "Without negatives2, n2_k is the next negative n_{(k+1) mod K} (needs K >= 2); "
        "params then say \"pairing\": \"rolled\".",
    ),
    pitfalls=(
        "margin2 > margin inverts the paper's ordering (warning).",
        "The paper uses squared distances (the default sqeuclidean); euclidean changes the "
        "margins' scale.",
        SQRT_AT_ZERO,
        ZERO_COSINE,
    ),
    gradient="each active triplet term pulls (a, p) together and pushes (a, n_k) apart with "
    "weight 1/K; each active pair term pulls (a, p) and pushes (n2_k, n_k) apart with weight "
    "1/K (rolled: onto the next negative)",
    references=(
        "Chen, Chen, Zhang, Huang 2017, Beyond triplet loss: a deep quadruplet network for "
        "person re-identification",
    ),
)

SPECS: tuple[LossSpec, ...] = (INFONCE, CONTRASTIVE, TRIPLET, QUADRUPLET,)
