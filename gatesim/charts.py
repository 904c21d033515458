"""Charts as PNG files: the DET curve, and the helpers every chart shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def new_figure(width_in: float, height_in: float) -> tuple[Any, Any]:
    """A figure and its axes, drawn off-screen (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width_in, height_in), dpi=120)


def finish_figure(figure: Any, axes: Any, path: Path) -> None:
    """Grid, legend and tight layout; write the PNG and free the figure."""
    import matplotlib.pyplot as plt

    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def draw_det(verification: dict[str, Any], threshold: float, path: Path) -> None:
    """Plot FNMR against FMR (log-log) for each group, marking the gate threshold."""
    figure, axes = new_figure(6.5, 5)
    for group, rates in verification.items():
        points = [
            (fmr, fnmr)
            for fmr, fnmr in zip(rates["fmr"], rates["fnmr"], strict=True)
            if fmr is not None and fnmr is not None
        ]
        if not points:
            continue
        fmrs, fnmrs = zip(*points, strict=True)
        line = axes.plot(fmrs, fnmrs, marker=".", label=group)[0]
        at = (rates["fmr_at_threshold"], rates["fnmr_at_threshold"])
        if None not in at:
            axes.plot(*at, marker="o", markersize=9, color=line.get_color())
    axes.set_xscale("symlog", linthresh=1e-3)
    axes.set_yscale("symlog", linthresh=1e-2)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("false match rate (impostor pairs accepted)")
    axes.set_ylabel("false non-match rate (genuine pairs refused)")
    axes.set_title(f"DET by group (dots: gate threshold {threshold})")
    finish_figure(figure, axes, path)
