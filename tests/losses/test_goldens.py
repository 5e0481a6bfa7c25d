"""Every golden value of LOSSES.md and LOSSES-MORE.md, through the library (losscli.evaluate),
and the tiny losses that must keep their last digits."""

from __future__ import annotations

import math

import numpy as np
import pytest

import losscli
from tests.helpers import assert_close

A = [-0.83483301, -0.16904167, 0.52390721]
P = [-0.83455951, -0.16862266, 0.52447767]
FAR = [[0.53043332, -0.83523217, -0.14500935], [0.68285685, -0.73054075, 0.00409143],
       [0.76652431, 0.61500886, 0.18494479]]
SEED1 = {"anchor": A, "positive": P,
         "negatives": [[0.70374682, -0.18682394, -0.68544673],
                       [0.15465702, 0.32303224, 0.93366556]] + FAR}
SEED1_TRUE = 4.9068650660199903e-05
SEED2 = {"anchor": A, "positive": P, "negatives": [P, P] + FAR}
UNIT = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}
A_P_N = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6], [0.0, 1.0]]}
BATCH = {"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.6, 0.8], [-0.6, 0.8]]}


def col(result, name):
    return result.terms.columns[name]


# ---------------------------------------------------------------- explicit negatives


def test_seed_example_1_to_12_digits(jit_mode):
    r = losscli.evaluate("infonce", SEED1)
    assert_close(r.value, SEED1_TRUE, rel=1e-12)


def test_naive_formula_would_fail_the_seed_bar():
    """The bar is meaningful: the seed's naive -log(e^v0 / sum e^v) is off in the 12th digit
    on the same inputs, where losscli is not."""
    a, p, n = (np.asarray(SEED1[role]) for role in ("anchor", "positive", "negatives"))
    logits = np.concatenate([[a @ p], n @ a]) / 0.07
    naive = float(-np.log(np.exp(logits[0]) / np.exp(logits).sum()))
    assert not math.isclose(naive, SEED1_TRUE, rel_tol=1e-12)
    assert math.isclose(losscli.evaluate("infonce", SEED1).value, SEED1_TRUE, rel_tol=1e-12)


def test_seed_example_2(jit_mode):
    assert_close(losscli.evaluate("infonce", SEED2).value, 1.09861228999852746)


def test_infonce_cosine_golden(jit_mode):
    r = losscli.evaluate("infonce", {"anchor": [1, 0], "positive": [0.6, 0.8],
                                     "negatives": [[0.8, 0.6], [0, 1]]}, similarity="cosine")
    assert_close(r.value, 2.912997059197858)
    cols = r.terms.columns
    np.testing.assert_allclose(cols["logit"][0], [8.5714, 11.4286, 0], atol=1e-4)
    np.testing.assert_allclose(cols["probability"][0], [0.054313, 0.945677, 0.000010],
                               atol=1e-6)


def test_contrastive_golden(jit_mode):
    r = losscli.evaluate("contrastive", UNIT)
    assert_close(r.value, 0.23377223398316212)
    assert_close(r.terms.columns["term"][0].tolist(), [0.4000000000000001, 0.06754446796632413])
    assert r.terms.columns["kind"][0].tolist() == ["similar", "dissimilar"]
    assert r.terms.columns["active"][0].tolist() == [True, True]


def test_triplet_golden(jit_mode):
    r = losscli.evaluate("triplet", UNIT, margin=1.0)
    assert_close(r.value, 1.2619716589662402)
    assert_close(float(r.terms.columns["d_ap"][0, 0]), 0.894427190999916)
    assert_close(float(r.terms.columns["d_an"][0, 0]), 0.6324555320336759)
    assert r.terms.columns["regime"][0, 0] == "hard"


def test_quadruplet_golden(jit_mode):
    r = losscli.evaluate("quadruplet", {**UNIT, "negatives2": [[0, 1]]})
    assert_close(r.value, 1.9)
    cols = r.terms.columns
    assert_close([float(cols[c][0, 0]) for c in ("d_ap", "d_an", "d_nn")], [0.8, 0.4, 0.8])
    assert_close([float(cols["triplet_term"][0, 0]), float(cols["pair_term"][0, 0])], [1.4, 0.5])
    assert r.params["pairing"] == "given"


# ---------------------------------------------------------------- softmax


def test_softmax_ce_golden(jit_mode):
    r = losscli.evaluate("softmax-ce", {"logits": [2, 1, 0.1], "target": 0})
    assert_close(r.value, 0.4170300162778335)
    np.testing.assert_allclose(r.terms.columns["probability"][0],
                               [0.659001, 0.242433, 0.098566], atol=1e-6)
    smoothed = losscli.evaluate("softmax-ce", {"logits": [2, 1, 0.1], "target": 0},
                                label_smoothing=0.1)
    assert_close(smoothed.value, 0.5136966829445004)


# ---------------------------------------------------------------- in-batch: supcon

SUPCON_IN = {"anchor": [1.0, 0.0], "positives": [[0.6, 0.8], [0.8, 0.6]],
             "negatives": [[0.0, 1.0]]}


def test_supcon_golden():
    r = losscli.evaluate("supcon", SUPCON_IN, temperature=0.1)
    assert_close(r.value, 1.1272234419014062)
    assert_close(r.value, 1 + math.log(1 + math.exp(-2) + math.exp(-8)))
    assert_close(col(r, "logit")[0], [6.0, 8.0, 0.0], scale=8)
    assert r.terms.role == ("positive", "positive", "negative")
    assert r.params["base_temperature"] == 0.1


def test_supcon_base_temperature_golden():
    r = losscli.evaluate("supcon", SUPCON_IN, temperature=0.1, base_temperature=0.07)
    assert_close(r.value, 1.6103192027162945)


# ---------------------------------------------------------------- in-batch: ntxent-batch and clip


def test_ntxent_batch_golden():
    r = losscli.evaluate("ntxent-batch", BATCH, temperature=0.07)
    assert_close(r.per_example, [1.4568689217976305, 0.34687324091707405])
    assert_close(r.value, 0.9018710813573522)


def test_clip_golden():
    r = losscli.evaluate("clip", BATCH, temperature=0.07)
    assert_close(r.per_example, [1.4564934029673633, 0.3465735913105495])
    assert_close(r.value, 0.9015334971389564)
    # The rows and columns LOSSES-MORE.md shows (rounded there): -log of the own
    # candidate's probability in each direction.
    prob, direction, j = col(r, "probability"), col(r, "direction"), col(r, "j")
    rows = [-math.log(prob[i][(direction[i] == "a->p") & (j[i] == i)][0]) for i in range(2)]
    cols = [-math.log(prob[i][(direction[i] == "p->a") & (j[i] == i)][0]) for i in range(2)]
    assert_close(rows, [3.6e-08, 0.693147], rel=2e-2)
    assert_close(cols, [2.912987, 2.1e-09], rel=2e-2)
    assert r.params["scale"] == pytest.approx(1 / 0.07, rel=1e-15)


def test_clip_scale_is_inverse_temperature():
    r = losscli.evaluate("clip", BATCH, scale=1 / 0.07)
    assert_close(r.value, 0.9015334971389564)
    assert r.params["temperature"] == pytest.approx(0.07, rel=1e-15)


# ---------------------------------------------------------------- in-batch: npair


def test_npair_explicit_golden():
    r = losscli.evaluate("npair", A_P_N)
    assert_close(r.value, 1.0189247158518506)
    assert_close(r.value, math.log(1 + math.exp(0.2) + math.exp(-0.6)))


NPAIR_RAW = {"anchor": [[2.0, 0.0], [0.0, 1.0]], "positive": [[0.6, 0.8], [-1.2, 1.6]]}


def test_npair_paired_golden():
    r = losscli.evaluate("npair", NPAIR_RAW)
    assert_close(r.per_example, [0.026957093008208057, 0.3711006659477777])
    assert_close(r.value, 0.1990288794779929)
    # S = [[1.2, -2.4], [0.8, 1.6]]: row i lists s(a_i, p_i) first, then the others.
    assert_close(col(r, "similarity"), [[1.2, -2.4], [1.6, 0.8]], scale=2)
    assert col(r, "candidate_index").tolist() == [[0, 1], [1, 0]]


def test_npair_paired_cosine_golden():
    r = losscli.evaluate("npair", NPAIR_RAW, similarity="cosine")
    assert_close(r.value, 0.47821482394898823)


# ---------------------------------------------------------------- in-batch: dcl


def test_dcl_explicit_golden():
    r = losscli.evaluate("dcl", A_P_N, temperature=0.1)
    assert_close(r.value, 2.0003354063728964)


def test_dcl_two_view_vmf_golden():
    r = losscli.evaluate("dcl", BATCH, weighting="vmf", sigma=0.5, temperature=0.1)
    assert_close(col(r, "weight")[:, 0], [1.19737532022, 0.802624679775], rel=1e-11)
    assert_close(r.per_example, [-3.18026337682573, -1.0207543741563156])
    assert_close(r.value, -2.100508875491023)


# ---------------------------------------------------------------- in-batch: hard-infonce


def test_hard_infonce_golden_defaults():
    r = losscli.evaluate("hard-infonce", A_P_N)
    assert r.params["temperature"] == 0.5 and r.params["beta"] == 1.0
    assert r.params["tau_plus"] == 0.1
    assert_close(col(r, "importance")[0, 1:] / 2, [0.832018, 0.167982], rel=5e-6)
    assert_close(col(r, "r")[0, 0], 8.57799130825, rel=1e-11)
    assert_close(col(r, "ng_raw")[0, 0], 8.79329769301, rel=1e-11)
    assert_close(col(r, "floor")[0, 0], 0.2706706, rel=5e-6)
    assert not col(r, "floor_binds")[0, 0]
    assert_close(r.value, 1.294313484437934)


def test_hard_infonce_golden_is_infonce_at_beta_0_tau_0():
    r = losscli.evaluate("hard-infonce", A_P_N, beta=0.0, tau_plus=0.0, temperature=0.07)
    assert_close(r.value, 2.912997059197859)


def test_hard_infonce_golden_floor_binds():
    inputs = {"anchor": [1.0, 0.0], "positive": [0.6, 0.8], "negatives": [[-2.0, 0.0]]}
    r = losscli.evaluate("hard-infonce", inputs, similarity="dot", temperature=0.5, beta=0.0,
                         tau_plus=0.0)
    assert col(r, "floor_binds")[0, 0]
    assert_close(col(r, "ng_raw")[0, 0], math.exp(-4))
    assert_close(r.value, 0.03995333316243036)
    assert_close(r.value, math.log1p(math.exp(-3.2)))
    infonce = losscli.evaluate("infonce", inputs, similarity="dot", temperature=0.5)
    assert_close(infonce.value, 0.005501403909657374)


# ---------------------------------------------------------------- in-batch: siglip


def test_siglip_one_pair_golden():
    r = losscli.evaluate("siglip", {"anchor": [1.0, 0.0], "positive": [0.6, 0.8]})
    assert_close(r.value, 4.01814992791781)


def test_siglip_batch_golden():
    r = losscli.evaluate("siglip", BATCH)
    assert_close(col(r, "logit"), [[-4.0, -16.0], [-2.0, -2.0]], scale=16)
    assert_close(r.per_example, [4.018150040452978, 2.253856022085945])
    assert_close(r.value, 3.136003031269462)


# ---------------------------------------------------------------- pairs: multi-similarity, circle


def test_multi_similarity_golden():
    r = losscli.evaluate("multi-similarity", A_P_N)
    assert_close(r.value, 0.5990694408088414)
    expected = 0.5 * math.log1p(math.exp(-0.2)) + math.log(
        1 + math.exp(15) + math.exp(-25)) / 50
    assert_close(r.value, expected)


def test_multi_similarity_two_positives_golden():
    r = losscli.evaluate("multi-similarity", SUPCON_IN)
    assert_close(r.value, 0.4309262252658374)


def test_circle_golden():
    r = losscli.evaluate("circle", A_P_N)
    assert_close(col(r, "alpha")[0], [0.8, 1.2, 0.4], rel=1e-14)
    assert_close(col(r, "logit")[0], [0.0, 38.4, -12.8], scale=38.4)
    assert_close(r.value, 38.4, rel=1e-14)


def test_circle_second_golden():
    r = losscli.evaluate("circle", {"anchor": [1.0, 0.0], "positive": [0.8, 0.6],
                                    "negatives": [[0.6, 0.8], [0.0, 1.0]]})
    assert_close(col(r, "logit")[0], [-9.6, 16.0, -12.8], scale=16)
    assert_close(r.value, 6.401660178414349)


# ---------------------------------------------------------------- pairs: lifted-structure, margin


def test_lifted_structure_song_golden():
    r = losscli.evaluate("lifted-structure", A_P_N)
    assert_close(col(r, "d_ap")[0, 0], 0.894427191, rel=5e-9)
    assert_close(col(r, "distance")[0], [0.632455532, 1.414213562, 0.282842712, 0.632455532],
                 rel=5e-9)
    assert col(r, "end")[0].tolist() == ["anchor", "anchor", "positive", "positive"]
    assert_close(col(r, "j")[0, 0], 2.6168060664940)
    assert_close(r.value, 3.423836994819925)


def test_lifted_structure_generalized_golden():
    r = losscli.evaluate("lifted-structure", A_P_N, variant="generalized")
    assert_close(r.value, 1.6387634742761636)


def test_margin_golden():
    r = losscli.evaluate("margin", A_P_N)
    assert_close(col(r, "pos_term")[0], [0.0, 0.0])
    assert_close(col(r, "neg_term")[0], [0.767544, 0.0], rel=5e-6)
    assert_close(col(r, "d_an")[0], [0.632456, 1.414214], rel=5e-6)
    assert col(r, "neg_active")[0].tolist() == [True, False]
    assert_close(r.value, 0.7675444679663241)


def test_margin_golden_beta():
    r = losscli.evaluate("margin", {"anchor": [1.0, 0.0], "positive": [0.6, 0.8],
                                    "negatives": [[0.8, 0.6]]}, beta=0.8)
    assert_close(col(r, "pos_term")[0], [0.294427], rel=1e-5)
    assert_close(col(r, "neg_term")[0], [0.367544], rel=1e-5)
    assert_close(r.value, 0.33098582948312005)


# ---------------------------------------------------------------- paired inputs (torch's)


def test_cosine_embedding_golden():
    r = losscli.evaluate("cosine-embedding", {"x1": [[1.0, 0.0], [1.0, 0.0]],
                                              "x2": [[0.6, 0.8], [0.8, 0.6]],
                                              "label": [1, -1]})
    assert_close(col(r, "term")[:, 0], [0.4, 0.8])
    assert_close(r.value, 0.6)


def test_cosine_embedding_tiny_golden_is_exact():
    r = losscli.evaluate("cosine-embedding", {"x1": [[3e-7, 4e-7]], "x2": [[3e-7, 4e-7]],
                                              "label": [1]})
    assert abs(r.value) <= 1e-15


def test_hinge_embedding_golden():
    r = losscli.evaluate("hinge-embedding", {"x1": [0.5, 0.3, 1.4], "label": [1, -1, -1]})
    assert_close(col(r, "term")[:, 0], [0.5, 0.7, 0.0])
    assert_close(r.value, 0.4)


def test_hinge_embedding_vectors_golden():
    r = losscli.evaluate("hinge-embedding", {"x1": [[1.0, 0.0], [1.0, 0.0]],
                                             "x2": [[0.6, 0.8], [0.8, 0.6]], "label": [1, -1]})
    assert_close(col(r, "x")[:, 0], [0.894427, 0.632456], rel=5e-6)
    assert_close(r.value, 0.6309858294831201)


RANKING = {"x1": [0.3, 0.9, 0.5], "x2": [0.5, 0.2, 0.5], "label": [1, -1, 1]}


def test_margin_ranking_golden():
    r = losscli.evaluate("margin-ranking", RANKING)
    assert_close(col(r, "term")[:, 0], [0.2, 0.7, 0.0])
    assert col(r, "active")[:, 0].tolist() == [True, True, False]  # the last at the kink
    assert_close(r.value, 0.3)


def test_margin_ranking_golden_margin():
    r = losscli.evaluate("margin-ranking", RANKING, margin=0.1)
    assert_close(col(r, "term")[:, 0], [0.3, 0.8, 0.1])
    assert_close(r.value, 0.4)


# ---------------------------------------------------------------- tiny losses keep their digits


def test_supcon_tiny_loss_is_exact_to_the_last_digits():
    r = losscli.evaluate("supcon", {"anchor": A, "positive": P,
                                    "negatives": SEED1["negatives"]},
                         temperature=0.07, similarity="dot")
    assert_close(r.value, SEED1_TRUE, scale=0.0)


def test_npair_row_kernel_tiny_loss_is_exact_to_the_last_digits():
    # npair has t = 1: the anchor carries the 1/t (its rounding moves the loss by ~1e-15).
    anchor = [x / 0.07 for x in A]
    r = losscli.evaluate("npair", {"anchor": anchor, "positive": P,
                                   "negatives": SEED1["negatives"]})
    assert_close(r.value, SEED1_TRUE, scale=0.0)


@pytest.mark.parametrize("name,params", [("npair", {}),
                                         ("supcon", {"similarity": "dot", "temperature": 1.0}),
                                         ("clip", {"similarity": "dot", "scale": 1.0})])
def test_tiny_losses_keep_full_relative_precision(name, params):
    # s_ap = 30, s_an = 6: loss log1p(e^-24) ~ 3.8e-11, which log(1 + rest) gets wrong in
    # the 6th digit. clip's rows are the paired form of the same softmax.
    if name == "clip":
        inputs = {"anchor": [[30.0, 0.0], [0.0, 30.0]], "positive": [[1.0, 0.0], [0.0, 1.0]]}
        expected = math.log1p(math.exp(-30.0))
    else:
        inputs = {"anchor": [30.0, 0.0], "positive": [1.0, 0.0], "negatives": [[0.2, 0.0]]}
        expected = math.log1p(math.exp(-24.0))
    r = losscli.evaluate(name, inputs, **params)
    assert_close(r.per_example[0], expected, scale=0.0)  # relative only: the point
