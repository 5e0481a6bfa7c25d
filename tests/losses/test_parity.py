"""Parity with the libraries, through committed fixtures the libraries generated themselves.

The softmax and explicit-negatives families (tests/fixtures/parity/<library>.json, made by
tests/fixtures/generate_parity.py: torch, pytorch-metric-learning, optax,
sentence-transformers, TF Addons and tf.keras): `--like LIBRARY` reproduces each library's
numbers. The tf-addons triplet cases are the exception: triplet_hard_loss mines its own
triplets from labels and cannot score explicit ones, so those are a numpy transcription of
its formula, and their `generated_by` says "reference: ...".

The in-batch, pairs and paired-inputs families (tests/fixtures/parity_in_batch_and_pairs.json,
made by tests/fixtures/generate_parity_in_batch_and_pairs.py: torch, pytorch-metric-learning,
optax, sentence-transformers and open_clip; the original codebases SupContrast, the DCL port,
nidl, HCL and MalongTech through float64 re-implementations of their arithmetic, which say
so): two checks per case, losscli's own definition where it reproduces the library (`own`,
with the inputs normalized where the library normalizes them), and `--like` (the case's
`like`) with nothing done by hand.

The live tests rerun the generators where torch and PML are installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.errors import BadData
from tests.helpers import assert_close

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARITY = os.path.join(HERE, "fixtures", "parity")
LIBRARY_GENERATED = ("torch", "pytorch-metric-learning", "optax", "sentence-transformers",
                     "tf-addons")
RTOL, ATOL = 1e-9, 1e-12

# ---------------------------------------------------------------- softmax, explicit negatives


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


# ---------------------------------------------------------------- in-batch, pairs, paired inputs

FIXTURE = Path(HERE) / "fixtures" / "parity_in_batch_and_pairs.json"
DOC = json.loads(FIXTURE.read_text())
EMBEDDING_ROLES = ("anchor", "positive", "positives", "negatives")


def case_id(case: dict) -> str:
    params = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in case["params"].items())
    return f"{case['library']}:{case['loss']}[{params}]{'+norm' if case['normalize'] else ''}"


OWN = [c for c in DOC["cases"] if c["own"]]
LIKE = [c for c in DOC["cases"] if c["like"]]


@pytest.mark.parametrize("case", OWN, ids=case_id)
def test_own_definition_matches_the_library(case):
    inputs = {k: np.array(v, dtype=float) for k, v in case["inputs"].items()}
    if case["normalize"]:
        for role in EMBEDDING_ROLES:
            if role in inputs:
                inputs[role] = inputs[role] / np.linalg.norm(inputs[role], axis=-1,
                                                             keepdims=True)
    r = losscli.evaluate(case["loss"], inputs, **case["params"])
    expected = case["expected"]
    got = r.per_example if isinstance(expected, list) else r.value
    assert_close(got, expected, case["rel"], scale=10.0)


def like_id(case: dict) -> str:
    return f"like-{case['like']}:{case_id(case).split(':', 1)[1]}"


@pytest.mark.parametrize("case", LIKE, ids=like_id)
def test_like_reproduces_the_library(case):
    """--like LIBRARY gives the library's numbers: its parameters, normalization, eps,
    labels, reductions and zero rows, from the inputs as the library got them."""
    r = losscli.evaluate(case["loss"], case["inputs"], like=case["like"],
                         reduction=case["reduction"], **case["params"])
    assert r.convention is not None and r.convention["library"] == case["like"]
    expected = case["expected"]
    got = r.per_example if isinstance(expected, list) else r.value
    assert_close(got, expected, case["like_rel"], scale=10.0)


def test_every_convention_is_backed_by_a_case():
    """Each --like cell of LOSSES-MORE.md's last table has fixture cases, and the library-run
    ones say which library version made them."""
    from losscli.losses import FAMILIES, LOSSES
    from losscli.losses.conventions import defined_for

    covered = {(c["loss"], c["like"]) for c in LIKE}
    missing = {(spec.name, lib) for family in ("in-batch", "pairs", "paired-inputs")
               for spec in FAMILIES[family] for lib in defined_for(spec)} - covered
    # No library here runs TF Addons (TensorFlow <= 2.15 wants numpy < 2): its npair and
    # lifted-structure conventions are losscli's own definition, checked by the goldens.
    assert missing == {("npair", "tf-addons"), ("lifted-structure", "tf-addons")}
    assert set(LOSSES) >= {loss for loss, _ in covered}
    for c in DOC["cases"]:
        if c["library"] in ("supcontrast", "dcl-port", "nidl", "hcl", "ms-original"):
            assert c["generated_by"].startswith("reference: "), c["generated_by"]
        else:
            assert c["generated_by"].split()[0] in (
                "torch", "pytorch-metric-learning", "optax", "sentence-transformers",
                "open_clip_torch"), c["generated_by"]


def test_like_changes_the_numbers_where_the_libraries_differ():
    """The --like cases would pass vacuously if --like changed nothing: many of them differ
    from losscli's own definition on the same inputs."""
    differing = 0
    for c in LIKE:
        if c["own"]:
            continue
        try:
            own = losscli.evaluate(c["loss"], c["inputs"], **c["params"])
        except losscli.LossCliError:  # labels other than +-1, K = 0 for circle
            differing += 1
            continue
        expected = c["expected"]
        got = own.per_example if isinstance(expected, list) else own.value
        if not np.allclose(got, expected, rtol=1e-9, atol=1e-12, equal_nan=True):
            differing += 1
    assert differing >= 35


def test_fixture_covers_both_libraries_and_every_loss_they_define():
    losses = {(c["library"], c["loss"]) for c in DOC["cases"]}
    assert {("torch", n) for n in ("clip", "siglip", "margin-ranking", "hinge-embedding",
                                   "cosine-embedding")} <= losses
    assert {("pytorch-metric-learning", n) for n in (
        "supcon", "multi-similarity", "circle", "lifted-structure", "margin", "ntxent-batch",
        "npair")} <= losses


def test_live_generator_matches_the_fixture():
    """Where torch and PML are installed, the generator's torch and PML cases (rerun now)
    equal the committed ones."""
    pytest.importorskip("torch")
    pytest.importorskip("pytorch_metric_learning")
    import importlib.util

    import torch

    path = FIXTURE.parent / "generate_parity_in_batch_and_pairs.py"
    spec = importlib.util.spec_from_file_location("generate_parity_in_batch_and_pairs", path)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        rng = np.random.default_rng(2024)
        fresh = gen.torch_cases(rng) + gen.pml_cases(rng)
        fresh += gen.torch_like_cases(np.random.default_rng([2024, 1]))
        fresh += gen.pml_like_cases(np.random.default_rng([2024, 2]))
    finally:
        torch.set_default_dtype(previous)
    committed = [c for c in DOC["cases"] if c["library"] in ("torch",
                                                              "pytorch-metric-learning")]
    assert len(fresh) == len(committed)
    for new, old in zip(fresh, committed, strict=True):
        assert new["inputs"] == old["inputs"]
        assert_close(new["expected"], old["expected"], 1e-13, scale=10.0)
