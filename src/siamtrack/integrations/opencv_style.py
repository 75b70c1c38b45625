"""An OpenCV-style tracker: ``tracker.init(frame, box)`` then ``ok, box = tracker.update(frame)``, taking the BGR
``uint8`` frames ``cv2.VideoCapture`` gives and ``(x, y, w, h)`` tuples, as ``cv2.TrackerCSRT`` does::

    capture = cv2.VideoCapture("video.mp4")
    ok, frame = capture.read()
    tracker = OpenCVStyleTracker()              # the default tracker; or OpenCVStyleTracker("dcfnet")
    tracker.init(frame, (x, y, w, h))
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        found, (x, y, w, h) = tracker.update(frame)

Frames are converted to the RGB the trackers take (:mod:`siamtrack.trackers.base`): BGR (H x W x 3), BGRA
(H x W x 4) and grayscale (H x W) ``uint8``; anything else is a ValueError naming its shape and dtype.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from siamtrack.trackers.base import Tracker, keep_freed_memory, release_freed_memory


def bgr_frame_to_rgb(frame) -> np.ndarray:
    """An OpenCV frame (BGR ``H x W x 3``, BGRA ``H x W x 4`` or gray ``H x W``, ``uint8``) as RGB ``uint8``;
    a ValueError naming the shape and dtype for anything else."""
    frame = np.asarray(frame)
    description = f"shape {frame.shape}, dtype {frame.dtype}"
    if frame.dtype != np.uint8:
        raise ValueError(f"OpenCVStyleTracker: frames must be uint8 (as cv2.VideoCapture gives), got {description}")
    if frame.ndim == 2 and frame.size:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.ndim == 3 and frame.shape[0] and frame.shape[1]:
        if frame.shape[2] == 3:
            return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        if frame.shape[2] == 4:
            return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    raise ValueError(
        f"OpenCVStyleTracker: expected a BGR (HxWx3), BGRA (HxWx4) or grayscale (HxW) frame, got {description}"
    )


class OpenCVStyleTracker:
    """A registered tracker (``name``, default :data:`~siamtrack.trackers.DEFAULT_TRACKER`; ``weights`` and
    ``**params`` as :func:`~siamtrack.trackers.build_tracker` takes them) behind OpenCV's tracker interface.
    ``update`` returns ``(ok, (x, y, w, h))``: ``ok`` is False when the tracker's box is not finite with a
    positive size, or when the tracker fails on the frame with a ValueError/ArithmeticError (then the box is the
    last good one); a frame of the wrong shape or dtype is a ValueError before the tracker sees it."""

    def __init__(self, name: str | None = None, weights=None, **params):
        from siamtrack.trackers import DEFAULT_TRACKER, build_tracker

        self.name = name or DEFAULT_TRACKER
        self.tracker: Tracker = build_tracker(self.name, weights=weights, **params)
        self.box: tuple[float, float, float, float] | None = None

    def init(self, frame, box) -> None:
        """Start tracking ``box = (x, y, w, h)`` (0-based pixels) in the BGR ``frame``."""
        values = tuple(float(v) for v in np.ravel(np.asarray(box, dtype=np.float64)))
        if len(values) != 4 or not all(map(math.isfinite, values)) or values[2] <= 0 or values[3] <= 0:
            raise ValueError(f"OpenCVStyleTracker.init: box must be (x, y, w, h), finite, w and h > 0; got {box!r}")
        image = bgr_frame_to_rgb(frame)
        keep_freed_memory()  # opting in (process-wide; see its doc)
        with torch.no_grad():
            self.tracker.init(image, np.array(values))
        release_freed_memory()
        self.box = values

    def update(self, frame) -> tuple[bool, tuple[float, float, float, float]]:
        """``(ok, (x, y, w, h))`` for the BGR ``frame``."""
        if self.box is None:
            raise RuntimeError("OpenCVStyleTracker.update before init")
        image = bgr_frame_to_rgb(frame)
        try:
            with torch.no_grad():
                result = np.asarray(self.tracker.update(image), dtype=np.float64).ravel()
        except (ValueError, ArithmeticError):  # a degenerate state (e.g. a crop window gone non-finite): lost
            result = np.full(4, np.nan)
        finally:
            release_freed_memory()
        if result.size != 4 or not np.all(np.isfinite(result)) or result[2] <= 0 or result[3] <= 0:
            return False, self.box
        self.box = tuple(float(v) for v in result)
        return True, self.box

    @property
    def confidence(self) -> float | None:
        """The wrapped tracker's score for the last frame (higher = surer), where it has one."""
        return getattr(self.tracker, "confidence", None)


__all__ = ["OpenCVStyleTracker", "bgr_frame_to_rgb"]
