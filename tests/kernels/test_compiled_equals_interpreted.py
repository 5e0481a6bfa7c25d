"""Compiled (numba) and interpreted runs of the kernels agree, on every loss and through the
command line.

The same kernel source runs either way (kernels/_jit.py); this guards the subset numba
compiles (types, bool arrays, NaN paths) for every loss, and its variant branches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import losscli
from tests.helpers import ROOT, assert_close

pytest.importorskip("numba")

rng = np.random.default_rng(11)
B, P, K, D = 4, 2, 3, 5
A = rng.normal(size=(B, D))
EXPLICIT = {"anchor": A, "positive": A + rng.normal(size=(B, D)),
            "negatives": rng.normal(size=(B, K, D))}
SEVERAL = {"anchor": A, "positives": A[:, None] + rng.normal(size=(B, P, D)),
           "negatives": rng.normal(size=(K, D))}
IN_BATCH = {"anchor": A, "positive": A + rng.normal(size=(B, D))}
PAIRS = {"x1": rng.normal(size=(B, D)), "x2": rng.normal(size=(B, D)),
         "label": np.array([1.0, -1.0, 1.0, -1.0])}
SCORES = {"x1": rng.normal(size=B), "x2": rng.normal(size=B), "label": PAIRS["label"]}

CASES = [
    ("supcon", SEVERAL, {}),
    ("multi-similarity", SEVERAL, {"beta": 5.0}),
    ("circle", SEVERAL, {"gamma": 8.0}),
    ("lifted-structure", SEVERAL, {"variant": "generalized"}),
    ("lifted-structure", EXPLICIT, {"distance": "sqeuclidean"}),
    ("margin", EXPLICIT, {"beta": 2.0}),
    ("npair", EXPLICIT, {}),
    ("npair", IN_BATCH, {}),
    ("dcl", EXPLICIT, {"weighting": "vmf"}),
    ("dcl", IN_BATCH, {}),
    ("hard-infonce", EXPLICIT, {}),
    ("hard-infonce", IN_BATCH, {"tau_plus": 0.3}),
    ("hard-infonce", {"anchor": [[1.0, 0.0]], "positive": [[1.0, 0.0]],
                      "negatives": [[-1.0, 0.0]]}, {"tau_plus": 0.5, "clamp": False}),
    ("ntxent-batch", IN_BATCH, {}),
    ("clip", IN_BATCH, {}),
    ("siglip", IN_BATCH, {}),
    ("cosine-embedding", PAIRS, {}),
    ("hinge-embedding", PAIRS, {}),
    ("margin-ranking", SCORES, {"margin": 0.3}),
    # --like: the variant branches of the kernels
    ("supcon", IN_BATCH, {"like": "supcontrast"}),
    ("supcon", SEVERAL, {"like": "pml"}),
    ("dcl", IN_BATCH, {"like": "dcl-port", "weighting": "vmf"}),
    ("hard-infonce", IN_BATCH, {"like": "hcl", "temperature": 0.2}),
    ("circle", SEVERAL, {"like": "pml"}),
    ("multi-similarity", SEVERAL, {"like": "ms-original", "beta": 5.0}),
    ("clip", IN_BATCH, {"like": "pml"}),
    ("margin", EXPLICIT, {"like": "pml"}),
    ("cosine-embedding", {**PAIRS, "label": np.array([1.0, 0.0, 2.0, -1.0])},
     {"like": "torch"}),
    ("hinge-embedding", {**PAIRS, "label": np.array([1.0, 0.0, 2.0, -1.0])},
     {"like": "torch"}),
]


@pytest.mark.parametrize("name,inputs,params", CASES)
def test_compiled_equals_interpreted(monkeypatch, name, inputs, params):
    results = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("LOSSCLI_JIT", mode)
        results[mode] = losscli.evaluate(name, inputs, grad=True, **params)
    py, jit = results["never"], results["always"]
    assert_close(jit.per_example, py.per_example, 1e-13)
    for column, values in py.terms.columns.items():
        if values.dtype.kind == "f":
            np.testing.assert_allclose(jit.terms.columns[column], values, rtol=1e-13,
                                       atol=1e-15, err_msg=column)
        else:
            assert (jit.terms.columns[column] == values).all(), column
    for role, g in py.gradients.items():
        np.testing.assert_allclose(jit.gradients[role], g, rtol=1e-13, atol=1e-15,
                                   err_msg=role)


def cli(*args: str, stdin: bytes | None = None, env: dict | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "losscli", *args], input=stdin,
                          capture_output=True, cwd=cwd or ROOT, env={**os.environ, **(env or {})},
                          timeout=120)


def test_large_input_runs_compiled_and_agrees(tmp_path):
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "big.npz", anchor=rng.normal(size=(300, 64)),
             positive=rng.normal(size=(300, 64)), negatives=rng.normal(size=(300, 8, 64)))
    results = {}
    for mode in ("auto", "never"):
        proc = cli("compute", "infonce", str(tmp_path / "big.npz"), "-f", "json",
                   "--reduction", "none", env={"LOSSCLI_JIT": mode})
        assert proc.returncode == 0, proc.stderr
        results[mode] = json.loads(proc.stdout)["value"]
    np.testing.assert_allclose(results["auto"], results["never"], rtol=1e-12)
