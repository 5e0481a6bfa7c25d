"""2-D negatives with one row per anchor (issue 12.1): read as shared (K = B) with a warning
naming both readings and --negatives-layout, or as one negative per anchor with
--negatives-layout per-anchor, for every loss that takes negatives, through every evaluating
command (compute, batch, sweep, stats, compare) and the library. Through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli.errors import UsageError
from losscli.losses import LOSSES
from tests import reference

B, D, P = 4, 3, 2
NEGATIVE_LOSSES = sorted(name for name, spec in LOSSES.items() if "negatives" in spec.roles)
WARNING = "have as many rows as there are anchors"


def cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LOSSCLI_JIT="never")
    return subprocess.run([sys.executable, "-m", "losscli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def arrays(loss: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(loss.encode()))  # the same inputs every run
    spec = LOSSES[loss]
    out = {"anchor": rng.normal(size=(B, D)), "negatives": rng.normal(size=(B, D))}
    if "positives" in spec.required:
        out["positives"] = rng.normal(size=(B, P, D))
    else:
        out["positive"] = rng.normal(size=(B, D))
    if "negatives2" in spec.roles:  # one per negative: it follows the negatives' layout
        out["negatives2"] = rng.normal(size=(B, D))
    return out


def reshaped(arrs: dict[str, np.ndarray], how) -> dict[str, np.ndarray]:
    return {r: how(a) for r, a in arrs.items() if r in ("negatives", "negatives2")}


def save(root: Path, arrs: dict[str, np.ndarray], **override: np.ndarray) -> list[str]:
    args = []
    for role, arr in {**arrs, **override}.items():
        np.save(root / f"{role}.npy", arr)
        args += [f"--{role}", f"{role}.npy"]
    return args


def run_json(args: list[str], cwd: Path) -> tuple[dict, list[str]]:
    proc = cli([*args, "-f", "json"], cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr.splitlines()


@pytest.mark.parametrize("loss", NEGATIVE_LOSSES)
def test_each_loss_reads_both_layouts(loss: str, tmp_path: Path) -> None:
    arrs = arrays(loss)
    plain, stderr = run_json(["compute", loss, *save(tmp_path, arrs)], tmp_path)
    warned = [w for w in plain["warnings"] if WARNING in w]
    assert len(warned) == 1 and "--negatives-layout per-anchor" in warned[0], plain["warnings"]
    assert f"({B}, 1, {D})" in warned[0] and f"(1, {B}, {D})" in warned[0]
    assert f"warning: {warned[0]}" in stderr
    shared, _ = run_json(["compute", loss, *save(tmp_path, arrs), "--negatives-layout",
                          "shared"], tmp_path)
    tiled, _ = run_json(["compute", loss, *save(tmp_path, arrs, **reshaped(
        arrs, lambda a: np.broadcast_to(a, (B, B, D)).copy()))], tmp_path)
    per_anchor, _ = run_json(["compute", loss, *save(tmp_path, arrs), "--negatives-layout",
                              "per-anchor"], tmp_path)
    explicit, _ = run_json(["compute", loss, *save(tmp_path, arrs, **reshaped(
        arrs, lambda a: a[:, None, :]))], tmp_path)
    assert not any(WARNING in w for w in shared["warnings"] + per_anchor["warnings"])
    np.testing.assert_allclose(plain["per_example"], tiled["per_example"], rtol=1e-12)
    np.testing.assert_allclose(shared["per_example"], tiled["per_example"], rtol=1e-12)
    np.testing.assert_allclose(per_anchor["per_example"], explicit["per_example"], rtol=1e-12)
    assert per_anchor["shape"]["negatives"] == 1 and plain["shape"]["negatives"] == B
    assert not np.allclose(per_anchor["per_example"], plain["per_example"])


def test_unambiguous_shapes_give_no_warning(tmp_path: Path) -> None:
    arrs = arrays("triplet")
    for negatives in (arrs["negatives"][:2], arrs["negatives"][:, None]):
        out, _ = run_json(["compute", "triplet", *save(tmp_path, arrs, negatives=negatives)],
                          tmp_path)
        assert not any(WARNING in w for w in out["warnings"])


@pytest.mark.parametrize("layout,negatives,words", [
    ("per-anchor", np.ones((2, D)), ("(2, 3) cannot be one per anchor", "4 anchor")),
    ("shared", np.ones((B, 2, D)), ("per anchor (B, K, D)", "--negatives-layout shared")),
])
def test_a_layout_the_shapes_contradict_is_bad_data(layout: str, negatives: np.ndarray,
                                                     words: tuple[str, ...],
                                                     tmp_path: Path) -> None:
    proc = cli(["compute", "triplet", *save(tmp_path, arrays("triplet"), negatives=negatives),
                "--negatives-layout", layout], tmp_path)
    assert proc.returncode == 4
    assert all(w in proc.stderr for w in words), proc.stderr


def test_a_bad_layout_is_a_usage_error(tmp_path: Path) -> None:
    proc = cli(["compute", "triplet", *save(tmp_path, arrays("triplet")), "--negatives-layout",
                "per-anchr"], tmp_path)
    assert proc.returncode == 2
    assert "did you mean per-anchor" in proc.stderr and "shared or per-anchor" in proc.stderr


@pytest.mark.parametrize("chunk", ["1", "3", "100"])
def test_batch_reads_the_layout_in_chunks(chunk: str, tmp_path: Path) -> None:
    arrs = arrays("triplet")
    args = save(tmp_path, arrs)
    want, _ = run_json(["compute", "triplet", *args, "--negatives-layout", "per-anchor"],
                       tmp_path)
    proc = cli(["batch", "triplet", *args, "--negatives-layout", "per-anchor", "--chunk", chunk,
                "-f", "jsonl"], tmp_path)
    record = json.loads(proc.stdout)
    np.testing.assert_allclose(record["per_example"], want["per_example"], rtol=1e-12)
    plain = json.loads(cli(["batch", "triplet", *args, "--chunk", chunk, "-f", "jsonl"],
                           tmp_path).stdout)
    assert len([w for w in plain["warnings"] if WARNING in w]) == 1


def test_every_evaluating_command_takes_the_option(tmp_path: Path) -> None:
    args = save(tmp_path, arrays("triplet"))
    sweep = ["sweep", "triplet", *args, "--param", "margin", "--from", "0.5", "--to", "1",
             "--steps", "2"]
    for command in (["stats", "triplet", *args], ["compare", "triplet", *args], sweep):
        given = cli([*command, "--negatives-layout", "per-anchor", "-f", "json"], tmp_path)
        assert given.returncode == 0, given.stderr
        assert WARNING not in given.stderr
        unsaid = cli([*command, "-f", "json"], tmp_path)
        assert WARNING in unsaid.stderr
        assert given.stdout != unsaid.stdout


def test_the_library_takes_the_layout() -> None:
    arrs = arrays("triplet")
    per_anchor = losscli.evaluate("triplet", arrs, negatives_layout="per-anchor")
    explicit = losscli.evaluate("triplet", {**arrs, "negatives": arrs["negatives"][:, None]})
    np.testing.assert_allclose(per_anchor.per_example, explicit.per_example, rtol=1e-12)
    shared = losscli.evaluate("triplet", arrs)
    assert any(WARNING in w for w in shared.warnings)
    loaded = losscli.evaluate("triplet", losscli.api.inputs_from_arrays(arrs),
                              negatives_layout="per-anchor")
    np.testing.assert_allclose(loaded.per_example, explicit.per_example, rtol=1e-12)


def _quadruplet_reference(arrs: dict[str, np.ndarray], n: np.ndarray,
                          n2: np.ndarray) -> list[float]:
    """Per-anchor reference over (B, K, D) negatives and negatives2 (LOSSES.md)."""
    return [reference.quadruplet(a, p, list(nb), list(n2b))
            for a, p, nb, n2b in zip(arrs["anchor"], arrs["positive"], n, n2, strict=True)]


@pytest.mark.parametrize("layout,n_of,n2_of,n_at,n2_at", [
    # negatives one per anchor row, negatives2 one row shared: LOSSES.md lets them differ
    ("per-anchor", lambda r: r.normal(size=(B, D)), lambda r: r.normal(size=(1, D)),
     lambda n: n[:, None], lambda n2: np.broadcast_to(n2, (B, 1, D))),
    ("per-anchor", lambda r: r.normal(size=(1, D)), lambda r: r.normal(size=(B, D)),
     lambda n: np.broadcast_to(n, (B, 1, D)), lambda n2: n2[:, None]),
    # a shared bank of B rows beside negatives2 given per anchor as (B, K, D)
    ("shared", lambda r: r.normal(size=(B, D)), lambda r: r.normal(size=(B, B, D)),
     lambda n: np.broadcast_to(n, (B, B, D)), lambda n2: n2),
])
def test_quadruplets_two_negatives_roles_may_differ_in_layout(layout, n_of, n2_of, n_at,
                                                               n2_at) -> None:
    rng = np.random.default_rng(7)
    arrs = {"anchor": rng.normal(size=(B, D)), "positive": rng.normal(size=(B, D))}
    n, n2 = n_of(rng), n2_of(rng)
    got = losscli.evaluate("quadruplet", {**arrs, "negatives": n, "negatives2": n2},
                           negatives_layout=layout, reduction="none")
    np.testing.assert_allclose(got.per_example, _quadruplet_reference(arrs, n_at(n), n2_at(n2)),
                               rtol=1e-12)


def test_a_per_anchor_layout_neither_negatives_role_can_take_is_refused() -> None:
    rng = np.random.default_rng(8)
    arrs = {"anchor": rng.normal(size=(B, D)), "positive": rng.normal(size=(B, D)),
            "negatives": rng.normal(size=(2, D)), "negatives2": rng.normal(size=(2, D))}
    with pytest.raises(losscli.errors.BadData, match="cannot be one per anchor"):
        losscli.evaluate("quadruplet", arrs, negatives_layout="per-anchor")


# torch's TripletMarginLoss, optax's triplet_margin_loss and sentence-transformers'
# TripletLoss take a negative tensor of the anchors' shape: that is their only layout.
ROW_LIBRARIES = ["optax", "sentence-transformers", "torch"]


def test_the_one_negative_per_row_libraries_are_in_the_data(tmp_path: Path) -> None:
    assert ROW_LIBRARIES == sorted(lib for lib, c in LOSSES["triplet"].conventions.items()
                                   if getattr(c, "negatives_layout", None) == "per-anchor")
    explained, _ = run_json(["explain", "triplet"], tmp_path)
    assert sorted(lib for lib, c in explained["conventions"].items()
                  if c.get("negatives_layout") == "per-anchor") == ROW_LIBRARIES
    table = cli(["explain", "triplet", "-f", "table"], tmp_path).stdout
    assert table.count("negatives: one per anchor row only") == len(ROW_LIBRARIES)


# (loss, library): sentence-transformers' MultipleNegativesRankingLoss takes hard negatives
# as a column, one per (anchor, positive) row, too (QA8 F2: read as a shared bank, 0.382
# where MNRL gives 0.136)
ROW_CONVENTIONS = [("triplet", lib) for lib in ROW_LIBRARIES] + [
    ("infonce", "sentence-transformers")]


def test_the_one_negative_per_row_conventions_are_in_the_data() -> None:
    assert sorted(ROW_CONVENTIONS) == sorted(
        (loss, lib) for loss, spec in LOSSES.items() for lib, c in spec.conventions.items()
        if getattr(c, "negatives_layout", None) == "per-anchor")


@pytest.mark.parametrize("loss,lib", ROW_CONVENTIONS)
def test_like_a_one_negative_per_row_library_reads_b_d_negatives_per_anchor(loss: str,
                                                                             lib: str) -> None:
    arrs = arrays(loss)
    unsaid = losscli.evaluate(loss, arrs, like=lib)
    explicit = losscli.evaluate(loss, {**arrs, "negatives": arrs["negatives"][:, None]},
                                like=lib)
    np.testing.assert_allclose(unsaid.per_example, explicit.per_example, rtol=1e-12)
    # one negative per example; MNRL's shape counts its candidates' negatives: the other
    # B - 1 positives and the B negatives (of a K-bank: B K)
    B = len(arrs["anchor"])
    in_batch = loss == "infonce"
    assert unsaid.shape["negatives"] == explicit.shape["negatives"] == (
        2 * B - 1 if in_batch else 1)
    assert not any(WARNING in w for w in unsaid.warnings)
    assert any("read one per anchor row" in n for n in unsaid.convention["notes"])
    assert unsaid.convention["flags"]["negatives_layout"] == "per-anchor"
    with pytest.raises(UsageError, match="--negatives-layout shared"):
        losscli.evaluate(loss, arrs, like=lib, negatives_layout="shared")
    # a bank of another size is not one per anchor row: read as it was
    bank = {**arrs, "negatives": arrs["negatives"][:2]}
    assert losscli.evaluate(loss, bank, like=lib).shape["negatives"] == (
        B - 1 + 2 * B if in_batch else 2)


def test_compare_says_which_rows_read_the_negatives_per_anchor() -> None:
    # QA8 F4: torch's row read (B, D) negatives per anchor, losscli's shared, and nothing said
    rows = {r.convention: r for r in losscli.compare("triplet", arrays("triplet"))}
    per_anchor = sorted(c for c, r in rows.items()
                        if r.flags.get("negatives_layout") == "per-anchor")
    assert per_anchor == ROW_LIBRARIES


def test_like_torch_on_torchs_layout_is_torchs_value(tmp_path: Path) -> None:
    # torch.nn.TripletMarginLoss()(a, p, n): mean over b of [|a-p+1e-6| - |a-n+1e-6| + 1]+
    arrs = arrays("triplet")
    a, p, n = arrs["anchor"], arrs["positive"], arrs["negatives"]
    torch_value = np.mean(np.maximum(np.linalg.norm(a - p + 1e-6, axis=1)
                                     - np.linalg.norm(a - n + 1e-6, axis=1) + 1.0, 0.0))
    args = save(tmp_path, arrs)
    doc, stderr = run_json(["compute", "triplet", *args, "--like", "torch"], tmp_path)
    assert doc["value"] == pytest.approx(torch_value, rel=1e-12)
    assert not any(WARNING in line for line in stderr)
    for command in ("compute", "batch"):
        refused = cli([command, "triplet", *args, "--like", "torch", "--negatives-layout",
                       "shared"], tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert "one per anchor row" in refused.stderr


# Positives (B, D) with one row per anchor (QA7 C1): the negatives' two readings, the same
# warning and an option of the same form, --positives-layout.
POSITIVE_LOSSES = {"supcon": {}, "multi-similarity": {}, "circle": {},
                   "lifted-structure": {"variant": "generalized"}}
POSITIVES_WARNING = "positives (4, 3) have as many rows as there are anchors (B = 4)"


def positive_arrays(loss: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(loss.encode()) + 1)
    return {"anchor": rng.normal(size=(B, D)), "positives": rng.normal(size=(B, D)),
            "negatives": rng.normal(size=(P, D))}


@pytest.mark.parametrize("loss", sorted(POSITIVE_LOSSES))
def test_each_positives_loss_reads_both_positives_layouts(loss: str) -> None:
    arrs, params = positive_arrays(loss), POSITIVE_LOSSES[loss]
    unsaid = losscli.evaluate(loss, arrs, **params)
    said = [w for w in unsaid.warnings if POSITIVES_WARNING in w]
    assert len(said) == 1 and "--positives-layout per-anchor" in said[0]
    assert unsaid.shape["positives"] == B
    shared = losscli.evaluate(loss, arrs, positives_layout="shared", **params)
    assert shared.per_example.tolist() == unsaid.per_example.tolist()
    assert not any(POSITIVES_WARNING in w for w in shared.warnings)
    per_anchor = losscli.evaluate(loss, arrs, positives_layout="per-anchor", **params)
    one_each = {"anchor": arrs["anchor"], "positive": arrs["positives"],
                "negatives": arrs["negatives"]}
    np.testing.assert_allclose(per_anchor.per_example,
                               losscli.evaluate(loss, one_each, **params).per_example,
                               rtol=1e-12)
    assert per_anchor.shape["positives"] == 1
    assert not any(POSITIVES_WARNING in w for w in per_anchor.warnings)


def test_the_positives_layout_through_every_evaluating_command(tmp_path: Path) -> None:
    args = save(tmp_path, positive_arrays("supcon"))
    sweep = ["sweep", "supcon", *args, "--param", "temperature", "--from", "0.1", "--to", "1",
             "--steps", "2"]
    for command in (["compute", "supcon", *args], ["batch", "supcon", *args],
                    ["stats", "supcon", *args], ["compare", "supcon", *args], sweep):
        given = cli([*command, "--positives-layout", "per-anchor", "-f", "json"], tmp_path)
        assert given.returncode == 0, given.stderr
        assert "as many rows as there are anchors" not in given.stderr
        unsaid = cli([*command, "-f", "json"], tmp_path)
        assert unsaid.returncode == 0, unsaid.stderr
        assert POSITIVES_WARNING in unsaid.stderr
        assert given.stdout != unsaid.stdout


@pytest.mark.parametrize("args,code,words", [
    (["triplet", "--positives-layout", "per-anchor"], 2, "does not apply to triplet"),
    (["supcon", "--positives-layout", "per-anchr"], 2, "choose shared or per-anchor"),
    (["supcon", "--positives-layout", "per-anchor", "--positives", "p3.npy"], 4,
     "cannot be one per anchor"),
    (["supcon", "--positives-layout", "shared", "--positives", "pb.npy"], 4,
     "are per anchor (B, P, D)"),
])
def test_a_positives_layout_that_does_not_fit_is_refused(args: list[str], code: int,
                                                         words: str, tmp_path: Path) -> None:
    arrs = positive_arrays("supcon")
    np.save(tmp_path / "p3.npy", arrs["positives"][:3])
    np.save(tmp_path / "pb.npy", arrs["positives"][:, None])
    roles = {r: a for r, a in arrs.items() if r != "positives"}  # positives: in args
    if args[0] == "triplet":
        roles["positive"] = arrs["positives"]
    proc = cli(["compute", args[0], *args[1:], *save(tmp_path, roles)], tmp_path)
    assert proc.returncode == code, proc.stderr
    assert words in proc.stderr


def test_emulation_reads_the_positives_layout() -> None:
    arrs = positive_arrays("supcon")
    one_each = {"anchor": arrs["anchor"], "positive": arrs["positives"],
                "negatives": arrs["negatives"]}
    got = losscli.evaluate("supcon", arrs, positives_layout="per-anchor", emulate="float32")
    want = losscli.evaluate("supcon", one_each, emulate="float32")
    assert got.emulation["per_example"] == want.emulation["per_example"]
