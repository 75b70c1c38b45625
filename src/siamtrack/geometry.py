"""Boxes: the one internal convention is 0-based ``x, y, w, h`` in float pixels.

``x, y`` is the top-left corner of the box, so a box covering pixel columns 0..9 is ``(0, 0, 10, 10)``
and its centre is ``(5, 5)``. Converters to and from other conventions (1-based files, corner form,
polygons) live here and are used only at the edges (readers, writers, tracker-specific preprocessing).
Every function accepts a single box of shape ``(4,)`` or a stack of shape ``(N, 4)``.
"""

from __future__ import annotations

import numpy as np


def as_boxes(boxes) -> np.ndarray:
    """Return ``boxes`` as a float64 array of shape ``(N, 4)`` (a single box becomes ``(1, 4)``)."""
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"expected boxes of shape (4,) or (N, 4), got shape {np.shape(boxes)}")
    return array


def xywh_to_xyxy(boxes) -> np.ndarray:
    """``x, y, w, h`` -> ``x1, y1, x2, y2`` (``x2 = x + w``, exclusive right edge)."""
    array = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([array[..., :2], array[..., :2] + array[..., 2:]], axis=-1)


def xyxy_to_xywh(boxes) -> np.ndarray:
    """``x1, y1, x2, y2`` -> ``x, y, w, h``."""
    array = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([array[..., :2], array[..., 2:] - array[..., :2]], axis=-1)


def box_to_center(boxes) -> np.ndarray:
    """``x, y, w, h`` -> ``cx, cy, w, h`` with ``cx = x + w / 2``."""
    array = np.asarray(boxes, dtype=np.float64)
    return np.concatenate([array[..., :2] + array[..., 2:] / 2.0, array[..., 2:]], axis=-1)


def center_to_box(centers) -> np.ndarray:
    """``cx, cy, w, h`` -> ``x, y, w, h``."""
    array = np.asarray(centers, dtype=np.float64)
    return np.concatenate([array[..., :2] - array[..., 2:] / 2.0, array[..., 2:]], axis=-1)


def one_based_to_zero_based(boxes) -> np.ndarray:
    """Boxes from 1-based files (OTB, UAV123, TC128, LaSOT) -> 0-based: subtract 1 from ``x, y``."""
    array = np.array(boxes, dtype=np.float64)
    array[..., :2] -= 1.0
    return array


def zero_based_to_one_based(boxes) -> np.ndarray:
    """Inverse of :func:`one_based_to_zero_based`."""
    array = np.array(boxes, dtype=np.float64)
    array[..., :2] += 1.0
    return array


def polygon_to_box(polygons) -> np.ndarray:
    """Polygons ``x1, y1, ..., xk, yk`` -> their axis-aligned min/max bounding box ``x, y, w, h``.

    This is the conversion used by the VOT->OTB style evaluations (and by ``../shared/data/videos``):
    ``x = min(xs)``, ``w = max(xs) - min(xs)``. A 4-number row is taken to be a box already and returned
    unchanged. Rows of NaN stay NaN.
    """
    array = np.asarray(polygons, dtype=np.float64)
    single = array.ndim == 1
    if single:
        array = array[None, :]
    if array.shape[-1] == 4:
        out = array.copy()
    else:
        if array.shape[-1] < 6 or array.shape[-1] % 2:
            raise ValueError(f"a polygon needs an even number (>= 6) of coordinates, got {array.shape[-1]}")
        xs, ys = array[:, 0::2], array[:, 1::2]
        x1, y1 = xs.min(axis=1), ys.min(axis=1)
        out = np.stack([x1, y1, xs.max(axis=1) - x1, ys.max(axis=1) - y1], axis=1)
    return out[0] if single else out


def box_iou(boxes_a, boxes_b, plus_one: bool = False) -> np.ndarray:
    """Element-wise intersection-over-union of two equally long stacks of ``x, y, w, h`` boxes.

    ``plus_one=True`` is the inclusive-corner convention of several MATLAB-derived toolkits: the corners
    ``x1 = x, x2 = x + w`` are both inside the box, so a box spans ``w + 1`` pixels and overlaps are
    ``min(x2) - max(x1) + 1``. (OTB's own ``calcRectInt`` uses ``x2 = x + w - 1`` with ``+1``, which is
    algebraically the plain IoU.) Rows where either box holds NaN give NaN; protocols decide what NaN means.
    """
    a, b = as_boxes(boxes_a), as_boxes(boxes_b)
    if a.shape != b.shape:
        raise ValueError(f"box stacks differ in length: {a.shape[0]} vs {b.shape[0]}")
    extra = 1.0 if plus_one else 0.0
    with np.errstate(invalid="ignore"):
        overlap_w = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]) + extra
        overlap_h = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]) + extra
        inter = np.clip(overlap_w, 0, None) * np.clip(overlap_h, 0, None)
        union = (a[:, 2] + extra) * (a[:, 3] + extra) + (b[:, 2] + extra) * (b[:, 3] + extra) - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    nan_rows = np.isnan(a).any(axis=1) | np.isnan(b).any(axis=1)
    iou[nan_rows] = np.nan
    return iou
