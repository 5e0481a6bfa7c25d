"""`--map role=name` and arrays that are not roles (issue 13.6): a mapped array is read as
the role in every format; extra arrays of an .npz (ids, labels) are ignored with one warning
naming them, refused under --strict-keys; a near miss of a missing role stays an error with
"did you mean"; a JSON object stays strict."""

from __future__ import annotations

import json

import numpy as np

import losscli
from tests.helpers import assert_close, run_cli

RNG = np.random.default_rng(6)
A, P, N = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)), RNG.normal(size=(3, 2, 4))
WANT = losscli.evaluate("triplet", {"anchor": A, "positive": P, "negatives": N})


def test_map_reads_other_names_and_extra_arrays_are_ignored_with_a_warning(tmp_path, capsys):
    path = str(tmp_path / "run.npz")
    np.savez(path, query=A, doc=P, negatives=N, ids=np.arange(3), labels=np.ones(3))
    code, out, err = run_cli(capsys, "compute", "triplet", path, "--map", "anchor=query",
                             "--map", "positive=doc", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert_close(doc["value"], WANT.value)
    [warning] = [w for w in doc["warnings"] if "ignored" in w]
    assert "'ids'" in warning and "'labels'" in warning and "--strict-keys" in warning
    assert warning in err
    code, _, err = run_cli(capsys, "compute", "triplet", path, "--map", "anchor=query",
                           "--map", "positive=doc", "--strict-keys")
    assert code == 4 and "'ids'" in err and "--strict-keys" in err


def test_the_api_takes_the_mapping_too(tmp_path):
    path = str(tmp_path / "run.npz")
    np.savez(path, q=A, d=P, n=N)
    r = losscli.evaluate_file("triplet", path, mapping={"anchor": "q", "positive": "d",
                                                        "negatives": "n"})
    assert_close(r.value, WANT.value)


def test_a_near_miss_of_a_missing_role_is_still_did_you_mean(tmp_path, capsys):
    path = str(tmp_path / "typo.npz")
    np.savez(path, anchr=A, positive=P, negatives=N)
    code, _, err = run_cli(capsys, "compute", "triplet", path)
    assert code == 4 and "did you mean anchor" in err and "--map anchor=anchr" in err


def test_bad_maps_are_usage_errors(tmp_path, capsys):
    path = str(tmp_path / "run.npz")
    np.savez(path, anchor=A, positive=P, negatives=N)
    for bad, words in ((["--map", "anchor"], "ROLE=NAME"),
                       (["--map", "anchr=x"], "did you mean anchor"),
                       (["--map", "anchor=x", "--map", "anchor=y"], "twice")):
        code, _, err = run_cli(capsys, "compute", "triplet", path, *bad)
        assert code == 2 and words in err, err
    code, _, err = run_cli(capsys, "compute", "triplet", path, "--map", "positive=dox")
    assert code == 4 and "'dox'" in err and "it holds" in err


def test_a_json_object_stays_strict(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"anchor": [1, 0], "positive": [0, 1], "ids": [1]}))
    code, _, err = run_cli(capsys, "compute", "triplet", str(path))
    assert code == 4 and "unknown key 'ids'" in err


def test_batch_takes_the_mapping_for_every_input(tmp_path, capsys):
    for i in range(2):
        np.savez(tmp_path / f"s{i}.npz", query=A, doc=P, negatives=N, ids=np.arange(3))
    code, out, err = run_cli(capsys, "batch", "triplet", str(tmp_path), "--map",
                             "anchor=query", "--map", "positive=doc")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(records) == 2, err
    for record in records:
        assert_close(record["value"], WANT.value)
        assert any("'ids'" in w for w in record["warnings"])
    assert err.count("s0.npz: ignored") == 1 and "s0.npz: s0.npz" not in err


def test_a_required_role_under_another_name_says_how_to_map_it(tmp_path, capsys):
    path = str(tmp_path / "renamed.npz")
    np.savez(path, query=A, positive=P, negatives=N, ids=np.arange(3))
    code, _, err = run_cli(capsys, "compute", "triplet", path)
    assert code == 4, err
    line = err.strip().splitlines()[-1]
    assert "no anchor among its arrays" in line and "'query'" in line
    assert "--map anchor=NAME" in line


def test_a_role_given_by_its_own_file_need_not_be_in_input(tmp_path, capsys):
    path, anchor = str(tmp_path / "pn.npz"), str(tmp_path / "a.npy")
    np.savez(path, positive=P, negatives=N, ids=np.arange(3))
    np.save(anchor, A)
    code, out, err = run_cli(capsys, "compute", "triplet", path, "--anchor", anchor, "-f", "json")
    assert code == 0, err
    assert_close(json.loads(out)["value"], WANT.value)
    code, out, err = run_cli(capsys, "batch", "triplet", path, "--anchor", anchor)
    assert code == 0, err
    assert_close(json.loads(out.splitlines()[0])["value"], WANT.value)


def test_non_numeric_arrays_that_are_not_roles_are_ignored_in_compute_and_batch(tmp_path,
                                                                                capsys):
    path = str(tmp_path / "ids.npz")
    np.savez(path, anchor=A, positive=P, negatives=N, ids=np.array(["a", "b", "c"]),
             ok=np.ones(3, bool), meta=np.array([{"k": 1}], dtype=object))
    code, out, err = run_cli(capsys, "compute", "triplet", path, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert_close(doc["value"], WANT.value)
    assert any("'ids', 'ok', 'meta'" in w for w in doc["warnings"]), doc["warnings"]
    code, out, err = run_cli(capsys, "batch", "triplet", path)
    assert code == 0, err
    assert_close(json.loads(out)["value"], WANT.value)
    # read as a role, each is refused by its dtype (the object array as a pickle, unread)
    for name, says in (("ids", "dtype <U1"), ("ok", "dtype bool"), ("meta", "pickle")):
        code, _, err = run_cli(capsys, "compute", "triplet", path, "--map", f"anchor={name}")
        assert code == 4 and f"{path}:{name}" in err and says in err, err
