"""Pictures (`--png`): the distributions of `stats`, the similarity matrix and the
candidates of `compute`. matplotlib (the `plot` extra), Agg backend, headless; each picture
has a title naming the loss and the input, labelled axes, and is written whole or not at all
through render/atomic_file.py."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from losscli.errors import OutputError, UsageError
from losscli.render.atomic_file import AtomicFile, check_destination, check_target, reason
from losscli.render.chart import plural

SIZE = (8.0, 5.0)  # inches, at DPI: 800 x 500 pixels
# Up to this many rows and columns the similarity matrix has a labelled tick on each cell.
LABELLED_CELLS = 20
DPI = 100


def _short(source: str) -> str:
    """The input's name in a title: its file name (a title has one line)."""
    return ", ".join(os.path.basename(part) or part for part in source.split(", "))


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--png needs matplotlib, which is not installed",
                         "install it with: pip install 'losscli[plot]'") from None
    return plt


def check_outputs(png: str | None, out: str | None, force: bool,
                  inputs: Sequence[str] = ()) -> None:
    """--png (and --out beside it) checked before anything is computed or written: a name
    that is not a PNG's, `-` (a picture does not go to stdout), both options on one file,
    or a target refused (check_destination: in no directory too) would otherwise leave the PNG
    written and the run's result refused."""
    if png is None:
        return
    if png in ("", "-"):
        raise UsageError(f"--png got {png!r}", "give a file name ending in .png (a picture "
                         "is written to a file, not to stdout)")
    suffix = os.path.splitext(png)[1]
    if suffix.lower() != ".png":
        raise UsageError(f"--png {png} has {f'suffix {suffix!r}' if suffix else 'no suffix'}"
                         ", but --png writes PNG", "name the file FILE.png")
    if out is not None and out != "-" and os.path.abspath(out) == os.path.abspath(png):
        raise UsageError(f"--png and --out both name {png}", "give each its own file")
    for path, option in ((png, "--png"), (out, "--out")):
        if path is None or path == "-":
            continue
        check_destination(path, force, inputs, option)


@contextmanager
def figure(path: str, force: bool, inputs: Sequence[str],
           size: tuple[float, float] = SIZE) -> Iterator[Any]:
    """(fig, ax) to draw on; on leaving, the PNG is written atomically to `path`."""
    plt = _pyplot()
    check_target(path, force, inputs)  # before the drawing, which takes a while
    fig, ax = plt.subplots(figsize=size, dpi=DPI)
    try:
        yield fig, ax
        fig.tight_layout()
        try:
            with AtomicFile(path, force=force, inputs=inputs, binary=True,
                            option="--png") as out:
                fig.savefig(out.handle, format="png", dpi=DPI)
        except OSError as exc:  # savefig's own write, before the commit's checks
            raise OutputError(f"cannot write: {reason(exc)}", "choose another --png",
                              where=path) from None
    finally:
        plt.close(fig)


def stats_png(path: str, stats: Any, source: str, *, force: bool = False,
              inputs: Sequence[str] = ()) -> None:
    """The positive and negative histograms overlaid, where the loss's terms switch on
    marked (Stats.thresholds, the loss's own), the share of active terms in the legend.

    Explicit candidates share bins and a count axis; an in-batch loss's two distributions
    (B positives, B (B - 1) negatives) have each its own bins, so each is drawn as a density
    (its counts over its total and bin width): on counts the positives would not show."""
    hists = [r for r in stats.records if r["stat"] == "histogram" and r["edges"]]
    if not hists:
        raise UsageError(f"stats --png: {stats.loss} has no positive and negative "
                         "distances or similarities to draw", "drop --png")
    quantity = hists[0]["quantity"].split()[-1]
    density = len(hists) > 1
    active = [r for r in stats.records if r["stat"].startswith("active")]
    with figure(path, force, inputs) as (_, ax):
        for hist in hists:
            edges = np.asarray(hist["edges"])
            width = np.diff(edges)
            for name, counts in hist["counts"].items():
                color = "tab:green" if name.endswith("ap") else "tab:red"
                total = int(np.sum(counts))
                label = f"{'positive' if name.endswith('ap') else 'negative'} ({name}, {total})"
                heights = np.asarray(counts, dtype=float)
                if density and total:
                    heights = heights / (total * width)
                ax.bar(edges[:-1], heights, width=width, align="edge", alpha=0.5, color=color,
                       edgecolor=color, label=label)
        for line in stats.thresholds:
            side = "negatives left" if line.role == "negative" else "positives right"
            ax.axvline(line.at, color="black" if line.role == "negative" else "tab:green",
                       linestyle="--", linewidth=1,
                       label=f"{line.label} = {line.at:.4g} ({side} of it are active)")
        for record in active:
            ax.plot([], [], " ", label=f"{record['stat']}: {record['active']} of "
                                       f"{record['terms']} ({100 * record['share']:.1f}%)")
        ax.set_xlabel(quantity)
        ax.set_ylabel("density (each distribution on its own)" if density else "count")
        ax.set_title(f"{stats.loss} on {_short(source)}: positive and negative "
                     f"{plural(quantity)}")
        ax.legend(loc="best", fontsize="small")
        ax.grid(True, alpha=0.3)


def heatmap_png(path: str, loss: str, source: str, sim: Any, *, similarity: str,
                force: bool = False, inputs: Sequence[str] = ()) -> None:
    """The similarity matrix (block means when it is larger than the grid), positives
    outlined."""
    n_rows, n_cols = sim.size
    with figure(path, force, inputs, size=(7.0, 6.0)) as (fig, ax):
        extent = (0, sim.grid.shape[1] * sim.block, sim.grid.shape[0] * sim.block, 0)
        image = ax.imshow(sim.grid, cmap="viridis", interpolation="nearest", extent=extent,
                          aspect="auto")
        fig.colorbar(image, ax=ax, label=f"{similarity} similarity"
                     + (f" (mean of {sim.block} x {sim.block} blocks)" if sim.block > 1
                        else ""))
        cells = sim.positives
        marker = max(1.0, 300.0 / max(sim.grid.shape))
        ax.scatter((cells[:, 1] + 0.5) * sim.block, (cells[:, 0] + 0.5) * sim.block,
                   s=marker ** 2, marker="s", facecolors="none", edgecolors="red",
                   linewidths=0.8)
        ax.set_xlim(0, n_cols)
        ax.set_ylim(n_rows, 0)
        if sim.block == 1 and max(n_rows, n_cols) <= LABELLED_CELLS:  # a tick on each cell
            ax.set_xticks(np.arange(n_cols) + 0.5, [str(j) for j in range(n_cols)])
            ax.set_yticks(np.arange(n_rows) + 0.5, [str(i) for i in range(n_rows)])
        ax.set_xlabel(f"{sim.cols} j")
        ax.set_ylabel(f"{sim.rows} i")
        # said in the title, not a legend: a legend's cell-sized swatch and box would hide
        # cells of the matrix
        ax.set_title(f"{loss} on {_short(source)}: similarity matrix ({n_rows} x {n_cols}),"
                     " positives outlined in red", fontsize="medium")


def candidates_png(path: str, loss: str, source: str, quantity: str, positive: np.ndarray,
                   negative: np.ndarray, rows: Sequence[int], *, which: str = "",
                   force: bool = False, inputs: Sequence[str] = ()) -> None:
    """Each shown anchor on a row: its positive(s) and negatives on one axis (row y of
    `positive` and `negative` is example rows[y]); `which` says which anchors these are in
    the title ("first 40 of 50", "worst 5")."""
    with figure(path, force, inputs, size=(8.0, max(3.0, 1.0 + 0.3 * len(rows)))) as (_, ax):
        for y in range(len(rows)):
            ax.scatter(negative[y], np.full(negative.shape[1], y), s=14, color="tab:red",
                       alpha=0.7, label="negatives" if y == 0 else None)
            ax.scatter(positive[y], np.full(positive.shape[1], y), s=40, color="tab:green",
                       marker="D", label="positive" if y == 0 else None)
        ax.set_yticks(range(len(rows)), [str(b) for b in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlabel(quantity)
        ax.set_ylabel("example")
        ax.set_title(f"{loss} on {_short(source)}: each anchor's positive and negatives"
                     + (f" ({which})" if which else ""))
        ax.legend(loc="best", fontsize="small")
        ax.grid(True, axis="x", alpha=0.3)
