"""Curves of the RASNet ablation (Sec. 4.2): validation objectives per epoch (Fig. 5) and the learned general
attention (Fig. 6a), from training runs made with ``train.epoch_snapshots: true``.

* :func:`validation_log` scores every ``epochs/model-NNN.pth`` of a run on fixed validation pairs with the
  run's own objective (the training loop's :func:`~siamtrack.training.loop.batch_loss`: logistic loss times
  Ω, Eq. 11-13) and writes ``validation.csv`` in the format of the run's ``log.csv``, so the training
  package's :func:`~siamtrack.training.plots.plot_losses` draws it.
* :func:`epoch_log` writes the training loss as per-epoch means (``train-epochs.csv``) in the same format, so
  training and validation objectives can be drawn against each other, as in Fig. 5.
* :func:`plot_general_attention` draws the general attention ``ρ̄`` of runs at chosen epochs (Fig. 6a: the
  paper sees it gather towards the centre, Gaussian-like).

Validation pairs come from the run's config with the sources replaced (the project's ``dev-eval`` split by
default) and augmentation off, drawn once (``epoch 0``, indices ``0 .. count - 1``), the same for every
snapshot and every run.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path

import numpy as np
import torch

from siamtrack.training.config import AugmentConfig, Config, load_config
from siamtrack.training.curation import load_curated
from siamtrack.training.loop import batch_loss, build_model, pair_settings, prepare_curated
from siamtrack.training.run_folder import LOG_COLUMNS
from siamtrack.training.pairs import PairDataset

SNAPSHOT_GLOB = "model-*.pth"


def snapshots(run_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every ``epochs/model-NNN.pth`` of a run, by epoch (1-based: after epoch NNN)."""
    found = []
    for path in sorted((Path(run_dir) / "epochs").glob(SNAPSHOT_GLOB)):
        number = path.stem.split("-", 1)[1]
        if not number.isdigit():
            raise ValueError(f"{path}: snapshot name is not model-<epoch>.pth")
        found.append((int(number), path))
    return sorted(found)


def load_snapshot(config: Config, path: str | os.PathLike) -> torch.nn.Module:
    """The run's model with the snapshot's weights (read with ``weights_only=True``), in eval mode."""
    model = build_model(config.model.name, dict(config.model.args))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{path}: not a readable state dict ({error})") from None
    model.load_state_dict(state)
    return model.eval()


def validation_pairs(config: Config, sources: list, count: int, batch_size: int = 32) -> list[dict]:
    """``count`` fixed validation pairs of ``sources`` (curated with the run's crop settings, no
    augmentation), as batches of the loop's format."""
    data = dataclasses.replace(
        config.data, sources=list(sources), curation=dataclasses.replace(config.data.curation, directory=None)
    )
    config = dataclasses.replace(config, data=data, augment=AugmentConfig())
    _, curated = load_curated(prepare_curated(config, progress=False))
    model = build_model(config.model.name, dict(config.model.args)).eval()
    with torch.no_grad():
        probe = model(
            torch.zeros(1, 3, data.exemplar_size, data.exemplar_size),
            torch.zeros(1, 3, data.instance_size, data.instance_size),
        )
    dataset = PairDataset(curated, pair_settings(config, int(probe.shape[-1])), data.max_gap, config.train.seed)
    batches = []
    for first in range(0, count, batch_size):
        items = [dataset[(0, index)] for index in range(first, min(first + batch_size, count))]
        batches.append(
            {key: torch.stack([item[key] for item in items]) for key in ("exemplar", "instance", "label", "gap")}
        )
    return batches


def validation_loss(model: torch.nn.Module, batches: list[dict], config: Config) -> float:
    """Mean over the pairs of ``batches`` of the run's objective (:func:`batch_loss`, Ω-weighted)."""
    total, pairs = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            scores = model(batch["exemplar"], batch["instance"])
            size = len(batch["label"])
            total += float(batch_loss(scores, batch, config)) * size
            pairs += size
    return total / pairs


def _epoch_rows(run_dir: Path) -> dict[int, tuple[float, float, int]]:
    """``epochs.csv`` of a run: 0-based epoch -> (mean loss, lr, iterations)."""
    path = run_dir / "epochs.csv"
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    try:
        return {int(r["epoch"]): (float(r["mean_loss"]), float(r["lr"]), int(r["iterations"])) for r in rows}
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path}: unexpected epochs.csv content ({error})") from None


def _write_log(path: Path, rows: list[tuple[int, int, int, float, float]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LOG_COLUMNS)
        for row in rows:
            writer.writerow([row[0], row[1], row[2], repr(row[3]), repr(row[4])])
    return path


def _end_step(epochs: dict, epoch: int) -> int:
    """The training step (``log.csv``'s ``step``) of the last iteration of 0-based ``epoch``."""
    return sum(epochs[e][2] for e in range(epoch + 1) if e in epochs) - 1


def epoch_log(run_dir: str | os.PathLike) -> Path:
    """``train-epochs.csv``: the run's mean training loss per epoch, placed at each epoch's last step."""
    run_dir = Path(run_dir)
    epochs = _epoch_rows(run_dir)
    rows = [(_end_step(epochs, e), e, epochs[e][2] - 1, epochs[e][0], epochs[e][1]) for e in sorted(epochs)]
    return _write_log(run_dir / "train-epochs.csv", rows)


def validation_log(
    run_dir: str | os.PathLike, batches: list[dict] | None = None, sources: list | None = None, count: int = 256
) -> Path:
    """Score every snapshot of ``run_dir`` on the validation pairs (``batches``, or ``count`` pairs drawn from
    ``sources``) and write ``validation.csv`` (``log.csv`` format, one row per epoch at its last step)."""
    run_dir = Path(run_dir)
    config = load_config(run_dir / "config.yaml")
    found = snapshots(run_dir)
    if not found:
        raise FileNotFoundError(f"{run_dir}/epochs holds no {SNAPSHOT_GLOB}: train with train.epoch_snapshots: true")
    if batches is None:
        if sources is None:
            raise ValueError("validation_log needs batches or sources")
        batches = validation_pairs(config, sources, count)
    epochs = _epoch_rows(run_dir)
    rows = []
    for number, path in found:
        epoch = number - 1
        if epoch not in epochs:
            raise ValueError(f"{path}: epoch {number} is not in {run_dir / 'epochs.csv'}")
        loss = validation_loss(load_snapshot(config, path), batches, config)
        rows.append((_end_step(epochs, epoch), epoch, epochs[epoch][2] - 1, loss, epochs[epoch][1]))
    return _write_log(run_dir / "validation.csv", rows)


def general_attention(state_dict: dict) -> np.ndarray | None:
    """``ρ̄`` (m x n; the full form's d x m x n averaged over channels) of a RASNet state dict, or None."""
    weight = state_dict.get("general_attention.weight")
    return None if weight is None else weight.detach().float().mean(dim=0).numpy()


def plot_general_attention(
    runs: dict[str, str | os.PathLike], png_path: str | os.PathLike, epochs: list[int] | None = None
) -> Path:
    """Heat maps of the general attention of each run (a row per run, a column per epoch snapshot; by default
    the first, two middle and the last) with the values written in, into ``png_path`` (RASNet Fig. 6a)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = {}
    for label, run_dir in runs.items():
        found = dict(snapshots(run_dir))
        if not found:
            raise FileNotFoundError(f"{run_dir}/epochs holds no {SNAPSHOT_GLOB}")
        wanted = epochs or sorted(
            {min(found), *np.quantile(sorted(found), [1 / 3, 2 / 3]).round().astype(int), max(found)} & set(found)
        )
        maps = {}
        for epoch in wanted:
            if epoch not in found:
                raise ValueError(f"{run_dir}: no snapshot of epoch {epoch} (have {sorted(found)})")
            attention = general_attention(torch.load(found[epoch], map_location="cpu", weights_only=True))
            if attention is None:
                raise ValueError(f"{found[epoch]}: model has no general attention")
            maps[epoch] = attention
        table[label] = maps
    columns = max(len(maps) for maps in table.values())
    figure, axes = plt.subplots(len(table), columns, figsize=(2.4 * columns, 2.4 * len(table)), squeeze=False)
    for row, (label, maps) in enumerate(table.items()):
        for column in range(columns):
            axis = axes[row][column]
            axis.set_xticks([])
            axis.set_yticks([])
            if column >= len(maps):
                axis.axis("off")
                continue
            epoch, attention = list(maps.items())[column]
            axis.imshow(attention, cmap="viridis")
            for (i, j), value in np.ndenumerate(attention):
                axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color="white")
            axis.set_title(f"{label}, epoch {epoch}", fontsize=8)
    figure.tight_layout()
    png_path = Path(png_path)
    figure.savefig(png_path, dpi=110)
    plt.close(figure)
    return png_path
