"""A line drawing in braille characters: each character cell holds 2 x 4 dots, so a chart of
64 x 16 characters has 128 x 64 points, and consecutive points are joined by straight lines
(Bresenham), not left as scattered marks."""

from __future__ import annotations

# the dot of column x (0, 1) and row y (0..3) within a cell: Unicode's braille numbering
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


class Canvas:
    """width x height characters of braille, (0, 0) the top-left dot."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells = [[0] * width for _ in range(height)]

    @property
    def size(self) -> tuple[int, int]:
        """(dots across, dots down)."""
        return 2 * self.width, 4 * self.height

    def dot(self, x: int, y: int) -> None:
        """Set the dot at (x, y); one outside the canvas is ignored."""
        if 0 <= x < 2 * self.width and 0 <= y < 4 * self.height:
            self.cells[y // 4][x // 2] |= _DOT[x % 2][y % 4]

    def line(self, x0: int, y0: int, x1: int, y1: int, dash: int = 0) -> None:
        """A straight line of dots from (x0, y0) to (x1, y1), ends included; `dash` > 0
        draws `dash` dots, then leaves `dash` out."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        step = 0
        while True:
            if not dash or (step // dash) % 2 == 0:
                self.dot(x0, y0)
            if x0 == x1 and y0 == y1:
                return
            step += 1
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def rows(self) -> list[str]:
        """The canvas as text, one string per character row (blank cells as spaces)."""
        return ["".join(chr(0x2800 + c) if c else " " for c in row) for row in self.cells]
