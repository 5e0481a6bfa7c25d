"""Tables never cut a number (issue 12.12): at COLUMNS=40, 60, 80 and 120 every command's
table shows each number whole (no ellipsis, no number folded across lines, no line wider than
the terminal). Through the real CLI in a subprocess, its width set by COLUMNS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from losscli.render.table import fmt_number

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
WIDTHS = [40, 60, 80, 120]
SWEEP = ["--param", "temperature", "--from", "1e-10", "--to", "1", "--steps", "4", "--log"]


def cli(args: list[str], columns: int | None = None) -> str:
    env = dict(os.environ, LOSSCLI_JIT="never")
    if columns is not None:
        env["COLUMNS"] = str(columns)
    proc = subprocess.run([sys.executable, "-m", "losscli", *args], cwd=SAMPLES, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 7), proc.stderr
    return proc.stdout


def whole(number: str, text: str) -> bool:
    """`number` appears in `text` as a token of its own (not a piece of a longer one)."""
    return re.search(rf"(?<![\w.+-]){re.escape(number)}(?![\w.])", text) is not None


def check_frame(text: str, width: int) -> None:
    assert "…" not in text, text
    wide = [line for line in text.splitlines() if cell_len(line) > width]
    assert not wide, wide


def numbers(values: list[float], digits: int = 6) -> list[str]:
    return [fmt_number(float(v), digits) for v in values
            if isinstance(v, float) and v == v and abs(v) != float("inf")]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("loss,input,extra", [
    ("infonce", "seed-example-1.json", ["--grad"]),
    ("softmax-ce", "classification.json", []),
    ("quadruplet", "batch.json", []),
])
def test_compute_tables(width: int, loss: str, input: str, extra: list[str]) -> None:
    args = ["compute", loss, input, "--show", "0", *extra]
    text = cli([*args, "-f", "table"], width)
    check_frame(text, width)
    doc = json.loads(cli([*args, "-f", "json"]))
    shown = [v for e in doc["examples"] for t in e["terms"] for v in t.values()
             if isinstance(v, float)]
    missing = [n for n in numbers(shown) if not whole(n, text)]
    assert not missing, (missing[:5], text)


@pytest.mark.parametrize("width", WIDTHS)
def test_batch_tables(width: int) -> None:
    for extra, digits in (([], 10), (["--per-example", "--show", "0"], 10)):
        args = ["batch", "triplet", "batch.npz", "ex.json", "triplets.jsonl", *extra]
        text = cli([*args, "-f", "table"], width)
        check_frame(text, width)
        lines = [json.loads(x) for x in cli([*args, "-f", "jsonl"]).splitlines()]
        values = [r.get("value", r.get("loss")) for r in lines]
        missing = [n for n in numbers(values, digits) if not whole(n, text)]
        assert not missing, (missing[:5], text)
    summary = cli(["batch", "triplet", "batch.npz", "--summary", "-f", "table"], width)
    check_frame(summary, width)
    record = json.loads(cli(["batch", "triplet", "batch.npz", "--summary", "-f", "json"]))
    stats = [record[k] for k in ("mean", "std", "min", "p50", "max")]
    assert all(whole(n, summary) for n in numbers(stats, 10)), summary


@pytest.mark.parametrize("width", WIDTHS)
def test_explorer_tables(width: int) -> None:
    sweep = cli(["sweep", "infonce", "seed-example-2.json", *SWEEP, "-f", "table"], width)
    check_frame(sweep, width)
    steps = json.loads(cli(["sweep", "infonce", "seed-example-2.json", *SWEEP, "-f", "json"]))
    losses = [s["value"] for s in steps["steps"]]
    assert all(whole(n, sweep) for n in numbers(losses, 8)), sweep
    stats = cli(["stats", "triplet", "batch.npz", "-f", "table"], width)
    check_frame(stats, width)
    records = json.loads(cli(["stats", "triplet", "batch.npz", "-f", "json"]))["stats"]
    summaries = [r[k] for r in records if "mean" in r for k in ("mean", "p50", "max")]
    assert all(whole(n, stats) for n in numbers(summaries)), stats
    compare = cli(["compare", "triplet", "ex.json", "-f", "table"], width)
    check_frame(compare, width)
    rows = json.loads(cli(["compare", "triplet", "ex.json", "-f", "json"]))["conventions"]
    values = [r["value"] for r in rows if isinstance(r["value"], float)]
    assert all(whole(n, compare) for n in numbers(values, 10)), compare


@pytest.mark.parametrize("width", WIDTHS)
def test_the_losses_table(width: int) -> None:
    text = cli(["losses", "-f", "table"], width)
    check_frame(text, width)
    for default in ("0.07", "0.4", "1.2", "-10.0", "80.0"):
        assert whole(default, text), default


def test_a_tiny_number_is_never_cut(tmp_path: Path) -> None:
    """The issue's case: a number like 9.46085e-10 in a narrow table stays whole."""
    doc = {"anchor": [1.0, 0.0], "positive": [1.0, 0.0], "negatives": [[-0.45, 0.0]]}
    (tmp_path / "d.json").write_text(json.dumps(doc))
    env = dict(os.environ, LOSSCLI_JIT="never", COLUMNS="40")
    run = [sys.executable, "-m", "losscli", "compute", "infonce", "d.json"]
    table = subprocess.run([*run, "-f", "table"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120).stdout
    doc = json.loads(subprocess.run([*run, "-f", "json"], cwd=tmp_path, env=env,
                                    capture_output=True, text=True, timeout=120).stdout)
    tiny = fmt_number(doc["examples"][0]["terms"][1]["probability"])
    assert "e-" in tiny and whole(tiny, table), (tiny, table)
    check_frame(table, 40)


@pytest.mark.parametrize("width", [80, 100])
def test_names_are_kept_whole_where_prose_can_wrap_instead(width: int) -> None:
    # compare's table folded "pytorch-metric-learning" into "pytorch-metric-le / arning" at
    # 100 columns while its "changes" column had room to wrap at its spaces
    out = cli(["compare", "triplet", "ex.json", "-f", "table"], width)
    check_frame(out, width)
    for name in ("pytorch-metric-learning", "sentence-transformers", "mean-nonzero"):
        assert whole(name, out), out
    if width >= 100:  # at 80 the prose keeps PROSE_MIN columns: its longest word may fold
        assert whole("eps_placement=difference", out), out


def test_a_group_of_columns_keeps_its_headers_whole(tmp_path: Path) -> None:
    # QA9 L6: the second group of contrastive's columns at 40 printed "hin…" for "hinge":
    # each group's columns kept their index in the whole table, which rich pads by (QA9's
    # input: a non-finite distance, "-", narrows a column of the first group)
    wide = tmp_path / "wide.json"
    wide.write_text(json.dumps({"anchor": [[1e-300, 1e300], [1, 2]],
                                "positive": [[-1e-300, 1e300], [2, 1]],
                                "negatives": [[[123456789.123456789, -1e-310]], [[1, 1]]]}))
    out = cli(["compute", "contrastive", str(wide), "--distance", "sqeuclidean", "-f",
               "table"], 40)
    check_frame(out, 40)
    assert "hinge" in out and "active" in out


def test_explain_on_a_terminal_fits_its_width(monkeypatch, capsys) -> None:
    # QA9 L6: explain printed its paragraphs unwrapped (lines of up to 239 columns)
    from losscli.cli import run

    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setattr("losscli.render.is_tty", lambda stream=None: True)
    assert run(["explain", "infonce"]) == 0
    shown = capsys.readouterr().out
    assert max(len(line) for line in shown.splitlines()) <= 60
    piped = cli(["explain", "infonce", "-f", "table"])  # a pipe gets the text as it is
    assert max(len(line) for line in piped.splitlines()) > 60
    assert "".join(shown.split()) == "".join(piped.split())  # the same text, laid out


def test_a_name_narrower_than_its_column_wraps_between_its_words() -> None:
    # QA10 F16: README's first table, at 80 columns, folded "false_negati" / "ve"
    out = cli(["compute", "infonce", "seed-example-1.json", "-f", "table"], 80)
    check_frame(out, 80)
    assert "false_negati" not in out and "false" in out and "negative" in out



@pytest.mark.parametrize("columns", ["0", "00"])
@pytest.mark.parametrize("terminal", [False, True])
def test_a_columns_of_zero_is_taken_as_unset(monkeypatch, capsys, tmp_path: Path,
                                             columns: str, terminal: bool) -> None:
    # QA: COLUMNS=0 printed no table at all, exit 0 (rich read it as a width of 0), where
    # COLUMNS=-5 or abc fell back to the usual width
    from losscli.cli import run

    (tmp_path / "apn.json").write_text(
        '{"anchor": [1, 0], "positive": [0.6, 0.8], "negatives": [[0.8, 0.6]]}')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("losscli.render.is_tty", lambda stream=None: terminal)
    for args, shows in ((["compute", "triplet", "apn.json"], "1.26197"),
                        (["batch", "triplet", "apn.json"], "1.26197"),
                        (["losses"], "triplet")):
        shown = {}
        for value in (columns, None):
            if value is None:
                monkeypatch.delenv("COLUMNS", raising=False)
            else:
                monkeypatch.setenv("COLUMNS", value)
            assert run([*args, "-f", "table"]) == 0
            shown[value] = capsys.readouterr().out
        assert shows in shown[columns], shown
        # laid out as with COLUMNS unset (line by line: batch's seconds may differ)
        assert [len(line) for line in shown[columns].splitlines()] \
            == [len(line) for line in shown[None].splitlines()], shown
