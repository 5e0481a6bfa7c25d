"""compute's JSON terms written by the compiled filler (render/term_rows.py) are byte for
byte json.dumps(document, indent=2)'s: random blocks of float columns (tiny, huge, negative
zero, NaN and inf as null, float32), int, bool and string columns, with every term, the top
terms and chosen examples."""

from __future__ import annotations

import json

import numpy as np
import pytest

from losscli.model import Result, Terms, result_to_dict
from losscli.render import breakdown, jsonout, term_rows


def _floats(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    x = rng.normal(size=shape) * 10.0 ** rng.integers(-320, 300, size=shape)
    x.flat[::7] = rng.integers(0, 2**64, size=x.flat[::7].shape, dtype=np.uint64).view(
        np.float64)
    x.flat[1::11] = -0.0
    x.flat[2::13] = 1e16
    x.flat[3::17] = 1e-5
    return x


def _result(seed: int, B: int = 23, T: int = 9, nonfinite: bool = True) -> Result:
    rng = np.random.default_rng(seed)
    similarity = _floats(rng, (B, T))
    if nonfinite:
        similarity[0, 1], similarity[1, 2], similarity[2, 3] = np.nan, np.inf, -np.inf
    columns = {
        "similarity": similarity,
        "gradient": rng.normal(size=(B, T)),
        "single": rng.normal(size=(B, T)).astype(np.float32),
        "j": rng.integers(-2**62, 2**62, size=(B, T)),
        "small": rng.integers(0, 255, size=(B, T)).astype(np.uint8),
        "active": rng.random((B, T)) < 0.5,
        "direction": np.array(rng.choice(["a->p", "p->a", "é \"q\""], size=(B, T)),
                              dtype=object),
    }
    role = tuple("positive" if t == 0 else "negative" for t in range(T))
    return Result(loss="clip", params={"temperature": 0.07}, reduction="mean",
                  per_example=rng.normal(size=B), value=0.5,
                  shape={"batch": B, "dim": 4},
                  terms=Terms(role=role, index=tuple(range(T)), columns=columns))



@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_term_is_json_dumps_text(monkeypatch, seed):
    result = _result(seed)
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    fast = jsonout.render_json(result)
    assert fast == json.dumps(result_to_dict(result), indent=2, allow_nan=False,
                              ensure_ascii=False) + "\n"
    order = [5, 0, 22]
    assert jsonout.render_json(result, order=order) == json.dumps(
        result_to_dict(result, order=order), indent=2, allow_nan=False,
        ensure_ascii=False) + "\n"


@pytest.mark.parametrize("mode", ["all", "top", "none"])
def test_the_filler_and_the_python_path_write_the_same_bytes(monkeypatch, mode):
    result = _result(4, B=40, T=30)
    view = breakdown.TermsView(mode, top=3, strength="gradient")
    monkeypatch.setenv("LOSSCLI_JIT", "never")
    python = jsonout.render_json(result, view)
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    assert jsonout.render_json(result, view) == python


@pytest.mark.parametrize("order", [None, [2, 0]])
def test_a_few_kept_terms_of_many_take_their_own_labels(monkeypatch, order):
    """Fewer kept terms in a block than the breakdown has (--terms top of an in-batch loss):
    the filler gets a table of the kept terms' labels only, each at its own term."""
    result = _result(6, B=3, T=500)
    view = breakdown.TermsView("top", top=4, strength="gradient")
    monkeypatch.setenv("LOSSCLI_JIT", "never")
    python = jsonout.render_json(result, view, order=order)
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    assert jsonout.render_json(result, view, order=order) == python


def test_the_filler_writes_these_blocks(monkeypatch):
    """The comparisons above go through the filler, not the Python path's fallback."""
    result = _result(5)
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    labels = term_rows.labels(result.terms.role, result.terms.index)
    block = next(breakdown.blocks(result, breakdown.TermsView()))
    texts = term_rows.json_terms(labels, block, jsonout.TERM_INDENT)
    assert texts is not None and len(texts) == block.n
    doc = json.loads("[" + ",".join("[" + t + "]" for t in texts) + "]")
    assert doc[0][0]["role"] == "positive" and doc[0][0]["j"] == int(
        result.terms.columns["j"][0, 0])


def test_a_column_the_filler_does_not_write_goes_the_python_way(monkeypatch):
    result = _result(6)
    big = np.full((result.batch, result.terms.count), 2**63 + 5, dtype=np.uint64)
    result.terms.columns["huge"] = big
    monkeypatch.setenv("LOSSCLI_JIT", "always")
    labels = term_rows.labels(result.terms.role, result.terms.index)
    block = next(breakdown.blocks(result, breakdown.TermsView()))
    assert term_rows.json_terms(labels, block, jsonout.TERM_INDENT) is None
    assert jsonout.render_json(result) == json.dumps(
        result_to_dict(result), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("mode", ["all", "top", "none"])
def test_gradients_through_the_filler_are_json_dumps_text(monkeypatch, mode):
    """--grad's (D,) vectors per role and example go through the filler when the output is
    large: the same bytes as the Python path (tiny, huge, -0.0, NaN and inf as null,
    float32), for every terms mode and for chosen examples, and json.dumps' text; a (K, D)
    gradient per example (a bank of negatives) sends every role the Python way."""
    import dataclasses

    rng = np.random.default_rng(8)
    anchor = _floats(rng, (40, 6))
    anchor[0, 0], anchor[1, 1], anchor[2, 2] = np.nan, np.inf, -np.inf
    grads = {"anchor": anchor, "positive": rng.normal(size=(40, 6)).astype(np.float32)}
    result = dataclasses.replace(_result(8, B=40, T=30), gradients=grads)
    banked = dataclasses.replace(result, gradients={**grads, "negatives": rng.normal(
        size=(40, 2, 6))})
    view = breakdown.TermsView(mode, top=3, strength="gradient")
    calls = []
    vectors = term_rows.json_vectors
    monkeypatch.setattr(term_rows, "json_vectors",
                        lambda *args: calls.append(1) or vectors(*args))

    def both(res, order=None):
        monkeypatch.setenv("LOSSCLI_JIT", "never")
        python = jsonout.render_json(res, view, order=order)
        assert not calls
        monkeypatch.setenv("LOSSCLI_JIT", "always")
        assert jsonout.render_json(res, view, order=order) == python
        return python

    for order in (None, [7, 0]):
        text = both(result, order)
        assert calls
        calls.clear()
        if mode == "all":
            assert text == json.dumps(result_to_dict(result, order=order), indent=2,
                                      allow_nan=False, ensure_ascii=False) + "\n"
    both(banked)
    assert not calls
