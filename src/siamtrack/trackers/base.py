"""The tracker API: ``init(image, box)`` then ``update(image) -> box`` once per frame.

Images are RGB ``uint8`` ``H x W x 3`` arrays; boxes are 0-based ``x, y, w, h`` floats.
After ``update`` the tracker's ``confidence`` holds its score for that frame (higher = surer).
Everything else (evaluation, the got10k adapter, the TraX server) only calls these methods.
"""
from __future__ import annotations

import time
from typing import Iterable

import numpy as np


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
