"""Tracking a video file, a folder of frames or a camera, writing ``boxes.txt`` and an annotated MP4
(what ``siamtrack track`` does), and timing trackers on real sequences (what ``siamtrack bench`` does; OpenCV's
CSRT/KCF are registered trackers, :mod:`siamtrack.trackers.opencv`).

The annotated video is H.264 (``yuv420p``) in an MP4 whose index (``moov``) is at the front, which is what web
browsers play and stream; :class:`H264Writer` encodes it in-process with PyAV (``av``), whose wheels carry their
own FFmpeg with the libx264 encoder. OpenCV's own writer is not used: its wheels write MPEG-4 part 2 (``mp4v``),
which browsers do not play, because they carry no H.264 encoder.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import torch

from siamtrack.data.sequence import ImageFiles, Sequence
from siamtrack.imaging import FrameReadError, rgb_to_bgr, to_rgb_uint8
from siamtrack.trackers.base import Tracker, keep_freed_memory, release_freed_memory

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
    paths = sorted(
        (p for p in directory.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS), key=lambda p: natural_key(p.name)
    )
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


# H.264 encoders an FFmpeg build may hold, best first (PyAV's wheels have libx264)
H264_ENCODERS = ("libx264", "libopenh264")


def h264_encoder() -> str:
    """The name of the first H.264 encoder of :data:`H264_ENCODERS` that PyAV's FFmpeg has."""
    import av

    for name in H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # av.codec.codec.UnknownCodecError (its module moved between PyAV versions)
            continue
        return name
    raise RuntimeError(
        f"PyAV {av.__version__}'s FFmpeg has no H.264 encoder ({', '.join(H264_ENCODERS)}): "
        "install a PyAV wheel from PyPI (`pip install av`), which carries libx264"
    )


class H264Writer:
    """An H.264 MP4 written frame by frame (PyAV, ``libx264``; ``yuv420p``, the format browsers decode).

    ``yuv420p`` halves the colour resolution, so the encoded picture has even sides: a frame of odd width or height
    is padded by one column or row (a copy of its last one) on the right or bottom; :attr:`padded` says whether it
    was. The file is finished by :meth:`close` (the encoder's delayed frames written, then the index moved to the
    front of the file, ``movflags=+faststart``, so a browser starts playing before it has the whole file): a run
    that stops early must close it, as :func:`track_to_folder` does, and the video then holds every frame written.
    ``crf`` (0-51, lower is better; 18-23 look the same as the source) and ``preset`` are libx264's; with
    ``libopenh264`` (an FFmpeg without libx264) they are not used.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: float = 30.0,
        crf: int = 18,
        preset: str = "veryfast",
    ):
        import av

        if width < 1 or height < 1:
            raise ValueError(f"{path}: a video frame must be at least 1x1, got {width}x{height}")
        self.path, self.width, self.height = Path(path), int(width), int(height)
        self.padded = bool(self.width % 2 or self.height % 2)
        self.frames = 0
        encoder = h264_encoder()
        rate = Fraction(fps if fps and fps > 0 else 30.0).limit_denominator(1001)
        self._container = av.open(os.fspath(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            self._stream = self._container.add_stream(encoder, rate=rate)
            self._stream.width, self._stream.height = self.width + self.width % 2, self.height + self.height % 2
            self._stream.pix_fmt = "yuv420p"
            # tagged as what write() converts to: BT.601 (SMPTE 170M) limited range, so players do not guess
            for name, value in (("colorspace", 6), ("color_primaries", 6), ("color_trc", 6), ("color_range", 1)):
                if hasattr(self._stream.codec_context, name):
                    setattr(self._stream.codec_context, name, value)
            if encoder == "libx264":
                self._stream.options = {"crf": str(int(crf)), "preset": preset}
        except Exception:
            self._container.close()
            raise

    def write(self, image_bgr: np.ndarray) -> None:
        """Append one ``height x width`` BGR ``uint8`` frame."""
        import av

        if image_bgr.shape[:2] != (self.height, self.width):
            raise ValueError(f"{self.path}: frame is {_size(image_bgr)}, the video {self.width}x{self.height}")
        if self.padded:
            image_bgr = cv2.copyMakeBorder(image_bgr, 0, self.height % 2, 0, self.width % 2, cv2.BORDER_REPLICATE)
        # OpenCV's BGR -> I420 (BT.601, limited range) is accurate to +-1 level; FFmpeg's swscale default path, which
        # the encoder would use on a bgr24 frame, is off by up to 4 levels (3-5 dB lower PSNR before encoding)
        yuv = cv2.cvtColor(np.ascontiguousarray(image_bgr), cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self.frames
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Write the frames the encoder still holds and finish the file (idempotent)."""
        if self._container is None:
            return
        container, self._container = self._container, None
        try:
            for packet in self._stream.encode(None):
                container.mux(packet)
        finally:
            container.close()

    def __enter__(self) -> H264Writer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


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


def track_to_folder(
    tracker: Tracker,
    frames: Iterable[np.ndarray],
    box,
    out_dir: str | os.PathLike,
    fps: float = 30.0,
    max_frames: int | None = None,
) -> np.ndarray:
    """Track ``frames`` from ``box`` and write ``out_dir/boxes.txt`` (one 0-based ``x,y,w,h`` per frame, written
    and flushed as each frame is tracked) and ``out_dir/track.mp4`` (the frames with the boxes drawn, H.264 that
    browsers play: :class:`H264Writer`; a frame of odd width or height is padded by one pixel). Returns the boxes.

    A previous run's ``boxes.txt`` and ``track.mp4`` are removed first: the folder never holds two runs' files.
    When a frame cannot be read or the tracker fails after the first frame, the video is closed (it plays, up to
    that frame), ``boxes.txt`` holds the boxes so far, and :class:`TrackingStopped` says how many frames were
    done (a frame whose size differs from the first frame's is such an error: the video has one size);
    an error on the first frame (an unreadable frame, a box outside it) is raised as it is, with no
    output left. Ctrl-C closes the files the same way and raises a KeyboardInterrupt saying how many frames
    were done. Runs without autograd, applies :func:`~siamtrack.trackers.base.keep_freed_memory` (process-wide)
    first and calls :func:`~siamtrack.trackers.base.release_freed_memory` after each frame.
    """
    keep_freed_memory()  # opting in: see its doc
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
                    writer = H264Writer(video_path, image.shape[1], image.shape[0], fps or 30.0)
                    boxes_file = open(boxes_path, "w")
                    first_shape = np.shape(image)[:2]
                else:
                    if np.shape(image)[:2] != first_shape:
                        raise FrameReadError(
                            f"{frame_name(frames, index)}: frame is {_size(image)}, not "
                            f"{first_shape[1]}x{first_shape[0]} as the first frame: all frames of "
                            "a sequence must have one size"
                        )
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
            writer.close()
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

    def line(cells) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def track_video(
    source: str | os.PathLike,
    box,
    tracker: str | Tracker | None = None,
    weights=None,
    out: str | os.PathLike | None = None,
    max_frames: int | None = None,
    **params,
) -> np.ndarray:
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
        return track_to_folder(
            tracker, frames, box, out, fps=getattr(frames, "fps", None) or 30.0, max_frames=max_frames
        )
    if max_frames is not None:
        frames = (frame for index, frame in zip(range(max_frames), frames))
    boxes, _ = tracker.track(frames, box)
    return boxes
