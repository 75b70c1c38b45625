"""The one sequence type every reader returns, and the lazy frame sources behind it.

A :class:`Sequence` holds its ground truth in memory (small) but never its frames: ``sequence.frames[i]``
decodes frame ``i`` on demand, so a 10,000-frame sequence costs only its file list.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence as SequenceABC
from dataclasses import dataclass, field

import cv2
import numpy as np

from siamtrack.imaging import FrameReadError, read_image, to_rgb_uint8


class FrameSource(SequenceABC):
    """A lazily decoded, indexable list of RGB ``uint8`` frames."""

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __iter__(self) -> Iterator[np.ndarray]:
        for index in range(len(self)):
            yield self[index]

    def describe(self, index: int) -> str:
        """Human-readable name of frame ``index`` for error messages and result files."""
        return f"frame {index}"


class ImageFiles(FrameSource):
    """Frames stored as one image file each."""

    def __init__(self, paths: list[str]):
        self.paths = [os.fspath(p) for p in paths]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        if isinstance(index, slice):
            return ImageFiles(self.paths[index])
        if not -len(self.paths) <= index < len(self.paths):
            raise IndexError(f"frame index {index} out of range for {len(self.paths)} frames")
        return read_image(self.paths[index])

    def describe(self, index: int) -> str:
        return self.paths[index]


class VideoFile(FrameSource):
    """Frames of a video file (MP4/AVI/... through OpenCV), decoded lazily.

    Sequential access (the tracking case) decodes each frame once; a backwards or far-forward jump
    re-seeks. ``first``/``count`` select a sub-range of the file's frames. The decoder is released once the last
    frame is read (and reopened if a frame is asked for again): an evaluation holds every sequence of a dataset,
    and an open FFmpeg decoder per finished video kept tens of MB each (``benchmarks/bench_memory.py``).
    """

    def __init__(self, path: str, first: int = 0, count: int | None = None):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FrameReadError(f"{self.path}: video file does not exist")
        capture = cv2.VideoCapture(self.path)
        if not capture.isOpened():
            raise FrameReadError(f"{self.path}: OpenCV cannot open this video")
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        capture.release()
        self.first = first
        self.count = max(total - first, 0) if count is None else count
        self._capture: cv2.VideoCapture | None = None
        self._next = -1  # file index the open capture will return next
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError(f"{self.path}: frame index {index} out of range for {self.count} frames")
        target = self.first + index
        with self._lock:
            if self._capture is None or target < self._next or target > self._next + 64:
                if self._capture is not None:
                    self._capture.release()
                self._capture = cv2.VideoCapture(self.path)
                if target > 0:
                    self._capture.set(cv2.CAP_PROP_POS_FRAMES, target)
                self._next = target
            while self._next < target:
                if not self._capture.grab():
                    raise FrameReadError(f"{self.path}: frame {self._next} could not be decoded")
                self._next += 1
            ok, image = self._capture.read()
            self._next += 1
            if index == self.count - 1:  # the last frame: nothing more to decode in order
                self._capture.release()
                self._capture = None
        if not ok:
            raise FrameReadError(f"{self.path}: frame {target} could not be decoded")
        return to_rgb_uint8(image, f"{self.path} frame {target}")

    def describe(self, index: int) -> str:
        return f"{self.path}#frame{self.first + index}"

    def __getstate__(self):  # picklable for worker processes: drop the open decoder
        state = self.__dict__.copy()
        state["_capture"], state["_next"], state["_lock"] = None, -1, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


@dataclass
class Sequence:
    """One tracking target in one video.

    Attributes:
        name: unique name inside its dataset (``Jogging.1`` for OTB's first Jogging target).
        frames: lazy frame source; ``len(frames) == len(ground_truth)``.
        ground_truth: ``(N, 4)`` float64, 0-based ``x, y, w, h``; NaN rows where the box is unknown/absent.
        absent: ``(N,)`` bool, True where the target is not visible (NaN rows, LaSOT full occlusion/out of
            view, GOT-10k ``absence.label``). Rows with ``absent`` may still hold a box.
        polygons: ``(N, 2k)`` float64 polygon ground truth where the benchmark gives polygons (VOT), else None.
        attributes: sequence-level attribute names (OTB's 11, UAV123's 12 ...).
        tags: per-frame boolean tags ``{name: (N,) bool}`` (VOT ``*.tag``/``*.label`` files, LaSOT occlusion).
        start_frame: number of the first frame in the benchmark's own numbering (for result files).
        dataset: name of the dataset the sequence comes from.
        metadata: anything else the benchmark states (GOT-10k ``meta_info.ini``, frame rate, ...).
    """

    name: str
    frames: FrameSource
    ground_truth: np.ndarray
    absent: np.ndarray | None = None
    polygons: np.ndarray | None = None
    attributes: tuple[str, ...] = ()
    tags: dict[str, np.ndarray] = field(default_factory=dict)
    start_frame: int = 1
    dataset: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.ground_truth = np.asarray(self.ground_truth, dtype=np.float64).reshape(-1, 4)
        if len(self.frames) != len(self.ground_truth):
            raise ValueError(
                f"sequence {self.name!r}: {len(self.frames)} frames but {len(self.ground_truth)} ground-truth rows"
            )
        if self.absent is None:
            self.absent = np.isnan(self.ground_truth).any(axis=1)
        else:
            self.absent = np.asarray(self.absent, dtype=bool)
            if self.absent.shape != (len(self.ground_truth),):
                raise ValueError(
                    f"sequence {self.name!r}: absent flags have shape {self.absent.shape}, "
                    f"expected ({len(self.ground_truth)},)"
                )
        for tag, values in self.tags.items():
            if len(values) != len(self.ground_truth):
                raise ValueError(
                    f"sequence {self.name!r}: tag {tag!r} has {len(values)} values for {len(self.ground_truth)} frames"
                )

    def __len__(self) -> int:
        return len(self.ground_truth)

    @property
    def init_box(self) -> np.ndarray:
        """The first frame's ground-truth box (0-based ``x, y, w, h``)."""
        return self.ground_truth[0].copy()


def image_size(sequence: Sequence) -> tuple[int, int]:
    """``(width, height)`` of a sequence's frames: ``metadata["image_size"]`` or the first frame's shape
    (decoded once and remembered in the metadata). What running (SRE's clamped boxes, VOT's failure test) and
    scoring (raster overlaps, clipping to the image) both need, so it lives with the data, below both."""
    size = sequence.metadata.get("image_size")
    if size is None:
        height, width = sequence.frames[0].shape[:2]
        size = (int(width), int(height))
        sequence.metadata["image_size"] = size
    return int(size[0]), int(size[1])
