"""The softmax family: cross entropy over classes (LOSSES.md)."""

from __future__ import annotations

from losscli.losses.spec import Column, Convention, LossSpec, Param

SOFTMAX_CE = LossSpec(
    hardest=("class", "gradient"),
    name="softmax-ce",
    emulated=True,
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
    streams=True,
    aliases=("cross-entropy", "ce", "softmax-cross-entropy"),
    notes=(
        "Targets: one class index per example (integral floats accepted) or a row of "
        "probabilities per example.",
        "Ignored examples (--ignore-index) show loss 0 and are left out of the mean.",
    ),
    pitfalls=(
        "With class weights, `mean` divides by the sum of the targets' weights, not by B (torch).",
        "Keras reads its input as probabilities unless from_logits=True: logits given to it "
        "are normalized and clipped, not softmaxed (--like tf-addons shows what it computes).",
        "Label smoothing moves the loss linearly in e: a smoothed loss never reaches 0.",
    ),
    gradient="d loss / d x_c = p_c sum_k w_k q_k - w_c q_c (the `gradient` column); "
    "ignored examples have gradient 0",
    references=("torch.nn.CrossEntropyLoss; optax.softmax_cross_entropy",),
    conventions={
        "torch": Convention(
            "torch",
            "torch.nn.functional.cross_entropy(logits, target, weight, "
            "ignore_index={ignore_index}, reduction='{reduction}', "
            "label_smoothing={label_smoothing})",
            "losscli's own definition: the weighted mean divides by sum w_y; smoothing "
            "(1 - e) onehot + e / C",
            params={"ignore_index": -100},
            notes=("torch's default ignore_index -100 leaves out the examples whose target is "
                   "-100 (probability targets have none)",),
            source="pytorch/pytorch aten/src/ATen/native/LossNLL.cpp",
        ),
        "tf-addons": Convention(
            "tf-addons",
            "keras.losses.CategoricalCrossentropy(from_logits=False, "
            "label_smoothing={label_smoothing}) (SparseCategoricalCrossentropy for class "
            "indices)",
            "Keras reads the inputs as probabilities by default (from_logits=False): "
            "x / sum x, clipped to [1e-7, 1 - 1e-7] (class indices: x clipped, then "
            "renormalized); mean over the batch",
            probabilities_input=True,
            unsupported={"ignore_index": "Keras' CategoricalCrossentropy has no ignore index"},
            notes=("pass probabilities under --like tf-addons; logits need from_logits=True, "
                   "which is losscli's own definition",),
            source="keras-team/keras keras/src/losses/losses.py, backend nn.py",
        ),
        "optax": Convention(
            "optax",
            "optax.losses.softmax_cross_entropy / softmax_cross_entropy_with_integer_labels",
            "unreduced: one loss per example; label smoothing through optax.smooth_labels "
            "((1 - e) y + e / C); no class weights",
            reductions=("none",),
            unsupported={"ignore_index": "optax has no ignore index (mask with `where`)"},
            source="google-deepmind/optax optax/losses/_classification.py",
        ),
    },
)

SPECS: tuple[LossSpec, ...] = (SOFTMAX_CE,)
