"""Generic sources: a plain folder of numbered frames + a ground-truth file, and a video file + a
ground-truth file (MP4/AVI/... decoded lazily through OpenCV).

Both take ``x, y, w, h`` rows separated by commas, tabs or spaces, with ``NaN`` rows for an absent target.
``one_based`` says whether the file's ``x, y`` count pixels from 1 (OTB-style files) or from 0 (the default
for video files, as in ``shared/data/videos``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from siamtrack.data.annotations import DatasetError, list_numbered_frames, read_box_file, require_file
from siamtrack.data.sequence import ImageFiles, Sequence, VideoFile
from siamtrack.geometry import one_based_to_zero_based
from siamtrack.imaging import FrameReadError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")


def read_boxes(path: str | os.PathLike, one_based: bool) -> np.ndarray:
    """Read an ``x, y, w, h`` ground-truth file (NaN rows allowed) as 0-based boxes."""
    boxes = read_box_file(path, allow_nan=True, allow_zero=True)
    return one_based_to_zero_based(boxes) if one_based else boxes


def read_folder_sequence(
    frame_dir: str | os.PathLike,
    annotation_path: str | os.PathLike,
    name: str | None = None,
    one_based: bool = True,
    dataset: str = "folder",
) -> Sequence:
    """A folder of numbered frames (``0001.jpg``, ``img00001.png`` ...; no gaps) with one box per frame."""
    frame_dir = Path(frame_dir)
    boxes = read_boxes(annotation_path, one_based)
    paths, numbers = list_numbered_frames(frame_dir)
    if len(paths) != len(boxes):
        raise DatasetError(f"{annotation_path}: {len(boxes)} ground-truth rows for {len(paths)} frames in {frame_dir}")
    return Sequence(
        name=name or frame_dir.name,
        frames=ImageFiles(paths),
        ground_truth=boxes,
        start_frame=numbers[0],
        dataset=dataset,
    )


def read_video_sequence(
    video_path: str | os.PathLike,
    annotation_path: str | os.PathLike | None = None,
    name: str | None = None,
    one_based: bool = False,
    dataset: str = "video",
    metadata: dict | None = None,
) -> Sequence:
    """A video file with one box per frame; ``annotation_path`` defaults to the video's path with ``.txt``.

    The frame count is the container's; it must equal the number of ground-truth rows.
    """
    video_path = Path(video_path)
    annotation_path = Path(annotation_path) if annotation_path is not None else video_path.with_suffix(".txt")
    boxes = read_boxes(require_file(annotation_path, f"ground-truth file for {video_path.name}"), one_based)
    try:
        frames = VideoFile(video_path)
    except FrameReadError as error:
        raise DatasetError(str(error)) from None
    if len(frames) != len(boxes):
        raise DatasetError(
            f"{annotation_path}: {len(boxes)} ground-truth rows for {len(frames)} frames in {video_path}"
        )
    info = {"fps": frames.fps}
    info.update(metadata or {})
    return Sequence(
        name=name or video_path.stem, frames=frames, ground_truth=boxes, start_frame=1, dataset=dataset, metadata=info
    )


def read_video_folder(root: str | os.PathLike, one_based: bool = False, dataset: str = "video") -> list[Sequence]:
    """Every ``<name>.<video extension>`` of ``root`` that has a ``<name>.txt`` next to it, sorted by name.

    A video without its ground-truth file is an error (nothing is skipped silently).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: video folder not found")
    videos = sorted(path for path in root.iterdir() if path.suffix.lower() in VIDEO_EXTENSIONS)
    if not videos:
        raise DatasetError(f"{root}: no video files ({', '.join(VIDEO_EXTENSIONS)})")
    return [read_video_sequence(path, one_based=one_based, dataset=dataset) for path in videos]


def read_folder_dataset(
    root: str | os.PathLike,
    frames: str = "img",
    annotation: str = "groundtruth.txt",
    one_based: bool = True,
    dataset: str = "folder",
) -> list[Sequence]:
    """Every sub-folder ``<root>/<name>`` holding ``annotation``, its frames in ``<name>/<frames>``
    (``frames="."``: in the sub-folder itself), sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    names = sorted(entry.name for entry in root.iterdir() if (entry / annotation).is_file())
    if not names:
        raise DatasetError(f"{root}: no sub-folder holds {annotation!r}")
    return [
        read_folder_sequence(
            root / name / frames, root / name / annotation, name=name, one_based=one_based, dataset=dataset
        )
        for name in names
    ]
