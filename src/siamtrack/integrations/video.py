"""Tracking a video file, a folder of frames or a camera, writing ``boxes.txt`` and an annotated MP4
(what ``siamtrack track`` does), and timing trackers on real sequences (what ``siamtrack bench`` does; OpenCV's CSRT/KCF are registered
trackers, :mod:`siamtrack.trackers.opencv`).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np
import torch

from siamtrack.data.sequence import ImageFiles, Sequence
from siamtrack.imaging import FrameReadError, rgb_to_bgr, to_rgb_uint8
from siamtrack.trackers.base import Tracker, release_freed_memory

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
BOX_COLOUR_BGR = (0, 255, 255)


def parse_box(text: str) -> np.ndarray:
    """``"x,y,w,h"`` -> 0-based box, with a clear error for anything else."""
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not np.all(np.isfinite(values)) or values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"--box must be x,y,w,h (4 finite numbers, w and h > 0), got {text!r}")
    return np.array(values)


def natural_key(name: str) -> tuple:
    """Sort key comparing the digit runs of ``name`` as numbers: ``2.jpg`` before ``10.jpg``, ``img9`` before
    ``img10`` (ties, e.g. ``01`` and ``1``, by the plain name)."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts)), name


def folder_frames(directory: str | os.PathLike) -> ImageFiles:
    """The image files of ``directory`` in natural name order (numbers compared as numbers: ``2.jpg`` before
    ``10.jpg``)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FrameReadError(f"{directory}: frame folder does not exist")
    paths = sorted((p for p in directory.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS),
                   key=lambda p: natural_key(p.name))
    if not paths:
        raise FrameReadError(f"{directory}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return ImageFiles(paths)


def camera_frames(index: int, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """RGB frames from camera ``index`` until it stops delivering (or ``max_frames``)."""
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise FrameReadError(f"camera {index}: OpenCV cannot open it")
    try:
        count = 0
        while max_frames is None or count < max_frames:
            ok, image = capture.read()
            if not ok:
                break
            yield to_rgb_uint8(image, f"camera {index} frame {count}")
            count += 1
    finally:
        capture.release()


def draw_box(image: np.ndarray, box, text: str = "") -> np.ndarray:
    """A BGR copy of the RGB ``image`` with ``box`` (and ``text``) drawn on it, for the video writer."""
    canvas = rgb_to_bgr(image)
    x, y, w, h = (int(round(v)) for v in box)
    cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), BOX_COLOUR_BGR, 2)
    if text:
        cv2.putText(canvas, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, BOX_COLOUR_BGR, 2)
    return canvas


class TrackingStopped(RuntimeError):
    """:func:`track_to_folder` stopped before the end of its frames on an error (its ``__cause__``): the
    ``frames_done`` first frames are tracked, their boxes are in ``boxes.txt`` and the video holds them."""

    def __init__(self, message: str, frames_done: int):
        super().__init__(message)
        self.frames_done = frames_done


def frame_name(frames, index: int) -> str:
    """The file of frame ``index`` when ``frames`` has ``paths`` (:class:`ImageFiles`), else ``frame N``."""
    paths = getattr(frames, "paths", None)
    if paths is not None and index < len(paths):
        return str(paths[index])
    return f"frame {index}"


def _size(image) -> str:
    height, width = np.shape(image)[:2]
    return f"{width}x{height}"


def track_to_folder(tracker: Tracker, frames: Iterable[np.ndarray], box, out_dir: str | os.PathLike,
                    fps: float = 30.0, max_frames: int | None = None) -> np.ndarray:
    """Track ``frames`` from ``box`` and write ``out_dir/boxes.txt`` (one 0-based ``x,y,w,h`` per frame, written
    and flushed as each frame is tracked) and ``out_dir/track.mp4`` (the frames with the boxes drawn, codec
    'mp4v'). Returns the boxes.

    A previous run's ``boxes.txt`` and ``track.mp4`` are removed first: the folder never holds two runs' files.
    When a frame cannot be read or the tracker fails after the first frame, the video is closed (it plays, up to
    that frame), ``boxes.txt`` holds the boxes so far, and :class:`TrackingStopped` says how many frames were
    done (a frame whose size differs from the first frame's is such an error: the video has one size);
    an error on the first frame (an unreadable frame, a box outside it) is raised as it is, with no
    output left. Ctrl-C closes the files the same way and raises a KeyboardInterrupt saying how many frames
    were done. Runs without autograd, with :func:`~siamtrack.trackers.base.release_freed_memory` after each frame.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path, boxes_path = out_dir / "track.mp4", out_dir / "boxes.txt"
    for old_output in (boxes_path, video_path):
        old_output.unlink(missing_ok=True)
    writer, boxes_file, boxes = None, None, []
    outputs = f"boxes in {boxes_path}, video in {video_path}"
    try:
        with torch.no_grad():
            for index, image in enumerate(frames):
                if max_frames is not None and index >= max_frames:
                    break
                if index == 0:
                    tracker.init(image, box)
                    result = np.asarray(box, dtype=np.float64)
                    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), fps or 30.0,
                                             (image.shape[1], image.shape[0]))
                    if not writer.isOpened():
                        raise OSError(f"{video_path}: OpenCV cannot write an 'mp4v' video here")
                    boxes_file = open(boxes_path, "w")
                    first_shape = np.shape(image)[:2]
                else:
                    if np.shape(image)[:2] != first_shape:
                        raise FrameReadError(f"{frame_name(frames, index)}: frame is {_size(image)}, not "
                                             f"{first_shape[1]}x{first_shape[0]} as the first frame: all frames of "
                                             "a sequence must have one size")
                    result = np.asarray(tracker.update(image), dtype=np.float64)
                boxes.append(result)
                boxes_file.write(",".join(f"{value:.4f}" for value in result) + "\n")
                boxes_file.flush()
                writer.write(draw_box(image, result, f"{tracker.name} #{index}"))
                release_freed_memory()
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted after {len(boxes)} frames ({outputs})") from None
    except Exception as error:
        if not boxes:
            raise
        reason = (str(error).strip().splitlines() or [""])[0]
        if not isinstance(error, FrameReadError):
            reason = f"{type(error).__name__}: {reason}"
        raise TrackingStopped(f"{reason}; stopped after {len(boxes)} frames ({outputs})", len(boxes)) from error
    finally:
        if writer is not None:
            writer.release()
        if boxes_file is not None:
            boxes_file.close()
    if not boxes:
        raise FrameReadError("no frames to track")
    return np.array(boxes)


# ------------------------------------------------------------------------------------------------ speed


def time_tracker(tracker: Tracker, sequence: Sequence, max_frames: int, runs: int) -> float:
    """Median over ``runs`` of the frames per second of ``tracker`` on the first ``max_frames`` frames of
    ``sequence`` (decoding excluded: frames are read once, before timing; ``init`` excluded)."""
    frames = [sequence.frames[i] for i in range(min(max_frames, len(sequence)))]
    if len(frames) < 2:
        raise ValueError(f"{sequence.name}: need at least 2 frames to time a tracker")
    rates = []
    for _ in range(runs):
        tracker.init(frames[0], sequence.init_box)
        start = time.perf_counter()
        for image in frames[1:]:
            tracker.update(image)
        rates.append((len(frames) - 1) / (time.perf_counter() - start))
    return float(np.median(rates))


def format_table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table."""
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def track_video(source: str | os.PathLike, box, tracker: str | Tracker | None = None, weights=None,
                out: str | os.PathLike | None = None, max_frames: int | None = None, **params) -> np.ndarray:
    """Track one target through a video file or a folder of frames; returns the ``(N, 4)`` 0-based
    ``x, y, w, h`` boxes (row 0 is ``box``).

    ``source``: a video file (read by :class:`~siamtrack.data.sequence.VideoFile`) or a folder of image files
    (:func:`folder_frames`, natural name order). ``box``: the target in the first frame, ``(x, y, w, h)`` or the
    string ``"x,y,w,h"``. ``tracker``: a registered name (default :data:`siamtrack.trackers.DEFAULT_TRACKER`) or a
    built :class:`Tracker`; ``weights`` and ``**params`` go to :func:`siamtrack.trackers.build_tracker`.
    ``out=None`` writes nothing; a folder writes ``boxes.txt`` and ``track.mp4`` there (:func:`track_to_folder`).
    """
    from siamtrack.data.sequence import VideoFile
    from siamtrack.trackers import DEFAULT_TRACKER, build_tracker

    box = parse_box(box) if isinstance(box, str) else parse_box(",".join(str(float(v)) for v in np.ravel(box)))
    if isinstance(tracker, Tracker):
        if weights is not None or params:
            raise TypeError("track_video: weights and hyper-parameters apply to a tracker name, not a built tracker")
    else:
        tracker = build_tracker(tracker or DEFAULT_TRACKER, weights=weights, **params)
    source = Path(source)
    frames = folder_frames(source) if source.is_dir() else VideoFile(str(source))
    if out is not None:
        return track_to_folder(tracker, frames, box, out, fps=getattr(frames, "fps", None) or 30.0,
                               max_frames=max_frames)
    if max_frames is not None:
        frames = (frame for index, frame in zip(range(max_frames), frames))
    boxes, _ = tracker.track(frames, box)
    return boxes
