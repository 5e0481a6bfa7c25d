"""In-batch losses: the batch is its own candidate set, the other examples' views its
negatives (SupCon, SimCLR's NT-Xent, CLIP, SigLIP, ...; LOSSES-MORE.md)."""

from __future__ import annotations

from losscli.losses.spec import Column, Convention, LossSpec, Note, Param
from losscli.losses.specs.common import (
    PML,
    PML_PER_CALL,
    PML_REDUCERS,
    PML_SIMILARITIES,
    PML_SINGLE_PAIR,
    TEMPERATURE_HELP,
    similarity,
    temperature,
)

FLOAT64_TINY = 2.2250738585072014e-308  # PML's c_f.small_val(float64) = finfo.tiny

DCL_PORT_MASK = -103.61632918473205  # raminnakhli/DCL: SMALL_NUM = np.log(1e-45)

_TWO_VIEW_ONLY = "it builds the negatives from the two-view batch itself"

# Why the paired-batch losses (clip, siglip) leave a `negatives` array unused: the warning
# and `explain` say it, since ntxent-batch refuses one and npair would use it.
_PAIRED = "the batch's other positives (the paired batch)"
_EXPLICIT = "use infonce for explicit negatives"
_PAIRED_NEGATIVES = f"its negatives are {_PAIRED}; {_EXPLICIT}"
_PAIRED_NEGATIVES_PITFALL = (f"A `negatives` array is not used, with a warning (ntxent-batch "
                             f"refuses one): the negatives are {_PAIRED}; {_EXPLICIT}.")

# ntxent-batch's columns naming a candidate (its one form is the two-view batch).
_VIEW = Column("view", "which view's softmax the row belongs to: anchor or positive (two-view "
               "form)", kind="str")

_CANDIDATE_ROLE = Column("candidate_role", "the candidate's role: anchor or positive (in-batch "
                         "forms)", kind="str")

_CANDIDATE_INDEX = Column("candidate_index", "the candidate's example index (in-batch forms)",
                          kind="int")

# dcl and hard-infonce take explicit negatives or the two-view batch: the columns naming a
# candidate's view and example exist only in the batch form.
_TWO_VIEW_ONLY_COLUMN = "only in the two-view batch form, without negatives"
_BATCH_FORM_COLUMNS = (
    Column("view", "which view's softmax the row belongs to: anchor or positive ("
           + _TWO_VIEW_ONLY_COLUMN + ")", kind="str", form="batch"),
    Column("candidate_role", "the candidate's role: anchor or positive ("
           + _TWO_VIEW_ONLY_COLUMN + ")", kind="str", form="batch"),
    Column("candidate_index", "the candidate's example index (" + _TWO_VIEW_ONLY_COLUMN + ")",
           kind="int", form="batch"),
)

_IN_BATCH_GRADIENT_NOTE = (
    "In the in-batch forms an example's loss depends on other examples' vectors: its "
    "`gradients` are those of the summed loss with respect to its own a_i and p_i."
)

SUPCON = LossSpec(
    hardest=("negative", "probability"),
    name="supcon",
    emulated=True,
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
    stand_ins={"positives": "positive"},
    params=(
        temperature(0.1),
        Param("base_temperature", None, "t_b of the t/t_b factor (finite, > 0; equal to "
              "temperature unless given, so the factor is 1)", check="positive"),
        similarity(),
    ),
    columns=(
        Column("kind", "positive or negative", kind="str"),
        Column("similarity", "s(a, c_j)"),
        Column("logit", "similarity / temperature"),
        Column("probability", "softmax share of the partition over all P + K candidates"),
        Column("gradient", "d loss / d logit_j = (t / t_b)(p_j - [j in P] / P)"),
    ),
    aliases=("supervised-contrastive", "sup-con", "supconloss"),
    notes=(
        "positives is (P, D) shared by every anchor or (B, P, D) per anchor; `positive` (D,) or "
        "(B, D) means P = 1 (giving both is an input error).",
        "With P = 1 and t_b = t this is infonce with the same temperature and similarity.",
        "Negatives are optional: with K = 0 the formula still holds (PML returns 0 there).",
    ),
    pitfalls=(
        "A (B, D) `positives` array is read as P = B positives shared by every anchor (with "
        "a warning): give one positive per anchor as `positive`, or with "
        "--positives-layout per-anchor.",
        "The loss is not 0 when every positive is perfect: the other positives share the "
        "softmax, so it is at least log P.",
        "Without negatives the other examples are not negatives: anchor and positive alone give "
        "a loss of exactly 0 (a warning says so); SupContrast's in-batch form is --like "
        "supcontrast.",
    ),
    gradient="d loss / d v_j = (t / t_b)(p_j - [j in P] / P) (the `gradient` column), with v_j = "
    "s(a, c_j) / t, so d loss / d s(a, c_j) is that over t; each similarity's gradient "
    "reaches its two vectors (dot: ds(x, y)/dx = y; cosine: (u_y - (u_x . u_y) u_x) / "
    "|x|), and a vector that several examples use gets the sum (--grad gives the "
    "gradients of the sum of the per-example losses)",
    references=(
        "Khosla et al. 2020, Supervised Contrastive Learning (L_out); "
        "HobbitLong/SupContrast losses.py; PML SupConLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.SupConLoss(temperature={temperature}"
            "{reduction}) with {similarity}, the anchor against ref_emb = its positives and "
            "negatives",
            "no t/t_b factor; an anchor without a negative has loss 0; log-probabilities as "
            "(v_p - max v) - log sum e^{v - max v}, so a confident anchor's loss rounds to "
            "exactly 0; AvgNonZero: the mean over the anchors whose loss is > 0 (it divides "
            "by P + finfo.tiny, the same P in float64)",
            unsupported={"base_temperature": "PML's SupConLoss has no base temperature (it "
                         "drops the t/t_b factor)"},
            zero_without_pairs=True, zero_single_pair=True, shifted_log_prob=True,
            reductions=("mean-nonzero", "mean", "sum", "none"),
            api_values={"similarity": PML_SIMILARITIES,
                        "reduction": {**PML_REDUCERS, "mean-nonzero": ""}},
            notes=(PML_PER_CALL, PML_SINGLE_PAIR),
            source=PML + "supcon_loss.py",
        ),
        "supcontrast": Convention(
            "supcontrast",
            "HobbitLong/SupContrast SupConLoss(temperature={temperature}, contrast_mode='all', "
            "base_temperature={base_temperature|temperature})(features=[a_i, p_i1, ..., p_iP] "
            "per example, labels=None)",
            "every view an anchor: the anchor and its P positives are one example's views, "
            "each view's positives are the other views of its example and its negatives every "
            "other example's views; t = t_b = 0.07 (factor t / 0.07 for another t); "
            "log(sum e^{v - max} + 1e-9) with the row max taken over the self-similarity too; "
            "an example's loss is the mean over its 1 + P views, the batch's the mean",
            params={"temperature": 0.07, "base_temperature": 0.07},
            eps=1e-9, eps_placement="partition", negatives_form="multi-view", tiled=True,
            columns=(Column("view", "the row's view: anchor, or positive k", kind="str"),
                     Column("candidate_role", "the candidate's view's role: anchor or "
                            "positive", kind="str"),
                     Column("candidate_index", "the candidate's example", kind="int"),
                     Column("candidate_view", "the candidate's view: 0 the anchor, k positive "
                            "k - 1", kind="int")),
            unsupported_roles={"negatives": "SupContrast takes every view's negatives from the "
                               "other examples' views (a negative given as a sample of its own "
                               "would be an anchor without positives: NaN, SupContrast#50)"},
            reductions=("mean",),
            notes=(Note("SupContrast multiplies features as given (its models normalize "
                        "them): --similarity cosine normalizes first, dot uses the vectors as "
                        "given", when={"similarity": ("dot",)}),
                   Note("--grad gives the derivative of the loss shown: the 1e-9 keeps the "
                        "row maximum from cancelling, so the logit holding it (the view "
                        "itself under dot) gets t/t_b 1e-9 / (sum + 1e-9) more than torch's "
                        "autograd gives, which detaches the maximum; the two differ only "
                        "where the shifted sum is not far above 1e-9 (dot similarity, large "
                        "norms). The view's own logit is no candidate of the breakdown: its "
                        "share is in the vectors' gradients, not in the gradient column",
                        when={"similarity": ("dot",)})),
            source="HobbitLong/SupContrast losses.py",
        ),
    },
    empty_negatives=True,
)

NTXENT_BATCH = LossSpec(
    hardest=("negative", "probability"),
    name="ntxent-batch",
    emulated=True,
    tiled=True,
    title="SimCLR's NT-Xent over two views (Chen et al. 2020)",
    summary="Each of the 2B views picks its partner among the other 2B - 1 views; mean over views.",
    formula=(
        "views z_i = a_i, z_{B+i} = p_i; partner pi(v) = v +- B\n"
        "l_v = LSE_{u != v}( s(z_v, z_u) / t ) - s(z_v, z_pi(v)) / t\n"
        "example i: (l_i + l_{B+i}) / 2"
    ),
    required=("anchor", "positive"),
    optional=(),
    params=(temperature(0.07), similarity(help="cosine (default, as in SimCLR) or dot")),
    columns=(
        _VIEW,
        _CANDIDATE_ROLE,
        _CANDIDATE_INDEX,
        Column("similarity", "s(z_v, z_u)"),
        Column("logit", "similarity / temperature"),
        Column("probability", "softmax share within that view's 2B - 1 candidates"),
        Column("gradient", "d loss_i / d logit = (p - [candidate = partner]) / 2"),
    ),
    min_batch=2,
    shapes={"anchor": "(B, D), B >= 2: one view of each example; every other view in the batch "
                      "is a negative",
            "positive": "(B, D): the other view of each example"},
    aliases=("simclr", "nt-xent-batch", "ntxent-two-view"),
    notes=(
        "anchor (B, D) and positive (B, D) are two views of each example, B >= 2; negatives "
        "are not accepted (use infonce for explicit negatives).",
        "Rows: for each view, the partner (role `positive`) then the 2B - 2 other views "
        "(role `negative`), each named by candidate_role and candidate_index.",
        _IN_BATCH_GRADIENT_NOTE,
    ),
    pitfalls=(
        "The batch is the negative set: duplicates of an example elsewhere in the batch are "
        "counted as negatives (false negatives).",
    ),
    gradient="d loss_i / d logit = (p - [candidate = partner]) / 2 in each of example i's two "
    "views (the `gradient` column), logit = s / t; each similarity's gradient reaches its "
    "two vectors (dot: ds(x, y)/dx = y; cosine: (u_y - (u_x . u_y) u_x) / |x|), and a "
    "vector that several examples use gets the sum (--grad gives the gradients of the sum "
    "of the per-example losses)",
    references=(
        "Chen, Kornblith, Norouzi, Hinton 2020, A Simple Framework for Contrastive Learning of "
        "Visual Representations (SimCLR); PML NTXentLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.NTXentLoss(temperature={temperature}) with "
            "{similarity} on embeddings [A; P] with labels [0..B-1, 0..B-1] "
            "(SelfSupervisedLoss(..., symmetric=True))",
            "the same pairs and mean over the 2B views; -log(p + finfo.tiny) for each view's "
            "softmax probability p of its partner (a loss above 708.4 is capped there)",
            eps=FLOAT64_TINY, eps_placement="probability",
            reductions=("mean",),
            api_values={"similarity": PML_SIMILARITIES},
            source=PML + "ntxent_loss.py",
        ),
        "optax": Convention(
            "optax",
            "optax.losses.ntxent(embeddings=[A; P], labels=[0..B-1, 0..B-1], "
            "temperature={temperature})",
            "losscli's own definition: cosine similarity, the same pairs, mean over the 2B "
            "views",
            allowed={"similarity": ("cosine",)},
            reductions=("mean",),
            source="google-deepmind/optax optax/losses/_self_supervised.py",
        ),
    },
)

CLIP = LossSpec(
    hardest=("negative", "probability"),
    name="clip",
    emulated=True,
    tiled=True,
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
        temperature(0.07),
        Param("scale", None, "logit scale 1/t (finite, > 0); give it or temperature, not both",
              check="positive"),
        similarity(help="cosine (default: CLIP normalizes) or dot"),
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
    min_batch=2,
    shapes={"anchor": "(B, D), B >= 2: one side of each pair (e.g. images); the other "
                      "examples' positives are its negatives",
            "positive": "(B, D): the other side of each pair (e.g. their texts)"},
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
        _PAIRED_NEGATIVES_PITFALL,
    ),
    from_batch={"negatives": _PAIRED_NEGATIVES},
    gradient="d loss_i / d logit = (p - [j = i]) / 2 in each direction, a->p and p->a (the "
    "`gradient` column), logit = s / t (or scale s); each similarity's gradient reaches "
    "its two vectors (dot: ds(x, y)/dx = y; cosine: (u_y - (u_x . u_y) u_x) / |x|), and a "
    "vector that several examples use gets the sum (--grad gives the gradients of the sum "
    "of the per-example losses)",
    references=(
        "Radford et al. 2021, Learning Transferable Visual Models From Natural Language "
        "Supervision (CLIP); open_clip ClipLoss",
    ),
    conventions={
        "torch": Convention(
            "torch",
            "(torch.nn.functional.cross_entropy(L, arange(B)) + "
            "torch.nn.functional.cross_entropy(L.T, arange(B))) / 2 with "
            "L = {scale|1/temperature} A P^T",
            "losscli's own definition (cosine: A and P normalized first)",
            source="pytorch/pytorch aten/src/ATen/native/LossNLL.cpp",
        ),
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.SelfSupervisedLoss(NTXentLoss("
            "temperature={1/scale|temperature}, distance={similarity}), symmetric=False)(A, P)",
            "rows only: each anchor picks its positive among the B positives, the mean of the "
            "r_i; -log(p + finfo.tiny) inside",
            directions="rows", eps=FLOAT64_TINY, eps_placement="probability",
            reductions=("mean",),
            api_values={"similarity": PML_SIMILARITIES},
            source=PML + "self_supervised_loss.py, ntxent_loss.py",
        ),
        "sentence-transformers": Convention(
            "sentence-transformers",
            "sentence_transformers.losses.MultipleNegativesSymmetricRankingLoss("
            "scale={scale|1/temperature}, similarity_fct={similarity}) on (anchor, positive) "
            "columns, no hard negatives",
            "clip with scale 20 (t = 0.05) and cosine; mean",
            params={"scale": 20.0},
            reductions=("mean",),
            api_values={"similarity": {"cosine": "cos_sim", "dot": "dot_score"}},
            source="UKPLab/sentence-transformers sentence_transformers/losses/"
            "MultipleNegativesSymmetricRankingLoss.py",
        ),
        "open-clip": Convention(
            "open-clip",
            "open_clip.loss.ClipLoss()(image_features=A, text_features=P, "
            "logit_scale={scale|1/temperature})",
            "losscli's own definition: logit_scale is taken already exponentiated, "
            "(CE(L) + CE(L^T)) / 2 on one device",
            reductions=("mean",),
            notes=(Note("open_clip's models normalize the features (cosine); dot uses them as "
                        "given", when={"similarity": ("dot",)}),),
            source="mlfoundations/open_clip src/open_clip/loss.py",
        ),
    },
    exclusive=(("temperature", "scale"),),
)

NPAIR = LossSpec(
    hardest=("negative", "probability"),
    name="npair",
    emulated=True,
    tiled=True,
    title="N-pair loss (Sohn 2016)",
    summary="log(1 + sum_k exp(s(a, n_k) - s(a, p))): infonce with t = 1 on raw vectors.",
    formula=(
        "loss = log(1 + sum_k exp(s(a, n_k) - s(a, p))) = LSE([s_ap, s_an_1, ...]) - s_ap\n"
        "without negatives (paired batch): anchor i's negatives are p_j, j != i"
    ),
    required=("anchor", "positive"),
    optional=("negatives",),
    params=(similarity("dot", "dot (default: Sohn's f^T f+, inputs not normalized) or "
                        "cosine (PML's default)"),),
    columns=(
        Column("similarity", "s(a, p) for the positive, s(a, n_k) for negative k"),
        Column("logit", "equal to the similarity (no temperature)"),
        Column("probability", "softmax share of the partition"),
        Column("gradient", "d loss / d logit_j = p_j - [j = 0]"),
        Column("candidate_index", "which example's positive the candidate is (only in the "
               "paired-batch form, without negatives)", kind="int", form="batch"),
    ),
    min_batch=2,
    shapes={"anchor": "(D,) or (B, D); without negatives a batch of B >= 2, the other "
                      "examples' positives its negatives"},
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
    gradient="d loss / d s_j = p_j - [j = 0] (the `gradient` column); with dot similarity dL/dn_k "
    "= p_k a, dL/dp = (p_0 - 1) a, dL/da = sum_k p_k n_k + (p_0 - 1) p; in the paired "
    "batch anchor i's negatives are the other positives, each of which sums the pulls of "
    "the anchors that use it",
    references=(
        "Sohn 2016, Improved Deep Metric Learning with Multi-class N-pair Loss Objective; "
        "PML NPairsLoss",
    ),
    conventions={
        "pytorch-metric-learning": Convention(
            "pytorch-metric-learning",
            "pytorch_metric_learning.losses.NPairsLoss(distance={similarity}) on embeddings "
            "[A; P] with labels [0..B-1, 0..B-1]",
            "the paired batch on normalized inputs (= --similarity cosine): the first pair of "
            "each label, cross entropy over the B positives, mean",
            params={"similarity": "cosine"},
            unsupported_roles={"negatives": "NPairsLoss works in-batch only (no ref_emb): "
                               "each anchor's negatives are the other examples' positives"},
            api_values={"similarity": {"cosine": "DotProductSimilarity()",
                                       "dot": "DotProductSimilarity(normalize_embeddings=False)"}},
            source=PML + "n_pairs_loss.py",
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
    empty_negatives=True,
)

DCL = LossSpec(
    hardest=("negative", "share"),
    name="dcl",
    tiled=True,
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
        temperature(0.1),
        similarity(),
        Param("weighting", "none", "none (DCL) or vmf (DCLW: w_i = 2 - B softmax_i(s_ii / "
              "sigma))", kind="choice", choices=("none", "vmf")),
        Param("sigma", 0.5, "sigma of the vmf weighting (finite, > 0)", check="positive"),
    ),
    columns=(
        *_BATCH_FORM_COLUMNS,
        Column("similarity", "s(a, p) or s(a, n_k)"),
        Column("logit", "similarity / temperature"),
        Column("weight", "w of the positive row (null on negatives)"),
        Column("term", "-w v_0 on the positive row (null on negatives)"),
        Column("share", "softmax_k(v) among the negatives (null on the positive)"),
        Column("gradient", "d loss / d logit with w held fixed: -w, or the share (halved in the "
               "two-view form)"),
    ),
    min_batch=2,
    shapes={"anchor": "(D,) or (B, D); without negatives a batch of B >= 2 in two views, "
                      "the other views its negatives"},
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
    gradient="d loss / d v_0 = -w and d loss / d v_k = the negative's share softmax_k(v) (the "
    "`gradient` column, halved in the two-view form), v = s / t; under weighting vmf w is "
    "differentiated too, not detached (as in both codes): dw_i / ds(a_j, p_j) = -(B / "
    "sigma) q_i ([i = j] - q_j), q = softmax(s(a, p) / sigma); each similarity's gradient "
    "reaches its two vectors (dot: ds(x, y)/dx = y; cosine: (u_y - (u_x . u_y) u_x) / "
    "|x|), and a vector that several examples use gets the sum (--grad gives the "
    "gradients of the sum of the per-example losses)",
    references=(
        "Yeh et al. 2022, Decoupled Contrastive Learning; nidl DCLLoss / DCLWLoss",
    ),
    conventions={
        "dcl-port": Convention(
            "dcl-port",
            "raminnakhli/Decoupled-Contrastive-Learning {weighting}(z1=A, z2=P)",
            "the two directions' means summed (twice losscli's loss); the partner and the view "
            "itself stay in the negatives' LSE with log(1e-45) added to their logits; DCLW's "
            "w = 2 - softmax (no factor B)",
            directions="summed", mask_logit=DCL_PORT_MASK, vmf_times_batch=False,
            unsupported_roles={"negatives": "the port takes two views only: " + _TWO_VIEW_ONLY},
            reductions=("mean",),
            api_values={"weighting": {"none": "DCL(temperature={temperature})",
                                      "vmf": "DCLW(sigma={sigma}, temperature={temperature})"}},
            notes=(Note("the port multiplies the vectors as given (its SimCLR normalizes "
                        "them): --similarity cosine normalizes first, dot uses them as given",
                        when={"similarity": ("dot",)}),
                   "the masked logits leak at small t: 3e-4 relative on the golden batch at "
                   "t = 0.01"),
            source="raminnakhli/Decoupled-Contrastive-Learning loss/dcl.py",
        ),
        "nidl": Convention(
            "nidl",
            "nidl.losses.{weighting}(z1=A, z2=P)",
            "losscli's own two-view definition: cosine, mean over the 2B views, "
            "w = 2 - B softmax",
            allowed={"similarity": ("cosine",)},
            unsupported_roles={"negatives": "nidl's DCLLoss takes two views only: "
                               + _TWO_VIEW_ONLY},
            reductions=("mean",),
            api_values={"weighting": {
                "none": "DCLLoss(temperature={temperature})",
                "vmf": "DCLWLoss(sigma={sigma}, temperature={temperature})"}},
            source="neurospin-deepinsight/nidl nidl/losses/dcl.py",
        ),
    },
)

HARD_INFONCE = LossSpec(
    hardest=("negative", "share"),
    name="hard-infonce",
    tiled=True,
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
        Param("temperature", 0.5, TEMPERATURE_HELP + "; HCL's image default 0.5",
              check="positive", short="-t"),
        Param("beta", 1.0, "hardness beta: q_k = softmax(beta v_k) (finite, >= 0; 0 = uniform)",
              check="nonnegative"),
        Param("tau_plus", 0.1, "class prior tau+ of a false negative (in [0, 1))",
              check="unit-open"),
        similarity(),
        Param("clamp", True, "floor Ng at N e^{-1/t} (--no-clamp drops it; Ng <= 0 is then a "
              "null loss)", kind="bool"),
    ),
    columns=(
        *_BATCH_FORM_COLUMNS,
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
    min_batch=2,
    shapes={"anchor": "(D,) or (B, D); without negatives a batch of B >= 2 in two views, "
                      "the other views its negatives"},
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
    gradient="the `gradient` column is d loss / d logit (halved in the two-view form), with q "
    "differentiated (HCL does not detach it); while the floor binds, the negatives' "
    "gradients are 0 and d loss / d v_0 = -Ng / (e^{v_0} + Ng); at equality, the "
    "unclamped branch's (as torch.clamp gives); each similarity's gradient reaches its "
    "two vectors (dot: ds(x, y)/dx = y; cosine: (u_y - (u_x . u_y) u_x) / |x|), and a "
    "vector that several examples use gets the sum (--grad gives the gradients of the sum "
    "of the per-example losses)",
    references=(
        "Robinson, Chuang, Sra, Jegelka 2021, Contrastive Learning with Hard Negative Samples; "
        "joshr17/HCL image/main.py",
    ),
    conventions={
        "hcl": Convention(
            "hcl",
            "joshr17/HCL image/main.py criterion(out_1=A, out_2=P, tau_plus={tau_plus}, "
            "beta={beta}, estimator='hard') with temperature {temperature}",
            "the two-view form computed in linear space as HCL does: neg = e^{s/t}, "
            "imp = neg^beta, R = sum(imp neg) / mean(imp), the floor always on; e^{s/t} "
            "overflows for s/t > 709.78 in float64 (HCL's float32: t < 0.0113 with cosine)",
            allowed={"clamp": (True,)},
            linear_space=True,
            unsupported_roles={"negatives": "HCL's criterion takes two views only: "
                               + _TWO_VIEW_ONLY},
            reductions=("mean",),
            notes=(Note("HCL's model normalizes its outputs (cosine); dot uses the vectors as "
                        "given", when={"similarity": ("dot",)}),
                   "gradients (--grad) are the analytic ones, where HCL's autograd in linear "
                   "space overflows with its loss"),
            source="joshr17/HCL image/main.py",
        ),
    },
)

SIGLIP = LossSpec(
    hardest=("negative", "term"),
    name="siglip",
    emulated=True,
    tiled=True,
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
        similarity(help="cosine (default: the paper normalizes) or dot"),
    ),
    strength="term",
    columns=(
        Column("label", "z: +1 for the example's own positive, -1 for the others"),
        Column("similarity", "s(a_i, p_j)"),
        Column("logit", "x = scale * similarity + bias"),
        Column("sigmoid", "sigma(x)"),
        Column("term", "softplus(-z x)"),
        Column("gradient", "d term / d x = sigma(x) - [z = +1]"),
        Column("candidate_index", "j, the positive's example index: the row is anchor i "
               "against positive j", kind="int"),
    ),
    aliases=("sigmoid-contrastive", "siglip-loss", "sigmoid-loss"),
    notes=(
        "anchor (B, D) and positive (B, D), B >= 1, in a paired batch; rows are (anchor i, "
        "positive j) for j = 0..B-1.",
        "The per-example split is by rows (anchors); only the total is symmetric in a and p.",
        _IN_BATCH_GRADIENT_NOTE,
    ),
    pitfalls=(
        "The bias matters at the start: with bias 0 the B - 1 negatives dominate the loss.",
        _PAIRED_NEGATIVES_PITFALL,
    ),
    from_batch={"negatives": _PAIRED_NEGATIVES},
    gradient="d l_ij / d x_ij = sigma(x_ij) - [z_ij = +1] (the `gradient` column), x = scale s + "
    "bias, so d l_ij / d s_ij = scale (sigma(x_ij) - [z_ij = +1]); each similarity's "
    "gradient reaches its two vectors (dot: ds(x, y)/dx = y; cosine: (u_y - (u_x . u_y) "
    "u_x) / |x|), and a vector that several examples use gets the sum (--grad gives the "
    "gradients of the sum of the per-example losses)",
    references=(
        "Zhai, Mustafa, Kolesnikov, Beyer 2023, Sigmoid Loss for Language Image Pre-Training; "
        "open_clip SigLipLoss",
    ),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.binary_cross_entropy_with_logits({scale} A P^T + ({bias}), "
            "eye(B), reduction='sum') / B",
            "losscli's own definition (labels 1 on the diagonal, 0 off it, as z = +1/-1)",
            source="pytorch/pytorch aten/src/ATen/native/Loss.cpp",
        ),
        "open-clip": Convention(
            "open-clip",
            "open_clip.loss.SigLipLoss()(image_features=A, text_features=P, "
            "logit_scale={scale}, logit_bias={bias})",
            "losscli's own definition: -logsigmoid(labels * logits).sum() / B on one device, "
            "logit_scale taken already exponentiated",
            reductions=("mean",),
            notes=(Note("open_clip's models normalize the features (cosine); dot uses them as "
                        "given", when={"similarity": ("dot",)}),),
            source="mlfoundations/open_clip src/open_clip/loss.py",
        ),
    },
)

SPECS: tuple[LossSpec, ...] = (SUPCON, NTXENT_BATCH, CLIP, NPAIR, DCL, HARD_INFONCE, SIGLIP,)
