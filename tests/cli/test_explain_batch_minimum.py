"""`explain LOSS --batch-size B` below the least batch the loss takes (QA7 L2).

clip, ntxent-batch, and npair, dcl and hard-infonce without negatives need B >= 2 (each
example's negatives are the others): `compute` refuses B = 1 (exit 4), and `explain` printed
reference values for it (dcl crashed). The minimum lives in the spec (`min_batch`), which both
read: `explain` refuses a smaller --batch-size (exit 2) naming it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from losscli.losses import LOSSES
from tests.helpers import run_cli

LEAST = {name: spec.min_batch for name, spec in LOSSES.items() if spec.min_batch > 1}


def test_the_in_batch_forms_name_their_least_batch():
    assert LEAST == {"clip": 2, "ntxent-batch": 2, "npair": 2, "dcl": 2, "hard-infonce": 2}


@pytest.mark.parametrize("loss", sorted(LEAST))
def test_explain_refuses_a_batch_the_loss_refuses(capsys, loss):
    least = LEAST[loss]
    for fmt in ("json", "table"):
        code, out, err = run_cli(capsys, "explain", loss, "--batch-size", str(least - 1),
                                 "-f", fmt)
        assert (code, out) == (2, ""), err
        assert err.startswith(f"error: --batch-size {least - 1}: {loss} needs a batch of "
                              f"B >= {least} examples; give --batch-size {least} or more")
        assert len(err.splitlines()) == 1
    code, out, _ = run_cli(capsys, "explain", loss, "--batch-size", str(least), "-f", "json")
    assert code == 0 and json.loads(out)["reference_values"]["values"]
    if "negatives" in LOSSES[loss].roles:  # the explicit form takes any batch
        code, out, err = run_cli(capsys, "explain", loss, "--batch-size", "1",
                                 "--num-negatives", "3", "-f", "json")
        assert code == 0, err


@pytest.mark.parametrize("loss", sorted(LEAST))
def test_compute_refuses_the_same_batches(tmp_path, capsys, loss):
    rng = np.random.default_rng(73)
    least = LEAST[loss]
    for B, want in ((least - 1, 4), (least, 0)):
        path = tmp_path / f"b{B}.npz"
        np.savez(path, anchor=rng.normal(size=(B, 3)), positive=rng.normal(size=(B, 3)))
        code, _, err = run_cli(capsys, "compute", loss, str(path), "-f", "json")
        assert code == want, err
        if want:
            assert f"needs a batch of B >= {least} examples" in err
