"""K = 0: the losses whose spec says `empty_negatives` evaluate an empty negatives array (InfoNCE
is 0), the others refuse it (exit 4); `explain --num-negatives 0` follows the same fact (exit 2
where the loss refuses K = 0: dcl and lifted-structure ended in an internal error there, a
math domain error, and triplet gave reference values for a K it never computes)."""

from __future__ import annotations

import numpy as np
import pytest

import losscli
from losscli.cli import run
from losscli.errors import BadData
from losscli.losses import LOSSES, get_spec

WITH_NEGATIVES = [name for name in LOSSES if "negatives" in get_spec(name).roles]


def _empty(name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    arrays = {"anchor": rng.normal(size=(3, 4)), "positive": rng.normal(size=(3, 4)),
              "negatives": np.zeros((3, 0, 4))}
    if "negatives2" in get_spec(name).roles:
        arrays["negatives2"] = np.zeros((3, 0, 4))
    return arrays


@pytest.mark.parametrize("name", WITH_NEGATIVES)
def test_the_spec_says_which_losses_take_k_zero(name: str):
    if get_spec(name).empty_negatives:
        assert np.isfinite(losscli.evaluate(name, _empty(name)).value)
    else:
        with pytest.raises(BadData, match="K = 0"):
            losscli.evaluate(name, _empty(name))


@pytest.mark.parametrize("name", WITH_NEGATIVES)
def test_explain_with_no_negatives(name: str, capsys):
    code = run(["explain", name, "--num-negatives", "0", "-f", "json"])
    out, err = capsys.readouterr()
    if get_spec(name).empty_negatives:
        assert code == 0 and '"values"' in out, err
    else:
        assert code == 2 and out == ""
        assert err.splitlines() == [f"error: --num-negatives 0: {name} needs K >= 1 negatives; "
                                    "give --num-negatives 1 or more"]
