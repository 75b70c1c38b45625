"""A training run's folder and its bookkeeping, shared by the image trainer (:mod:`siamtrack.training.loop`) and the
feature-cache trainer (:mod:`siamtrack.training.feature_cache`): ``config.yaml`` (written once, compared on resume),
the loss :class:`History` kept in checkpoints, ``log.csv`` (loss per iteration) and ``epochs.csv`` (mean loss per
epoch), and the seeding that makes a run repeatable.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn

from siamtrack.training.config import Config, ConfigError, config_from_dict, config_to_dict, dump_config
from siamtrack.atomic_files import write_text_atomically

CHECKPOINT_FORMAT = 1
# keys that may change between a run and its resumption (they do not change the numbers; channels_last is the memory
# layout only, the same weights within float rounding: tests/training/test_feature_cache.py)
RESUMABLE_CHANGES = {
    ("train", "progress"),
    ("train", "workers"),
    ("train", "channels_last"),
    ("data", "curation", "workers"),
    ("data", "curation", "cache_dir"),
    ("data", "curation", "directory"),
    ("data", "sources"),
    ("tracker", "name"),
    ("tracker", "preset"),
    ("tracker", "params"),
}


def differences(old: dict, new: dict, prefix=()) -> list[tuple]:
    """The key paths (tuples) where two nested config dicts differ, less :data:`RESUMABLE_CHANGES`."""
    keys = set(old) | set(new)
    found = []
    for key in sorted(keys):
        path = prefix + (key,)
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            found.extend(differences(old[key], new[key], path))
        elif old.get(key) != new.get(key) and path not in RESUMABLE_CHANGES:
            found.append(path)
    return found


class History:
    """Loss per iteration, kept as lists and stored in checkpoints as tensors."""

    def __init__(self, state: dict | None = None):
        state = state or {}
        self.epoch = [int(v) for v in state.get("epoch", torch.zeros(0)).tolist()]
        self.iteration = [int(v) for v in state.get("iteration", torch.zeros(0)).tolist()]
        self.loss = [float(v) for v in state.get("loss", torch.zeros(0)).tolist()]
        self.lr = [float(v) for v in state.get("lr", torch.zeros(0)).tolist()]

    def append(self, epoch: int, iteration: int, loss: float, lr: float) -> None:
        self.epoch.append(epoch)
        self.iteration.append(iteration)
        self.loss.append(loss)
        self.lr.append(lr)

    def state(self) -> dict:
        return {
            "epoch": torch.tensor(self.epoch, dtype=torch.int64),
            "iteration": torch.tensor(self.iteration, dtype=torch.int64),
            "loss": torch.tensor(self.loss, dtype=torch.float64),
            "lr": torch.tensor(self.lr, dtype=torch.float64),
        }

    def epoch_means(self) -> list[tuple[int, float, float, int]]:
        """``(epoch, mean loss, lr, iterations)`` per epoch seen."""
        rows = []
        for epoch in sorted(set(self.epoch)):
            picked = [k for k, e in enumerate(self.epoch) if e == epoch]
            rows.append((epoch, float(np.mean([self.loss[k] for k in picked])), self.lr[picked[0]], len(picked)))
        return rows


LOG_COLUMNS = ["step", "epoch", "iteration", "loss", "lr"]


def write_logs(run_dir: Path, history: History) -> None:
    """Rewrite ``log.csv`` and ``epochs.csv`` from the history (on resume: drops rows past the checkpoint)."""
    with open(run_dir / "log.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LOG_COLUMNS)
        for step, row in enumerate(zip(history.epoch, history.iteration, history.loss, history.lr)):
            writer.writerow([step, row[0], row[1], repr(row[2]), repr(row[3])])
    write_epochs(run_dir, history)


def write_epochs(run_dir: Path, history: History) -> None:
    """Rewrite ``epochs.csv``: per epoch seen, its mean loss, learning rate and iteration count."""
    with open(run_dir / "epochs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "mean_loss", "lr", "iterations"])
        for epoch, mean, lr, count in history.epoch_means():
            writer.writerow([epoch, repr(mean), repr(lr), count])


def unwrap(model: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper (the model itself otherwise)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (a run's network initialisation starts here)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_run_dir(config: Config, run_dir: Path, resume: bool) -> None:
    """Write ``config.yaml``; refuse to overwrite a run, or to resume one with a different config."""
    config_path = run_dir / "config.yaml"
    if (run_dir / "checkpoint.pth").exists() and not resume:
        raise FileExistsError(
            f"{run_dir} already holds a training run (checkpoint.pth); pass --resume to "
            "continue it or choose another --run-dir"
        )
    if resume and config_path.exists():
        changed = config_changes(config, run_dir)
        if changed:
            raise ConfigError(f"{config_path}: cannot resume with a different config; changed keys: {changed}")
        return
    write_text_atomically(config_path, dump_config(config))


def config_changes(config: Config, run_dir: Path) -> list[str]:
    """The keys (dotted) in which ``config`` differs from the one ``run_dir/config.yaml`` recorded (keys added to
    Config since then take their defaults there). What makes a run folder stale: e.g. a recipe changed after the
    folder was trained."""
    config_path = Path(run_dir) / "config.yaml"
    saved = yaml.safe_load(config_path.read_text())
    changed = differences(config_to_dict(config_from_dict(saved, str(config_path))), config_to_dict(config))
    return [".".join(map(str, key)) for key in changed]


__all__ = [
    "CHECKPOINT_FORMAT",
    "History",
    "LOG_COLUMNS",
    "RESUMABLE_CHANGES",
    "check_run_dir",
    "config_changes",
    "differences",
    "seed_everything",
    "unwrap",
    "write_epochs",
    "write_logs",
]
