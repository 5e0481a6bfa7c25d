"""Edges that must stay defined: no negatives, extreme logits and norms, zero vectors under
cosine, hinges with no active term, and non-finite results (null with a warning)."""

from __future__ import annotations

import decimal
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import losscli
from tests.helpers import assert_close


def test_infonce_without_negatives_is_zero_with_a_warning(jit_mode):
    r = losscli.evaluate("infonce", {"anchor": [1.0, 2.0], "positive": [0.5, 0.1]})
    assert r.value == 0.0
    assert any("K = 0" in w for w in r.warnings)
    empty = losscli.evaluate("infonce", {"anchor": [[1.0, 2.0]], "positive": [[0.5, 0.1]],
                                         "negatives": np.zeros((1, 0, 2))})
    assert empty.value == 0.0


def test_infonce_says_the_loss_is_0_only_where_it_is(jit_mode):
    """Without negatives infonce's one candidate is the positive (0, and a batch of them was
    probably meant in-batch: the warning says how); under sentence-transformers' in-batch
    convention the other examples' positives are candidates, so the loss is not 0 and no
    warning says it is, unless B = 1."""
    rng = np.random.default_rng(4)
    a, p = rng.standard_normal((2, 4, 5))
    batch = losscli.evaluate("infonce", {"anchor": a, "positive": p})
    assert batch.value == 0.0 and any(
        "the loss is 0; for the batch's other positives as negatives, --like "
        "sentence-transformers (one direction) or clip (both)" in w for w in batch.warnings)
    one = losscli.evaluate("infonce", {"anchor": a[:1], "positive": p[:1]})
    assert one.value == 0.0 and "no negatives (K = 0): the loss is 0" in one.warnings
    in_batch = losscli.evaluate("infonce", {"anchor": a, "positive": p},
                                like="sentence-transformers")
    assert in_batch.value > 0.0 and not any("the loss is 0" in w for w in in_batch.warnings)
    alone = losscli.evaluate("infonce", {"anchor": a[:1], "positive": p[:1]},
                             like="sentence-transformers")
    assert alone.value == 0.0 and any("one example" in w for w in alone.warnings)


def test_supcon_without_negatives_says_so(jit_mode):
    """A (B, D) anchor and positive alone: every softmax holds only the positives (one: the loss
    is exactly 0), which is rarely the in-batch loss that was meant; the warning names both ways
    to get negatives. PML's convention keeps its own single warning."""
    rng = np.random.default_rng(3)
    a, p, n = rng.standard_normal((3, 4, 5))
    one = losscli.evaluate("supcon", {"anchor": a, "positive": p})
    assert one.value == 0.0
    assert [w for w in one.warnings if "K = 0" in w] == [
        "no negatives (K = 0) and one positive: each softmax has one candidate, so the loss "
        "is 0; for the batch's other examples as negatives, give negatives or --like "
        "supcontrast"]
    two = losscli.evaluate("supcon", {"anchor": a, "positives": np.stack([p, n], axis=1)})
    assert two.value > 0.0
    assert any("only the 2 positives share each softmax" in w for w in two.warnings)
    given = losscli.evaluate("supcon", {"anchor": a, "positive": p, "negatives": n[:, None]})
    assert not any("K = 0" in w for w in given.warnings)
    in_batch = losscli.evaluate("supcon", {"anchor": a, "positive": p}, like="supcontrast")
    assert in_batch.value > 0.0 and not any("K = 0" in w for w in in_batch.warnings)
    pml = losscli.evaluate("supcon", {"anchor": a, "positive": p},
                           like="pytorch-metric-learning")
    assert len([w for w in pml.warnings if "K = 0" in w or "pair" in w]) == 1, pml.warnings


def test_infonce_extreme_logits_stay_finite(jit_mode):
    """Logits of 1e300 / 1e-3 overflow; the loss (a difference) must not."""
    r = losscli.evaluate("infonce", {"anchor": [1e150, 0.0], "positive": [1e150, 0.0],
                                     "negatives": [[0.99e150, 0.0]]}, temperature=1e-3)
    assert r.value == 0.0 or math.isfinite(r.value)


def test_log_sum_exp_keeps_a_tiny_loss_to_full_precision(jit_mode):
    """Generalized lifted structure, [LSE_p(d_ap - m_pos) + LSE_k(m - d_an)]+, where one
    LSE's largest exponent is 0 and the other LSE is exactly 0: the loss is log(1 + e^-41.5),
    about 9.5e-19, which log(1 + rest) in float64 would round to 0 (50-digit reference).
    Relative 1e-12 and no absolute floor: nothing cancels, so log1p keeps every digit."""
    digits = decimal.Context(prec=50)
    tiny = float(digits.ln(digits.add(1, digits.exp(decimal.Decimal("-41.5")))))
    a = [0.0, 0.0]
    # the negatives: m - d_an = 1 - 1 = 0 and 1 - 42.5 = -41.5; the positive's d_ap - m_pos = 0
    r = losscli.evaluate("lifted-structure", {"anchor": a, "positives": [[0.0, 0.0]],
                                              "negatives": [[1.0, 0.0], [0.0, 42.5]]},
                         variant="generalized", margin=1.0)
    assert_close(r.per_example, [tiny], floor=0.0)
    # the positives: d_ap - m_pos = 41.5 - 41.5 = 0 and 0 - 41.5; the negative's m - d_an = 0
    r = losscli.evaluate("lifted-structure", {"anchor": a, "positives": [[41.5, 0.0], a],
                                              "negatives": [[0.0, 1.0]]},
                         variant="generalized", margin=1.0, pos_margin=41.5)
    assert_close(r.per_example, [tiny], floor=0.0)


def test_cosine_zero_vector_is_defined_and_warned(jit_mode):
    r = losscli.evaluate("triplet", {"anchor": [0.0, 0.0], "positive": [1.0, 0.0],
                                     "negatives": [[0.0, 1.0]]}, distance="cosine")
    assert math.isfinite(r.value)
    assert_close(r.value, 1.0)  # both cosines are 0: d_ap = d_an = 1, term = m
    assert any("zero vector" in w for w in r.warnings)


def test_cosine_is_exact_for_huge_and_tiny_norms(jit_mode):
    for scale in (1e-200, 1e200):
        r = losscli.evaluate("infonce", {"anchor": [scale, 0.0], "positive": [scale, scale],
                                         "negatives": [[0.0, scale]]}, similarity="cosine",
                             temperature=1.0)
        sims = r.terms.columns["similarity"][0]
        np.testing.assert_allclose(sims, [math.sqrt(0.5), 0.0], rtol=1e-15, atol=1e-16)


def test_euclidean_distance_does_not_overflow_or_underflow(jit_mode):
    for scale in (1e-170, 1e170):
        r = losscli.evaluate("triplet", {"anchor": [0.0, 0.0], "positive": [3 * scale, 0.0],
                                         "negatives": [[0.0, 4 * scale]]}, margin=0.0)
        assert_close(float(r.terms.columns["d_ap"][0, 0]), 3 * scale, scale=scale)
        assert_close(float(r.terms.columns["d_an"][0, 0]), 4 * scale, scale=scale)


def test_mean_active_with_no_active_term_is_zero(jit_mode):
    r = losscli.evaluate("triplet", {"anchor": [0.0, 0.0], "positive": [0.1, 0.0],
                                     "negatives": [[5.0, 0.0], [0.0, 5.0]]},
                         negatives_reduction="mean-active")
    assert r.value == 0.0


def test_nonfinite_result_is_null_with_a_warning(jit_mode):
    r = losscli.evaluate("contrastive", {"anchor": [1e308, -1e308], "positive": [-1e308, 1e308],
                                         "negatives": [[0.0, 0.0]]}, distance="sqeuclidean")
    assert not r.finite
    assert any("not finite" in w for w in r.warnings)


def test_soft_triplet_labels_regimes_by_the_margin_it_reports(jit_mode):
    # LOSSES.md's regimes use m whether or not softplus replaces the hinge: d_an = 1.5 lies
    # in [d_ap, d_ap + m) = [1, 2), semi-hard (it was labelled easy, as if m were 0)
    inputs = {"anchor": np.array([0.0, 0.0]), "positive": np.array([1.0, 0.0]),
              "negatives": np.array([[1.5, 0.0], [0.0, 3.0], [0.5, 0.0]])}
    for soft in (False, True):
        r = losscli.evaluate("triplet", inputs, soft=soft)
        assert r.params["margin"] == 1.0
        assert list(r.terms.columns["regime"][0]) == ["semi-hard", "easy", "hard"], soft


def test_an_active_triplet_term_is_never_labelled_easy(jit_mode):
    # at 1e308, d_ap + m rounds to d_ap: the term d_ap - d_an + m = 1 is active (semi-hard)
    inputs = {"anchor": np.array([1e308, 0.0]), "positive": np.array([0.0, 0.0]),
              "negatives": np.array([[0.0, 0.0], [-5e307, 0.0]])}
    r = losscli.evaluate("triplet", inputs, reduction="none")
    term, regime = r.terms.columns["term"][0], r.terms.columns["regime"][0]
    assert term[0] == 1.0 and regime[0] == "semi-hard"
    assert term[1] == 0.0 and regime[1] == "easy"


def test_huge_logits_are_announced_as_huge_embeddings_are():
    # QA9 L4: CONTRACT.md asks a warning for any |entry| > 1e150; softmax-ce gave none, and
    # its null for logits of 1e308 came without a cause
    import losscli

    said = "logits has entries above 1e+150 in magnitude"
    big = losscli.evaluate("softmax-ce", {"logits": [1e200, 0.0, -1e200], "target": 0})
    assert any(said in w for w in big.warnings)
    fine = losscli.evaluate("softmax-ce", {"logits": [1e100, 0.0, -1e100], "target": 0})
    assert not any(said in w for w in fine.warnings)


def _circle_decimal(s_p: list[str], s_n: list[str], m: str, gamma: str) -> float:
    """circle (LOSSES-MORE.md) in decimal arithmetic, whose exponents do not overflow where
    float64's do: softplus(LSE_k(g a_n (s_n - m)) + LSE_p(-g a_p (s_p - (1 - m)))), rounded
    to float64 at the end; 700 digits hold g (s + m)(s - m) exactly for m up to 1e308."""
    from decimal import Context, Decimal, localcontext

    with localcontext(Context(prec=700, Emax=10**17, Emin=-10**17)):
        m_, g = Decimal(m), Decimal(gamma)
        pos = [-g * max(1 + m_ - Decimal(s), Decimal(0)) * (Decimal(s) - (1 - m_))
               for s in s_p]
        neg = [g * max(Decimal(s) + m_, Decimal(0)) * (Decimal(s) - m_) for s in s_n]

        def lse(xs: list) -> Decimal:
            top = max(xs)
            return top + sum((x - top).exp() for x in xs).ln()

        inner = lse(neg) + lse(pos)
        # ln(1 + e^x) = e^x to 700 digits below x = -2000 (1 + e^x would round to 1); above
        # 0 as x + ln(1 + e^-x), whose e^x would overflow for x ~ 1e308
        if inner < -2000:
            return float(inner.exp())
        if inner > 0:
            return float(inner + (1 + (-inner).exp()).ln())
        return float((1 + inner.exp()).ln())


def test_circle_logits_beyond_float64_give_the_loss_they_round_to(jit_mode):
    # QA: margin 1e308 gave null with a non-finite warning: every negative's logit
    # g a_n (s_n - m) ~ -g m^2 overflowed to -inf, and their LSE took exp(-inf - -inf) = NaN;
    # the loss, softplus of about -8e617, is 0 in float64
    a, p, n = [1.0, 0.0], [0.8, 0.6], [[0.6, 0.8], [0.0, 1.0]]
    golden = losscli.evaluate("circle", {"anchor": a, "positive": p, "negatives": n})
    assert_close(golden.value, _circle_decimal(["0.8"], ["0.6", "0"], "0.4", "80"))
    for m in ("1e160", "1e200", "1e308"):
        for inputs, s_p, s_n in (({"anchor": a, "positive": p, "negatives": n},
                                  ["0.8"], ["0.6", "0"]),
                                 ({"anchor": a, "positives": [p, [0.0, 1.0]], "negatives": n[:1]},
                                  ["0.8", "0"], ["0.6"])):
            r = losscli.evaluate("circle", inputs, margin=float(m), grad=True)
            assert r.finite and not r.warnings, (m, r.warnings)
            assert_close(r.value, _circle_decimal(s_p, s_n, m, "80"))
            assert all(np.isfinite(g).all() for g in r.gradients.values())
            assert np.isfinite(r.terms.columns["share"]).all()


def test_circle_gamma_near_the_float64_maximum_keeps_a_finite_loss(jit_mode):
    # QA21 L6: gamma alpha was formed first (1.7e308 x 1.2 = inf), so a loss of ~8e307 came
    # out null; gamma (alpha (s - Delta)) stays finite where the logit does
    a = [1.0, 0.0]
    positives, negatives = [[0.6, 0.8], [1.0, 0.0]], [[0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]]
    for m in ("0.4", "0.5"):
        r = losscli.evaluate("circle", {"anchor": a, "positives": positives,
                                        "negatives": negatives}, margin=float(m), gamma=1.7e308)
        assert r.finite and not r.warnings, (m, r.warnings)
        assert_close(r.value, _circle_decimal(["0.6", "1"], ["0.8", "0", "-1"], m, "1.7e308"))


# QA22a H1: a = -1e308, p = 1.5e308, n = 1e308: both distances overflow to inf, and the
# hinge read inf - inf (NaN) as 0: "every constraint met", exit 0
OVERFLOWED = {"anchor": [[-1e308]], "positive": [[1.5e308]], "negatives": [[[1e308]]]}


def _overflowed_cases():
    for reduction in ("mean", "sum", "max", "mean-active"):
        yield "triplet", OVERFLOWED, {"negatives_reduction": reduction}
    yield "triplet", {**OVERFLOWED, "negatives": [[[1e308], [0.0]]]}, \
        {"negatives_reduction": "max"}  # a finite term beside the NaN one
    yield "triplet", OVERFLOWED, {"swap": True}
    sq = {"anchor": [[0.0, 0.0]], "positive": [[1.1e200, 0.0]], "negatives": [[[1e200, 0.0]]]}
    yield "triplet", sq, {"distance": "sqeuclidean"}
    yield "quadruplet", {**sq, "negatives": [[[1e200, 0.0], [0.0, 1e200]]]}, {}
    yield "lifted-structure", OVERFLOWED, {"variant": "generalized"}
    # song's J = LSE(m - d_an, m - d_pn) + d_ap: every distance overflowed, -inf + inf
    yield "lifted-structure", {"anchor": [[-1e308, 0.0]], "positive": [[1.5e308, 0.0]],
                               "negatives": [[[0.0, 1.7e308]]]}, {}
    yield "margin", OVERFLOWED, {}


def test_overflowed_distances_give_a_loss_that_is_not_finite_never_0(jit_mode):
    for loss, inputs, params in _overflowed_cases():
        r = losscli.evaluate(loss, inputs, **params)
        assert not r.finite, (loss, params, r.value)
        assert any("not finite" in w for w in r.warnings), (loss, params, r.warnings)
        for name in ("term", "triplet_term"):  # the breakdown says so too, not 0
            if name in r.terms.columns and loss != "margin":
                assert not np.isfinite(r.terms.columns[name]).all(), (loss, name)


def test_batch_overflowed_triplets_are_not_finite_never_0(tmp_path):
    path = tmp_path / "over.json"
    path.write_text(json.dumps(OVERFLOWED))
    for reduction in ("mean", "max", "mean-active"):
        proc = subprocess.run(
            [sys.executable, "-m", "losscli", "batch", "triplet", str(path),
             "--negatives-reduction", reduction, "-f", "jsonl"],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "LOSSCLI_JIT": "always"})
        assert json.loads(proc.stdout.splitlines()[0])["value"] is None, (reduction, proc)


def _weighted_ce_decimal(logits, targets, weight, e=0.0) -> float:
    """softmax-ce's weighted mean (LOSSES.md, torch's rule) in 60-digit decimals:
    sum_b -sum_c w_c q_bc log p_bc / sum_b w_(y_b), q smoothed to (1 - e) onehot + e / C."""
    with decimal.localcontext(decimal.Context(prec=60, Emax=10**6, Emin=-10**6)):
        D = decimal.Decimal
        w = [D(v) for v in weight]
        numerator, denominator = D(0), D(0)
        for row, y in zip(logits, targets, strict=True):
            xs = [D(v) for v in row]
            top = max(xs)
            lse = top + sum((v - top).exp() for v in xs).ln()
            C = len(xs)
            for c, v in enumerate(xs):
                mass = (1 - D(e)) * (1 if c == y else 0) + D(e) / C
                numerator -= w[c] * mass * (v - lse)
            denominator += w[y]
        return float(numerator / denominator)


def test_softmax_ce_weighted_mean_with_extreme_class_weights(jit_mode):
    # QA22a H2: weights of 1e308 overflowed the mean's denominator (0.0), subnormal ones
    # underflowed each w l (0.0 or 1.0), exit 0
    logits = [[2.0, 1.0, 0.1], [2.0, 1.0, 0.1]]
    for targets, weight, e in (([0, 0], [1e308, 1.0, 1.0], 0.0),
                               ([0, 0], [5e-324, 1.0, 1.0], 0.0),
                               ([0, 1], [5e-324, 1e-323, 1.0], 0.0),
                               ([0, 1], [1e308, 1.5e308, 1.0], 0.0),
                               ([0, 1], [1e200, 3e200, 2e200], 0.1),
                               ([2, 1], [1e-200, 3e-200, 2e-200], 0.2),
                               ([0, 1], [0.5, 2.0, 1.0], 0.1)):
        r = losscli.evaluate("softmax-ce", {"logits": logits, "target": targets,
                                            "weight": weight}, label_smoothing=e)
        assert_close(r.value, _weighted_ce_decimal(logits, targets, weight, e))


def test_euclidean_gradients_at_a_subnormal_distance_are_finite(jit_mode):
    """QA22a M3: d = 5e-324 made coef / d overflow, and finite gradients (unit vectors)
    came out null with no warning; (x - y) / d is taken first there."""
    r = losscli.evaluate("hinge-embedding", {"x1": [[1.0, 0.0]], "x2": [[1.0, 5e-324]],
                                             "label": [1]}, grad=True)
    np.testing.assert_array_equal(r.gradients["x1"], [[0.0, -1.0]])
    np.testing.assert_array_equal(r.gradients["x2"], [[0.0, 1.0]])
    sub = {"anchor": [1.0, 0.0], "positive": [1.0, 5e-324], "negatives": [[1.0, 1e-323]]}
    for loss, params in (("margin", {"beta": 0.0, "margin": 0.1}), ("contrastive", {}),
                         ("lifted-structure", {}), ("triplet", {})):
        r = losscli.evaluate(loss, sub, grad=True, **params)
        for role, g in r.gradients.items():
            assert np.isfinite(g).all(), (loss, role, g)
    # triplet: d loss / d p = -(a - p) / d_ap = [0, 1] exactly, though d_ap is 5e-324
    r = losscli.evaluate("triplet", sub, grad=True)
    np.testing.assert_array_equal(r.gradients["positive"], [[0.0, 1.0]])


def test_circle_without_negatives_keeps_a_finite_logit_where_gamma_alpha_overflows():
    # the logit column of PML's K = 0 rows: 1.7e308 x alpha 1.1 overflowed; the logit,
    # -gamma alpha (s - 0.6) = 5.61e307 at s = 0.3, does not
    positives = [[0.3, math.sqrt(1 - 0.09)], [1.0, 0.0]]
    r = losscli.evaluate("circle", {"anchor": [1.0, 0.0], "positives": positives},
                         gamma=1.7e308, like="pytorch-metric-learning")
    logit = r.terms.columns["logit"]
    assert np.isfinite(logit).all()
    assert_close(float(logit[0, 0]), 1.7e308 * (1.1 * 0.3), 1e-12)


def test_circle_at_ordinary_gamma_keeps_its_bits():
    """gamma last only where gamma alpha overflows: elsewhere (-gamma alpha)(s - Delta), the
    bits circle always gave (QA23 M3: 74 of 200 values had moved by an ulp)."""
    rng = np.random.default_rng(5)
    a, p, n = rng.standard_normal((50, 8)), rng.standard_normal((50, 8)), \
        rng.standard_normal((50, 5, 8))
    r = losscli.evaluate("circle", {"anchor": a, "positive": p, "negatives": n})
    s, alpha = r.terms.columns["similarity"], r.terms.columns["alpha"]
    np.testing.assert_array_equal(r.terms.columns["logit"][:, 0],
                                  -80.0 * alpha[:, 0] * (s[:, 0] - (1.0 - 0.4)))
    np.testing.assert_array_equal(r.terms.columns["logit"][:, 1:],
                                  80.0 * alpha[:, 1:] * (s[:, 1:] - 0.4))


def _infonce_decimal(s: list[str], t: str) -> float:
    """LSE(s / t) - s_0 / t in 60-digit decimals (s_0 the positive's similarity)."""
    with decimal.localcontext(decimal.Context(prec=60)):
        v = [decimal.Decimal(x) / decimal.Decimal(t) for x in s]
        top = max(v)
        return float(top + sum((x - top).exp() for x in v).ln() - v[0])


# QA22a M2 and beyond: similarities near +-1.5e308 differenced before dividing by t. Their
# difference overflowed: -inf made exp((s - s_0) / t) 0 where it is e^-3 (a loss of 0.0 for
# 0.0486, exit 0), +inf made a representable loss null
HUGE_SIMILARITIES = [
    ({"anchor": [[1.0]], "positive": [[1.5e308]], "negatives": [[[-1.5e308]]]}, "1e308",
     ["1.5e308", "-1.5e308"]),
    ({"anchor": [[1.0]], "positive": [[-1.5e308]], "negatives": [[[1.5e308]]]}, "1e10",
     ["-1.5e308", "1.5e308"]),
]


def test_infonce_of_similarities_whose_differences_overflow(jit_mode):
    for inputs, t, s in HUGE_SIMILARITIES:
        r = losscli.evaluate("infonce", inputs, temperature=float(t))
        assert_close(r.value, _infonce_decimal(s, t))
        # supcon with P = 1 is infonce (LOSSES-MORE.md)
        r = losscli.evaluate("supcon", inputs, temperature=float(t), similarity="dot")
        assert_close(r.value, _infonce_decimal(s, t))


def test_the_stream_kernels_on_similarities_whose_differences_overflow():
    from losscli.kernels import _jit
    from losscli.kernels import stream as sk
    from losscli.losses.infonce import shared_bank_infonce

    for inputs, t, s in HUGE_SIMILARITIES:
        A = np.array(inputs["anchor"])[:, None, :]
        P = np.array(inputs["positive"])[:, None, :]
        N = np.array(inputs["negatives"])
        for path in ("jit", "py"):
            loss, flags = np.empty(1), np.zeros(1, dtype=np.int8)
            with np.errstate(all="ignore"):
                getattr(sk.infonce_loss, path)(A, 0, P, 0, N, 0, 1, float(t), True, loss, flags)
            assert_close(float(loss[0]), _infonce_decimal(s, t))
        # one shared bank: the row goes past the vectorised pass to the scaled differences
        bank = np.array([N[0, 0], [1.0]])
        loss, flags = np.empty(2), np.zeros(2, dtype=np.int8)
        anchors, positives = np.repeat(A[:, 0], 2, axis=0), np.repeat(P[:, 0], 2, axis=0)
        with _jit.job(10**9):
            shared_bank_infonce(anchors, positives, bank, float(t), loss, flags, parallel=False)
        want = _infonce_decimal([s[0], s[1], str(float(inputs["anchor"][0][0]))], t)
        assert_close(loss, np.array([want, want]))


def test_in_batch_dot_products_beyond_the_safe_range_are_refused_not_misread():
    """The tile kernels difference similarities before scaling by 1/t: past 8e307 those
    overflow (clip gave an example 0.3466 for 0.3709, exit 0). Under dot such a batch is
    refused; siglip (no differences) and cosine (unit rows) are not."""
    from losscli.errors import BadData

    huge = {"anchor": [[1.0], [1.0]], "positive": [[1.5e308], [-1.5e308]]}
    for loss in ("clip", "ntxent-batch", "npair", "dcl", "hard-infonce"):
        params = {} if loss == "npair" else {"similarity": "dot", "temperature": 1e308}
        with pytest.raises(BadData, match="dot products may reach 1.5e.308, beyond 8e.307"):
            losscli.evaluate(loss, huge, **params)
    assert losscli.evaluate("siglip", huge, similarity="dot").warnings
    assert losscli.evaluate("clip", huge, similarity="cosine", temperature=1e308).finite
    fine = {"anchor": [[1e150], [1.0]], "positive": [[1e150], [-1.0]]}  # 1e300: in range
    assert losscli.evaluate("clip", fine, similarity="dot", temperature=1e300).finite
