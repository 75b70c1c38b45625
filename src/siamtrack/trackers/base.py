"""The tracker API: ``init(image, box)`` then ``update(image) -> box`` once per frame.

Images are RGB ``uint8`` ``H x W x 3`` arrays; boxes are 0-based ``x, y, w, h`` floats.
After ``init`` / ``update`` the tracker's ``confidence`` holds its score for that frame (higher = surer; NaN where
the tracker computed none, which is every tracker's first frame) and ``extras`` the tracker-specific values of that
frame (a new dict per frame, e.g. AdaCFNet's SE channel weights, DSLT's stage times). :meth:`Tracker.output`
packs the three into one :class:`FrameOutput`; :meth:`Tracker.run` yields one per frame of a sequence.
Everything else (evaluation, the got10k adapter, the TraX server) only calls these methods.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np
import torch

P = TypeVar("P")


def with_overrides(params: P, hyperparameters: dict, owner: str) -> P:
    """``params`` (a frozen dataclass) with the fields named in ``hyperparameters`` replaced; a TypeError
    naming ``owner`` and the unknown names if some are not fields, or naming the field, the value and the
    expected type when a value has the wrong type (:func:`check_field_type`)."""
    if not hyperparameters:
        return params
    fields = {f.name: f for f in dataclasses.fields(params)}
    unknown = sorted(set(hyperparameters) - set(fields))
    if unknown:
        raise TypeError(f"{owner}: unknown hyper-parameter(s) {unknown}; known: {', '.join(sorted(fields))}")
    for name, value in hyperparameters.items():
        check_field_type(fields[name], value, owner)
    return dataclasses.replace(params, **hyperparameters)


# annotation (as written, with ``from __future__ import annotations``) -> (accepted types, name in messages)
_FIELD_TYPES = {
    "int": ((int, np.integer), "an integer"),
    "float": ((int, float, np.integer, np.floating), "a number"),
    "bool": ((bool, np.bool_), "true or false"),
    "str": ((str,), "a string"),
}


def check_field_type(field: dataclasses.Field, value, owner: str) -> None:
    """A one-line TypeError naming ``owner``, the field, ``value`` and the expected type when ``value`` does not
    fit the field's annotation (``int``, ``float``, ``bool`` or ``str``; other annotations are not checked).
    A bool is not a number here, and an int field takes no float (``num_scales=2.5`` is refused, not
    truncated); a float field takes an int."""
    annotation = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if annotation not in _FIELD_TYPES:
        return
    accepted, expected = _FIELD_TYPES[annotation]
    if isinstance(value, (bool, np.bool_)) and annotation != "bool":
        accepted = ()
    if not isinstance(value, accepted):
        raise TypeError(
            f"{owner}: hyper-parameter {field.name}={value!r} must be {expected} ({annotation}), "
            f"got {type(value).__name__}"
        )


def check_field_types(params, owner: str | None = None) -> None:
    """:func:`check_field_type` for every field of the dataclass instance ``params`` (for ``__post_init__``)."""
    for field in dataclasses.fields(params):
        check_field_type(field, getattr(params, field.name), owner or type(params).__name__)


def check_size_limit(params, names, owner: str | None = None, limit: int | None = None) -> None:
    """A ValueError naming the field when one of the crop-size fields ``names`` of ``params`` exceeds ``limit``
    pixels (:data:`MAX_CROP_SIZE`): such a crop would allocate gigabytes before failing."""
    limit = MAX_CROP_SIZE if limit is None else limit
    for name in names:
        value = getattr(params, name)
        if value > limit:
            raise ValueError(
                f"{owner or type(params).__name__}.{name} = {value!r} is too large: crops are at most "
                f"{limit} pixels wide"
            )


MAX_CROP_SIZE = 2048  # pixels: the largest crop side a tracker accepts (a 2048 x 2048 x 3 crop is 12 MB)


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

    Because it changes the whole process, nothing applies it as a side effect (building a tracker or picking a
    device does not). Who opts in, each before its first frame: the ``siamtrack`` commands that track
    (``demo``, ``track``, ``eval``, ``bench``; :func:`siamtrack.cli.main`), :meth:`Tracker.track`, the evaluation
    runner's jobs (each worker process), :func:`siamtrack.integrations.video.track_to_folder` (``track_video``) and
    :class:`~siamtrack.integrations.opencv_style.OpenCVStyleTracker`. Code that drives ``init``/``update``
    itself calls it once, if it wants it.
    """
    global _kept_freed_memory
    if _kept_freed_memory is None:
        try:
            mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
            _kept_freed_memory = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
                mallopt(_M_TRIM_THRESHOLD, trim_threshold)
            )
        except (AttributeError, OSError):
            _kept_freed_memory = False
    return _kept_freed_memory


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (<malloc.h>, glibc >= 2.33)."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_malloc_functions = None
_resident_after_release = 0  # resident bytes just after the last release (lowered when the process shrinks)


def freed_heap_bytes() -> int | None:
    """Bytes of freed memory that ``malloc`` holds in its heaps (glibc ``mallinfo2().fordblks``); ``None`` where
    ``mallinfo2``/``malloc_trim`` are missing (off glibc, or glibc < 2.33)."""
    global _malloc_functions
    if _malloc_functions is None:
        try:
            libc = ctypes.CDLL(None)
            mallinfo2, malloc_trim = libc.mallinfo2, libc.malloc_trim
            mallinfo2.restype, mallinfo2.argtypes = _MallInfo2, []
            malloc_trim.restype, malloc_trim.argtypes = ctypes.c_int, [ctypes.c_size_t]
            _malloc_functions = (mallinfo2, malloc_trim)
        except (AttributeError, OSError):
            _malloc_functions = ()
    return int(_malloc_functions[0]().fordblks) if _malloc_functions else None


def resident_bytes() -> int | None:
    """The process's resident memory in bytes (``/proc/self/statm``); ``None`` where that cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_freed_memory(limit: int = 256 << 20) -> bool:
    """Hand the freed memory that ``malloc`` keeps back to the kernel (glibc ``malloc_trim``) when it holds more
    than ``limit`` bytes of it and the resident memory grew by more than ``limit`` since the last release.
    Cheap (one ``mallinfo2``, ~1 us, and a read of ``/proc/self/statm`` when more than ``limit`` is free): the
    tracking loops (:meth:`Tracker.track`, ``siamtrack track``, the evaluation runners) call it after every
    frame. Returns whether it released; off glibc/Linux it does nothing.

    Why: PyTorch allocates CPU tensors with ``posix_memalign(64)``, and glibc before 2.38 serves such a request
    of ``n`` bytes only from a free block of at least ``n + 96`` bytes. The hole a freed feature map leaves is
    exactly ``n`` bytes; once a small long-lived allocation (a box kept in a list, the video encoder's state)
    sits next to it, no later feature map of that size reuses it, and the heap grows by one feature map per frame
    (8 MB for DCFNet's 4 x 32 x 125 x 125 maps) while the memory in use stays flat. Whether that starts varies
    from run to run; autograd plays no part. ``siamtrack track`` with DCFNet reached 3.7 GB after 452 frames
    that way (9.1 GB reported after 3,143). Releasing bounds the growth of the resident memory to about
    ``limit``; the holes stay as reserved address space, without memory behind them. ``mallinfo2`` cannot tell
    released free memory from resident free memory, hence the resident-memory test.
    """
    global _resident_after_release
    free = freed_heap_bytes()
    if free is None or free <= limit:
        return False
    resident = resident_bytes()
    if resident is None:
        return False
    _resident_after_release = min(_resident_after_release, resident)
    if resident - _resident_after_release <= limit:
        return False
    _malloc_functions[1](0)
    _resident_after_release = resident_bytes() or 0
    return True


def pick_device(device=None) -> torch.device:
    """``device``, or CUDA when available, else the CPU. Nothing else: the process-wide malloc setting that CPU
    tracking profits from is a step of its own, :func:`keep_freed_memory`, which the tracking loops opt into."""
    return torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))


def check_initial_box(box, tracker_name: str, image: np.ndarray | None = None) -> np.ndarray:
    """The first frame's box as 4 float64 numbers, or a ValueError naming the tracker and the box. With
    ``image`` (``H x W x C``) the box must also overlap it (``x < W``, ``y < H``, ``x + w > 0``, ``y + h > 0``):
    a box fully outside the first frame has no target to track."""
    box = np.asarray(box, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(
            f"{tracker_name}: the initial box must be 4 finite numbers x, y, w, h with w, h > 0, got {box.tolist()}"
        )
    if image is not None:
        height, width = np.shape(image)[:2]
        x, y, w, h = box
        if not (x < width and y < height and x + w > 0 and y + h > 0):
            raise ValueError(
                f"{tracker_name}: the initial box x, y, w, h = {box.tolist()} does not overlap the "
                f"{width}x{height} image"
            )
    return box


@dataclasses.dataclass(frozen=True)
class FrameOutput:
    """What a tracker gives for one frame: the ``box`` (0-based ``x, y, w, h``, float64), its ``confidence`` (NaN
    where the tracker computed none: every tracker's first frame), the wall time of the ``init``/``update`` call
    (``seconds``; NaN when not timed) and the tracker-specific ``extras`` of that frame, named in each tracker's
    documentation (``channel_weights``: AdaCFNet; ``stage_seconds``, ``init_loss``: DSLT; ``importances``: TADT;
    empty for the others)."""

    box: np.ndarray
    confidence: float = float("nan")
    seconds: float = float("nan")
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)


class Tracker:
    """Base class of every siamtrack tracker.

    A subclass implements ``init`` and ``update``; each sets ``self.confidence`` and may set ``self.extras`` to a new
    dict of its per-frame values (the base leaves it empty)."""

    name = "tracker"

    def __init__(self):
        self.confidence: float = float("nan")
        self.extras: dict[str, Any] = {}

    def init(self, image: np.ndarray, box) -> None:
        """Start tracking the object in ``box`` (0-based ``x, y, w, h``) of ``image``."""
        raise NotImplementedError

    def update(self, image: np.ndarray) -> np.ndarray:
        """Locate the object in the next frame; returns its box and sets ``self.confidence``."""
        raise NotImplementedError

    def output(self, box, seconds: float = float("nan")) -> FrameOutput:
        """The last frame's :class:`FrameOutput`, for its ``box`` (what ``init`` was given / ``update`` returned).
        A subclass that skipped ``Tracker.__init__`` has NaN confidence and no extras."""
        return FrameOutput(
            np.asarray(box, dtype=np.float64),
            float(getattr(self, "confidence", float("nan"))),
            seconds,
            getattr(self, "extras", None) or {},
        )

    def run(self, frames: Iterable[np.ndarray], box) -> Iterator[FrameOutput]:
        """One :class:`FrameOutput` per frame of ``frames``, starting from ``box`` on the first one (its output's
        box is ``box``), as each frame is tracked (a generator: nothing is kept).

        Each ``init``/``update`` runs without autograd (a tracker that learns online enables it where it needs it)
        and is timed (``seconds``); :func:`keep_freed_memory` is applied first and :func:`release_freed_memory`
        after each frame (outside the timing)."""
        keep_freed_memory()  # opting in: the process keeps freed feature maps for reuse (see its doc)
        for index, image in enumerate(frames):
            start = time.perf_counter()
            with torch.no_grad():  # per frame, not around the yield: the caller's code keeps its own grad mode
                if index == 0:
                    self.init(image, box)
                    result = np.asarray(box, dtype=np.float64)
                else:
                    result = np.asarray(self.update(image), dtype=np.float64)
            seconds = time.perf_counter() - start
            output = self.output(result, seconds)
            release_freed_memory()
            yield output

    def track(self, frames: Iterable[np.ndarray], box) -> tuple[np.ndarray, np.ndarray]:
        """Run over ``frames`` starting from ``box`` on the first one (:meth:`run`, keeping boxes and times).

        Returns ``(boxes, seconds)``: ``(N, 4)`` boxes (row 0 is ``box``) and per-frame wall times.
        """
        boxes, times = [], []
        for output in self.run(frames, box):
            boxes.append(output.box)
            times.append(output.seconds)
        return np.array(boxes, dtype=np.float64).reshape(-1, 4), np.array(times)
