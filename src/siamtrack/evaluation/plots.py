"""PNG plots of a report (matplotlib, Agg backend): success, precision and normalised-precision plots with
the score in the legend, EAO curves, and per-attribute bars, several trackers side by side.

Every plot takes ``colors`` (``tracker -> colour``, :func:`tracker_colors`), so a report draws each tracker in the
same colour in all its plots whatever the ranking of each plot."""

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


def tracker_colors(names) -> dict[str, tuple]:
    """One colour per tracker, fixed by the trackers' sorted names (tab10 up to 10 trackers, tab20 up to 20, then
    repeating): the same tracker gets the same colour in every plot of a report."""
    plt = _pyplot()
    ordered = sorted(set(names))
    palette = plt.get_cmap("tab10" if len(ordered) <= 10 else "tab20")
    count = palette.N
    return {name: palette(index % count) for index, name in enumerate(ordered)}


def _line_style(index: int, count: int = 10) -> str:
    """Solid for the first ``count`` trackers (one palette), then dashed, dash-dotted, dotted."""
    return _STYLES[(index // count) % len(_STYLES)]


def _color_and_style(name: str, rank: int, colors: dict | None) -> dict:
    if colors is None:
        return {"linestyle": _line_style(rank)}
    ordered = sorted(colors)
    return {"color": colors[name], "linestyle": _line_style(ordered.index(name), 20 if len(ordered) > 10 else 10)}


def curve_plot(
    path,
    x: np.ndarray,
    curves: dict[str, tuple[np.ndarray, float]],
    title: str,
    xlabel: str,
    ylabel: str,
    score_format: str = "{:.3f}",
    colors: dict | None = None,
) -> Path:
    """One line per tracker, sorted by score, the legend reading ``name [score]``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for rank, (name, (values, score)) in enumerate(_ranked(curves)):
        ax.plot(
            x[: len(values)],
            values,
            linewidth=1.8,
            label=f"{name} [{_score(score, score_format)}]",
            **_color_and_style(name, rank, colors),
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(x[0], x[-1]), ylim=(0, 1))
    ax.grid(True, alpha=0.4)
    ax.legend(loc="best", fontsize=8)
    return _save_and_close(plt, fig, path)


def eao_plot(
    path, curves: dict[str, tuple[np.ndarray, float]], interval: tuple[int, int], title: str, colors: dict | None = None
) -> Path:
    """Expected average overlap against sequence length, the score interval shaded."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for rank, (name, (values, score)) in enumerate(_ranked(curves)):  # from L = 1: curve[0] is the init frame
        ax.plot(
            np.arange(1, len(values)),
            values[1:],
            linewidth=1.8,
            label=f"{name} [{_score(score)}]",
            **_color_and_style(name, rank, colors),
        )
    ax.axvspan(interval[0], interval[1], color="0.85", zorder=0, label=f"interval {interval[0]}-{interval[1]}")
    ax.set(title=title, xlabel="sequence length (frames)", ylabel="expected average overlap", ylim=(0, 1))
    ax.grid(True, alpha=0.4)
    ax.legend(loc="best", fontsize=8)
    return _save_and_close(plt, fig, path)


def bar_plot(
    path, groups: list[str], values: dict[str, list[float]], title: str, ylabel: str, colors: dict | None = None
) -> Path:
    """Grouped bars: one group per attribute (its label may carry its count), one bar per tracker."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(groups) * max(1, len(values)) / 2 + 2), 4.5))
    width = 0.8 / max(1, len(values))
    positions = np.arange(len(groups))
    for index, (name, heights) in enumerate(values.items()):
        ax.bar(
            positions + index * width - 0.4 + width / 2,
            np.nan_to_num(heights),
            width,
            label=name,
            **({"color": colors[name]} if colors else {}),
        )
    ax.set_xticks(positions, groups, rotation=45, ha="right")
    ax.set(title=title, ylabel=ylabel, ylim=(0, 1))
    ax.grid(True, axis="y", alpha=0.4)
    ax.legend(fontsize=8)
    return _save_and_close(plt, fig, path)
