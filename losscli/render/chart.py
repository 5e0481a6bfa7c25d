"""Charts for the terminal (sparklines, bars, a line chart, histograms) and a PNG through
matplotlib (the optional extra `losscli[plot]`, imported only when a PNG is asked for)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from losscli.errors import OutputError, UsageError
from losscli.render.atomic_file import AtomicFile, check_target, reason

SPARKS = "▁▂▃▄▅▆▇█"
EIGHTHS = " ▏▎▍▌▋▊▉█"


def _span(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def sparkline(values: Sequence[float], lo: float | None = None,
              hi: float | None = None) -> str:
    """One block character per value, scaled to [lo, hi]; a space for a missing value."""
    v = np.asarray(values, dtype=float)
    a, b = _span(v)
    lo = a if lo is None else lo
    hi = b if hi is None or hi <= lo else hi
    out = []
    for x in v:
        if not math.isfinite(x):
            out.append(" ")
            continue
        i = int(round((x - lo) / (hi - lo) * (len(SPARKS) - 1))) if hi > lo else 0
        out.append(SPARKS[min(max(i, 0), len(SPARKS) - 1)])
    return "".join(out)


def bar(value: float, lo: float, hi: float, width: int = 24) -> str:
    """A horizontal bar of `value` on [lo, hi], in eighths of a character."""
    if not math.isfinite(value) or hi <= lo:
        return ""
    eighths = int(round((value - lo) / (hi - lo) * width * 8))
    eighths = min(max(eighths, 0), width * 8)
    return "█" * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")


DASHES = (0, 2, 1, 3, 4)  # the loss solid, then each other series its own dash


def line_chart(xs: Sequence[float], series: dict[str, Sequence[float]], *, logx: bool = False,
               width: int = 64, height: int = 16, xlabel: str = "", title: str = "") -> str:
    """A plain-text line chart in braille (2 x 4 points a character): each series a line
    through its points, the first (the loss) solid, the others dashed; a gap where a value is
    missing."""
    from losscli.render.braille import Canvas

    x = np.asarray(xs, dtype=float)
    px = np.log10(x) if logx else x
    ys = {k: np.asarray(v, dtype=float) for k, v in series.items()}
    lo, hi = _span(np.concatenate(list(ys.values())))
    xlo, xhi = _span(px)
    canvas = Canvas(width, height)
    across, down = canvas.size
    for dash, y in zip(DASHES, ys.values(), strict=False):
        last = None
        for xi, yi in zip(px, y, strict=True):
            if not (math.isfinite(xi) and math.isfinite(yi)):
                last = None
                continue
            point = (int(round((xi - xlo) / (xhi - xlo) * (across - 1))),
                     down - 1 - int(round((yi - lo) / (hi - lo) * (down - 1))))
            if last is None:
                canvas.dot(*point)
            else:
                canvas.line(*last, *point, dash=dash)
            last = point
    grid = canvas.rows()
    label_w = max(len(f"{hi:.4g}"), len(f"{lo:.4g}"))
    lines = [title] if title else []
    for i, row in enumerate(grid):
        label = f"{hi:.4g}" if i == 0 else f"{lo:.4g}" if i == height - 1 else ""
        lines.append(f"{label:>{label_w}} │{''.join(row)}")
    lines.append(" " * label_w + " └" + "─" * width)
    left, right = f"{x.min():.4g}", f"{x.max():.4g}"
    scale = " (log)" if logx else ""
    lines.append(" " * (label_w + 2) + left + f"{xlabel}{scale}".center(
        max(width - len(left) - len(right), 0)) + right)
    legend = "  ".join(f"{'solid' if d == 0 else 'dashed'}: {k}"
                       for d, k in zip(DASHES, ys, strict=False))
    lines.append(" " * (label_w + 2) + legend)
    return "\n".join(lines) + "\n"


def plural(quantity: str) -> str:
    """The plural of a quantity's name ("similarity" -> "similarities", "distance" ->
    "distances"), as histogram titles say it."""
    return quantity[:-1] + "ies" if quantity.endswith("ty") else quantity + "s"


def histogram_text(edges: Sequence[float], counts: dict[str, Sequence[int]],
                   width: int = 30) -> str:
    """One line per bin: its range, then a bar and the count for each series. Each series
    has its own scale (its fullest bin a full bar), so that 6 positives and 24 negatives both
    show their shape; the header says each scale."""
    if not edges:
        return ""
    names = list(counts)
    tops = {n: max(counts[n], default=0) or 1 for n in names}
    heads = [f"{n} (full bar = {tops[n]})" for n in names]
    lines = ["bin".rjust(21) + "  " + "  ".join(f"{h:<{width + 6}}" for h in heads)]
    for i in range(len(edges) - 1):
        cells = []
        for n in names:
            c = counts[n][i]
            cells.append(f"{bar(c, 0, tops[n], width):<{width}} {c:>5}")
        lines.append(f"[{edges[i]:>9.4g}, {edges[i + 1]:>9.4g})  " + "  ".join(cells))
    return "\n".join(lines) + "\n"


def save_png(path: str, xs: Sequence[float], series: dict[str, Sequence[float]], *,
             logx: bool = False, xlabel: str = "", ylabel: str = "loss", title: str = "",
             vlines: Sequence[float] = (), force: bool = False,
             inputs: Sequence[str] = ()) -> None:
    """Write a PNG line chart (matplotlib, Agg backend), whole or not at all
    (render/atomic_file.py: the mode of a plain file, no partial PNG on any failure)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--png needs matplotlib, which is not installed",
                         "install it with: pip install 'losscli[plot]'") from None
    check_target(path, force, inputs)  # before the drawing, which takes a while
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for name, y in series.items():
        ax.plot(xs, y, label=name, linestyle="--" if "bound" in name else "-")
    for n, v in enumerate(vlines):
        ax.axvline(v, color="0.8", linewidth=0.8, zorder=0,
                   label="kinks (a term switches on or off)" if n == 0 else None)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(series) > 1 or len(vlines):
        ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    try:
        with AtomicFile(path, force=force, inputs=inputs, binary=True, option="--png") as out:
            fig.savefig(out.handle, format="png")
    except OSError as exc:  # savefig's own write, before the commit's checks
        raise OutputError(f"cannot write: {reason(exc)}", "choose another --png",
                          where=path) from None
    finally:
        plt.close(fig)
