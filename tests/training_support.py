"""Helpers for the training tests: tiny synthetic sequences and a tiny Siamese model (fast on 2 CPU cores)."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from siamtrack.data.sequence import FrameSource, Sequence


class ArrayFrames(FrameSource):
    """Frames held in memory."""

    def __init__(self, frames: list[np.ndarray], name: str = "array"):
        self.frames = frames
        self.name = name

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.frames[index]

    def describe(self, index: int) -> str:
        return f"{self.name}#{index}"


def synthetic_sequence(name: str, length: int = 12, seed: int = 0, size=(96, 128), absent=()) -> Sequence:
    """A textured square moving over a smooth random background; ``absent`` frames get NaN boxes."""
    rng = np.random.default_rng(seed)
    height, width = size
    small = rng.integers(0, 256, size=(height // 8 + 1, width // 8 + 1, 3)).astype(np.float32)
    background = np.kron(small, np.ones((8, 8, 1)))[:height, :width]
    pattern = rng.integers(0, 256, size=(4, 4, 3)).astype(np.float32)
    frames, boxes = [], []
    start = rng.uniform([20, 20], [40, 30])
    velocity = rng.uniform(-2, 2, size=2)
    for index in range(length):
        x, y = start + velocity * index
        w, h = 24.0, 20.0
        frame = background.copy()
        x0, y0 = int(round(x)), int(round(y))
        frame[y0 : y0 + int(h), x0 : x0 + int(w)] = np.kron(pattern, np.ones((5, 6, 1)))[: int(h), : int(w)]
        frames.append(frame.astype(np.uint8))
        boxes.append([x0, y0, w, h])
    boxes = np.asarray(boxes, dtype=np.float64)
    for index in absent:
        boxes[index] = np.nan
    return Sequence(name, ArrayFrames(frames, name), boxes, dataset="synthetic")


class TinySiamese(nn.Module):
    """Two strided 3x3 convolutions (with dropout, to exercise the RNG) and a cross-correlation.

    Exemplar 31 -> 7x7 features, instance 63 -> 15x15, score map 9x9, total stride 4. No BatchNorm, so that
    one process and a DDP job over the same global batch compute the same gradients.
    """

    def __init__(self, channels: int = 8, dropout: float = 0.1, delay: float = 0.0, calls: str | None = None):
        super().__init__()
        self.delay = delay  # seconds slept per forward pass (lets a test kill a run mid-way)
        self.calls = calls  # a file that gets one line per training-mode forward pass (counts the work done)
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 3, stride=2),
            nn.ReLU(),
            nn.Dropout2d(dropout),
            nn.Conv2d(channels, channels, 3, stride=2),
        )
        self.scale = nn.Parameter(torch.tensor(1e-3))
        self.bias = nn.Parameter(torch.tensor(0.0))

    def forward(self, exemplar: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
        if self.delay:
            time.sleep(self.delay)
        if self.calls and self.training:
            with open(self.calls, "a") as handle:
                handle.write("forward\n")
        z = self.features(exemplar / 255.0)
        x = self.features(instance / 255.0)
        batch = z.shape[0]
        scores = nn.functional.conv2d(x.reshape(1, -1, *x.shape[-2:]), z, groups=batch)
        return scores.reshape(batch, 1, *scores.shape[-2:]) * self.scale + self.bias


class TwoOutputs(TinySiamese):
    """A model with two heads (as SiamRPN's): not a single score map."""

    def forward(self, exemplar: torch.Tensor, instance: torch.Tensor):
        scores = super().forward(exemplar, instance)
        return scores, scores


def tiny_config_dict(curated_dir: str, **sections) -> dict:
    """A config for :class:`TinySiamese` on curated synthetic data; ``sections`` update sections."""
    config = {
        "model": {"name": "training_support:TinySiamese", "args": {}},
        "data": {
            "curation": {"directory": curated_dir},
            "exemplar_size": 31,
            "instance_size": 63,
            "max_gap": 5,
            "pairs_per_epoch": 12,
        },
        "augment": {
            "exemplar": {"stretch": 0.05, "shift": 2, "color": 0.1},
            "instance": {"stretch": 0.05, "shift": 4, "color": 0.1, "blur_probability": 0.3},
            "grayscale": 0.2,
        },
        "labels": {"kind": "logistic", "total_stride": 4, "radius": 8},
        "loss": {"name": "logistic", "balanced": True},
        "optim": {"name": "sgd", "lr_start": 1e-2, "lr_end": 1e-3, "momentum": 0.9, "weight_decay": 5e-4},
        "train": {"seed": 3, "epochs": 2, "batch_size": 4, "checkpoint_every": 2, "progress": False},
    }
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    return config
