"""A real image translated by a known step per frame: a tracker that follows it has a closed-form trajectory.

The frames are 320x240 windows of OTB DragonBaby's first frame (read in place from ../shared), each window moved by
``-step`` from the previous one, so the image content (and any box on it) moves by exactly ``+step`` pixels per
frame. Whatever the tracker locks on to inside :data:`TRANSLATED_BOX` (a textured 40x40 patch of the scene), the box
centre it should report on frame ``k`` is the initial centre plus ``k * step``. A score map read the wrong way round
(flipped, transposed, off by its centre) sends the box the other way or nowhere: over 10 frames the content moves
~32 px.
"""

from __future__ import annotations

import cv2
import numpy as np

from conftest import shared_path

TRANSLATION_STEP = (3.0, 2.0)  # pixels per frame (x, y)
TRANSLATED_BOX = np.array([140.0, 100.0, 40.0, 40.0])  # x, y, w, h on frame 0


def translated_frames(count: int = 10, step=TRANSLATION_STEP) -> list[np.ndarray]:
    """``count`` RGB frames whose content moves by ``step`` (integers) pixels per frame."""
    from siamtrack.imaging import read_image

    image = read_image(shared_path("data", "benchmarks", "OTB", "DragonBaby", "img", "0001.jpg"))  # 360 x 640
    dx, dy = (int(v) for v in step)
    frames = []
    for index in range(count):
        x0, y0 = 200 - index * dx, 60 - index * dy
        assert 0 <= x0 <= image.shape[1] - 320 and 0 <= y0 <= image.shape[0] - 240, "window leaves the image"
        frames.append(np.ascontiguousarray(image[y0 : y0 + 240, x0 : x0 + 320]))
    return frames


def centre_errors(boxes, step=TRANSLATION_STEP) -> np.ndarray:
    """Distance in pixels of each box's centre from where the translated content's centre is on that frame."""
    boxes = np.asarray(boxes, dtype=np.float64)
    expected = TRANSLATED_BOX[:2] + TRANSLATED_BOX[2:] / 2 + np.outer(np.arange(len(boxes)), step)
    return np.hypot(*(boxes[:, :2] + boxes[:, 2:] / 2 - expected).T)


def moving_square(count: int, width: int = 128, height: int = 96) -> tuple[list[np.ndarray], np.ndarray]:
    """``count`` synthetic frames (no ../shared needed): a textured 24x20 square moving by (3, 2) pixels per frame
    over blocky noise, and its 0-based ``x, y, w, h`` boxes. The same seed every call, so datasets written from it
    by different tests hold the same pixels."""
    rng = np.random.default_rng(0)
    background = cv2.resize(
        rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (width, height), interpolation=cv2.INTER_NEAREST
    )
    square = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    frames, boxes = [], []
    for index in range(count):
        image, x, y = background.copy(), 30 + 3 * index, 30 + 2 * index
        image[y : y + 20, x : x + 24] = square
        frames.append(image)
        boxes.append([x, y, 24, 20])
    return frames, np.array(boxes, dtype=np.float64)
