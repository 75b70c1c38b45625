"""The bundled demo clip: a synthetic video rendered by this module, with exact ground truth.

The clip is made here, from code (no third-party footage), so the package may ship it. A textured target
(a patterned ellipse with a small logo-like cross) moves along a smooth Lissajous path over a textured,
slowly panning background, changes size by up to ±30 %, and is briefly occluded by a moving bar, so a tracker
has something real to do. ``render_demo_frames`` is deterministic for a given seed; the shipped
``assets/demo.mp4`` + ``assets/demo.txt`` were written by ``python -m siamtrack.demo``.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

ASSETS = Path(__file__).resolve().parent / "assets"
DEMO_VIDEO = ASSETS / "demo.mp4"
DEMO_GROUND_TRUTH = ASSETS / "demo.txt"


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Value noise in [0, 1]: random values on a coarse grid, bicubically upsampled."""
    coarse = rng.random((height // cell + 3, width // cell + 3, 3)).astype(np.float32)
    big = cv2.resize(coarse, ((width // cell + 3) * cell, (height // cell + 3) * cell), interpolation=cv2.INTER_CUBIC)
    return np.clip(big[:height, :width], 0, 1)


def _target_sprite(rng: np.random.Generator, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """An RGB sprite and its alpha mask: a striped ellipse with a cross, distinct from the background."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    centre = (size - 1) / 2
    radius_x, radius_y = size * 0.48, size * 0.36
    inside = ((xx - centre) / radius_x) ** 2 + ((yy - centre) / radius_y) ** 2 <= 1.0
    stripes = (np.sin((xx + 0.6 * yy) / size * 5 * np.pi) > 0).astype(np.float32)
    sprite = np.zeros((size, size, 3), np.float32)
    sprite[..., 0] = 0.85 * stripes + 0.1
    sprite[..., 1] = 0.25 + 0.2 * (1 - stripes)
    sprite[..., 2] = 0.15 + 0.6 * (1 - stripes)
    cross = (np.abs(xx - centre) < size * 0.06) | (np.abs(yy - centre) < size * 0.06)
    sprite[cross & inside] = (0.95, 0.95, 0.2)
    sprite += rng.normal(0, 0.03, sprite.shape).astype(np.float32)
    return np.clip(sprite, 0, 1), inside.astype(np.float32)


def render_demo_frames(num_frames: int = 150, width: int = 320, height: int = 240, seed: int = 7):
    """Render the demo clip. Returns ``(frames, boxes)``: a list of RGB ``uint8`` frames and ``(N, 4)``
    0-based ``x, y, w, h`` ground truth (the sprite's tight ellipse box, exact by construction)."""
    rng = np.random.default_rng(seed)
    background = _smooth_noise(rng, height * 2, width * 2, 24) * 0.6 + 0.2
    background = 0.5 * background + 0.5 * _smooth_noise(rng, height * 2, width * 2, 6) * 0.5
    sprite, alpha = _target_sprite(rng)
    sprite_size = sprite.shape[0]
    frames, boxes = [], []
    for t in range(num_frames):
        phase = 2 * np.pi * t / num_frames
        pan_x = int(round(width / 2 * (1 - np.cos(phase)) / 2))
        pan_y = int(round(height / 4 * (1 - np.cos(2 * phase)) / 2))
        frame = background[pan_y : pan_y + height, pan_x : pan_x + width].copy()
        scale = 0.55 * (1.0 + 0.3 * np.sin(1.5 * phase))
        side = max(int(round(sprite_size * scale)), 8)
        cx = width / 2 + width * 0.3 * np.sin(phase)
        cy = height / 2 + height * 0.25 * np.sin(2 * phase + 0.5)
        resized = cv2.resize(sprite, (side, side), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(alpha, (side, side), interpolation=cv2.INTER_AREA)[..., None]
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        region = frame[y0 : y0 + side, x0 : x0 + side]
        frame[y0 : y0 + side, x0 : x0 + side] = mask * resized + (1 - mask) * region
        # occluding bar crossing the scene in the middle of the clip
        bar_x = int((t - num_frames * 0.45) * 6)
        if 0 <= bar_x < width:
            frame[:, bar_x : bar_x + 14] = (0.3, 0.3, 0.32)
        frames.append((np.clip(frame, 0, 1) * 255).astype(np.uint8))
        # exact tight box of the ellipse inside the sprite square
        box_w, box_h = side * 0.96, side * 0.72
        boxes.append([x0 + (side - box_w) / 2, y0 + (side - box_h) / 2, box_w, box_h])
    return frames, np.array(boxes, dtype=np.float64)


def write_demo(
    video_path: str | os.PathLike = DEMO_VIDEO,
    ground_truth_path: str | os.PathLike = DEMO_GROUND_TRUTH,
    fps: float = 25.0,
) -> None:
    """Render the demo clip and write it as MP4 (``mp4v``) plus a 0-based ``x,y,w,h`` ground-truth file."""
    frames, boxes = render_demo_frames()
    height, width = frames[0].shape[:2]
    os.makedirs(os.path.dirname(os.fspath(video_path)) or ".", exist_ok=True)
    writer = cv2.VideoWriter(os.fspath(video_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"{video_path}: OpenCV cannot open an mp4v writer")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    np.savetxt(ground_truth_path, boxes, fmt="%.2f", delimiter=",")


if __name__ == "__main__":
    write_demo()
    print(f"wrote {DEMO_VIDEO} ({DEMO_VIDEO.stat().st_size} bytes) and {DEMO_GROUND_TRUTH}")
