"""Adapter to the got10k toolkit's tracker API (``got10k.trackers.Tracker``).

got10k's experiments call ``init(image, box)`` and ``update(image)`` with PIL images and ``x, y, w, h``
boxes; :class:`GOT10kTracker` converts the images to RGB ``uint8`` arrays and hands them to any siamtrack
tracker. Boxes pass through unchanged (0-based ``x, y, w, h``, as GOT-10k's own annotations) unless
``one_based=True`` (got10k's OTB/VOT readers keep those benchmarks' 1-based files as they are): then 1 is
subtracted from ``x, y`` on the way in and added on the way out.
"""

from __future__ import annotations

import numpy as np
from got10k.trackers import Tracker as Got10kTracker

from siamtrack.geometry import one_based_to_zero_based, zero_based_to_one_based
from siamtrack.trackers.base import Tracker


def pil_to_rgb_array(image) -> np.ndarray:
    """A PIL image (any mode) or an array -> RGB ``uint8`` ``H x W x 3``."""
    if hasattr(image, "convert"):  # PIL
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8)
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected a PIL image or an RGB uint8 array, got dtype {array.dtype} shape {array.shape}")
    return array


class GOT10kTracker(Got10kTracker):
    """A got10k tracker that runs ``tracker`` (any :class:`siamtrack.trackers.base.Tracker`)."""

    def __init__(self, tracker: Tracker, name: str | None = None, one_based: bool = False):
        super().__init__(name=name or tracker.name, is_deterministic=True)
        self.tracker = tracker
        self.one_based = one_based

    def init(self, image, box) -> None:
        box = np.asarray(box, dtype=np.float64)
        self.tracker.init(pil_to_rgb_array(image), one_based_to_zero_based(box) if self.one_based else box)

    def update(self, image) -> np.ndarray:
        box = np.asarray(self.tracker.update(pil_to_rgb_array(image)), dtype=np.float64)
        return zero_based_to_one_based(box) if self.one_based else box
