"""A stdout or stderr whose encoding cannot write the charts' drawing characters gets ASCII
stand-ins (`stats` and `sweep` drew their bars in block characters and ended in exit 6 under
PYTHONIOENCODING=ascii, where `compute`'s rich tables fall back to ASCII), and histogram
titles name their quantity's plural ("similarities", not "similaritys")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from losscli.render import chart
from losscli.render.ascii_drawing import in_ascii
from losscli.render.braille import Canvas

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def run(args: list[str], encoding: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "losscli", *args],
                          env={**os.environ, "LOSSCLI_JIT": "never",
                               "PYTHONIOENCODING": encoding},
                          capture_output=True, timeout=300)


def test_every_drawing_character_has_a_one_character_ascii_stand_in():
    canvas = Canvas(4, 2)
    canvas.line(0, 0, 7, 7)
    braille = "".join("".join(row) for row in canvas.rows()) + chr(0x2800) + chr(0x28FF)
    drawn = chart.SPARKS + chart.EIGHTHS + "│└─" + braille
    text = in_ascii(drawn)
    assert text.isascii()
    assert len(text) == len(drawn)  # columns stay aligned
    assert in_ascii("█") == "#" and in_ascii(chr(0x2800)) == " " and in_ascii("⠁") == "."


def test_other_characters_are_left_as_they_are():
    assert in_ascii("ü τ [a] #") == "ü τ [a] #"


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_stats_tables_draw_their_histograms_in_ascii(encoding: str):
    proc = run(["stats", "infonce", str(SAMPLES / "batch.npz"), "-f", "table"], encoding)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("ascii")
    assert "histogram of the similarities" in out
    assert "################" in out  # a fullest bin's bar


def test_sweep_tables_and_plot_draw_in_ascii():
    proc = run(["sweep", "infonce", str(SAMPLES / "seed-example-1.json"), "--param",
                "temperature", "--from", "0.01", "--to", "1", "-f", "table", "--plot"],
               "ascii")
    assert proc.returncode == 0, proc.stderr
    assert "################" in proc.stdout.decode("ascii")
    chart_lines = proc.stderr.decode("ascii")
    assert "\\u28" not in chart_lines and "...." in chart_lines  # dots, not escapes


def test_a_utf8_stdout_keeps_the_block_characters():
    proc = run(["stats", "infonce", str(SAMPLES / "batch.npz"), "-f", "table"], "utf-8")
    assert proc.returncode == 0, proc.stderr
    assert "████████" in proc.stdout.decode("utf-8")


def test_plural_names_the_quantities():
    assert chart.plural("similarity") == "similarities"
    assert chart.plural("positive similarity") == "positive similarities"
    assert chart.plural("distance") == "distances"


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_json_escapes_what_stdout_cannot_write(encoding: str, tmp_path: Path):
    """A non-ASCII file name in batch's JSON Lines under an ASCII stdout: escaped (the same
    JSON), where the run stopped half-way with exit 6 (QA18 M5)."""
    name = "tröp€.json"
    (tmp_path / name).write_text('{"anchor": [1, 0], "positive": [0.6, 0.8], '
                                 '"negatives": [[0.8, 0.6]]}')
    (tmp_path / "ok.json").write_text((tmp_path / name).read_text())
    proc = subprocess.run([sys.executable, "-m", "losscli", "batch", "triplet", "ok.json",
                           name, "-f", "jsonl"], cwd=tmp_path, capture_output=True,
                          timeout=300, env={**os.environ, "LOSSCLI_JIT": "never",
                                            "PYTHONIOENCODING": encoding})
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.decode("ascii").splitlines()]
    assert [r["file"] for r in records] == ["ok.json", name]


def test_a_utf8_stdout_keeps_json_text_unescaped(tmp_path: Path):
    name = "tröp.json"
    (tmp_path / name).write_text('{"anchor": [1, 0], "positive": [0.6, 0.8], '
                                 '"negatives": [[0.8, 0.6]]}')
    proc = subprocess.run([sys.executable, "-m", "losscli", "batch", "triplet", name, "-f",
                           "jsonl"], cwd=tmp_path, capture_output=True, timeout=300,
                          env={**os.environ, "LOSSCLI_JIT": "never", "PYTHONIOENCODING":
                               "utf-8"})
    assert proc.returncode == 0 and '"file": "tröp.json"' in proc.stdout.decode("utf-8")


def test_stats_csv_with_a_name_stdout_cannot_write_is_written_escaped(tmp_path: Path):
    """stats' CSV ends with its warnings, which name the file: under an ASCII stdout the
    name is escaped with a warning, not the whole CSV refused (QA19 M2)."""
    import numpy as np

    np.save(tmp_path / "ö.npy", np.random.default_rng(1).normal(size=(3, 6, 4)))
    proc = subprocess.run([sys.executable, "-m", "losscli", "stats", "infonce", "ö.npy", "-f",
                           "csv"], cwd=tmp_path, capture_output=True, timeout=300,
                          env={**os.environ, "LOSSCLI_JIT": "never", "PYTHONIOENCODING":
                               "ascii"})
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.decode("ascii").splitlines()[-1]
    assert last.startswith('warning,"\\xf6.npy: a (3, 6, 4) stack is read as')
