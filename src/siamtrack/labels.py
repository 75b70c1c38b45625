"""Label maps: where, on a score map, the target is (training pairs, the models' objectives and online steps, and the
trackers all use them).

A score map of ``S x S`` positions is laid over the search crop with a total stride ``k``: position ``u``
(0-based, per axis) looks at crop coordinate ``N / 2 + (u - (S - 1) / 2) * k`` (``N`` the crop size), so the
map's centre looks at the crop's centre. :func:`map_center` turns the target's offset from the crop centre
(in crop pixels) into a map position; the label functions take that position.
"""

from __future__ import annotations

import numpy as np


def map_center(size: int | tuple[int, int], target_offset=(0.0, 0.0), stride: float = 1.0) -> np.ndarray:
    """Score-map position ``(x, y)`` of a target whose centre lies ``target_offset = (dx, dy)`` crop pixels
    from the crop centre, on a ``size`` map with total stride ``stride``."""
    height, width = (size, size) if np.isscalar(size) else size
    if stride <= 0:
        raise ValueError(f"stride must be positive, got {stride}")
    offset = np.asarray(target_offset, dtype=np.float64)
    return np.array([(width - 1) / 2.0, (height - 1) / 2.0]) + offset / stride


def _squared_distances(size, center, wrap: bool) -> np.ndarray:
    height, width = (size, size) if np.isscalar(size) else size
    if height < 1 or width < 1:
        raise ValueError(f"label map size must be positive, got {size}")
    dx = np.arange(width, dtype=np.float64) - center[0]
    dy = np.arange(height, dtype=np.float64) - center[1]
    if wrap:  # circular distance: the map is periodic (correlation filters computed with the DFT)
        dx = (dx + width / 2.0) % width - width / 2.0
        dy = (dy + height / 2.0) % height - height / 2.0
    return dy[:, None] ** 2 + dx[None, :] ** 2


def logistic_labels(size, center, radius: float, stride: float = 1.0) -> np.ndarray:
    """SiamFC's ``±1`` labels (Bertinetto et al. 2016, Sec. 2.2): ``y[u] = +1`` where ``k ||u - c|| <= R``,
    else ``-1``, with ``k = stride`` and ``R = radius`` in crop pixels (SiamFC: R = 16, k = 8; CFNet: R = 8,
    k = 4). ``center`` is the target's map position ``(x, y)`` (see :func:`map_center`). float32 ``size``."""
    if radius < 0:
        raise ValueError(f"radius must be non-negative, got {radius}")
    distances = np.sqrt(_squared_distances(size, center, wrap=False)) * stride
    return np.where(distances <= radius, 1.0, -1.0).astype(np.float32)


def gaussian_labels(size, center, sigma: float, wrap: bool = False) -> np.ndarray:
    """Gaussian desired response ``y[u] = exp(-||u - c||^2 / (2 sigma^2))`` (peak 1 at ``c``), ``sigma`` in map
    positions. DCFNet: ``sigma = 0.1 x`` the target size at crop scale (the output sigma factor), on a
    periodic map (``wrap=True``, distances taken modulo the map size) where the peak sits at the origin
    ``c = (0, 0)`` for a centred target."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    return np.exp(-_squared_distances(size, center, wrap) / (2.0 * sigma**2)).astype(np.float32)
