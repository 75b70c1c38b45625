"""The tracker API: ``init(image, box)`` then ``update(image) -> box`` once per frame.

Images are RGB ``uint8`` ``H x W x 3`` arrays; boxes are 0-based ``x, y, w, h`` floats.
After ``update`` the tracker's ``confidence`` holds its score for that frame (higher = surer).
Everything else (evaluation, the got10k adapter, the TraX server) only calls these methods.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Iterable, TypeVar

import numpy as np
import torch

P = TypeVar("P")


def with_overrides(params: P, hyperparameters: dict, owner: str) -> P:
    """``params`` (a frozen dataclass) with the fields named in ``hyperparameters`` replaced; a TypeError
    naming ``owner`` and the unknown names if some are not fields."""
    if not hyperparameters:
        return params
    known = {f.name for f in dataclasses.fields(params)}
    unknown = sorted(set(hyperparameters) - known)
    if unknown:
        raise TypeError(f"{owner}: unknown hyper-parameter(s) {unknown}; known: {', '.join(sorted(known))}")
    return dataclasses.replace(params, **hyperparameters)


def pick_device(device=None) -> torch.device:
    """``device``, or CUDA when available, else the CPU."""
    return torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))


def check_initial_box(box, tracker_name: str) -> np.ndarray:
    """The first frame's box as 4 float64 numbers, or a ValueError naming the tracker and the box."""
    box = np.asarray(box, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"{tracker_name}: the initial box must be 4 finite numbers x, y, w, h with w, h > 0, "
                         f"got {box.tolist()}")
    return box


class Tracker:
    """Base class of every siamtrack tracker."""

    name = "tracker"

    def __init__(self):
        self.confidence: float = float("nan")

    def init(self, image: np.ndarray, box) -> None:
        """Start tracking the object in ``box`` (0-based ``x, y, w, h``) of ``image``."""
        raise NotImplementedError

    def update(self, image: np.ndarray) -> np.ndarray:
        """Locate the object in the next frame; returns its box and sets ``self.confidence``."""
        raise NotImplementedError

    def track(self, frames: Iterable[np.ndarray], box) -> tuple[np.ndarray, np.ndarray]:
        """Run over ``frames`` starting from ``box`` on the first one.

        Returns ``(boxes, seconds)``: ``(N, 4)`` boxes (row 0 is ``box``) and per-frame wall times.
        """
        boxes, times = [], []
        for index, image in enumerate(frames):
            start = time.perf_counter()
            if index == 0:
                self.init(image, box)
                result = np.asarray(box, dtype=np.float64)
            else:
                result = np.asarray(self.update(image), dtype=np.float64)
            times.append(time.perf_counter() - start)
            boxes.append(result)
        return np.array(boxes, dtype=np.float64).reshape(-1, 4), np.array(times)
