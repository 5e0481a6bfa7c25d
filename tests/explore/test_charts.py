"""The terminal charts: sweep's line chart joins its points (braille lines, no gaps), and
stats' histogram gives each distribution its own scale."""

from __future__ import annotations

from losscli.render.braille import Canvas
from losscli.render.chart import histogram_text, line_chart

BLANK = 0x2800


def dots(canvas: Canvas) -> set[tuple[int, int]]:
    """The set dots, read back from the characters."""
    order = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3))
    found = set()
    for r, row in enumerate(canvas.rows()):
        for c, ch in enumerate(row):
            bits = 0 if ch == " " else ord(ch) - BLANK
            for i, (dx, dy) in enumerate(order):
                if bits >> i & 1:
                    found.add((2 * c + dx, 4 * r + dy))
    return found


def test_a_line_has_a_dot_in_every_column_and_row_it_crosses():
    canvas = Canvas(10, 3)
    canvas.line(0, 11, 19, 0)
    got = dots(canvas)
    assert (0, 11) in got and (19, 0) in got
    assert {x for x, _ in got} == set(range(20))
    assert {y for _, y in got} == set(range(12))


def test_dashes_leave_gaps():
    solid, dashed = Canvas(20, 1), Canvas(20, 1)
    solid.line(0, 0, 39, 0)
    dashed.line(0, 0, 39, 0, dash=2)
    assert len(dots(solid)) == 40
    assert len(dots(dashed)) == 20


def test_line_chart_joins_two_far_points():
    text = line_chart([0.0, 1.0], {"loss": [0.0, 1.0]}, width=32, height=8)
    plot = [line.split("│", 1)[1] for line in text.splitlines() if "│" in line]
    assert len(plot) == 8
    for column in range(32):  # two points, and yet no empty column between them
        assert any(row[column] != " " for row in plot), column


def test_each_histogram_series_has_its_own_scale():
    text = histogram_text([0.0, 1.0, 2.0], {"d_ap": [1, 2], "d_an": [10, 20]}, width=8)
    header, first, second = text.splitlines()
    assert "d_ap (full bar = 2)" in header and "d_an (full bar = 20)" in header
    assert second.count("█") == 16  # both fullest bins are full bars
    assert first.count("█") == 8
