"""Loss curves of training runs, from their ``log.csv``, as PNG."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np


def read_log(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Columns of a run's ``log.csv`` (``step, epoch, iteration, loss, lr``) as arrays."""
    path = Path(path)
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ValueError(f"{path}: empty log (no header)")
    header, body = rows[0], rows[1:]
    columns: dict[str, list[float]] = {name: [] for name in header}
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{line}: expected {len(header)} values, got {row!r}")
        try:
            for name, value in zip(header, row):
                columns[name].append(float(value))
        except ValueError:
            raise ValueError(f"{path}:{line}: not a number in {row!r}") from None
    return {name: np.asarray(values) for name, values in columns.items()}


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Means over ``window`` consecutive values (``window`` capped at ``len(values)``, at least 1)."""
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_losses(
    logs,
    png_path: str | os.PathLike,
    labels: list[str] | None = None,
    smooth: int = 50,
    ylabel: str = "training loss",
    relative: bool = False,
) -> Path:
    """Plot the per-iteration loss (faint) and its running mean over ``smooth`` iterations of one or several
    runs' ``log.csv`` files into ``png_path``; epoch boundaries of the first run are marked. ``ylabel`` names
    the quantity (e.g. ``"validation loss"`` for logs of the same format written by a validation pass).
    ``relative``: only the running means, each divided by its first value, to compare losses of other
    scales (the raw per-iteration losses of several runs would swamp that scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logs = [logs] if isinstance(logs, (str, os.PathLike)) else list(logs)
    labels = labels or [Path(log).parent.name or str(log) for log in logs]
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for number, (log, label) in enumerate(zip(logs, labels)):
        columns = read_log(log)
        steps, loss = columns["step"], columns["loss"]
        if len(loss) == 0:
            continue
        color = f"C{number}"
        running = running_mean(loss, smooth)
        window = len(loss) - len(running) + 1
        if relative:
            running = running / running[0]
        else:
            axes.plot(steps, loss, color=color, alpha=0.25, linewidth=0.8)
        axes.plot(steps[window - 1 :], running, color=color, linewidth=1.8, label=f"{label} (mean of {window})")
        if number == 0:
            for boundary in steps[1:][np.diff(columns["epoch"]) != 0]:
                axes.axvline(boundary, color="0.85", linewidth=0.8, zorder=0)
    axes.set_xlabel("iteration")
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    if axes.lines:
        axes.legend()
    figure.tight_layout()
    png_path = Path(png_path)
    figure.savefig(png_path, dpi=110)
    plt.close(figure)
    return png_path
