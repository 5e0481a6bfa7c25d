"""Registry entries of LOSSES-MORE.md: the contrastive and metric losses beyond the five.

Pure data, like the five entries in losses/__init__.py (no numpy, no numba), kept in their own
module so the registry grows by one import. Every fact here (defaults, ranges, columns,
conventions) is LOSSES-MORE.md's; the implementations live in one module per loss.
"""

from __future__ import annotations

from losscli.losses.spec import Column, LossSpec, Param

# The same tuples as losses/__init__.py (not imported from there: this module is imported by
# it, while the package is still being built).
_SIMILARITIES = ("dot", "cosine")
_DISTANCES = ("euclidean", "sqeuclidean", "cosine")
_DISTANCE_HELP = "euclidean (exact, no eps), sqeuclidean (squared), or cosine (1 - cosine)"
_COSINE_FIRST = "cosine (default, vectors normalized) or dot"

_TEMPERATURE_HELP = "softmax temperature t (finite, > 0)"


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
        "pytorch-metric-learning": "t 0.1, no t/t_b, 0 with no negative, AvgNonZero",
        "supcontrast": "t = t_b = 0.07, every view an anchor, 1e-9 in the log",
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
        "pytorch-metric-learning": "NTXent(0.07) on [A; P] = this (+tiny in the log)",
        "optax": "ntxent: same pairs",
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
        "torch": "(CE(L) + CE(L^T))/2 = this",
        "pytorch-metric-learning": "SelfSupervised(symmetric=False): rows only",
        "open-clip": "ClipLoss = this",
        "sentence-transformers": "MNSRL: scale 20, cosine",
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
        "pytorch-metric-learning": "NPairs: inputs normalized (= cosine), first pair per label",
        "tf-addons": "npairs_loss: takes a similarity matrix",
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
        "dcl-port": "2x (directions summed), w = 2 - softmax, log(1e-45) mask",
        "nidl": "= this",
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
        "hcl": "two-view, linear space (float32 overflow for t < 0.0113)",
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
        "torch": "BCE-with-logits sum / B = this",
        "open-clip": "SigLipLoss = this",
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
        "pytorch-metric-learning": "= this (no mining)",
        "ms-original": "mining with epsilon 0.1, sum / B",
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
        "pytorch-metric-learning": "= this, AvgNonZero, 0 without positive/negative; its "
        "torch Softplus is linear above 20 (threshold), off by < e^-20",
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
        "pytorch-metric-learning": "inputs normalized; Generalized = variant generalized",
        "tf-addons": "= this",
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
        "pytorch-metric-learning": "inputs normalized, beta float32, one divisor per batch",
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
        "torch": "eps = 1e-12 (float32) on squared norms; labels not +-1 give 0",
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
    conventions={"torch": "label 0 gets both terms"},
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
    conventions={"torch": "labels unchecked"},
)

MORE_LOSSES: tuple[LossSpec, ...] = (
    SUPCON, NTXENT_BATCH, CLIP, NPAIR, DCL, HARD_INFONCE, SIGLIP, MULTI_SIMILARITY, CIRCLE,
    LIFTED_STRUCTURE, MARGIN, COSINE_EMBEDDING, HINGE_EMBEDDING, MARGIN_RANKING,
)
