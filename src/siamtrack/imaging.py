"""Frame reading and sub-window crops. Inside siamtrack an image is an RGB ``uint8`` array of shape ``H x W x 3``.

Grayscale, 16-bit, palette and 4-channel files all come back as 3-channel RGB ``uint8``.
Trackers that need BGR or mean-subtracted floats (weights trained that way) convert in their own
preprocessing.

:func:`crop_window` is the one crop of the Siamese trackers and of training (curation and augmentation):
an axis-aligned window resampled by one ``cv2.warpAffine``, padded with a constant colour (by default the
image's mean colour, as SiamFC pads); :func:`window_box` says where a box lands in such a crop.
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


_JPEG_START, _JPEG_END = b"\xff\xd8", b"\xff\xd9"
_PNG_START, _PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC
_PADDING = b"\x00 \t\r\n"


def check_complete_file(path: str) -> None:
    """A :class:`FrameReadError` naming ``path`` where a JPEG does not end with its end-of-image marker
    ``FF D9`` or a PNG with its ``IEND`` chunk (trailing zero/whitespace padding allowed): a file cut short.
    OpenCV decodes such a file without an error (libjpeg only warns on stderr, the missing rows come out grey),
    and a tracker fed that frame loses the target. Other formats are not checked."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(8)
            handle.seek(max(os.fstat(handle.fileno()).st_size - 64, 0))
            end = handle.read().rstrip(_PADDING)
    except OSError as error:
        raise FrameReadError(f"{path}: cannot read frame file ({error.strerror})") from None
    if start.startswith(_JPEG_START) and not end.endswith(_JPEG_END):
        raise FrameReadError(f"{path}: truncated JPEG (no end-of-image marker FF D9 at the end of the file)")
    if start.startswith(_PNG_START) and not end.endswith(_PNG_END):
        raise FrameReadError(f"{path}: truncated PNG (no IEND chunk at the end of the file)")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read one image file as RGB ``uint8`` (palette images are expanded by OpenCV's decoder). A JPEG or PNG
    cut short is an error (:func:`check_complete_file`), not a partly grey frame."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FrameReadError(f"{path}: frame file does not exist")
    check_complete_file(path)
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FrameReadError(f"{path}: not a readable image (OpenCV could not decode it)")
    return to_rgb_uint8(image, path)


def rgb_to_bgr(image: np.ndarray) -> np.ndarray:
    """RGB -> BGR (for weights trained on OpenCV-ordered input, e.g. DCFNet's ``param.pth``)."""
    return np.ascontiguousarray(image[:, :, ::-1])


def crop_window(image: np.ndarray, center, window, out_size, border_value=None) -> np.ndarray:
    """Resample the axis-aligned window of size ``window = (w, h)`` (source pixels; a scalar for a square)
    centred at ``center = (cx, cy)`` to ``out_size`` (an int or ``(width, height)``) with bilinear
    interpolation, by one ``cv2.warpAffine``; outside the image, ``border_value`` (default: the image's
    per-channel mean colour, as SiamFC pads).

    Coordinates are continuous with pixel ``i`` covering ``[i, i + 1)``: output column ``u`` samples image
    position ``cx + (u + 0.5 - out_w/2)·w/out_w`` (rows likewise), i.e. OpenCV pixel index (OpenCV puts pixel
    centres at integers) that minus 0.5. An unscaled crop whose corner ``center - window/2`` is integer is
    therefore an exact slice of the image.
    """
    out_w, out_h = (out_size, out_size) if np.isscalar(out_size) else out_size
    window = np.broadcast_to(np.asarray(window, dtype=np.float64), (2,))
    if not np.all(np.isfinite(window)) or np.any(window <= 0):
        raise ValueError(f"crop window must have a positive finite size, got {tuple(window)}")
    if border_value is None:
        border_value = cv2.mean(image)[: image.shape[-1]]  # per-channel mean, 50x faster than numpy's
    scale_x, scale_y = window[0] / out_w, window[1] / out_h
    matrix = np.array(
        [
            [scale_x, 0.0, center[0] - 0.5 + (0.5 - out_w / 2.0) * scale_x],
            [0.0, scale_y, center[1] - 0.5 + (0.5 - out_h / 2.0) * scale_y],
        ]
    )
    return cv2.warpAffine(
        image,
        matrix,
        (int(out_w), int(out_h)),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=tuple(float(v) for v in border_value),
    )


def window_box(box, center, window, out_size) -> np.ndarray:
    """Where ``box`` (``x, y, w, h`` in source pixels) lands in the output of :func:`crop_window` with the
    same arguments."""
    out_w, out_h = (out_size, out_size) if np.isscalar(out_size) else out_size
    box = np.asarray(box, dtype=np.float64)
    window = np.broadcast_to(np.asarray(window, dtype=np.float64), (2,))
    scale = np.array([out_w, out_h]) / window
    top_left = (box[:2] - np.asarray(center, dtype=np.float64)) * scale + np.array([out_w, out_h]) / 2.0
    return np.concatenate([top_left, box[2:] * scale])
