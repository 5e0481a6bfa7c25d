"""Inputs in every format: a JSON document, .npz, a lone .npy stack, per-role files (which
replace a role of the document, with a warning), stdin; the format found by content, not
extension; scalar roles for one pair."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

import losscli
from tests.helpers import SAMPLES, assert_close
from tests.helpers import run_cli as invoke
from tests.helpers import run_cli_json as cli_json


def test_per_role_files_and_a_replaced_role(capsys, tmp_path):
    a, p, n = (str(SAMPLES / f) for f in ("a.npy", "p.npy", "n.npy"))
    code, out, _ = invoke(capsys, "compute", "triplet", "--anchor", a, "--positive", p,
                          "--negatives", n, "--margin", "0.5", "-f", "json")
    assert code == 0
    per_role = json.loads(out)
    neg = tmp_path / "neg.json"
    neg.write_text(json.dumps({"negatives": np.load(n).tolist()}))
    doc = {"anchor": np.load(a).tolist(), "positive": np.load(p).tolist(),
           "negatives": np.zeros((4, 16)).tolist()}
    (tmp_path / "ex.json").write_text(json.dumps(doc))
    code, out, err = invoke(capsys, "compute", "triplet", str(tmp_path / "ex.json"),
                            "--negatives", str(neg), "--margin", "0.5", "-f", "json")
    assert code == 0
    replaced = json.loads(out)
    assert "replaces negatives" in err
    assert any("replaces negatives" in w for w in replaced["warnings"])
    np.testing.assert_allclose(replaced["per_example"], per_role["per_example"], rtol=1e-12)


def test_lone_npy_is_a_stack(capsys):
    stack = np.load(SAMPLES / "infonce-stack.npy")
    code, out, _ = invoke(capsys, "compute", "infonce", str(SAMPLES / "infonce-stack.npy"),
                          "-f", "json")
    assert code == 0
    from_stack = json.loads(out)["value"]
    import losscli

    direct = losscli.evaluate("infonce", {"anchor": stack[:, 0], "positive": stack[:, 1],
                                          "negatives": stack[:, 2:]}).value
    assert math.isclose(from_stack, direct, rel_tol=1e-12)


def test_format_is_found_by_content_not_extension(capsys, tmp_path):
    lying = tmp_path / "really-json.npy"
    lying.write_bytes((SAMPLES / "seed-example-1.json").read_bytes())
    code, out, _ = invoke(capsys, "compute", "infonce", str(lying), "-f", "json")
    assert code == 0
    assert math.isclose(json.loads(out)["value"], 4.9068650660199903e-05, rel_tol=1e-12)


def test_json_after_a_utf8_byte_order_mark_is_read(capsys, tmp_path):
    """UTF-8 with a byte-order mark (EF BB BF before the `{`, as Windows editors save it) is
    still JSON: the document, and a per-role file's bare array, give LOSSES.md's golden."""
    seed = json.loads((SAMPLES / "seed-example-1.json").read_text())
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(seed).encode())
    assert_close(cli_json(capsys, "compute", "infonce", str(bom))["value"],
                 4.9068650660199903e-05)
    anchor = tmp_path / "anchor.json"
    anchor.write_bytes(b"\xef\xbb\xbf" + json.dumps(seed["anchor"]).encode())
    doc = cli_json(capsys, "compute", "infonce", str(SAMPLES / "seed-example-1.json"),
                   "--anchor", str(anchor))
    assert any("replaces anchor" in w for w in doc["warnings"])
    assert_close(doc["value"], 4.9068650660199903e-05)


def test_paired_input_roles_from_json_npz_npy_and_stdin(capsys, tmp_path, monkeypatch):
    x1 = np.array([[1.0, 0.0], [1.0, 0.0]])
    x2 = np.array([[0.6, 0.8], [0.8, 0.6]])
    label = np.array([1.0, -1.0])
    expected = 0.6
    (tmp_path / "in.json").write_text(json.dumps({"x1": x1.tolist(), "x2": x2.tolist(),
                                                  "label": label.tolist()}))
    np.savez(tmp_path / "in.npz", x1=x1, x2=x2, label=label)
    np.save(tmp_path / "x1.npy", x1)
    np.save(tmp_path / "x2.npy", x2)
    (tmp_path / "label.json").write_text("[1, -1]")
    (tmp_path / "label-keyed.json").write_text('{"label": [1, -1]}')
    runs = [
        ["in.json"], ["in.npz"],
        ["--x1", "x1.npy", "--x2", "x2.npy", "--label", "label.json"],
        ["--x1", "x1.npy", "--x2", "x2.npy", "--label", "label-keyed.json"],
    ]
    for args in runs:
        doc = cli_json(capsys, "compute", "cosine-embedding", *[
            str(tmp_path / a) if not a.startswith("--") else a for a in args])
        assert doc["value"] == pytest.approx(expected, rel=1e-12), args
    stdin = io.BytesIO((tmp_path / "in.json").read_bytes())
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stdin))
    inputs = losscli.load_inputs("-", None, losscli.get_spec("cosine-embedding"), stdin=stdin)
    assert losscli.evaluate("cosine-embedding", inputs).value == pytest.approx(expected)


def test_positives_from_a_role_file_replace_nothing(capsys, tmp_path):
    np.save(tmp_path / "pos.npy", np.array([[0.6, 0.8], [0.8, 0.6]]))
    (tmp_path / "in.json").write_text(json.dumps({"anchor": [1, 0], "negatives": [[0, 1]]}))
    doc = cli_json(capsys, "compute", "supcon", str(tmp_path / "in.json"), "--positives",
                   str(tmp_path / "pos.npy"))
    assert doc["value"] == pytest.approx(1.1272234419014062, rel=1e-12)


def test_scalar_roles_for_one_pair(capsys, tmp_path):
    (tmp_path / "one.json").write_text('{"x1": 0.3, "x2": 0.5, "label": 1}')
    doc = cli_json(capsys, "compute", "margin-ranking", str(tmp_path / "one.json"))
    assert doc["value"] == pytest.approx(0.2, rel=1e-12)
    assert doc["shape"]["batch"] == 1
