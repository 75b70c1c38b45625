"""siamtrack: Siamese and correlation-filter single-object visual tracking in PyTorch.

The practitioner's API, all importable from here::

    import siamtrack

    siamtrack.available_trackers()                       # registered names; siamtrack.DEFAULT_TRACKER is the default
    tracker = siamtrack.build_tracker("dcfnet")          # tracker.init(rgb, box); box = tracker.update(rgb)
    boxes = siamtrack.track_video("clip.mp4", (x, y, w, h))   # (N, 4) boxes, default tracker
    cv_tracker = siamtrack.OpenCVStyleTracker()          # init(bgr, box); ok, box = update(bgr), like cv2's trackers

The names that pull in torch are resolved on first use (module ``__getattr__``, PEP 562), so ``import siamtrack``
itself stays cheap (``siamtrack --help``, ``siamtrack --version``).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version as _package_version

try:
    __version__ = _package_version("siamtrack")  # one source: pyproject.toml's [project] version
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

# public name -> module that defines it (imported on first access)
_LAZY = {
    "build_tracker": "siamtrack.trackers",
    "available_trackers": "siamtrack.trackers",
    "DEFAULT_TRACKER": "siamtrack.trackers",
    "track_video": "siamtrack.integrations.video",
    "OpenCVStyleTracker": "siamtrack.integrations.opencv_style",
}

__all__ = ["DEFAULT_TRACKER", "OpenCVStyleTracker", "__version__", "available_trackers", "build_tracker", "track_video"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'siamtrack' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
