"""The search geometry of the trackers that look for the target around its last position (SiamFC Sec. 2.4, CFNet
Sec. 4): the scale pyramid, the context square, the crops, the response post-processing (upsampling, scale
penalty, Hann window), the peak -> displacement step and the damped scale update. Functions only, no state:
:class:`~siamtrack.trackers.siamese.SearchTracker` holds the state they act on.

* the target ``w x h`` gets context ``p = context·(w + h)`` and the square side ``s_z = sqrt((w+p)(h+p))``
  (:func:`context_side`); ``s_z`` maps onto ``context_size`` model pixels;
* crops are one :func:`~siamtrack.imaging.crop_window` (``cv2.warpAffine``) each, padded with the first
  frame's per-channel mean colour (:func:`crop_pyramid`);
* the search runs on ``num_scales`` crops ``scale_step^{-k..k}`` (:func:`scale_pyramid`); each score map is
  upsampled (bicubic) ``response_up`` times (:func:`upsample_responses`), off-centre scales are damped by
  ``scale_penalty`` (:func:`penalized_peaks`), the best scale's map is normalised and blended with a Hann window
  (:func:`apply_window`), its peak gives the displacement (:func:`peak_displacement`);
* the size follows the chosen scale with damping ``scale_lr`` and stays within ``[min_scale, max_scale]`` of the
  first frame's (:func:`damped_scale`); the centre stays inside the image (:func:`clip_to_image`), so a target
  that leaves the frame never raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from siamtrack.imaging import crop_window
from siamtrack.models.correlation import hann_window


def scale_pyramid(num_scales: int, scale_step: float) -> np.ndarray:
    """``scale_step ** (-k .. k)`` for ``num_scales = 2k + 1``: the sizes of the search crops."""
    k = (num_scales - 1) // 2
    return scale_step ** np.arange(-k, k + 1, dtype=np.float64)


def context_side(width: float, height: float, context: float = 0.5) -> float:
    """SiamFC Sec. 2.4: side of the square region around a ``width x height`` target with context
    ``p = context·(w + h)``: ``sqrt((w + p)(h + p))``.

    The product underflows to 0 for a box below ~1e-154 px a side and overflows to inf above ~1e154 px (both
    accepted by ``check_initial_box``; the crop then failed with an unrelated ValueError,
    ``tests/trackers/test_fuzz_tracking.py``): there it is ``sqrt(w + p)·sqrt(h + p)``. Elsewhere the product form
    stays, so results are bit-identical to before."""
    pad = context * (width + height)
    with np.errstate(over="ignore", under="ignore"):
        product = (width + pad) * (height + pad)
    if 0.0 < product < np.inf:
        return float(np.sqrt(product))
    return float(np.sqrt(width + pad) * np.sqrt(height + pad))


def check_image(image) -> np.ndarray:
    """The frame as a C-contiguous RGB ``uint8`` ``H x W x 3`` array, or a ValueError saying what it is."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"expected an RGB uint8 image of shape HxWx3, got dtype {array.dtype} shape {array.shape}")
    return np.ascontiguousarray(array)


def crop_pyramid(image: np.ndarray, center, sides: Sequence[float], out_size: int, fill) -> torch.Tensor:
    """Square crops of ``sides`` around ``center`` (one :func:`~siamtrack.imaging.crop_window` each, padded
    with ``fill``) as an ``N x 3 x S x S`` uint8 tensor (channels-last memory, which the CPU convolutions
    prefer)."""
    crops = np.stack([crop_window(image, center, side, out_size, fill) for side in sides])
    return torch.from_numpy(crops).permute(0, 3, 1, 2)


# --------------------------------------------------------------------------------------- response maps


def upsample_responses(responses: torch.Tensor, factor: int) -> torch.Tensor:
    """``(N, h, w)`` score maps -> ``(N, h·factor, w·factor)``, bicubic (SiamFC: 17x17 x16 -> 272x272).

    Half-pixel alignment (``align_corners=False``): the centre of the upsampled map is the centre of the
    original, and upsampled pixel ``j`` lies at ``(j - (H - 1)/2) / factor`` cells from the centre.
    """
    if factor == 1:
        return responses
    return F.interpolate(responses[:, None], scale_factor=factor, mode="bicubic", align_corners=False)[:, 0]


def penalized_peaks(responses: np.ndarray, scale_penalty) -> np.ndarray:
    """Peak of each scale's response weighed by its penalty: ``scale_penalty`` is one number for every
    off-centre scale (SiamFC; the centre scale keeps 1) or one number per scale (TADT: 0.990, 1, 1.005).

    A positive peak is multiplied by its penalty, as SiamFC does; a negative one is divided by it. SiamFC's
    plain product assumes positive peaks: a network trained with an unbalanced logistic loss (RASNet's Eq. 11)
    can score even the target below zero, and there ``0.97 x peak`` would *raise* every off-centre scale above
    the centre one, making the box grow or shrink on every frame. Dividing keeps the rule's meaning for any
    sign (a penalty below 1 always lowers a scale's merit, above 1 always raises it), is continuous at 0, and
    leaves positive peaks exactly as in SiamFC."""
    peaks = responses.reshape(len(responses), -1).max(axis=1).astype(np.float64)
    penalty = np.array(scale_penalty, dtype=np.float64)
    if penalty.ndim == 0:
        penalty = np.full(len(responses), float(penalty))
        penalty[len(responses) // 2] = 1.0
    elif penalty.shape != (len(responses),):
        raise ValueError(
            f"scale_penalty must be one number or one per scale ({len(responses)}), got {list(scale_penalty)}"
        )
    return np.where(peaks >= 0, peaks * penalty, peaks / penalty)


@lru_cache(maxsize=32)
def unit_sum_window(height: int, width: int) -> np.ndarray:
    """The ``height x width`` Hann window divided by its sum (float64, read-only, cached): the window that
    :func:`apply_window` blends in."""
    window = hann_window(height, width, dtype=torch.float64).numpy()
    window = window / window.sum()
    window.setflags(write=False)
    return window


def apply_window(response: np.ndarray, window: np.ndarray, window_influence: float) -> np.ndarray:
    """Normalise ``response`` to a distribution (minus its minimum, divided by its sum) and blend it with
    the (sum-normalised) ``window``: ``(1 - w)·r + w·window`` (SiamFC's displacement penalty)."""
    shifted = response - response.min()
    total = shifted.sum()
    normalised = shifted / total if total > 0 else np.full_like(shifted, 1.0 / shifted.size)
    return (1.0 - window_influence) * normalised + window_influence * window


def peak_displacement(response: np.ndarray) -> np.ndarray:
    """``(dx, dy)`` of the maximum of ``response`` from its centre, in response pixels."""
    row, col = np.unravel_index(int(np.argmax(response)), response.shape)
    height, width = response.shape
    return np.array([col - (width - 1) / 2.0, row - (height - 1) / 2.0])


def clip_to_image(center: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``center = (cx, cy)`` moved inside ``image`` (a target that leaves the frame never raises)."""
    height, width = image.shape[:2]
    return np.clip(center, [0.0, 0.0], [float(width), float(height)])


def damped_scale(scale: float, factor: float, scale_lr: float, min_scale: float, max_scale: float) -> float:
    """SiamFC's size update: ``scale`` times the chosen scale ``factor`` damped by ``scale_lr``
    (``(1 - lr) + lr·factor``), kept within ``[min_scale, max_scale]``."""
    damped = (1.0 - scale_lr) + scale_lr * factor
    return float(np.clip(scale * damped, min_scale, max_scale))
