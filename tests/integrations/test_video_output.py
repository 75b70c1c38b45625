"""The annotated ``track.mp4``: H.264 ``yuv420p`` with its index at the front (what browsers play and stream),
one frame per tracked frame, each the source frame with the box drawn; odd frame sizes padded by one pixel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from siamtrack.data.sequence import VideoFile
from siamtrack.demo import DEMO_GROUND_TRUTH, DEMO_VIDEO
from siamtrack.integrations.video import H264Writer, draw_box

SCRIPT = Path(sys.executable).with_name("siamtrack")  # the installed console script of this venv


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(error, 1e-12)))


def top_level_boxes(path: Path) -> list[str]:
    """The types of the top-level MP4 boxes (atoms) of ``path``, in file order."""
    data, position, kinds = path.read_bytes(), 0, []
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        kinds.append(data[position + 4 : position + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[position + 8 : position + 16], "big")
        assert size >= 8, f"{path}: bad box size {size} at {position}"
        position += size
    return kinds


def decode(path: Path) -> tuple[str, str, list[np.ndarray]]:
    """Codec name, pixel format and the BGR frames of ``path``, read with PyAV (FFmpeg)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec, pix_fmt = stream.codec_context.name, stream.codec_context.pix_fmt
        frames = [frame.to_ndarray(format="bgr24") for frame in container.decode(stream)]
    return codec, pix_fmt, frames


def test_track_writes_h264_that_holds_every_tracked_frame_with_its_box(tmp_path):
    ground_truth = np.loadtxt(DEMO_GROUND_TRUTH, delimiter=",", ndmin=2)
    box = ",".join(f"{v:.2f}" for v in ground_truth[0])
    out = tmp_path / "run"
    result = subprocess.run(
        [
            str(SCRIPT),
            "track",
            "--tracker",
            "dcfnet",
            "--video",
            str(DEMO_VIDEO),
            "--box",
            box,
            "--out",
            str(out),
            "--max-frames",
            "12",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    boxes = np.loadtxt(out / "boxes.txt", delimiter=",", ndmin=2)
    assert boxes.shape == (12, 4)

    video = out / "track.mp4"
    codec, pix_fmt, frames = decode(video)
    assert (codec, pix_fmt) == ("h264", "yuv420p")
    assert len(frames) == len(boxes)
    kinds = top_level_boxes(video)
    assert "moov" in kinds and "mdat" in kinds and kinds.index("moov") < kinds.index("mdat"), kinds  # +faststart

    source = VideoFile(str(DEMO_VIDEO))
    for index in (0, 6, 11):
        expected = draw_box(source[index], boxes[index], f"dcfnet #{index}")
        plain = cv2.cvtColor(source[index], cv2.COLOR_RGB2BGR)
        assert frames[index].shape == expected.shape == (240, 320, 3)
        # the decoded frame is the source frame with the box drawn, up to the encoder's loss (yuv420p halves the
        # colour resolution, which blurs the 2-pixel yellow lines: 30 dB over the frame, 37-39 dB away from them;
        # two consecutive frames of the clip are 24 dB apart)
        assert psnr(frames[index], expected) > 28.0
        assert psnr(frames[index], expected) > psnr(frames[index], plain) + 3.0
        x, y, w, h = (int(round(v)) for v in boxes[index])
        away = np.ones((240, 320), bool)
        away[:40] = False  # the text
        away[max(y - 4, 0) : y + h + 4, max(x - 4, 0) : x + w + 4] = False
        assert psnr(frames[index][away], expected[away]) > 34.0
        # a pixel in the middle of the box's top edge is the box colour (yellow in BGR)
        b, g, r = frames[index][y, x + w // 2].astype(int)
        assert g > 180 and r > 180 and b < 110, (index, (b, g, r))


def test_odd_frame_size_is_padded_by_one_pixel(tmp_path):
    rng = np.random.default_rng(3)
    height, width = 45, 61
    images = [cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (9, 9), 3) for _ in range(5)]
    path = tmp_path / "odd.mp4"
    with H264Writer(path, width, height, fps=12.5) as writer:
        assert writer.padded
        for image in images:
            writer.write(image)
        with pytest.raises(ValueError, match="frame is 60x45, the video 61x45"):
            writer.write(images[0][:, :60])
    assert writer.frames == 5
    codec, pix_fmt, frames = decode(path)
    assert (codec, pix_fmt) == ("h264", "yuv420p") and len(frames) == 5
    assert frames[0].shape == (height + 1, width + 1, 3)
    for frame, image in zip(frames, images):
        assert psnr(frame[:height, :width], image) > 32.0
        # the added row and column repeat the last ones
        assert psnr(frame[height, :width], frame[height - 1, :width]) > 30.0
        assert psnr(frame[:height, width], frame[:height, width - 1]) > 30.0
    with av.open(str(path)) as container:
        assert container.streams.video[0].average_rate == 12.5


def test_even_frame_size_is_kept_and_close_is_idempotent(tmp_path):
    path = tmp_path / "even.mp4"
    writer = H264Writer(path, 64, 48, fps=25.0)
    assert not writer.padded
    writer.write(np.full((48, 64, 3), 90, np.uint8))
    writer.close()
    writer.close()
    codec, _, frames = decode(path)
    assert codec == "h264" and len(frames) == 1 and frames[0].shape == (48, 64, 3)
    assert np.abs(frames[0].astype(int) - 90).max() <= 6
