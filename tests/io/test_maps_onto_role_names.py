"""`--map ROLE=NAME` where NAME is another role's key (QA17b M4): the messages say what the
map did, never "unknown key 'anchor' (did you mean anchor?)" or "no positive ... it holds
'positive'"; one array read as two roles runs, with a warning."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import run_cli

GOOD = {"anchor": [[1, 0], [0, 1]], "positive": [[0.6, 0.8], [-0.6, 0.8]],
        "negatives": [[[0.8, 0.6]], [[0, 1]]]}
TAKEN = ("--map anchor=positive takes the array 'positive' for anchor, so positive has none; "
         "map positive too (--map positive=NAME) or drop the map")


def _good(tmp_path, suffix: str) -> str:
    """good.json or good.npz: the same three arrays."""
    path = tmp_path / f"good{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(GOOD))
    else:
        np.savez(path, **{k: np.asarray(v, dtype=float) for k, v in GOOD.items()})
    return str(path)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_a_map_onto_another_roles_array_says_that_role_has_none(tmp_path, capsys, suffix):
    path = _good(tmp_path, suffix)
    code, _, err = run_cli(capsys, "compute", "infonce", path, "--map", "anchor=positive")
    assert code == 4, err
    assert err.strip() == f"error: {path}: {TAKEN}"


def test_a_roles_own_array_shadowed_by_its_map_is_ignored_for_that_reason(tmp_path, capsys):
    path = str(tmp_path / "two_anchor.npz")
    arrays = {k: np.asarray(v, dtype=float) for k, v in GOOD.items()}
    np.savez(path, anchor=arrays["anchor"], query=arrays["anchor"],
             positive=arrays["positive"], negatives=arrays["negatives"])
    code, out, err = run_cli(capsys, "compute", "infonce", path, "--map", "anchor=query",
                             "-f", "json")
    assert code == 0, err
    note = f"{path}: ignored 'anchor': --map anchor=query reads anchor from 'query'"
    assert json.loads(out)["warnings"] == [note]
    assert err.strip() == f"warning: {note}"
    code, _, err = run_cli(capsys, "compute", "infonce", path, "--map", "anchor=query",
                           "--strict-keys")
    assert code == 4 and "reads anchor from 'query'" in err and "not a role" not in err, err


def test_one_array_read_as_two_roles_warns(tmp_path, capsys):
    path = str(tmp_path / "query.npz")
    arrays = {k: np.asarray(v, dtype=float) for k, v in GOOD.items()}
    np.savez(path, query=arrays["anchor"], negatives=arrays["negatives"])
    code, out, err = run_cli(capsys, "compute", "infonce", path, "--map", "anchor=query",
                             "--map", "positive=query", "-f", "json")
    assert code == 0, err
    note = (f"{path}: anchor and positive both read the array 'query' (--map anchor=query "
            "--map positive=query); map each role to its own array unless that is meant")
    assert json.loads(out)["warnings"] == [note]
    assert err.strip() == f"warning: {note}"
