"""stats --png and compute --png: the files open, have the expected size, and are written
as --out is (whole or not at all, no overwrite without --force)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import SAMPLES, run_cli

image = pytest.importorskip("matplotlib.image")


def opened(path):
    pixels = image.imread(str(path))
    return pixels.shape[:2]


def test_stats_png(capsys, tmp_path):
    out = tmp_path / "stats.png"
    code, _, err = run_cli(capsys, "stats", "triplet", str(SAMPLES / "batch.npz"), "--png",
                           str(out), "-f", "json")
    assert code == 0, err
    assert opened(out) == (500, 800)


def test_compute_png_heatmap_and_candidates(capsys, tmp_path):
    rng = np.random.default_rng(4)
    pairs = tmp_path / "pairs.npz"
    np.savez(pairs, anchor=rng.normal(size=(700, 8)), positive=rng.normal(size=(700, 8)))
    out = tmp_path / "sim.png"
    code, _, err = run_cli(capsys, "compute", "clip", str(pairs), "--png", str(out), "-f",
                           "json")
    assert code == 0, err
    assert opened(out) == (600, 700)
    strip = tmp_path / "strip.png"
    code, _, err = run_cli(capsys, "compute", "infonce", str(SAMPLES / "batch.npz"), "--png",
                           str(strip), "--worst", "3", "-f", "json")
    assert code == 0, err
    height, width = opened(strip)
    assert width == 800 and height == 300


def test_compute_png_refuses_what_it_cannot_draw_and_overwrites(capsys, tmp_path):
    out = tmp_path / "x.png"
    code, _, err = run_cli(capsys, "compute", "softmax-ce", str(SAMPLES / "classification.json"),
                           "--png", str(out))
    assert code == 2 and "has neither" in err and not out.exists()
    out.write_bytes(b"old")
    code, _, err = run_cli(capsys, "stats", "triplet", str(SAMPLES / "batch.npz"), "--png",
                           str(out), "-f", "json")
    assert code == 6 and out.read_bytes() == b"old"
    code, out_text, _ = run_cli(capsys, "stats", "triplet", str(SAMPLES / "batch.npz"),
                                "--png", str(out), "--force", "-f", "json")
    assert code == 0 and opened(out) == (500, 800)
    assert json.loads(out_text)


@pytest.mark.parametrize("png,out,code,words", [
    ("x.jpg", None, 2, "has suffix '.jpg', but --png writes PNG"),
    ("x", None, 2, "has no suffix"),
    ("-", None, 2, "--png got '-'"),
    ("", None, 2, "--png got ''"),
    ("same.png", "same.png", 2, "--png and --out both name same.png"),
    ("ok.png", "nodir/r.json", 6, "no directory"),
    ("ok.png", "taken.json", 6, "already exists"),
])
def test_png_and_out_are_checked_before_anything_is_written(capsys, tmp_path, monkeypatch,
                                                            png, out, code, words):
    # QA10 F5: --png x.jpg wrote PNG bytes under a JPEG's name, --png - a file named "-",
    # and a PNG was written before --out was refused
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken.json").write_text("old")
    args = ["compute", "clip", str(SAMPLES / "views.npz"), "--png", png]
    if out is not None:
        args += ["--out", out, "-f", "json"]
    got, _, err = run_cli(capsys, *args)
    assert got == code and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.json"]


def test_stats_marks_where_each_margin_loss_switches_its_terms_on():
    # QA10 F1, F4: margin's line was drawn at m (0.2) though its negatives are active below
    # beta + m; --soft triplet got a margin line though it uses none
    import losscli

    rng = np.random.default_rng(9)
    x = {"anchor": rng.normal(size=(6, 4)), "positive": rng.normal(size=(6, 4)),
         "negatives": rng.normal(size=(6, 3, 4))}
    lines = {(t.label, t.role): t.at for t in losscli.stats("margin", x).thresholds}
    assert lines == {("beta + m", "negative"): 1.2 + 0.2, ("beta - m", "positive"): 1.2 - 0.2}
    st = losscli.stats("triplet", x, margin=0.5)
    d_ap = next(r for r in st.records if r["stat"] == "d_ap")["p50"]
    assert [(t.at, t.role) for t in st.thresholds] == [(d_ap + 0.5, "negative")]
    assert losscli.stats("triplet", x, soft=True).thresholds == ()
    assert [t.at for t in losscli.stats("contrastive", x, margin=0.7).thresholds] == [0.7]
    assert losscli.stats("lifted-structure", x).thresholds == ()
    records = {r["stat"]: r for r in losscli.stats("margin", x).records}
    assert {"active pos_term", "active neg_term"} <= set(records)


def test_lifted_structures_positive_distances_are_counted():
    # QA10 F2: the song variant's d_ap lives on every negative's row: stats counted 0
    import losscli

    rng = np.random.default_rng(10)
    x = {"anchor": rng.normal(size=(5, 4)), "positive": rng.normal(size=(5, 4)),
         "negatives": rng.normal(size=(5, 3, 4))}
    records = {r["stat"]: r for r in losscli.stats("lifted-structure", x).records}
    want = np.linalg.norm(x["anchor"] - x["positive"], axis=1)
    assert records["d_ap"]["count"] == 5
    assert records["d_ap"]["mean"] == pytest.approx(want.mean(), rel=1e-12)


def test_the_candidates_picture_reads_only_the_rows_it_draws():
    """An in-batch breakdown is read a block at a time: the picture's rows alone (MNRL's
    whole breakdown at B = 8,192 took 6 GB for the 40 rows drawn)."""
    from dataclasses import replace

    import losscli
    from losscli.explore import positive_negative

    rng = np.random.default_rng(5)
    inputs = {"anchor": rng.normal(size=(9, 4)), "positive": rng.normal(size=(9, 4)),
              "negatives": rng.normal(size=(9, 2, 4))}
    r = losscli.evaluate("infonce", inputs, like="sentence-transformers")
    asked = []

    def recorded(start, stop):
        asked.append((start, stop))
        return r.terms.block(start, stop)

    lazy = replace(r, terms=replace(r.terms, compute=recorded))
    what, positive, negative = positive_negative(lazy, [4, 1])
    assert asked == [(4, 5), (1, 2)]
    _, all_positive, all_negative = positive_negative(r, range(9))
    # the same similarities (a product of two rows may round apart from one of nine)
    np.testing.assert_allclose(positive.reshape(2, -1), all_positive.reshape(9, -1)[[4, 1]],
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(negative.reshape(2, -1), all_negative.reshape(9, -1)[[4, 1]],
                               rtol=1e-13, atol=1e-15)
    assert what == "similarity" and negative.size == 2 * (9 * 3 - 1)


def test_worst_of_an_in_batch_loss_draws_the_picked_examples_strips(capsys, tmp_path):
    """--worst has no place in a similarity matrix: the examples it picks get their strips
    (it was dropped without a word, the heatmap drawn instead)."""
    rng = np.random.default_rng(8)
    pairs = tmp_path / "pairs.npz"
    np.savez(pairs, anchor=rng.normal(size=(30, 8)), positive=rng.normal(size=(30, 8)))
    for loss in (["clip"], ["infonce", "--like", "sentence-transformers"]):
        heat, strip = tmp_path / "heat.png", tmp_path / "strip.png"
        code, _, err = run_cli(capsys, "compute", *loss, str(pairs), "--png", str(heat),
                               "--force", "-f", "json")
        assert code == 0, err
        assert opened(heat) == (600, 700)
        code, _, err = run_cli(capsys, "compute", *loss, str(pairs), "--png", str(strip),
                               "--worst", "3", "--force", "-f", "json")
        assert code == 0, err
        assert opened(strip) == (300, 800)
