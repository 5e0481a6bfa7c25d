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
