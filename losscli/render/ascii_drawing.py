"""ASCII stand-ins for the drawing characters of the terminal renderers (render/chart.py's
bars, sparklines and axes, render/braille.py's line charts), for a stdout whose encoding
cannot write them (PYTHONIOENCODING=ascii, a latin-1 terminal): a chart drawn in `#`, `=`
and `.` is still a chart, where an encoding error was no output at all (exit 6)."""

from __future__ import annotations

# bars in eighths (render/chart.EIGHTHS), sparklines' eight heights (chart.SPARKS, whose
# top is the full block), the line chart's axes
_STAND_INS = {
    "█": "#", "▉": "=", "▊": "=", "▋": "=", "▌": "-", "▍": "-", "▎": "-", "▏": "-",
    "▁": "_", "▂": ".", "▃": "-", "▄": ":", "▅": "=", "▆": "+", "▇": "*",
    "│": "|", "└": "+", "─": "-",
}
_TABLE = {ord(k): v for k, v in _STAND_INS.items()}
_TABLE[0x2800] = " "  # the empty braille cell
_TABLE.update({cell: "." for cell in range(0x2801, 0x2900)})  # a cell with any dot set


def in_ascii(text: str) -> str:
    """text with each drawing character replaced by its ASCII stand-in (other characters
    as they are)."""
    return text.translate(_TABLE)
