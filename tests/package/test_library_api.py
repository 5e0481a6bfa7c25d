"""The Python API (issue 13.7-13.9): tensors and array-likes as inputs, torch imported only
by whoever made the tensor; a Result's repr, to_dict (compute's JSON record), HTML and rich
display; sweep, stats and compare public; an unknown keyword answered in the API's terms."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import losscli
from losscli.errors import LossCliError, UsageError
from tests.helpers import assert_close, optional_module, run_cli_json

RNG = np.random.default_rng(9)
A, P, N = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(3, 2, 4))
X = {"anchor": A, "positive": P, "negatives": N}


def test_torch_tensors_detached_on_the_cpu_and_bfloat16_cast():
    torch = pytest.importorskip("torch")
    anchor = torch.tensor(A, dtype=torch.bfloat16, requires_grad=True)
    positive = torch.nn.Parameter(torch.tensor(P, dtype=torch.float32))
    got = losscli.evaluate("triplet", {"anchor": anchor, "positive": positive,
                                       "negatives": torch.tensor(N)})
    want = losscli.evaluate("triplet", {"anchor": anchor.detach().double().numpy(),
                                        "positive": P.astype(np.float32), "negatives": N})
    assert_close(got.value, want.value)


def test_a_tensor_that_cannot_be_read_is_a_losscli_error():
    torch = pytest.importorskip("torch")
    with pytest.raises(LossCliError, match="cannot read this torch tensor") as caught:
        losscli.evaluate("triplet", {"anchor": torch.empty(3, 4, device="meta"),
                                     "positive": P, "negatives": N})
    assert caught.value.message().startswith("anchor: ")
    with pytest.raises(LossCliError, match="complex"):
        losscli.evaluate("triplet", {"anchor": torch.ones(3, 4, dtype=torch.complex64),
                                     "positive": P, "negatives": N})


class ArrayOnly:
    def __init__(self, arr):
        self.arr = arr

    def __array__(self, dtype=None, copy=None):
        return self.arr


class DlpackOnly:
    def __init__(self, arr):
        self.arr = arr

    def __dlpack__(self, **kwargs):
        return self.arr.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.arr.__dlpack_device__()


def test_array_likes_by_array_or_dlpack_and_lists():
    want = losscli.evaluate("triplet", X).value
    for wrap in (ArrayOnly, DlpackOnly, lambda a: a.tolist()):
        got = losscli.evaluate("triplet", {k: wrap(v) for k, v in X.items()})
        assert_close(got.value, want)


def test_torch_is_not_imported_for_other_inputs():
    code = ("import sys, losscli; losscli.evaluate('triplet', {'anchor': [1, 0], 'positive': "
            "[0, 1], 'negatives': [[1, 1]]}); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "False"


def test_result_repr_to_dict_html_and_rich(tmp_path, capsys):
    r = losscli.evaluate("triplet", X, margin=0.5)
    assert repr(r) == (f"Result(loss='triplet', value={r.value:.12g}, batch=3, "
                       "reduction='mean')")
    path = tmp_path / "x.npz"
    np.savez(path, **X)
    assert r.to_dict() == run_cli_json(capsys, "compute", "triplet", str(path),
                                       "--margin", "0.5")
    assert "examples" not in r.to_dict(examples=False)
    json.dumps(r.to_dict(), allow_nan=False)
    html = r._repr_html_()
    assert html.startswith("<table") and f"{r.value:.12g}" in html and "margin=0.5" in html
    fields = dict(r.__rich_repr__())
    assert fields["loss"] == "triplet" and fields["batch"] == 3
    none = losscli.evaluate("triplet", X, reduction="none")
    assert "(3 values)" in repr(none)


def test_sweep_stats_and_compare_are_public():
    for name in ("sweep", "stats", "compare"):
        assert name in losscli.__all__ and callable(getattr(losscli, name))
        assert getattr(losscli, name).__doc__
    s = losscli.sweep("triplet", X, "margin", [0.5, 1.0])
    assert_close(s.losses[1], losscli.evaluate("triplet", X, margin=1.0).value)


def test_an_unknown_keyword_answers_in_api_terms():
    with pytest.raises(TypeError) as caught:
        losscli.evaluate("triplet", X, margn=1.0)
    exc = caught.value
    assert isinstance(exc, UsageError) and isinstance(exc, losscli.UnknownKeyword)
    assert "evaluate() got the keyword 'margn'" in exc.what
    assert "did you mean margin?" in exc.what and "--" not in exc.message()
    with pytest.raises(losscli.UnknownKeyword, match="parameter of .*infonce"):
        losscli.sweep("triplet", X, "margin", [1.0], temperature=0.1)
    with pytest.raises(losscli.UnknownKeyword, match="did you mean bins"):
        losscli.stats("triplet", X, bin=3)


PAIRS = {"anchor": [[1.0, 0.0], [0.0, 1.0]], "positive": [[0.6, 0.8], [0.8, 0.6]],
     "negatives": [[0.8, 0.6], [1.0, 0.0]]}


@pytest.mark.parametrize("loss,key,value", [
    ("triplet", "swap", "no"), ("triplet", "swap", "false"), ("triplet", "soft", "False"),
    ("triplet", "swap", 2), ("triplet", "swap", 1), ("triplet", "swap", None.__class__),
])
def test_a_yes_no_parameter_takes_true_or_false_only(loss, key, value):
    """"no" is a true string: read by its truth it would run the other loss."""
    with pytest.raises(UsageError, match=f"^{key} got .*; give True or False$"):
        losscli.evaluate(loss, PAIRS, **{key: value})


def test_a_bad_value_says_its_fix_in_the_librarys_terms(capsys):
    # QA9 L2: str(error) was only "--temperature got 0.0": the option's name, and no fix
    with pytest.raises(UsageError) as caught:
        losscli.evaluate("infonce", PAIRS, temperature=0)
    assert str(caught.value) == "temperature got 0.0; give a finite number > 0"
    from losscli.cli import run

    assert run(["explain", "infonce", "-t", "0"]) == 2  # the command line keeps its options
    assert "error: --temperature got 0.0; give a finite number > 0" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["no", 1, "yes"])
def test_grad_and_strict_keys_take_true_or_false_only(value, tmp_path):
    with pytest.raises(UsageError, match="grad got"):
        losscli.evaluate("infonce", PAIRS, grad=value)
    np.savez(tmp_path / "x.npz", **{k: np.asarray(v) for k, v in PAIRS.items()})
    with pytest.raises(UsageError, match="strict_keys got"):
        losscli.evaluate_file("infonce", str(tmp_path / "x.npz"), strict_keys=value)


def test_numpy_numbers_are_numbers():
    want = losscli.evaluate("triplet", PAIRS, margin=0.5, swap=True).value
    for margin in (np.float32(0.5), np.float64(0.5), np.array(0.5), np.int64(1) / 2):
        got = losscli.evaluate("triplet", PAIRS, margin=margin, swap=np.bool_(True))
        assert got.value == want and got.params["margin"] == 0.5
    assert losscli.evaluate("triplet", PAIRS, margin=np.int64(1)).params["margin"] == 1.0


def test_a_misspelt_role_file_key_is_refused(tmp_path):
    np.savez(tmp_path / "x.npz", **{k: np.asarray(v) for k, v in PAIRS.items()})
    np.save(tmp_path / "a.npy", np.asarray(PAIRS["positive"]))
    for call in (lambda rf: losscli.evaluate_file("infonce", str(tmp_path / "x.npz"),
                                                  role_files=rf),
                 lambda rf: list(losscli.evaluate_files("infonce", [str(tmp_path / "x.npz")],
                                                        role_files=rf))):
        with pytest.raises(UsageError, match="'anchr', which is not a role.*did you mean "
                                             "anchor"):
            call({"anchr": str(tmp_path / "a.npy")})


def test_one_path_is_one_input_and_one_mapping_item_is_one_item(tmp_path):
    np.savez(tmp_path / "x.npz", query=np.asarray(PAIRS["anchor"]), positive=PAIRS["positive"],
             negatives=PAIRS["negatives"])
    records = list(losscli.evaluate_files("infonce", str(tmp_path / "x.npz"),
                                          mapping="anchor=query"))
    assert len(records) == 1 and records[0].ok
    records = list(losscli.evaluate_files("infonce", tmp_path / "x.npz",
                                          mapping="anchor=query"))
    assert len(records) == 1 and records[0].ok
    one = losscli.evaluate_file("infonce", tmp_path / "x.npz", mapping="anchor=query")
    assert one.value == records[0].value


@pytest.mark.parametrize("call", [
    lambda: losscli.sweep("infonce", PAIRS, "temperature", []),
    lambda: losscli.sweep("infonce", PAIRS, "temperature", ["hot"]),
    lambda: losscli.stats("infonce", PAIRS, bins=2.5),
    lambda: losscli.stats("infonce", PAIRS, bins="20"),
    lambda: losscli.evaluate(None, PAIRS),
    lambda: losscli.evaluate(3, PAIRS),
    lambda: list(losscli.evaluate_files("infonce", ["x.npz"], jobs="2")),
])
def test_wrong_argument_types_are_usage_errors(call):
    with pytest.raises(UsageError):
        call()


def test_bfloat16_and_float8_arrays_are_read_as_safetensors_tensors_are():
    # QA10 F13: a jax or ml_dtypes bfloat16 array was refused as "structured or void"
    ml_dtypes = optional_module("ml_dtypes")
    a = np.array([[1.0, 0.5], [0.25, 1.0]])
    p = np.array([[0.5, 1.0], [1.0, 0.5]])
    want = losscli.evaluate("clip", {"anchor": a, "positive": p}).value  # exact in both
    for name in ("bfloat16", "float8_e4m3fn"):
        dtype = getattr(ml_dtypes, name)
        got = losscli.evaluate("clip", {"anchor": a.astype(dtype), "positive": p.astype(dtype)})
        assert got.value == want


def test_the_error_kinds_are_public():
    # QA10 F14: README calls UnknownKeyword "a UsageError", which losscli did not export
    for name in ("UsageError", "BadData", "InputUnavailable", "OutputError"):
        assert name in losscli.__all__ and issubclass(getattr(losscli, name),
                                                      losscli.LossCliError)
    with pytest.raises(losscli.UsageError):
        losscli.evaluate("infonce", PAIRS, temperature=-1.0)
    with pytest.raises(losscli.BadData):
        losscli.evaluate("infonce", {"anchor": [1.0, 0.0], "positive": [1.0, 0.0, 2.0]})


def test_a_lazy_breakdown_too_large_for_memory_is_refused_not_filled(monkeypatch):
    """`result.terms.columns` of an in-batch loss is B x B numbers a column: past the memory
    it is a MemoryError that says how to read it, raised before the columns are computed
    (filling lazily lent pages ends with the OOM killer taking a notebook's kernel)."""
    from losscli import model

    rng = np.random.default_rng(0)
    B = 12
    r = losscli.evaluate("clip", {"anchor": rng.standard_normal((B, 4)),
                                  "positive": rng.standard_normal((B, 4))})
    terms = r.terms
    assert isinstance(terms, model.LazyTerms)
    need = B * terms.count * len(terms.names) * model.COLUMN_BYTES
    computed = []
    compute = terms.compute
    object.__setattr__(terms, "compute", lambda a, b: computed.append((a, b)) or compute(a, b))
    monkeypatch.setattr(model, "available_memory", lambda: 2 * need - 2)
    with pytest.raises(MemoryError, match=r"terms\.block\(start, stop\)") as refused:
        terms.columns  # noqa: B018 - the property is what is under test
    assert f"{B:,} examples x {terms.count:,} terms" in str(refused.value)
    assert computed == []
    monkeypatch.setattr(model, "available_memory", lambda: 2 * need)
    whole = terms.columns
    assert computed == [(0, B)]
    for name, block in terms.block(3, 7).items():
        np.testing.assert_array_equal(whole[name][3:7], block)
    monkeypatch.setattr(model, "available_memory", lambda: None)  # unknown: not refused
    assert set(terms.columns) == set(whole)
