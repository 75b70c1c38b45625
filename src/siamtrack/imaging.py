"""Frame reading. Inside siamtrack an image is an RGB ``uint8`` array of shape ``H x W x 3``.

Grayscale, 16-bit, palette and 4-channel files all come back as 3-channel RGB ``uint8``.
Trackers that need BGR or mean-subtracted floats (weights trained that way) convert in their own
preprocessing.
"""
from __future__ import annotations

import os

import cv2
import numpy as np


class FrameReadError(IOError):
    """A frame could not be read; the message names the file (and frame index where known)."""


def to_rgb_uint8(image: np.ndarray, source: str = "<array>") -> np.ndarray:
    """Normalise a decoded image (as OpenCV returns it: BGR/BGRA/gray, 8 or 16 bit) to RGB ``uint8``."""
    if image is None or image.size == 0:
        raise FrameReadError(f"{source}: empty image")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise FrameReadError(f"{source}: unsupported pixel type {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    raise FrameReadError(f"{source}: unsupported image shape {image.shape}")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read one image file as RGB ``uint8`` (palette images are expanded by OpenCV's decoder)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FrameReadError(f"{path}: frame file does not exist")
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FrameReadError(f"{path}: not a readable image (OpenCV could not decode it)")
    return to_rgb_uint8(image, path)


def rgb_to_bgr(image: np.ndarray) -> np.ndarray:
    """RGB -> BGR (for weights trained on OpenCV-ordered input, e.g. DCFNet's ``param.pth``)."""
    return np.ascontiguousarray(image[:, :, ::-1])
