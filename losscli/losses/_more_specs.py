"""Registry entries of LOSSES-MORE.md: the contrastive and metric losses beyond the five.

Pure data, like the five entries in losses/__init__.py (no numpy, no numba), kept in their own
module so the registry grows by one import. Every fact here (defaults, ranges, columns,
conventions) is LOSSES-MORE.md's; the implementations live in one module per loss.
"""

from __future__ import annotations

from losscli.losses.spec import Column, Convention, LossSpec, Param

# The same tuples as losses/__init__.py (not imported from there: this module is imported by
# it, while the package is still being built).
_SIMILARITIES = ("dot", "cosine")
_DISTANCES = ("euclidean", "sqeuclidean", "cosine")
_DISTANCE_HELP = "euclidean (exact, no eps), sqeuclidean (squared), or cosine (1 - cosine)"
_COSINE_FIRST = "cosine (default, vectors normalized) or dot"

_TEMPERATURE_HELP = "softmax temperature t (finite, > 0)"

# The libraries' constants, as the float64 numbers their float64 arithmetic uses.
TORCH_COSINE_EPS = 9.999999960041972e-13  # aten Loss.cpp `constexpr float EPSILON = 1e-12`
FLOAT64_TINY = 2.2250738585072014e-308  # PML's c_f.small_val(float64) = finfo.tiny
DCL_PORT_MASK = -103.61632918473205  # raminnakhli/DCL: SMALL_NUM = np.log(1e-45)

_PML = "KevinMusgrave/pytorch-metric-learning 2.9.0 src/pytorch_metric_learning/losses/"
_PML_PER_CALL = ("one PML call per anchor when its positives or negatives are its own (B, P, "
                 "D) / (B, K, D); one call for the whole batch when they are shared banks")
_PML_SINGLE_PAIR = ("a call with at most one positive pair and at most one negative pair "
                    "returns 0 (GenericPairLoss): B = 1, P = 1, K <= 1 gives 0 here too")
_TORCH_LOSS_CPP = "pytorch/pytorch aten/src/ATen/native/Loss.cpp (torch 2.13 run to confirm)"
_TWO_VIEW_ONLY = "it builds the negatives from the two-view batch itself"


def _temperature(default: float) -> Param:
    return Param("temperature", default, _TEMPERATURE_HELP, check="positive", short="-t")


def _similarity(default: str = "cosine", help: str = _COSINE_FIRST) -> Param:
    return Param("similarity", default, help, kind="choice", choices=_SIMILARITIES)


def _distance(help: str = _DISTANCE_HELP) -> Param:
    return Param("distance", "euclidean", help, kind="choice", choices=_DISTANCES)


# Columns shared by the in-batch forms.
_VIEW = Column("view", "which view's softmax the row belongs to: anchor or positive (two-view "
               "form)", kind="str")
_CANDIDATE_ROLE = Column("candidate_role", "the candidate's role: anchor or positive (in-batch "
                         "forms)", kind="str")
_CANDIDATE_INDEX = Column("candidate_index", "the candidate's example index (in-batch forms)",
                          kind="int")
_IN_BATCH_GRADIENT_NOTE = (
    "In the in-batch forms an example's loss depends on other examples' vectors: its "
    "`gradients` are those of the summed loss with respect to its own a_i and p_i."
)

SUPCON = LossSpec(
    name="supcon",
    title="supervised contrastive loss, several positives per anchor (Khosla et al. 2020)",
    summary="-(t/t_b) mean over the P positives of log softmax(s / t) over positives and "
    "negatives.",
    formula=(
        "v_j = s(a, c_j) / t over the P + K candidates (positives, then negatives)\n"
        "loss = -(t / t_b) (1/P) sum_{p in P} ( v_p - LSE_{j in P u N}(v_j) )\n"
        "(L_out: the other positives stay in every denominator)"
    ),
    required=("anchor", "positives"),
    optional=("positive", "negatives"),
    params=(
        _temperature(0.1),
        Param("base_temperature", None, "t_b of the t/t_b factor (finite, > 0; equal to "
              "temperature unless given, so the factor is 1)", check="positive"),
        _similarity(),
    ),
    columns=(
        Column("kind", "positive or negative", kind="str"),
        Column("similarity", "s(a, c_j)"),
        Column("logit", "similarity / temperature"),
        Column("probability", "softmax share of the partition over all P + K candidates"),
        Column("gradient", "d loss / d logit_j = (t / t_b)(p_j - [j in P] / P)"),
    ),
    implementation="losscli.losses.supcon:evaluate",
    aliases=("supervised-contrastive", "sup-con", "supconloss"),
    notes=(
        "positives is (P, D) shared by every anchor or (B, P, D) per anchor; `positive` (D,) or "
        "(B, D) means P = 1 (giving both is an input error).",
        "With P = 1 and t_b = t this is infonce with the same temperature and similarity.",
        "Negatives are optional: with K = 0 the formula still holds (PML returns 0 there).",
    ),
    pitfalls=(
        "A (B, D) `positives` array is P = B positives shared by every anchor, not one per "
        "anchor: give one positive per anchor as `positive`.",
        "The loss is not 0 when every positive is perfect: the other positives share the "
        "softmax, so it is at least log P.",
    ),
    references=(
        "Khosla et al. 2020, Supervised Contrastive Learning (L_out); "
        "HobbitLong/SupContrast losses.py; PML SupConLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.SupConLoss(temperature=0.1) with CosineSimilarity, "
            "the anchor against ref_emb = its positives and negatives",
            "no t/t_b factor; an anchor without a negative has loss 0; AvgNonZero: the mean "
            "over the anchors whose loss is > 0 (it divides by P + finfo.tiny, the same P in "
            "float64)",
            unsupported={"base_temperature": "PML's SupConLoss has no base temperature (it "
                         "drops the t/t_b factor)"},
            zero_without_pairs=True, zero_single_pair=True,
            reductions=("mean-nonzero", "mean", "sum", "none"),
            notes=("--similarity dot is DotProductSimilarity(normalize_embeddings=False)",
                   _PML_PER_CALL, _PML_SINGLE_PAIR),
            source=_PML + "supcon_loss.py",
        ),
        "supcontrast": Convention(
            "supcontrast",
            "HobbitLong/SupContrast SupConLoss(temperature=0.07, contrast_mode='all', "
            "base_temperature=0.07)(features=[a_i, p_i1, ..., p_iP] per example, labels=None)",
            "every view an anchor: the anchor and its P positives are one example's views, "
            "each view's positives are the other views of its example and its negatives every "
            "other example's views; t = t_b = 0.07 (factor t / 0.07 for another t); "
            "log(sum e^{v - max} + 1e-9) with the row max taken over the self-similarity too; "
            "an example's loss is the mean over its 1 + P views, the batch's the mean",
            params={"temperature": 0.07, "base_temperature": 0.07},
            eps=1e-9, eps_placement="partition", negatives_form="multi-view",
            unsupported_roles={"negatives": "SupContrast takes every view's negatives from the "
                               "other examples' views (a negative given as a sample of its own "
                               "would be an anchor without positives: NaN, SupContrast#50)"},
            reductions=("mean",),
            notes=("SupContrast multiplies features as given (its models normalize them): "
                   "--similarity cosine normalizes first, dot uses the vectors as given",),
            source="HobbitLong/SupContrast losses.py",
        ),
    },
)

NTXENT_BATCH = LossSpec(
    name="ntxent-batch",
    title="SimCLR's NT-Xent over two views (Chen et al. 2020)",
    summary="Each of the 2B views picks its partner among the other 2B - 1 views; mean over views.",
    formula=(
        "views z_i = a_i, z_{B+i} = p_i; partner pi(v) = v +- B\n"
        "l_v = LSE_{u != v}( s(z_v, z_u) / t ) - s(z_v, z_pi(v)) / t\n"
        "example i: (l_i + l_{B+i}) / 2"
    ),
    required=("anchor", "positive"),
    optional=(),
    params=(_temperature(0.07), _similarity(help="cosine (default, as in SimCLR) or dot")),
    columns=(
        _VIEW,
        _CANDIDATE_ROLE,
        _CANDIDATE_INDEX,
        Column("similarity", "s(z_v, z_u)"),
        Column("logit", "similarity / temperature"),
        Column("probability", "softmax share within that view's 2B - 1 candidates"),
        Column("gradient", "d loss_i / d logit = (p - [candidate = partner]) / 2"),
    ),
    implementation="losscli.losses.ntxent_batch:evaluate",
    aliases=("simclr", "nt-xent-batch", "ntxent-two-view"),
    notes=(
        "anchor (B, D) and positive (B, D) are two views of each example, B >= 2; negatives "
        "are not accepted (use infonce for explicit negatives).",
        "Rows: for each view, the partner (role `partner`) then the 2B - 2 other views "
        "(role `negative`), each named by candidate_role and candidate_index.",
        _IN_BATCH_GRADIENT_NOTE,
    ),
    pitfalls=(
        "The batch is the negative set: duplicates of an example elsewhere in the batch are "
        "counted as negatives (false negatives).",
    ),
    references=(
        "Chen, Kornblith, Norouzi, Hinton 2020, A Simple Framework for Contrastive Learning of "
        "Visual Representations (SimCLR); PML NTXentLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.NTXentLoss(temperature=0.07) on embeddings [A; P] "
            "with labels [0..B-1, 0..B-1] (SelfSupervisedLoss(..., symmetric=True))",
            "the same pairs and mean over the 2B views; -log(p + finfo.tiny) for each view's "
            "softmax probability p of its partner (a loss above 708.4 is capped there)",
            eps=FLOAT64_TINY, eps_placement="probability",
            reductions=("mean",),
            notes=("--similarity dot is DotProductSimilarity(normalize_embeddings=False)",),
            source=_PML + "ntxent_loss.py",
        ),
        "optax": Convention(
            "optax",
            "optax.losses.ntxent(embeddings=[A; P], labels=[0..B-1, 0..B-1], "
            "temperature=0.07)",
            "losscli's own definition: cosine similarity, the same pairs, mean over the 2B "
            "views",
            allowed={"similarity": ("cosine",)},
            reductions=("mean",),
            source="google-deepmind/optax optax/losses/_self_supervised.py",
        ),
    },
)

CLIP = LossSpec(
    name="clip",
    title="CLIP's symmetric cross entropy (Radford et al. 2021)",
    summary="Anchors pick their positive among the B positives and positives their anchor "
    "among the B anchors; the mean of the two.",
    formula=(
        "L_ij = s(a_i, p_j) / t   (or scale * s(a_i, p_j))\n"
        "row i:    r_i = LSE_j(L_ij) - L_ii\n"
        "column i: c_i = LSE_j(L_ji) - L_ii\n"
        "example i: (r_i + c_i) / 2;  mean = (CE(L, arange) + CE(L^T, arange)) / 2"
    ),
    required=("anchor", "positive"),
    optional=(),
    params=(
        _temperature(0.07),
        Param("scale", None, "logit scale 1/t (finite, > 0); give it or temperature, not both",
              check="positive"),
        _similarity(help="cosine (default: CLIP normalizes) or dot"),
    ),
    columns=(
        Column("direction", "a->p (row i: anchor i over the positives) or p->a (column i: "
               "positive i over the anchors)", kind="str"),
        Column("j", "the candidate's example index", kind="int"),
        Column("similarity", "s(a_i, p_j) (a->p) or s(a_j, p_i) (p->a)"),
        Column("logit", "similarity * scale"),
        Column("probability", "softmax share within the row (or column)"),
        Column("gradient", "d loss_i / d logit = (p - [j = i]) / 2"),
    ),
    implementation="losscli.losses.clip:evaluate",
    aliases=("clip-loss", "symmetric-infonce", "symmetric-ce"),
    notes=(
        "anchor (B, D) (e.g. images) and positive (B, D) (their texts), B >= 2, in a paired "
        "batch: the other examples' positives are anchor i's negatives, and the other anchors "
        "are positive i's.",
        "The output reports both temperature and scale = 1/temperature.",
        "CLIP learns its scale and caps it at 100; losscli takes the scale as given.",
        _IN_BATCH_GRADIENT_NOTE,
    ),
    pitfalls=(
        "Rows and columns differ: the per-example loss is their mean, and only the total is "
        "the same under swapping anchors and positives.",
    ),
    references=(
        "Radford et al. 2021, Learning Transferable Visual Models From Natural Language "
        "Supervision (CLIP); open_clip ClipLoss",
    ),
    conventions={
        "torch": Convention(
            "torch",
            "(torch.nn.functional.cross_entropy(L, arange(B)) + "
            "torch.nn.functional.cross_entropy(L.T, arange(B))) / 2 with L = scale * A P^T",
            "losscli's own definition (cosine: A and P normalized first)",
            source="pytorch/pytorch aten/src/ATen/native/LossNLL.cpp",
        ),
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.SelfSupervisedLoss(NTXentLoss(temperature=0.07), "
            "symmetric=False)(A, P)",
            "rows only: each anchor picks its positive among the B positives, the mean of the "
            "r_i; -log(p + finfo.tiny) inside",
            directions="rows", eps=FLOAT64_TINY, eps_placement="probability",
            reductions=("mean",),
            notes=("--scale s is NTXentLoss(temperature=1/s)",
                   "--similarity dot is DotProductSimilarity(normalize_embeddings=False)"),
            source=_PML + "self_supervised_loss.py, ntxent_loss.py",
        ),
        "sentence-transformers": Convention(
            "sentence-transformers",
            "sentence_transformers.losses.MultipleNegativesSymmetricRankingLoss(scale=20.0, "
            "similarity_fct=cos_sim) on (anchor, positive) columns, no hard negatives",
            "clip with scale 20 (t = 0.05) and cosine; mean",
            params={"scale": 20.0},
            reductions=("mean",),
            notes=("--similarity dot is similarity_fct=dot_score",),
            source="UKPLab/sentence-transformers sentence_transformers/losses/"
            "MultipleNegativesSymmetricRankingLoss.py",
        ),
        "open-clip": Convention(
            "open-clip",
            "open_clip.loss.ClipLoss()(image_features=A, text_features=P, "
            "logit_scale=scale)",
            "losscli's own definition: logit_scale is taken already exponentiated, "
            "(CE(L) + CE(L^T)) / 2 on one device",
            reductions=("mean",),
            notes=("open_clip's models normalize the features (cosine); dot uses them as "
                   "given",),
            source="mlfoundations/open_clip src/open_clip/loss.py",
        ),
    },
    exclusive=(("temperature", "scale"),),
)

NPAIR = LossSpec(
    name="npair",
    title="N-pair loss (Sohn 2016)",
    summary="log(1 + sum_k exp(s(a, n_k) - s(a, p))): infonce with t = 1 on raw vectors.",
    formula=(
        "loss = log(1 + sum_k exp(s(a, n_k) - s(a, p))) = LSE([s_ap, s_an_1, ...]) - s_ap\n"
        "without negatives (paired batch): anchor i's negatives are p_j, j != i"
    ),
    required=("anchor", "positive"),
    optional=("negatives",),
    params=(_similarity("dot", "dot (default: Sohn's f^T f+, inputs not normalized) or "
                        "cosine (PML's default)"),),
    columns=(
        Column("similarity", "s(a, p) for the positive, s(a, n_k) for negative k"),
        Column("logit", "equal to the similarity (no temperature)"),
        Column("probability", "softmax share of the partition"),
        Column("gradient", "d loss / d logit_j = p_j - [j = 0]"),
        Column("candidate_index", "which example's positive the negative is (paired batch)",
               kind="int"),
    ),
    implementation="losscli.losses.npair:evaluate",
    aliases=("n-pair", "npairs", "n-pairs", "npair-mc"),
    notes=(
        "With explicit negatives each example stands alone; without them the paired batch "
        "(Sohn's N-pair-mc) needs B >= 2.",
        "The paper's L2 penalty on embedding norms is not part of the loss.",
        _IN_BATCH_GRADIENT_NOTE,
    ),
    pitfalls=(
        "Inputs are not normalized (dot): the loss grows with the norms; PML's default "
        "normalizes (= --similarity cosine).",
    ),
    references=(
        "Sohn 2016, Improved Deep Metric Learning with Multi-class N-pair Loss Objective; "
        "PML NPairsLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.NPairsLoss() (DotProductSimilarity(), which "
            "normalizes) on embeddings [A; P] with labels [0..B-1, 0..B-1]",
            "the paired batch on normalized inputs (= --similarity cosine): the first pair of "
            "each label, cross entropy over the B positives, mean",
            params={"similarity": "cosine"},
            unsupported_roles={"negatives": "NPairsLoss works in-batch only (no ref_emb): "
                               "each anchor's negatives are the other examples' positives"},
            notes=("--similarity dot is DotProductSimilarity(normalize_embeddings=False)",),
            source=_PML + "n_pairs_loss.py",
        ),
        "tf-addons": Convention(
            "tf-addons",
            "tfa.losses.npairs_loss(y_true=arange(B), y_pred=S) with S = A P^T (or the "
            "cosine matrix)",
            "losscli's own paired batch: with distinct labels the row-normalized targets are "
            "the identity, softmax cross entropy over each row of S, mean",
            unsupported_roles={"negatives": "npairs_loss takes a (B, B) similarity matrix: "
                               "each anchor's negatives are the other examples' positives"},
            reductions=("mean",),
            source="tensorflow/addons tensorflow_addons/losses/npairs.py",
        ),
    },
)

DCL = LossSpec(
    name="dcl",
    title="decoupled contrastive loss, and its vMF-weighted form DCLW (Yeh et al. 2022)",
    summary="-w s(a, p)/t + LSE of the negatives' logits: the positive left out of the "
    "denominator.",
    formula=(
        "explicit:  loss = -w v_0 + LSE_k(v_k),  v_0 = s(a, p)/t, v_k = s(a, n_k)/t\n"
        "two-view:  l_v = -w_i s(z_v, z_pi(v))/t + LSE_{u not in {v, pi(v)}} s(z_v, z_u)/t;"
        "  example i: (l_i + l_{B+i})/2\n"
        "weighting none: w = 1;  vmf: w_i = 2 - B softmax_i(s(a_i, p_i) / sigma) over the batch"
    ),
    required=("anchor", "positive"),
    optional=("negatives",),
    params=(
        _temperature(0.1),
        _similarity(),
        Param("weighting", "none", "none (DCL) or vmf (DCLW: w_i = 2 - B softmax_i(s_ii / "
              "sigma))", kind="choice", choices=("none", "vmf")),
        Param("sigma", 0.5, "sigma of the vmf weighting (finite, > 0)", check="positive"),
    ),
    columns=(
        _VIEW,
        _CANDIDATE_ROLE,
        _CANDIDATE_INDEX,
        Column("similarity", "s(a, p) or s(a, n_k)"),
        Column("logit", "similarity / temperature"),
        Column("weight", "w of the positive row (null on negatives)"),
        Column("term", "-w v_0 on the positive row (null on negatives)"),
        Column("share", "softmax_k(v) among the negatives (null on the positive)"),
        Column("gradient", "d loss / d logit with w held fixed: -w, or the share (halved in the "
               "two-view form)"),
    ),
    implementation="losscli.losses.dcl:evaluate",
    aliases=("decoupled-contrastive", "decoupled"),
    notes=(
        "Explicit negatives (K >= 1), or without them the two-view batch (B >= 2) with the "
        "partner taken out of the denominator (2B - 2 negatives).",
        "DCLW is --weighting vmf; the weights have mean 1 and B = 1 gives w = 1.",
        "The vmf weight is differentiated in the gradients (not detached), as in both codes.",
        _IN_BATCH_GRADIENT_NOTE,
    ),
    pitfalls=(
        "Unlike infonce the loss is not bounded below by 0: it is negative whenever w v_0 "
        "exceeds the negatives' LSE.",
    ),
    references=(
        "Yeh et al. 2022, Decoupled Contrastive Learning; nidl DCLLoss / DCLWLoss",
    ),
    conventions={
        "dcl-port": Convention(
            "dcl-port",
            "raminnakhli/Decoupled-Contrastive-Learning DCL(temperature=0.1)(z1=A, z2=P) "
            "(DCLW(sigma=0.5, temperature=0.1) for --weighting vmf)",
            "the two directions' means summed (twice losscli's loss); the partner and the view "
            "itself stay in the negatives' LSE with log(1e-45) added to their logits; DCLW's "
            "w = 2 - softmax (no factor B)",
            directions="summed", mask_logit=DCL_PORT_MASK, vmf_times_batch=False,
            unsupported_roles={"negatives": "the port takes two views only: " + _TWO_VIEW_ONLY},
            reductions=("mean",),
            notes=("the port multiplies the vectors as given (its SimCLR normalizes them): "
                   "--similarity cosine normalizes first, dot uses them as given",
                   "the masked logits leak at small t: 3e-4 relative on the golden batch at "
                   "t = 0.01"),
            source="raminnakhli/Decoupled-Contrastive-Learning loss/dcl.py",
        ),
        "nidl": Convention(
            "nidl",
            "nidl.losses.DCLLoss(temperature=0.1)(z1=A, z2=P) (DCLWLoss(sigma=0.5, "
            "temperature=0.1) for --weighting vmf)",
            "losscli's own two-view definition: cosine, mean over the 2B views, "
            "w = 2 - B softmax",
            allowed={"similarity": ("cosine",)},
            unsupported_roles={"negatives": "nidl's DCLLoss takes two views only: "
                               + _TWO_VIEW_ONLY},
            reductions=("mean",),
            source="neurospin-deepinsight/nidl nidl/losses/dcl.py",
        ),
    },
)

HARD_INFONCE = LossSpec(
    name="hard-infonce",
    title="debiased hard-negative InfoNCE (Robinson et al. 2021, HCL)",
    summary="InfoNCE whose negatives are reweighted toward hard ones (beta) and debiased for "
    "false negatives (tau-plus), with a floor.",
    formula=(
        "q_k = softmax_k(beta v_k);  R = N sum_k q_k e^{v_k}\n"
        "Ng = max( (R - tau+ N e^{v_0}) / (1 - tau+),  N e^{-1/t} )\n"
        "loss = log(1 + Ng e^{-v_0})   (computed in log space)"
    ),
    required=("anchor", "positive"),
    optional=("negatives",),
    params=(
        Param("temperature", 0.5, _TEMPERATURE_HELP + "; HCL's image default 0.5",
              check="positive", short="-t"),
        Param("beta", 1.0, "hardness beta: q_k = softmax(beta v_k) (finite, >= 0; 0 = uniform)",
              check="nonnegative"),
        Param("tau_plus", 0.1, "class prior tau+ of a false negative (in [0, 1))",
              check="unit-open"),
        _similarity(),
        Param("clamp", True, "floor Ng at N e^{-1/t} (--no-clamp drops it; Ng <= 0 is then a "
              "null loss)", kind="bool"),
    ),
    columns=(
        _VIEW,
        _CANDIDATE_ROLE,
        _CANDIDATE_INDEX,
        Column("similarity", "s(a, p) or s(a, n_k)"),
        Column("logit", "similarity / temperature"),
        Column("importance", "N q_k, 1 = uniform (null on the positive)"),
        Column("share", "q_k e^{v_k} / sum q e^v, the negative's share of R (null on the "
               "positive)"),
        Column("gradient", "d loss / d logit (q differentiated; halved in the two-view form)"),
        Column("r", "R of the row's softmax"),
        Column("ng_raw", "Ng before the floor"),
        Column("floor", "N e^{-1/t}"),
        Column("floor_binds", "whether Ng is the floor", kind="bool"),
    ),
    implementation="losscli.losses.hard_infonce:evaluate",
    aliases=("hcl", "debiased-hard-infonce", "hard-negative-infonce"),
    notes=(
        "Explicit negatives (N = K), or without them HCL's two-view batch (N = 2B - 2).",
        "At beta = 0, tau-plus = 0 this is infonce (same t and similarity) unless the floor "
        "binds, which never happens with cosine.",
        "While the floor binds the negatives' gradients are 0; at equality the unclamped "
        "branch's gradient is reported (as torch.clamp gives).",
        _IN_BATCH_GRADIENT_NOTE,
    ),
    pitfalls=(
        "With --similarity dot on vectors of norm > 1 the floor N e^{-1/t} (which assumes "
        "cosine >= -1) can bind even at beta = tau-plus = 0.",
        "With tau-plus > 0 a dominant positive makes the debiased sum <= 0: the floor binds "
        "(or, with --no-clamp, the loss is null).",
    ),
    references=(
        "Robinson, Chuang, Sra, Jegelka 2021, Contrastive Learning with Hard Negative Samples; "
        "joshr17/HCL image/main.py",
    ),
    conventions={
        "hcl": Convention(
            "hcl",
            "joshr17/HCL image/main.py criterion(out_1=A, out_2=P, tau_plus=0.1, beta=1.0, "
            "estimator='hard') with temperature 0.5",
            "the two-view form computed in linear space as HCL does: neg = e^{s/t}, "
            "imp = neg^beta, R = sum(imp neg) / mean(imp), the floor always on; e^{s/t} "
            "overflows for s/t > 709.78 in float64 (HCL's float32: t < 0.0113 with cosine)",
            allowed={"clamp": (True,)},
            linear_space=True,
            unsupported_roles={"negatives": "HCL's criterion takes two views only: "
                               + _TWO_VIEW_ONLY},
            reductions=("mean",),
            notes=("HCL's model normalizes its outputs (cosine); dot uses the vectors as given",
                   "gradients (--grad) are the analytic ones, where HCL's autograd in linear "
                   "space overflows with its loss"),
            source="joshr17/HCL image/main.py",
        ),
    },
)

SIGLIP = LossSpec(
    name="siglip",
    title="pairwise sigmoid loss (Zhai et al. 2023, SigLIP)",
    summary="A binary logistic loss on every (anchor, positive) pair of the batch: +1 on the "
    "diagonal, -1 off it.",
    formula=(
        "x_ij = scale * s(a_i, p_j) + bias;  z_ii = +1, z_ij = -1 (j != i)\n"
        "l_ij = -log sigma(z_ij x_ij) = softplus(-z_ij x_ij)\n"
        "example i: sum_j l_ij;  mean: (1/B) sum_ij l_ij"
    ),
    required=("anchor", "positive"),
    optional=(),
    params=(
        Param("scale", 10.0, "logit scale (finite, > 0; the paper's exp(t') with t' = log 10)",
              check="positive"),
        Param("bias", -10.0, "logit bias (finite)"),
        _similarity(help="cosine (default: the paper normalizes) or dot"),
    ),
    columns=(
        Column("label", "z: +1 for the example's own positive, -1 for the others"),
        Column("similarity", "s(a_i, p_j)"),
        Column("logit", "x = scale * similarity + bias"),
        Column("sigmoid", "sigma(x)"),
        Column("term", "softplus(-z x)"),
        Column("gradient", "d term / d x = sigma(x) - [z = +1]"),
    ),
    implementation="losscli.losses.siglip:evaluate",
    aliases=("sigmoid-contrastive", "siglip-loss", "sigmoid-loss"),
    notes=(
        "anchor (B, D) and positive (B, D), B >= 1, in a paired batch; rows are (anchor i, "
        "positive j) for j = 0..B-1.",
        "The per-example split is by rows (anchors); only the total is symmetric in a and p.",
        _IN_BATCH_GRADIENT_NOTE,
    ),
    pitfalls=(
        "The bias matters at the start: with bias 0 the B - 1 negatives dominate the loss.",
    ),
    references=(
        "Zhai, Mustafa, Kolesnikov, Beyer 2023, Sigmoid Loss for Language Image Pre-Training; "
        "open_clip SigLipLoss",
    ),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.binary_cross_entropy_with_logits(scale * A P^T + bias, "
            "eye(B), reduction='sum') / B",
            "losscli's own definition (labels 1 on the diagonal, 0 off it, as z = +1/-1)",
            source="pytorch/pytorch aten/src/ATen/native/Loss.cpp",
        ),
        "open-clip": Convention(
            "open-clip",
            "open_clip.loss.SigLipLoss()(image_features=A, text_features=P, logit_scale=scale, "
            "logit_bias=bias)",
            "losscli's own definition: -logsigmoid(labels * logits).sum() / B on one device, "
            "logit_scale taken already exponentiated",
            reductions=("mean",),
            notes=("open_clip's models normalize the features (cosine); dot uses them as "
                   "given",),
            source="mlfoundations/open_clip src/open_clip/loss.py",
        ),
    },
)

MULTI_SIMILARITY = LossSpec(
    name="multi-similarity",
    title="multi-similarity loss (Wang et al. 2019, as PML implements it)",
    summary="Soft log-sum-exp penalties on positives below and negatives above the base lambda.",
    formula=(
        "loss = (1/alpha) log(1 + sum_p e^{-alpha (s_p - lambda)})\n"
        "     + (1/beta)  log(1 + sum_k e^{beta (s_k - lambda)})"
    ),
    required=("anchor", "positives"),
    optional=("positive", "negatives"),
    params=(
        Param("alpha", 2.0, "positive scale alpha (finite, > 0)", check="positive"),
        Param("beta", 50.0, "negative scale beta (finite, > 0)", check="positive"),
        Param("base", 0.5, "base lambda (finite)"),
        _similarity(help="cosine (default, as in PML) or dot"),
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
    implementation="losscli.losses.multi_similarity:evaluate",
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
    references=(
        "Wang et al. 2019, Multi-Similarity Loss with General Pair Weighting for Deep Metric "
        "Learning; PML MultiSimilarityLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.MultiSimilarityLoss(alpha=2, beta=50, base=0.5) "
            "with CosineSimilarity, the anchor against ref_emb = its positives and negatives",
            "losscli's own definition (no mining: that is MultiSimilarityMiner's); mean",
            zero_single_pair=True,
            reductions=("mean", "sum", "none", "mean-nonzero"),
            notes=("--similarity dot is DotProductSimilarity(normalize_embeddings=False)",
                   _PML_PER_CALL, _PML_SINGLE_PAIR),
            source=_PML + "multi_similarity_loss.py",
        ),
        "ms-original": Convention(
            "ms-original",
            "MalongTech/research-ms-loss MultiSimilarityLoss (SCALE_POS 2, SCALE_NEG 40, "
            "thresh 0.5, margin 0.1) on unit features",
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
)

CIRCLE = LossSpec(
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
    implementation="losscli.losses.circle:evaluate",
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
    references=(
        "Sun et al. 2020, Circle Loss: A Unified Perspective of Pair Similarity Optimization; "
        "PML CircleLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.CircleLoss(m=0.4, gamma=80), the anchor against "
            "ref_emb = its positives and negatives",
            "AvgNonZero over the anchors; an anchor without a negative has loss 0; "
            "torch.nn.Softplus() is x itself above its threshold 20",
            softplus_threshold=20.0, zero_without_pairs=True, zero_single_pair=True,
            reductions=("mean-nonzero", "mean", "sum", "none"),
            notes=(_PML_PER_CALL, _PML_SINGLE_PAIR),
            source=_PML + "circle_loss.py",
        ),
    },
)

LIFTED_STRUCTURE = LossSpec(
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
    params=(
        Param("margin", 1.0, "margin m of the negatives (finite)"),
        Param("pos_margin", 0.0, "m_pos subtracted from the positive distance (finite; PML's "
              "pos_margin, absent in Song and TFA)"),
        _distance(_DISTANCE_HELP + "; on the vectors as given"),
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
    implementation="losscli.losses.lifted_structure:evaluate",
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
    references=(
        "Oh Song, Xiang, Jegelka, Savarese 2016, Deep Metric Learning via Lifted Structured "
        "Feature Embedding; Hermans, Beyer, Leibe 2017, In Defense of the Triplet Loss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.LiftedStructureLoss(neg_margin=1, pos_margin=0) "
            "on [a, p, n_1, ..., n_K] (GeneralizedLiftedStructureLoss with the anchor against "
            "ref_emb for --variant generalized), LpDistance(normalize_embeddings=True)",
            "normalized embeddings; otherwise losscli's own song (each pair in both orders, "
            "halved) or generalized variant; mean",
            normalize=True,
            allowed={"distance": ("euclidean", "sqeuclidean")},
            zero_single_pair=True,
            reductions=("mean", "sum", "none"),
            notes=("sqeuclidean is LpDistance(power=2)",
                   "generalized: " + _PML_SINGLE_PAIR),
            source=_PML + "lifted_structure_loss.py",
        ),
        "tf-addons": Convention(
            "tf-addons",
            "tfa.losses.lifted_struct_loss(labels=[0, 0, 1, ..., K], embeddings=[a, p, n_1, "
            "..., n_K], margin=1.0)",
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
        _distance(_DISTANCE_HELP + "; Wu and PML use euclidean on normalized vectors"),
    ),
    columns=(
        Column("d_ap", "distance anchor-positive"),
        Column("d_an", "distance anchor-negative k"),
        Column("pos_term", "[d_ap - beta + m]+"),
        Column("neg_term", "[beta - d_an + m]+"),
        Column("pos_active", "pos_term > 0", kind="bool"),
        Column("neg_active", "neg_term > 0", kind="bool"),
    ),
    implementation="losscli.losses.margin:evaluate",
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
    references=(
        "Wu, Manmatha, Smola, Kraehenbuehl 2017, Sampling Matters in Deep Embedding Learning; "
        "PML MarginLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.MarginLoss(margin=0.2, nu=0, beta=1.2) with "
            "LpDistance(normalize_embeddings=True), the anchor against ref_emb = its positive "
            "and negatives",
            "normalized embeddings; beta stored as float32 (1.2 -> 1.2000000476837158); "
            "DivisorReducer: the batch's summed terms over its count of active pair terms",
            normalize=True, float32_params=("beta",),
            allowed={"distance": ("euclidean", "sqeuclidean")},
            unsupported={"nu": "PML adds nu beta only while it learns beta (learn_beta), "
                         "which losscli does not support"},
            reductions=("divisor", "none"),
            notes=("sqeuclidean is LpDistance(power=2)",),
            source=_PML + "margin_loss.py",
        ),
    },
)

_LABEL_NOTE = "label is +1 or -1 per pair (integral floats accepted); anything else is an " \
    "input error (torch does not check)."

COSINE_EMBEDDING = LossSpec(
    name="cosine-embedding",
    title="torch's CosineEmbeddingLoss",
    summary="1 - cos(x1, x2) for label +1, [cos(x1, x2) - m]+ for label -1.",
    formula=(
        "c = cos(x1, x2)  (exact; 0 with a warning for an all-zero vector)\n"
        "label +1: 1 - c        label -1: [c - m]+"
    ),
    required=("x1", "x2", "label"),
    optional=(),
    params=(
        Param("margin", 0.0, "margin m (finite, in [-1, 1]; torch suggests 0 to 0.5)",
              check="signed-unit"),
    ),
    columns=(
        Column("label", "+1 (similar) or -1 (dissimilar)"),
        Column("cosine", "cos(x1, x2)"),
        Column("term", "1 - c, or [c - m]+"),
        Column("active", "label -1 and c > m", kind="bool"),
    ),
    implementation="losscli.losses.cosine_embedding:evaluate",
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
    references=("torch.nn.CosineEmbeddingLoss (aten/src/ATen/native/Loss.cpp)",),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.cosine_embedding_loss(x1, x2, label, margin=0.0)",
            "c = x1.x2 / sqrt((|x1|^2 + eps)(|x2|^2 + eps)) with torch's float32 eps 1e-12 "
            "(9.999999960041972e-13 in float64), so cos(x, x) < 1 and tiny vectors are pulled "
            "toward 0; a label other than +1/-1 gives 0",
            eps=TORCH_COSINE_EPS, eps_placement="norms", unchecked_labels=True,
            source=_TORCH_LOSS_CPP,
        ),
    },
)

HINGE_EMBEDDING = LossSpec(
    name="hinge-embedding",
    title="torch's HingeEmbeddingLoss",
    summary="x for label +1, [m - x]+ for label -1, with x given or a distance d(x1, x2).",
    formula=(
        "x = x1 (given values), or x = d(x1, x2) for vectors\n"
        "label +1: x        label -1: [m - x]+"
    ),
    required=("x1", "label"),
    optional=("x2",),
    params=(
        Param("margin", 1.0, "margin m (finite, >= 0)", check="nonnegative"),
        _distance(_DISTANCE_HELP + "; used when x2 is given (vector form)"),
    ),
    columns=(
        Column("label", "+1 or -1"),
        Column("x", "the value x (given, or d(x1, x2))"),
        Column("term", "x, or [m - x]+"),
        Column("active", "label +1, or label -1 with x < m", kind="bool"),
    ),
    implementation="losscli.losses.hinge_embedding:evaluate",
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
    references=("torch.nn.HingeEmbeddingLoss (aten/src/ATen/native/Loss.cpp)",),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.hinge_embedding_loss(x, label, margin=1.0), x = x1 or "
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
    name="margin-ranking",
    title="torch's MarginRankingLoss",
    summary="[-y (x1 - x2) + m]+: x1 should rank above x2 when y = +1, below when y = -1.",
    formula="term = [-y (x1 - x2) + m]+",
    required=("x1", "x2", "label"),
    optional=(),
    params=(Param("margin", 0.0, "margin m (finite, >= 0)", check="nonnegative"),),
    columns=(
        Column("label", "y: +1 (x1 should rank higher) or -1"),
        Column("x1", "the first score"),
        Column("x2", "the second score"),
        Column("signed_difference", "y (x1 - x2)"),
        Column("term", "[-y (x1 - x2) + m]+"),
        Column("active", "term > 0", kind="bool"),
    ),
    implementation="losscli.losses.margin_ranking:evaluate",
    aliases=("margin-ranking-loss", "ranking", "marginranking"),
    notes=(
        "x1, x2 and label are scalars for one pair or (B,) each; the shapes must match exactly "
        "(no broadcasting, as torch since PR #64975).",
        _LABEL_NOTE,
        "While a term is active d/dx1 = -y and d/dx2 = +y; otherwise 0, including at the kink.",
    ),
    pitfalls=("torch accepts a negative margin; losscli treats it as a usage error.",),
    references=("torch.nn.MarginRankingLoss (aten/src/ATen/native/Loss.cpp)",),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.margin_ranking_loss(x1, x2, label, margin=0.0)",
            "[-y (x1 - x2) + m]+ for any real y: labels are not checked, so a y other than "
            "+1/-1 scales the difference",
            unchecked_labels=True,
            source=_TORCH_LOSS_CPP,
        ),
    },
)

MORE_LOSSES: tuple[LossSpec, ...] = (
    SUPCON, NTXENT_BATCH, CLIP, NPAIR, DCL, HARD_INFONCE, SIGLIP, MULTI_SIMILARITY, CIRCLE,
    LIFTED_STRUCTURE, MARGIN, COSINE_EMBEDDING, HINGE_EMBEDDING, MARGIN_RANKING,
)
