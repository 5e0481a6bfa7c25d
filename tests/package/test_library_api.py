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
from tests.helpers import assert_close, run_cli_json

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
