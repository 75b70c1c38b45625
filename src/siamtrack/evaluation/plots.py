"""PNG plots of a report (matplotlib, Agg backend): success, precision and normalised-precision plots with
the score in the legend, EAO curves, and per-attribute bars, several trackers side by side."""
from __future__ import annotations

from pathlib import Path

import numpy as np

_STYLES = ["-", "--", "-.", ":"]


def _score(value: float, template: str = "{:.3f}") -> str:
    return template.format(value) if np.isfinite(value) else "n/a"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_and_close(plt, fig, path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
        return path
    finally:
        plt.close(fig)


def _ranked(curves: dict[str, tuple[np.ndarray, float]]) -> list[tuple[str, tuple[np.ndarray, float]]]:
    """The ``name -> (curve, score)`` items, best score first (NaN scores last)."""
    return sorted(curves.items(), key=lambda item: -np.nan_to_num(item[1][1], nan=-np.inf))


def _line_style(rank: int) -> str:
    """Solid for the first ten trackers, then dashed, dash-dotted, dotted (matplotlib cycles ten colours)."""
    return _STYLES[(rank // 10) % len(_STYLES)]


def curve_plot(path, x: np.ndarray, curves: dict[str, tuple[np.ndarray, float]], title: str, xlabel: str,
               ylabel: str, score_format: str = "{:.3f}") -> Path:
    """One line per tracker, sorted by score, the legend reading ``name [score]``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for rank, (name, (values, score)) in enumerate(_ranked(curves)):
        ax.plot(x[:len(values)], values, _line_style(rank), linewidth=1.8,
                label=f"{name} [{_score(score, score_format)}]")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(x[0], x[-1]), ylim=(0, 1))
    ax.grid(True, alpha=0.4)
    ax.legend(loc="best", fontsize=8)
    return _save_and_close(plt, fig, path)


def eao_plot(path, curves: dict[str, tuple[np.ndarray, float]], interval: tuple[int, int], title: str) -> Path:
    """Expected average overlap against sequence length, the score interval shaded."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for rank, (name, (values, score)) in enumerate(_ranked(curves)):  # from L = 1: curve[0] is the init frame
        ax.plot(np.arange(1, len(values)), values[1:], _line_style(rank), linewidth=1.8,
                label=f"{name} [{_score(score)}]")
    ax.axvspan(interval[0], interval[1], color="0.85", zorder=0, label=f"interval {interval[0]}-{interval[1]}")
    ax.set(title=title, xlabel="sequence length (frames)", ylabel="expected average overlap", ylim=(0, 1))
    ax.grid(True, alpha=0.4)
    ax.legend(loc="best", fontsize=8)
    return _save_and_close(plt, fig, path)


def bar_plot(path, groups: list[str], values: dict[str, list[float]], title: str, ylabel: str) -> Path:
    """Grouped bars: one group per attribute, one bar per tracker."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(groups) * max(1, len(values)) / 2 + 2), 4.5))
    width = 0.8 / max(1, len(values))
    positions = np.arange(len(groups))
    for index, (name, heights) in enumerate(values.items()):
        ax.bar(positions + index * width - 0.4 + width / 2, np.nan_to_num(heights), width, label=name)
    ax.set_xticks(positions, groups, rotation=45, ha="right")
    ax.set(title=title, ylabel=ylabel, ylim=(0, 1))
    ax.grid(True, axis="y", alpha=0.4)
    ax.legend(fontsize=8)
    return _save_and_close(plt, fig, path)
