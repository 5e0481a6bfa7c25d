"""Pair-based metric losses: every positive and negative pair of an anchor weighted or
margined (multi-similarity, circle, lifted structure, margin; LOSSES-MORE.md)."""

from __future__ import annotations

from losscli.losses.spec import Column, Convention, LossSpec, Note, Param
from losscli.losses.specs.common import (
    DISTANCE_HELP,
    PML,
    PML_DISTANCES,
    PML_PER_CALL,
    PML_REDUCERS,
    PML_SIMILARITIES,
    PML_SINGLE_PAIR,
    distance,
    similarity,
)

MULTI_SIMILARITY = LossSpec(
    hardest=("negative", "weight"),
    name="multi-similarity",
    title="multi-similarity loss (Wang et al. 2019, as PML implements it)",
    summary="Soft log-sum-exp penalties on positives below and negatives above the base lambda.",
    formula=(
        "loss = (1/alpha) log(1 + sum_p e^{-alpha (s_p - lambda)})\n"
        "     + (1/beta)  log(1 + sum_k e^{beta (s_k - lambda)})"
    ),
    required=("anchor", "positives"),
    optional=("positive", "negatives"),
    stand_ins={"positives": "positive"},
    params=(
        Param("alpha", 2.0, "positive scale alpha (finite, > 0)", check="positive"),
        Param("beta", 50.0, "negative scale beta (finite, > 0)", check="positive"),
        Param("base", 0.5, "base lambda (finite)"),
        similarity(help="cosine (default, as in PML) or dot"),
    ),
    columns=(
        Column("kind", "positive or negative", kind="str"),
        Column("similarity", "s(a, c)"),
        Column("exponent", "x = -alpha (s - lambda) (positives) or beta (s - lambda) "
               "(negatives)"),
        Column("weight", "pair weight w = e^x / (1 + sum e^x) within its set"),
        Column("gradient", "d loss / d s: -w (positives), +w (negatives)"),
        Column("pos_loss", "the example's positive part (repeated on each row)"),
        Column("neg_loss", "the example's negative part (repeated on each row)"),
    ),
    aliases=("ms", "multisimilarity", "ms-loss"),
    notes=(
        "positive (P = 1) or positives (P >= 1); negatives optional (K = 0 gives a 0 negative "
        "part).",
        "No mining: PML moves the original code's mining into MultiSimilarityMiner.",
    ),
    pitfalls=(
        "beta 50 makes the negative part nearly a hinge: a negative above the base by 0.1 "
        "already weighs e^5.",
    ),
    gradient="the pair weight is the gradient: d loss / d s_p = -w_p and d loss / d s_k = +w_k, w "
    "= e^x / (1 + sum e^x) within its term (the `gradient` column); then through each "
    "similarity to its two vectors (dot: ds(x, y)/dx = y; cosine: (u_y - (u_x . u_y) u_x) "
    "/ |x|)",
    references=(
        "Wang et al. 2019, Multi-Similarity Loss with General Pair Weighting for Deep Metric "
        "Learning; PML MultiSimilarityLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.MultiSimilarityLoss(alpha={alpha}, beta={beta}, "
            "base={base}{reduction}) with {similarity}, the anchor against ref_emb = its "
            "positives and negatives",
            "losscli's own definition (no mining: that is MultiSimilarityMiner's); mean",
            zero_single_pair=True,
            reductions=("mean", "sum", "none", "mean-nonzero"),
            api_values={"similarity": PML_SIMILARITIES,
                        "reduction": {**PML_REDUCERS, "mean": "",
                                      "mean-nonzero": ", reducer=AvgNonZeroReducer()"}},
            notes=(PML_PER_CALL, PML_SINGLE_PAIR),
            source=PML + "multi_similarity_loss.py",
        ),
        "ms-original": Convention(
            "ms-original",
            "MalongTech/research-ms-loss MultiSimilarityLoss (SCALE_POS {alpha}, SCALE_NEG "
            "{beta}, thresh {base}, margin 0.1) on unit features",
            "mining inside the loss: positives with s >= 1 - 1e-5 dropped, negatives kept when "
            "s_n + 0.1 > min s_p, positives when s_p - 0.1 < max s_n; an anchor left without "
            "either has loss 0 and still counts in the sum / B; beta 40",
            params={"beta": 40.0},
            allowed={"base": (0.5,), "similarity": ("cosine",)},
            mining_margin=0.1,
            reductions=("mean",),
            notes=("an anchor without negatives, or whose every positive is dropped, has "
                   "loss 0 here (the original's min/max of an empty set fails)",),
            source="MalongTech/research-ms-loss ret_benchmark/losses/multi_similarity_loss.py, "
            "config/defaults.py",
        ),
    },
    empty_negatives=True,
)

CIRCLE = LossSpec(
    hardest=("negative", "share"),
    name="circle",
    title="circle loss (Sun et al. 2020, as PML implements it)",
    summary="softplus of the LSE of weighted negative and positive logits; cosine only.",
    formula=(
        "alpha_p = [1 + m - s_p]+,  alpha_n = [s_n + m]+,  Delta_p = 1 - m,  Delta_n = m\n"
        "loss = softplus( LSE_k(gamma alpha_n (s_n - Delta_n)) "
        "+ LSE_p(-gamma alpha_p (s_p - Delta_p)) )"
    ),
    required=("anchor", "positives", "negatives"),
    optional=("positive",),
    stand_ins={"positives": "positive"},
    params=(
        Param("margin", 0.4, "relaxation m (finite; PML's m, the paper uses 0.25 to 0.4)"),
        Param("gamma", 80.0, "scale gamma (finite, > 0)", check="positive"),
    ),
    columns=(
        Column("kind", "positive or negative", kind="str"),
        Column("similarity", "cosine s(a, c)"),
        Column("alpha", "the weight alpha, held constant (detached)"),
        Column("logit", "gamma alpha (s - Delta), negated for positives"),
        Column("share", "softmax share within its LSE"),
        Column("gradient", "d loss / d s with alpha fixed: sigma(inner) share (+-gamma alpha)"),
        Column("lse_pos", "LSE over the positives' logits (repeated on each row)"),
        Column("lse_neg", "LSE over the negatives' logits (repeated on each row)"),
    ),
    aliases=("circle-loss",),
    notes=(
        "Only cosine similarity is used. positive (P = 1) or positives; negatives K >= 1.",
        "alpha_p and alpha_n are held constant in the gradient, as in the paper and PML "
        "(detach): the reported gradient is not the derivative of the loss as a function of s.",
    ),
    pitfalls=(
        "gamma 80 makes the loss nearly linear in the worst violation: a single hard negative "
        "dominates.",
    ),
    gradient="alpha_p and alpha_n are held constant, as the paper and PML (detach) hold them: the "
    "`gradient` column, sigma(inner) share (+-gamma alpha), is NOT the derivative of the "
    "loss as a function of s (which would also differentiate alpha); --grad carries it "
    "through each similarity to its vectors (dot: ds(x, y)/dx = y; cosine: (u_y - (u_x . "
    "u_y) u_x) / |x|)",
    references=(
        "Sun et al. 2020, Circle Loss: A Unified Perspective of Pair Similarity Optimization; "
        "PML CircleLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.CircleLoss(m={margin}, gamma={gamma}{reduction}), "
            "the anchor against ref_emb = its positives and negatives",
            "AvgNonZero over the anchors; an anchor without a negative has loss 0; "
            "torch.nn.Softplus() is x itself above its threshold 20",
            softplus_threshold=20.0, zero_without_pairs=True, zero_single_pair=True,
            reductions=("mean-nonzero", "mean", "sum", "none"),
            api_values={"reduction": {**PML_REDUCERS, "mean-nonzero": ""}},
            notes=(PML_PER_CALL, PML_SINGLE_PAIR),
            source=PML + "circle_loss.py",
        ),
    },
)

LIFTED_STRUCTURE = LossSpec(
    hardest=("negative", "-distance"),
    name="lifted-structure",
    title="lifted structured loss (Song et al. 2016, as TF Addons implements it)",
    summary="1/2 [log(sum e^{m - d(a, n)} + sum e^{m - d(p, n)}) + d(a, p) - m_pos]+^2 per pair; "
    "or the generalized variant.",
    formula=(
        "song: J = log( sum_k e^{m - d(a, n_k)} + sum_k e^{m - d(p, n_k)} ) + d(a, p) - m_pos\n"
        "      loss = 1/2 [J]+^2\n"
        "generalized: loss = [LSE_p(d(a, p) - m_pos) + LSE_k(m - d(a, n_k))]+"
    ),
    required=("anchor", "positive", "negatives"),
    optional=("positives",),
    stand_ins={"positive": "positives"},
    params=(
        Param("margin", 1.0, "margin m of the negatives (finite)"),
        Param("pos_margin", 0.0, "m_pos subtracted from the positive distance (finite; PML's "
              "pos_margin, absent in Song and TFA)"),
        distance(DISTANCE_HELP + "; on the vectors as given"),
        Param("variant", "song", "song (Song et al., TFA) or generalized (Hermans et al., PML's "
              "GeneralizedLiftedStructureLoss)", kind="choice", choices=("song", "generalized")),
    ),
    columns=(
        Column("end", "song: which end of the pair the negative is measured from: anchor or "
               "positive; generalized: positive or negative", kind="str"),
        Column("distance", "d(end, n_k), or d(a, c) in the generalized variant"),
        Column("exponent", "m - d (negatives) or d - m_pos (generalized positives)"),
        Column("share", "softmax share within its LSE"),
        Column("gradient", "d loss / d distance"),
        Column("d_ap", "song: d(a, p) (repeated on each row)"),
        Column("j", "song: J (repeated on each row)"),
        Column("active", "J > 0 (song) or the hinge's argument > 0 (generalized)", kind="bool"),
    ),
    aliases=("lifted", "lifted-struct", "lifted-structured"),
    notes=(
        "song: each example is one positive pair (a, p) whose two ends share the K negatives; "
        "the batch mean is the mean over pairs.",
        "generalized: per anchor with positives and its own negatives, not squared, no 1/2.",
        "1/2 [J]+^2 is continuously differentiable; the generalized hinge has a kink at 0 "
        "(subgradient 0).",
    ),
    pitfalls=(
        "TFA asks for unnormalized embeddings; PML normalizes by default "
        "(--like pytorch-metric-learning).",
    ),
    gradient="song: d loss / d J = [J]+ (1/2 [J]+^2 is continuously differentiable), dJ / d d(a, "
    "p) = 1 and dJ / d d(end, n_k) = -(that term's share of the LSE); generalized: each "
    "LSE's shares while the hinge is active, 0 otherwise (subgradient 0 at the kink); the "
    "`gradient` column is d loss / d distance, which reaches the vectors as in LOSSES.md "
    "(euclidean: (x - y) / d, 0 at d = 0)",
    references=(
        "Oh Song, Xiang, Jegelka, Savarese 2016, Deep Metric Learning via Lifted Structured "
        "Feature Embedding; Hermans, Beyer, Leibe 2017, In Defense of the Triplet Loss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.{variant}, {distance}",
            "normalized embeddings; otherwise losscli's own song (each pair in both orders, "
            "halved) or generalized variant; mean",
            normalize=True,
            allowed={"distance": ("euclidean", "sqeuclidean")},
            zero_single_pair=True,
            reductions=("mean", "sum", "none"),
            api_values={"distance": PML_DISTANCES, "variant": {
                "song": "LiftedStructureLoss(neg_margin={margin}, pos_margin={pos_margin}) on "
                        "[a, p, n_1, ..., n_K]",
                "generalized": "GeneralizedLiftedStructureLoss(neg_margin={margin}, "
                               "pos_margin={pos_margin}) with the anchor against ref_emb"}},
            notes=(Note("generalized: " + PML_SINGLE_PAIR.text, inputs=True),),
            source=PML + "lifted_structure_loss.py",
        ),
        "tf-addons": Convention(
            "tf-addons",
            "tfa.losses.lifted_struct_loss(labels=[0, 0, 1, ..., K], embeddings=[a, p, n_1, "
            "..., n_K], margin={margin})",
            "losscli's own song variant on the vectors as given (0.25 times the sum over "
            "ordered positive pairs, over the unordered pairs); mean",
            allowed={"distance": ("euclidean",), "variant": ("song",)},
            unsupported={"pos_margin": "TF Addons' lifted_struct_loss has no positive margin"},
            reductions=("mean",),
            notes=("TF Addons computes the distances through a Gram matrix (about 1e-8 "
                   "relative off the exact ones losscli uses)",),
            source="tensorflow/addons tensorflow_addons/losses/lifted.py",
        ),
    },
)

MARGIN = LossSpec(
    hardest=("negative", "-d_an"),
    name="margin",
    title="margin-based loss (Wu et al. 2017, as PML implements it)",
    summary="Hinges [d(a, p) - beta + m]+ and [beta - d(a, n_k) + m]+ around a boundary beta, "
    "divided by the active terms.",
    formula=(
        "pos = [d(a, p) - beta + m]+,  neg_k = [beta - d(a, n_k) + m]+\n"
        "loss = (K pos + sum_k neg_k) / (K [pos > 0] + sum_k [neg_k > 0]) + nu beta"
        "   (nu beta if none active)"
    ),
    required=("anchor", "positive", "negatives"),
    optional=(),
    params=(
        Param("margin", 0.2, "margin m (finite, >= 0)", check="nonnegative"),
        Param("beta", 1.2, "boundary beta between positive and negative distances (finite)"),
        Param("nu", 0.0, "nu of Wu's nu beta regularizer, added per example (finite, >= 0)",
              check="nonnegative"),
        distance(DISTANCE_HELP + "; Wu and PML use euclidean on normalized vectors"),
    ),
    strength="neg_term",
    columns=(
        Column("d_ap", "distance anchor-positive"),
        Column("d_an", "distance anchor-negative k"),
        Column("pos_term", "[d_ap - beta + m]+"),
        Column("neg_term", "[beta - d_an + m]+"),
        Column("pos_active", "pos_term > 0", kind="bool"),
        Column("neg_active", "neg_term > 0", kind="bool"),
    ),
    aliases=("margin-based", "margin-loss"),
    notes=(
        "One triplet (a, p, n_k) per negative; the example's loss is their sum over its active "
        "pair terms (PML's DivisorReducer, per example).",
        "The defaults assume unit vectors (Wu and PML normalize); the distance is on the "
        "vectors as given.",
        "The hinges have kinks at 0 (subgradient 0); the divisor contributes no gradient.",
    ),
    pitfalls=(
        "Learned and per-class beta (PML's learn_beta, num_classes) are not supported.",
    ),
    gradient="d loss / d d(a, p) = K [pos > 0] / A and d loss / d d(a, n_k) = -[neg_k > 0] / A, A "
    "= K [pos > 0] + sum_k [neg_k > 0] the active terms (the divisor is piecewise "
    "constant and contributes no gradient; subgradient 0 at the kinks); then through the "
    "distance as in LOSSES.md (euclidean: (x - y) / d, 0 at d = 0)",
    references=(
        "Wu, Manmatha, Smola, Kraehenbuehl 2017, Sampling Matters in Deep Embedding Learning; "
        "PML MarginLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.MarginLoss(margin={margin}, nu={nu}, beta={beta}) "
            "with {distance}, the anchor against ref_emb = its positive and negatives",
            "normalized embeddings; beta stored as float32 (1.2 -> 1.2000000476837158); "
            "DivisorReducer: the batch's summed terms over its count of active pair terms",
            normalize=True, float32_params=("beta",),
            allowed={"distance": ("euclidean", "sqeuclidean")},
            unsupported={"nu": "PML adds nu beta only while it learns beta (learn_beta), "
                         "which losscli does not support"},
            reductions=("divisor", "none"),
            api_values={"distance": PML_DISTANCES},
            source=PML + "margin_loss.py",
        ),
    },
)

SPECS: tuple[LossSpec, ...] = (MULTI_SIMILARITY, CIRCLE, LIFTED_STRUCTURE, MARGIN,)
