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
from losscli.render.atomic_file import AtomicFile, check_target, reason

SIZE = (8.0, 5.0)  # inches, at DPI: 800 x 500 pixels
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
    """The positive and negative histograms overlaid on shared bins, the margin marked where
    the loss has one, the share of active terms in the legend."""
    # one histogram over shared bins, or (in-batch losses) one per distribution on its own
    hists = [r for r in stats.records if r["stat"] == "histogram" and r["edges"]]
    if not hists:
        raise UsageError(f"stats --png: {stats.loss} has no positive and negative "
                         "distances or similarities to draw", "drop --png")
    quantity = hists[0]["quantity"].split()[-1]
    active = [r for r in stats.records if r["stat"].startswith("active")]
    with figure(path, force, inputs) as (_, ax):
        for hist in hists:
            edges = np.asarray(hist["edges"])
            width = np.diff(edges)
            for name, counts in hist["counts"].items():
                color = "tab:green" if name.endswith("ap") else "tab:red"
                label = f"{'positive' if name.endswith('ap') else 'negative'} ({name}, "\
                    f"{int(np.sum(counts))})"
                ax.bar(edges[:-1], counts, width=width, align="edge", alpha=0.5, color=color,
                       edgecolor=color, label=label)
        margin = stats.params.get("margin")
        d_ap = next((r for r in stats.records if r["stat"] == "d_ap"), None)
        relative = any(r["stat"] == "regimes" for r in stats.records)  # d_an vs d_ap + m
        if margin is not None and quantity == "distance":
            at = float(margin) + (float(d_ap["p50"]) if relative and d_ap else 0.0)
            text = "median d_ap + m" if relative else "margin m"
            ax.axvline(at, color="black", linestyle="--", linewidth=1,
                       label=f"{text} = {at:.4g} (negatives left of it are active)")
        for record in active:
            ax.plot([], [], " ", label=f"{record['stat']}: {record['active']} of "
                                       f"{record['terms']} ({100 * record['share']:.1f}%)")
        ax.set_xlabel(quantity)
        ax.set_ylabel("count")
        ax.set_title(f"{stats.loss} on {_short(source)}: positive and negative {quantity}s")
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
                   linewidths=0.8, label="positives")
        ax.set_xlim(0, n_cols)
        ax.set_ylim(n_rows, 0)
        ax.set_xlabel(f"{sim.cols} j")
        ax.set_ylabel(f"{sim.rows} i")
        ax.set_title(f"{loss} on {_short(source)}: similarity matrix ({n_rows} x {n_cols})")
        ax.legend(loc="upper right", fontsize="small")


def candidates_png(path: str, loss: str, source: str, quantity: str, positive: np.ndarray,
                   negative: np.ndarray, rows: Sequence[int], *, force: bool = False,
                   inputs: Sequence[str] = ()) -> None:
    """Each shown anchor on a row: its positive(s) and negatives on one axis."""
    with figure(path, force, inputs, size=(8.0, max(3.0, 1.0 + 0.3 * len(rows)))) as (_, ax):
        for y, b in enumerate(rows):
            ax.scatter(negative[b], np.full(negative.shape[1], y), s=14, color="tab:red",
                       alpha=0.7, label="negatives" if y == 0 else None)
            ax.scatter(positive[b], np.full(positive.shape[1], y), s=40, color="tab:green",
                       marker="D", label="positive" if y == 0 else None)
        ax.set_yticks(range(len(rows)), [str(b) for b in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlabel(quantity)
        ax.set_ylabel("example")
        ax.set_title(f"{loss} on {_short(source)}: each anchor's positive and negatives")
        ax.legend(loc="best", fontsize="small")
        ax.grid(True, axis="x", alpha=0.3)
