"""The tracker API: ``init(image, box)`` then ``update(image) -> box`` once per frame.

Images are RGB ``uint8`` ``H x W x 3`` arrays; boxes are 0-based ``x, y, w, h`` floats.
After ``update`` the tracker's ``confidence`` holds its score for that frame (higher = surer).
Everything else (evaluation, the got10k adapter, the TraX server) only calls these methods.
"""
from __future__ import annotations

import ctypes
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


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, glibc <malloc.h>
_kept_freed_memory = None


def keep_freed_memory(trim_threshold: int = 256 << 20, mmap_threshold: int = 32 << 20) -> bool:
    """Let glibc's ``malloc`` keep freed memory for reuse instead of handing it back to the kernel.

    A float32 DCFNet update, for example, allocates and frees ~40 MB of feature maps (each stage of the 4-crop
    batch is 4 x 32 x 125 x 125 x 4 B = 8 MB). With glibc's default thresholds most of it goes back to the kernel when
    freed (heap trimming above ~2 x the largest block, or ``munmap``) and is page-faulted in again, zero-filled,
    on the next frame: here ~4,000-7,000 page faults per frame, 42 instead of 31 ms of CPU (one thread). With
    ``M_MMAP_THRESHOLD`` = 32 MB (glibc's maximum) and ``M_TRIM_THRESHOLD`` = 256 MB the blocks stay in the
    heap and are reused. This changes no result, only where memory comes from; it is process-wide (the process
    keeps up to ``trim_threshold`` bytes of freed heap memory) and applied once. Returns whether it applied
    (``False`` where ``mallopt`` is missing, e.g. off glibc).
    """
    global _kept_freed_memory
    if _kept_freed_memory is None:
        try:
            mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
            _kept_freed_memory = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
                mallopt(_M_TRIM_THRESHOLD, trim_threshold))
        except (AttributeError, OSError):
            _kept_freed_memory = False
    return _kept_freed_memory


def pick_device(device=None) -> torch.device:
    """``device``, or CUDA when available, else the CPU. Picking the CPU also applies :func:`keep_freed_memory`
    once per process: every CPU tracker frees and re-allocates megabytes of feature maps each frame."""
    chosen = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    if chosen.type == "cpu":
        keep_freed_memory()
    return chosen


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
