"""Per-frame overlaps of predicted boxes with the ground truth, in each toolkit's measure.

``"continuous"`` and ``"plus_one"`` are :func:`siamtrack.geometry.box_iou`; ``"raster"`` is the VOT
pixel-mask overlap (:func:`raster_overlaps`), which is what the vot-toolkit (``vot.region.raster``) and
pysot's ``vot_overlap`` compute: both regions are rounded to whole pixels, drawn as masks inside the image
and the IoU of the masks is counted.
"""

from __future__ import annotations

import numpy as np

from siamtrack.geometry import as_boxes, box_iou

_EMPTY_BOUNDS = (0, 0, 0, 0)  # the vot-toolkit's bounds of an empty (special/NaN) region


def clip_boxes_to_image(boxes, image_size) -> np.ndarray:
    """Clip ``x, y, w, h`` boxes to the image ``(width, height)``: ``x`` to ``[0, W]``, then ``w`` to
    ``[0, W - x]`` (likewise ``y``/``h``) — got10k's ``rect_iou(..., bound=resolution)``."""
    width, height = image_size
    out = as_boxes(boxes).copy()
    out[:, 0] = np.clip(out[:, 0], 0, width)
    out[:, 1] = np.clip(out[:, 1], 0, height)
    out[:, 2] = np.clip(out[:, 2], 0, width - out[:, 0])
    out[:, 3] = np.clip(out[:, 3], 0, height - out[:, 1])
    return out


def overlaps(
    predictions, ground_truth, kind: str, image_size=None, clip_to_image: bool = False, polygons=None
) -> np.ndarray:
    """IoU of each prediction with its ground truth under the measure ``kind``.

    Args:
        predictions: ``(N, 4)`` boxes; NaN rows give NaN (``"continuous"``/``"plus_one"``) or an empty region
            (``"raster"``, overlap 0 with any non-empty ground truth).
        ground_truth: ``(N, 4)`` boxes.
        kind: ``"continuous"``, ``"plus_one"`` or ``"raster"``.
        image_size: ``(width, height)``; required by ``"raster"`` and ``clip_to_image``.
        clip_to_image: clip both boxes to the image first (ignored by ``"raster"``, which is always bounded).
        polygons: ``(N, 2k)`` polygon ground truth; used instead of ``ground_truth`` by ``"raster"``.
    """
    predictions, ground_truth = as_boxes(predictions), as_boxes(ground_truth)
    if kind == "raster":
        if image_size is None:
            raise ValueError("raster overlaps need the image size (width, height)")
        return raster_overlaps(predictions, ground_truth if polygons is None else polygons, image_size)
    if kind not in ("continuous", "plus_one"):
        raise ValueError(f"unknown overlap measure {kind!r}")
    if clip_to_image:
        if image_size is None:
            raise ValueError("clip_to_image needs the image size (width, height)")
        predictions, ground_truth = (
            clip_boxes_to_image(predictions, image_size),
            clip_boxes_to_image(ground_truth, image_size),
        )
    # clipped to [0, 1] like got10k/pysot: rounding can push the IoU of identical boxes a hair above 1
    return np.clip(box_iou(predictions, ground_truth, plus_one=kind == "plus_one"), 0.0, 1.0)


def raster_overlaps(regions_a, regions_b, image_size) -> np.ndarray:
    """The vot-toolkit's bounded pixel-mask overlap of two equally long lists of regions.

    Each row is a rectangle ``x, y, w, h`` (4 values) or a polygon ``x1, y1, ..., xk, yk``; a row holding NaN
    is an empty region. Conventions reproduced from ``vot.region.raster.calculate_overlap``:

    * coordinates are stored as float32 and rounded half-to-even (``np.round``); a rectangle covers the
      pixel columns ``x .. x + w - 1`` and rows ``y .. y + h - 1``; a polygon is scan-converted row by row
      (crossings truncated to integers, each span filled inclusively);
    * masks are drawn only inside the union of both regions' pixel bounds, clipped to the image
      ``[0, width - 1] x [0, height - 1]``; the overlap is ``|A & B| / |A | B|``;
    * when that union box is degenerate (``x1 >= x2`` or ``y1 >= y2``, e.g. two empty regions) the
      overlap is 1; when its clipped box is degenerate (both regions outside the image) it is 0.
    """
    regions_a, regions_b = _as_regions(regions_a), _as_regions(regions_b)
    if len(regions_a) != len(regions_b):
        raise ValueError(f"region lists differ in length: {len(regions_a)} vs {len(regions_b)}")
    width, height = int(image_size[0]), int(image_size[1])
    return np.array([_raster_overlap(a, b, width, height) for a, b in zip(regions_a, regions_b)], dtype=np.float64)


def _as_regions(regions) -> np.ndarray:
    array = np.asarray(regions, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or not (array.shape[1] == 4 or (array.shape[1] >= 6 and array.shape[1] % 2 == 0)):
        raise ValueError(f"regions must be (N, 4) rectangles or (N, 2k >= 6) polygons, got shape {array.shape}")
    # float32 storage and half-to-even rounding, as vot.region.shapes / raster._infer_meta do
    return np.round(array.astype(np.float32)).astype(np.float64)


def _bounds(region: np.ndarray) -> tuple[int, int, int, int]:
    if np.isnan(region).any():
        return _EMPTY_BOUNDS
    if len(region) == 4:
        x, y, w, h = region
        return int(x), int(y), int(x + w - 1), int(y + h - 1)
    xs, ys = region[0::2], region[1::2]
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _raster_overlap(a: np.ndarray, b: np.ndarray, width: int, height: int) -> float:
    bounds_a, bounds_b = _bounds(a), _bounds(b)
    union = (
        min(bounds_a[0], bounds_b[0]),
        min(bounds_a[1], bounds_b[1]),
        max(bounds_a[2], bounds_b[2]),
        max(bounds_a[3], bounds_b[3]),
    )
    if union[0] >= union[2] or union[1] >= union[3]:
        return 1.0  # two empty regions are identical
    window = (max(0, union[0]), max(0, union[1]), min(width - 1, union[2]), min(height - 1, union[3]))
    if window[0] >= window[2] or window[1] >= window[3]:
        return 0.0
    mask_a, mask_b = _rasterize(a, window), _rasterize(b, window)
    union_count = np.count_nonzero(mask_a | mask_b)
    return float(np.count_nonzero(mask_a & mask_b)) / union_count if union_count else 0.0


def _rasterize(region: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """Boolean mask of ``region`` over the pixel window ``(x1, y1, x2, y2)`` (inclusive)."""
    mask_width, mask_height = window[2] - window[0] + 1, window[3] - window[1] + 1
    mask = np.zeros((mask_height, mask_width), dtype=bool)
    if np.isnan(region).any():
        return mask
    if len(region) == 4:
        x, y, w, h = (int(v) for v in region)
        left, right = max(x, window[0]), min(x + w - 1, window[2])
        top, bottom = max(y, window[1]), min(y + h - 1, window[3])
        if left <= right and top <= bottom:
            mask[top - window[1] : bottom - window[1] + 1, left - window[0] : right - window[0] + 1] = True
        return mask
    return _rasterize_polygon(region.reshape(-1, 2) - np.array([window[0], window[1]]), mask)


def _rasterize_polygon(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Scan-line fill of a polygon (integer-valued ``points`` relative to the mask), every row at once.

    Row ``y`` collects one crossing per edge whose y-range contains ``y`` (horizontal edges on the row give
    their start ``x``), truncated towards zero and sorted; spans between consecutive pairs are filled,
    except that two equal crossings that are not the last pair are merged into one (a vertex on the row).
    """
    height, width = mask.shape
    x_i, y_i = points[:, 0], points[:, 1]
    x_j, y_j = np.roll(x_i, 1), np.roll(y_i, 1)  # edge i runs from vertex i-1 (j) to vertex i
    rows = np.arange(height, dtype=np.float64)[:, None]
    crosses = (np.minimum(y_i, y_j) <= rows) & (rows <= np.maximum(y_i, y_j))
    rise, run = y_j - y_i, x_j - x_i
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(rise != 0, x_i + (rows - y_i) / np.where(rise != 0, rise, 1.0) * run, x_i)
    sentinel = 2**62  # sorts after every real crossing
    nodes = np.sort(np.where(crosses, np.trunc(crossing), np.inf), axis=1)
    nodes = np.where(np.isfinite(nodes), nodes, sentinel).astype(np.int64)
    counts = crosses.sum(axis=1)

    position = np.zeros(height, dtype=np.int64)
    active = np.ones(height, dtype=bool)
    starts, ends, span_rows = [], [], []
    row_index = np.arange(height)
    for _ in range(points.shape[0]):
        live = active & (position < counts - 1)
        if not live.any():
            break
        first = nodes[row_index, np.minimum(position, nodes.shape[1] - 1)]
        second = nodes[row_index, np.minimum(position + 1, nodes.shape[1] - 1)]
        stop = live & (first >= width)
        active &= ~stop
        live &= ~stop
        merge = live & (first == second) & (position < counts - 2)
        fill = live & ~merge & (second >= 0)
        span_rows.append(row_index[fill])
        starts.append(np.maximum(first[fill], 0))
        ends.append(np.minimum(second[fill], width - 1))
        position += np.where(merge, 1, np.where(live, 2, 0))
    if span_rows:
        span_rows, starts, ends = np.concatenate(span_rows), np.concatenate(starts), np.concatenate(ends)
        edges = np.zeros((height, width + 1), dtype=np.int32)
        np.add.at(edges, (span_rows, starts), 1)
        np.add.at(edges, (span_rows, ends + 1), -1)
        mask |= np.cumsum(edges, axis=1)[:, :width] > 0
    return mask
