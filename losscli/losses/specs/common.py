"""Parameters, choices and texts that specs of several families share (pure data)."""

from __future__ import annotations

from losscli.losses.spec import Note, Param

SIMILARITIES = ("dot", "cosine")

DISTANCES = ("euclidean", "sqeuclidean", "cosine")

DISTANCE_HELP = "euclidean (exact, no eps), sqeuclidean (squared), or cosine (1 - cosine)"

COSINE_FIRST = "cosine (default, vectors normalized) or dot"

TEMPERATURE_HELP = "softmax temperature t (finite, > 0)"

ZERO_COSINE = ("Zero vectors under cosine: a zero vector has no direction; its cosine is "
                "taken as 0 and its gradient as 0 (with a warning).")

SQRT_AT_ZERO = ("sqrt at zero distance: the euclidean distance is exact and its gradient at "
                 "d = 0 is taken as 0, never NaN (torch's eps 1e-6 instead makes d(x, x) = "
                 "1e-6 sqrt(D) > 0: --like torch shows that).")

PML = "KevinMusgrave/pytorch-metric-learning 2.9.0 src/pytorch_metric_learning/losses/"

# Notes about inputs of some shape: `explain` lists them; a run warns when they occur.
PML_PER_CALL = Note("one PML call per anchor when its positives or negatives are its own "
                    "(B, P, D) / (B, K, D); one call for the whole batch when they are shared "
                    "banks", inputs=True)

PML_SINGLE_PAIR = Note("a call with at most one positive pair and at most one negative pair "
                       "returns 0 (GenericPairLoss): B = 1, P = 1, K <= 1 gives 0 here too",
                       inputs=True)

SINGLE_PAIR = Note("a call with a single positive pair and a single negative pair returns 0 "
                   "(GenericPairLoss): B = 1, K = 1 gives 0 here too", inputs=True)

# How PML spells losscli's distances and similarities (Convention.api_values).
PML_DISTANCES = {"euclidean": "LpDistance(normalize_embeddings=True)",
                 "sqeuclidean": "LpDistance(power=2, normalize_embeddings=True)",
                 "cosine": "CosineSimilarity()"}

PML_SIMILARITIES = {"cosine": "CosineSimilarity()",
                    "dot": "DotProductSimilarity(normalize_embeddings=False)"}

# PML's reducers by losscli's batch reduction ("" for the loss's default reducer).
PML_REDUCERS = {"mean": ", reducer=MeanReducer()", "sum": ", reducer=SumReducer()",
                "none": ", reducer=DoNothingReducer()"}

def temperature(default: float) -> Param:
    """The softmax temperature t (> 0, short flag -t) with the loss's own default."""
    return Param("temperature", default, TEMPERATURE_HELP, check="positive", short="-t")

def similarity(default: str = "cosine", help: str = COSINE_FIRST) -> Param:
    """The similarity choice, dot or cosine, with the loss's default and help."""
    return Param("similarity", default, help, kind="choice", choices=SIMILARITIES)

def distance(help: str = DISTANCE_HELP) -> Param:
    """The distance choice (euclidean, sqeuclidean or cosine; euclidean by default)."""
    return Param("distance", "euclidean", help, kind="choice", choices=DISTANCES)
