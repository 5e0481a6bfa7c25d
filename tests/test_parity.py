"""--like LIBRARY reproduces each library's numbers (tests/fixtures/parity/*.json).

The fixtures were computed by the libraries themselves (tests/fixtures/generate_parity.py:
torch, pytorch-metric-learning, optax, sentence-transformers, TF Addons and tf.keras), except
the tf-addons triplet cases: triplet_hard_loss mines its own triplets from labels and cannot
score explicit ones, so those are a numpy transcription of its formula, and their
`generated_by` says "reference: ...". The live tests at the end rerun torch and PML where
installed.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import losscli
from losscli.errors import BadData

HERE = os.path.dirname(os.path.abspath(__file__))
PARITY = os.path.join(HERE, "fixtures", "parity")
LIBRARY_GENERATED = ("torch", "pytorch-metric-learning", "optax", "sentence-transformers",
                     "tf-addons")
# Libraries that compute a tiny InfoNCE loss as LSE - v_0 lose its digits (torch gives -0.0
# for 1e-19); losscli keeps them, hence the absolute floor.
RTOL, ATOL = 1e-9, 1e-12


def load(library: str) -> list[dict]:
    with open(os.path.join(PARITY, f"{library}.json"), encoding="utf-8") as fh:
        return json.load(fh)


def cases() -> list:
    out = []
    for name in sorted(os.listdir(PARITY)):
        library = name.removesuffix(".json")
        for i, c in enumerate(load(library)):
            out.append(pytest.param(c, id=f"{library}-{c['loss']}-{i}"))
    return out


def check(c: dict, result: losscli.Result) -> None:
    if c["per_example"]:
        np.testing.assert_allclose(result.per_example, c["per_example"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(result.value, dtype=float),
                               np.asarray(c["value"], dtype=float), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("c", cases())
def test_like_matches_the_library(c: dict) -> None:
    result = losscli.evaluate(c["loss"], c["inputs"], like=c["like"], reduction=c["reduction"],
                              **c["options"])
    check(c, result)
    assert result.convention is not None and result.convention["library"] == c["like"]


def test_fixtures_say_who_made_them() -> None:
    for library in LIBRARY_GENERATED:
        for c in load(library):
            if (library, c["loss"]) == ("tf-addons", "triplet"):
                assert c["generated_by"].startswith("reference:")
            else:
                assert c["generated_by"].startswith(library), (library, c["generated_by"])


def test_the_conventions_differ_from_losscli_where_the_libraries_do() -> None:
    """The fixtures would pass vacuously if --like changed nothing: check some differ."""
    differing = 0
    for library in LIBRARY_GENERATED:
        for c in load(library):
            try:
                own = losscli.evaluate(c["loss"], c["inputs"], reduction="none",
                                       **{k: v for k, v in c["options"].items()})
            except BadData:  # losscli's own definition refuses it (torch's target -100)
                differing += 1
                continue
            if not np.allclose(own.per_example, c["per_example"] or own.per_example,
                               rtol=1e-6):
                differing += 1
    assert differing > 50


def _live(library: str, module: str) -> None:
    pytest.importorskip(module)
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "generate_parity", os.path.join(HERE, "fixtures", "generate_parity.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for c in gen.GENERATORS[library]():
        result = losscli.evaluate(c["loss"], c["inputs"], like=c["like"],
                                  reduction=c["reduction"], **c["options"])
        check(c, result)


def test_live_torch() -> None:
    _live("torch", "torch")


def test_live_pytorch_metric_learning() -> None:
    _live("pytorch-metric-learning", "pytorch_metric_learning")
