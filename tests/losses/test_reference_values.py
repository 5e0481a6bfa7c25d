"""Reference values (losses/references/): each against the loss evaluated where it is
reached (collapsed inputs, the antipode, the simplex) and against its closed form; the
collapse warning of compute and batch; explain's section."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import losscli
from losscli.losses import LOSSES
from losscli.losses.references import collapse_warning, reference_values
from losscli.losses.spec import SIZE_ROLES
from tests import reference as ref
from tests.helpers import assert_close, run_cli
from tests.reference import explicit_negatives as ref_explicit
from tests.reference import in_batch as ref_in_batch

B, K, P, C, D = 4, 3, 2, 5, 3


def collapsed_inputs(name: str) -> dict[str, np.ndarray]:
    """Every role of the loss, every vector the same: every similarity and distance equal."""
    spec = LOSSES[name]
    v = np.array([0.3, -1.2, 0.5])
    arrays: dict[str, np.ndarray] = {}
    for role in spec.required + tuple(r for r in spec.optional if r == "negatives"):
        if role in ("anchor", "positive"):
            arrays[role] = np.tile(v, (B, 1))
        elif role == "positives":
            arrays[role] = np.tile(v, (B, P, 1))
        elif role == "negatives":
            arrays[role] = np.tile(v, (B, K, 1))
        elif role == "logits":
            arrays[role] = np.full((B, C), 0.7)
        elif role == "target":
            arrays[role] = np.arange(B) % C
        elif role == "label":
            arrays[role] = -np.ones(B)
        elif role in ("x1", "x2"):
            arrays[role] = np.tile(v, (B, 1)) if name == "cosine-embedding" else np.zeros(B)
    return arrays


def reference_of(result, kind: str) -> float:
    """The result's reference value of this kind, for its parameters and sizes."""
    values = reference_values(result.loss, result.params,
                              {k: result.shape.get(k) for k in
                               ("batch", "negatives", "positives", "classes")})
    return next(v.value for v in values if v.kind == kind)


def collapse_of(result) -> float:
    return reference_of(result, "collapse")


@pytest.mark.parametrize("name", [n for n in LOSSES if n != "supcon"])
def test_the_collapse_value_is_the_loss_on_collapsed_inputs(name):
    extra = {"similarity": "cosine"} if "similarity" in [p.name for p in LOSSES[name].params] \
        else {}
    result = losscli.evaluate(name, collapsed_inputs(name), **extra)
    assert_close(result.per_example, [collapse_of(result)] * B, rel=1e-10)


def test_supcon_collapse_with_negatives():
    inputs = {**collapsed_inputs("supcon"), "negatives": np.tile([0.3, -1.2, 0.5], (B, K, 1))}
    result = losscli.evaluate("supcon", inputs, base_temperature=0.07)
    assert_close(result.per_example, [(0.1 / 0.07) * math.log(P + K)] * B, rel=1e-10)
    assert_close(collapse_of(result), (0.1 / 0.07) * math.log(P + K))


@pytest.mark.parametrize("t", [0.05, 0.5, 2.0])
def test_infonce_cosine_minimum_and_maximum_are_reached(t):
    a, n = np.array([1.0, 0.0]), -np.tile([1.0, 0.0], (K, 1))
    params = {"temperature": t, "similarity": "cosine"}
    values = {v.kind: v.value for v in reference_values("infonce", params, {"negatives": K})}
    assert_close(values["minimum"], math.log1p(K * math.exp(-2 / t)))
    assert_close(values["minimum"], ref_explicit.infonce(a.tolist(), a.tolist(), n.tolist(),
                                                         t, "cosine"))
    assert_close(values["maximum"], ref_explicit.infonce(a.tolist(), (-a).tolist(),
                                                         (-n).tolist(), t, "cosine"))
    assert_close(values["collapse"], math.log(K + 1))


# Under "chance" every candidate is equally likely: every similarity the same, here 0
# between basis vectors of several norms (random embeddings in many dimensions), so no two
# inputs are equal, unlike the collapse above.
CHANCE = ["softmax-ce", "infonce", "supcon", "ntxent-batch", "clip", "npair", "siglip",
          "multi-similarity", "circle"]


def chance_inputs(name: str) -> dict[str, np.ndarray]:
    """Every role of the loss from distinct, mutually orthogonal basis vectors of different
    norms: every similarity of an anchor (and, in a batch, of every view) is 0."""
    spec = LOSSES[name]
    E = np.eye(2 * B + P + K) * np.arange(1.0, 2 * B + P + K + 1)[:, None]
    if name == "softmax-ce":  # every logit equal; a probability target not one-hot
        q = np.tile(np.arange(1.0, C + 1) / (C * (C + 1) / 2), (B, 1))
        return {"logits": np.full((B, C), -2.5), "target": q}
    if name in ("ntxent-batch", "clip", "siglip"):  # 2B views, every pair orthogonal
        return {"anchor": E[:B], "positive": E[B:2 * B]}
    roles = {"anchor": E[:B], "positive": E[B:2 * B], "positives": np.tile(E[2 * B:2 * B + P],
             (B, 1, 1)), "negatives": np.tile(E[2 * B + P:], (B, 1, 1))}
    return {r: roles[r] for r in spec.required + ("negatives",) if r in roles}


def test_the_chance_list_is_every_loss_with_a_chance_value():
    sizes = {"batch": 6, "negatives": 4, "positives": 2, "classes": 5}
    have = [name for name in LOSSES
            if any(v.kind == "chance" for v in reference_values(
                name, losscli.evaluate(name, collapsed_inputs(name)).params, sizes))]
    assert sorted(have) == sorted(CHANCE)


@pytest.mark.parametrize("name", CHANCE)
def test_the_chance_value_is_the_loss_with_every_candidate_equally_likely(name):
    result = losscli.evaluate(name, chance_inputs(name))
    assert_close(result.per_example, [reference_of(result, "chance")] * B, rel=1e-10)


def test_chance_values_are_their_closed_forms():
    """The chance values against LOSSES.md's forms: a uniform softmax over the candidates is
    log(their count); siglip and multi-similarity at every similarity 0."""
    def chance(name, sizes, **params):
        params = {**losscli.evaluate(name, collapsed_inputs(name)).params, **params}
        return next(v.value for v in reference_values(name, params, sizes)
                    if v.kind == "chance")

    assert_close(chance("infonce", {"negatives": 5}), math.log(6))
    assert_close(chance("infonce", {"negatives": 1}, similarity="cosine"), math.log(2))
    assert_close(chance("npair", {"negatives": 5}), math.log(6))
    assert_close(chance("npair", {"batch": 7}), math.log(7))  # in batch: K = B - 1
    assert_close(chance("softmax-ce", {"classes": 10}), math.log(10))
    assert_close(chance("ntxent-batch", {"batch": 8}), math.log(15))
    assert_close(chance("clip", {"batch": 8}), math.log(8))
    assert_close(chance("supcon", {"positives": 3, "negatives": 4}), math.log(7))
    assert_close(chance("supcon", {"positives": 3, "negatives": 4}, base_temperature=0.05),
                 2 * math.log(7))
    assert_close(chance("siglip", {"batch": 4}, scale=3.0, bias=-2.0),
                 ref.softplus(2.0) + 3 * ref.softplus(-2.0))
    alpha, beta, base = 2.0, 50.0, 0.5
    assert_close(chance("multi-similarity", {"positives": 2, "negatives": 3}, alpha=alpha,
                        beta=beta, base=base),
                 math.log1p(2 * math.exp(alpha * base)) / alpha
                 + math.log1p(3 * math.exp(-beta * base)) / beta)


# One anchor; under cosine only directions count, so the others vary their norms.
ANCHOR, SAME, OPPOSITE = [2.0, 0.0], [0.5, 0.0], [-3.0, 0.0]
COS = {"distance": "cosine"}


MS = {"alpha": 3.0, "beta": 20.0, "base": 0.4}


def ms_at(sp: float, sn: float, alpha: float, beta: float, base: float) -> float:
    """LOSSES-MORE.md's multi-similarity with every s_p and every s_k at one value."""
    return (math.log1p(P * math.exp(-alpha * (sp - base))) / alpha
            + math.log1p(K * math.exp(beta * (sn - base))) / beta)


# (loss, params, the roles that reach the value, its kind, its closed form): the least and
# largest values with positives and negatives at cosine 1 or -1, and soft triplet's collapse
EXTREMES = [
    ("contrastive", {**COS, "margin": 0.7},
     {"positive": OPPOSITE, "negatives": [SAME] * K}, "maximum", (2 + K * 0.5 * 0.49) / (K + 1)),
    ("triplet", {**COS, "margin": 0.3},
     {"positive": OPPOSITE, "negatives": [SAME] * K}, "maximum", 2.3),
    ("triplet", {**COS, "margin": 0.3, "negatives_reduction": "sum"},
     {"positive": OPPOSITE, "negatives": [SAME] * K}, "maximum", K * 2.3),
    ("triplet", {**COS, "soft": True},
     {"positive": SAME, "negatives": [OPPOSITE] * K}, "minimum", ref.softplus(-2.0)),
    ("triplet", {**COS, "soft": True},
     {"positive": OPPOSITE, "negatives": [SAME] * K}, "maximum", ref.softplus(2.0)),
    ("triplet", {"soft": True}, {"positive": SAME, "negatives": [SAME] * K}, "collapse",
     math.log(2)),
    ("multi-similarity", MS, {"positives": [SAME] * P, "negatives": [OPPOSITE] * K},
     "minimum", ms_at(1, -1, **MS)),
    ("multi-similarity", MS, {"positives": [OPPOSITE] * P, "negatives": [SAME] * K},
     "maximum", ms_at(-1, 1, **MS)),
    ("supcon", {"temperature": 0.2}, {"positives": [SAME] * P, "negatives": [OPPOSITE] * K},
     "minimum", math.log(P + K * math.exp(-2 / 0.2))),
    ("supcon", {"temperature": 0.2}, {"positives": [OPPOSITE] * P, "negatives": [SAME] * K},
     "maximum", math.log(P + K * math.exp(2 / 0.2))),
    ("lifted-structure", {**COS, "margin": 3.0},
     {"positive": SAME, "negatives": [OPPOSITE] * K}, "minimum",
     0.5 * (math.log(2 * K) + 3.0 - 2) ** 2),
    ("lifted-structure", {**COS, "margin": 3.0, "variant": "generalized"},
     {"positives": [SAME] * P, "negatives": [OPPOSITE] * K}, "minimum",
     math.log(P * K) + 3.0 - 2),
]


@pytest.mark.parametrize("name,params,roles,kind,closed", EXTREMES,
                         ids=[f"{e[0]}-{e[3]}-{i}" for i, e in enumerate(EXTREMES)])
def test_reference_values_are_reached_where_they_say(name, params, roles, kind, closed):
    """Each value is its LOSSES.md / LOSSES-MORE.md closed form, and the loss evaluated
    where its condition holds is that value."""
    result = losscli.evaluate(name, {"anchor": ANCHOR, **roles}, **params)
    assert_close(reference_of(result, kind), closed)
    assert_close(result.per_example, [closed], rel=1e-10)


def simplex(b: int) -> np.ndarray:
    """b unit vectors with pairwise cosine -1/(b - 1), in b dimensions."""
    x = np.eye(b) - 1.0 / b
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("b", [2, 3, 6])
def test_in_batch_minimum_is_the_simplex(b):
    Z = simplex(b)
    t = 0.2
    values = {v.kind: v.value for v in reference_values("ntxent-batch", {"temperature": t,
              "similarity": "cosine"}, {"batch": b})}
    assert_close(values["minimum"], np.mean(ref_in_batch.ntxent_batch(Z.tolist(), Z.tolist(), t)),
                 rel=1e-10)
    assert_close(values["minimum"], losscli.evaluate("ntxent-batch", {"anchor": Z,
                 "positive": Z}, temperature=t).value, rel=1e-10)
    clip = {v.kind: v.value for v in reference_values("clip", {"temperature": t, "scale": None,
            "similarity": "cosine"}, {"batch": b})}
    assert_close(clip["minimum"], losscli.evaluate("clip", {"anchor": Z, "positive": Z},
                                                   temperature=t).value, rel=1e-10)
    dcl = {v.kind: v.value for v in reference_values("dcl", {"temperature": t,
           "similarity": "cosine"}, {"batch": b})}
    assert_close(dcl["minimum"], losscli.evaluate("dcl", {"anchor": Z, "positive": Z},
                                                  temperature=t).value, rel=1e-10)


def test_in_batch_minimum_is_a_lower_bound_on_random_batches():
    rng = np.random.default_rng(3)
    for _ in range(20):
        A, Pp = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
        for name in ("ntxent-batch", "clip"):
            least = next(v.value for v in reference_values(
                name, {"temperature": 0.3, "scale": None, "similarity": "cosine"}, {"batch": 5})
                if v.kind == "minimum")
            assert losscli.evaluate(name, {"anchor": A, "positive": Pp},
                                    temperature=0.3).value >= least


def test_circle_minimum_puts_negatives_orthogonal():
    a = np.array([1.0, 0.0])
    values = {v.kind: v.value for v in reference_values(
        "circle", {"margin": 0.25, "gamma": 4.0}, {"negatives": 1, "positives": 1})}
    at_zero = losscli.evaluate("circle", {"anchor": a, "positives": [a.tolist()],
                                         "negatives": [[0.0, 1.0]]},
                               margin=0.25, gamma=4.0).value
    at_opposite = losscli.evaluate("circle", {"anchor": a, "positives": [a.tolist()],
                                              "negatives": [[-1.0, 0.0]]},
                                   margin=0.25, gamma=4.0).value
    assert_close(values["minimum"], at_zero)
    assert at_opposite > at_zero


def test_softmax_ce_minimum_with_smoothing_is_the_target_entropy():
    e = 0.1
    q = np.full(C, e / C)
    q[0] += 1 - e
    values = {v.kind: v.value for v in reference_values(
        "softmax-ce", {"label_smoothing": e}, {"classes": C})}
    result = losscli.evaluate("softmax-ce", {"logits": np.log(q), "target": 0},
                              label_smoothing=e)
    assert_close(values["minimum"], result.value)
    assert_close(values["collapse"], math.log(C))


def test_compute_warns_at_collapse_and_not_otherwise(capsys, tmp_path):
    path = tmp_path / "views.npz"
    np.savez(path, **collapsed_inputs("ntxent-batch"))
    code, out, err = run_cli(capsys, "compute", "ntxent-batch", str(path), "-f", "json")
    assert code == 0
    warning = [w for w in json.loads(out)["warnings"] if "collapse" in w]
    assert len(warning) == 1 and "log(2B - 1)" in warning[0]
    assert "warning: every example's loss (4) equals the value at collapse" in err
    rng = np.random.default_rng(0)
    np.savez(path, anchor=rng.normal(size=(B, D)), positive=rng.normal(size=(B, D)))
    code, out, err = run_cli(capsys, "compute", "ntxent-batch", str(path), "-f", "json")
    assert code == 0 and "collapse" not in err


def test_batch_warns_at_collapse_once_per_input(capsys, tmp_path):
    np.savez(tmp_path / "a.npz", **collapsed_inputs("infonce"))
    np.savez(tmp_path / "b.npz", **collapsed_inputs("ntxent-batch"))
    for loss, name in (("infonce", "a.npz"), ("ntxent-batch", "b.npz")):
        code, out, err = run_cli(capsys, "batch", loss, str(tmp_path / name), "-f", "jsonl")
        assert code == 0, err
        record = json.loads(out.splitlines()[0])
        assert sum("value at collapse" in w for w in record["warnings"]) == 1, record


def test_explain_shows_reference_values(capsys):
    code, out, _ = run_cli(capsys, "explain", "ntxent-batch", "--batch-size", "512",
                           "-f", "table")
    assert code == 0
    assert "reference values (B = 512" in out
    assert f"{math.log(1023):.10g}" in out
    code, out, _ = run_cli(capsys, "explain", "ntxent-batch", "--batch-size", "512",
                           "-t", "0.5", "-f", "json")
    section = json.loads(out)["reference_values"]
    minimum = next(v for v in section["values"] if v["kind"] == "minimum")
    assert_close(minimum["value"], math.log1p(1022 * math.exp(-512 / (511 * 0.5))))


def test_explain_names_the_missing_size(capsys):
    code, _, err = run_cli(capsys, "explain", "infonce", "--batch-size", "8")
    assert code == 2
    assert "give --num-negatives K" in err


@pytest.mark.parametrize("name", list(LOSSES))
def test_explain_json_with_sizes_fits_its_schema(capsys, name):
    from tests.cli.test_schemas import validate

    spec = LOSSES[name]
    given = {"negatives": "4", "positives": "2", "classes": "5"}
    sizes = [arg for size, (role, option) in SIZE_ROLES.items() if role in spec.roles
             for arg in (option, given[size])]
    code, out, err = run_cli(capsys, "explain", name, "--batch-size", "6", *sizes, "-f", "json")
    assert code == 0, err
    record = json.loads(out)
    validate("explain", record)
    assert record["reference_values"]["values"], name


@pytest.mark.parametrize(("name", "option", "said"), [
    ("margin-ranking", "--num-negatives", "margin-ranking takes no negatives"),
    ("softmax-ce", "--num-negatives", "softmax-ce takes no negatives"),
    ("triplet", "--num-positives", "triplet takes no positives"),
    ("infonce", "--num-classes", "infonce takes no logits"),
    ("clip", "--num-negatives", "clip does not take negatives: its negatives are the batch's"),
    ("ntxent-batch", "--num-negatives", "ntxent-batch takes no negatives: they are the batch's"),
])
def test_explain_refuses_a_size_of_a_role_the_loss_does_not_take(capsys, name, option, said):
    """QA21 L4: the reference values echoed a K for losses that have none."""
    code, out, err = run_cli(capsys, "explain", name, "--batch-size", "4", option, "3")
    assert code == 2 and out == ""
    assert said in err and err.count("\n") == 1


def test_one_example_at_the_collapse_value_by_chance_is_not_called_a_collapse(capsys,
                                                                            tmp_path):
    """contrastive under sqeuclidean: a = [1, 0], p = [0.6, 0.8], n = [0.8, 0.6] gives 0.25,
    the value at collapse K m^2 / (2 (K + 1)), with distances 0.8 and 0.4: the warning said
    "every distance 0 (identical embeddings)" of embeddings that are not."""
    path = tmp_path / "apn.json"
    path.write_text(json.dumps({"anchor": [1, 0], "positive": [0.6, 0.8],
                                "negatives": [[0.8, 0.6]]}))
    code, out, err = run_cli(capsys, "compute", "contrastive", str(path), "--distance",
                             "sqeuclidean", "-f", "json")
    doc = json.loads(out)
    assert code == 0 and doc["value"] == pytest.approx(0.25, rel=1e-12)
    assert doc["warnings"] == [] and "collapse" not in err


def test_the_collapse_warning_names_the_condition_as_what_collapse_is():
    """It goes by the values: it says what collapse gives, not that the embeddings are so."""
    warning = collapse_warning("infonce", {"temperature": 0.07, "similarity": "dot"},
                               {"batch": 3, "negatives": 4}, [math.log(5)] * 3)
    assert warning == ("every example's loss (3) equals the value at collapse (every "
                       "similarity equal), log(K + 1) = 1.60944; check the embeddings are not "
                       "all the same")


@pytest.mark.parametrize(("loss", "params", "shape", "value", "check"), [
    ("softmax-ce", {"label_smoothing": 0.0}, {"batch": 2, "classes": 3}, math.log(3),
     "check each example's logits are not all equal"),
    ("hinge-embedding", {"margin": 1.0}, {"batch": 2}, 1.0,
     "check the distances x (x1 to x2 in the vector form) are not all 0"),
])
def test_the_collapse_warning_names_the_inputs_the_loss_takes(loss, params, shape, value, check):
    """QA21 L3: logits and given distances are not embeddings."""
    warning = collapse_warning(loss, params, shape, [value] * 2)
    assert warning is not None and warning.endswith("; " + check)
    assert "embeddings" not in warning
