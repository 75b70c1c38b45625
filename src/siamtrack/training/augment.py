"""Training-pair augmentation: stretch, translation, colour, blur and grayscale.

Every function is deterministic given its arguments; the random draws live in :func:`sample_branch`, which
takes an explicit ``numpy.random.Generator`` so that a pair's augmentation depends only on its seed.
Images are ``H x W x 3`` RGB arrays (``uint8`` or float in 0..255); boxes are 0-based ``x, y, w, h``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from siamtrack.imaging import crop_window, window_box

# ImageNet RGB principal components (0..1 scale) used for AlexNet's "lighting" augmentation
# (Krizhevsky et al. 2012, Sec. 4.1): columns are the eigenvectors p_i, with eigenvalues lambda_i.
IMAGENET_EIGENVALUES = np.array([0.2175, 0.0188, 0.0045])
IMAGENET_EIGENVECTORS = np.array(
    [
        [-0.5675, 0.7192, 0.4009],
        [-0.5808, -0.0045, -0.8140],
        [-0.5836, -0.6948, 0.4203],
    ]
)
LUMA_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])  # ITU-R BT.601, as MATLAB's rgb2gray


def stretch_and_shift(
    image: np.ndarray, box, out_size: int, stretch=(1.0, 1.0), shift=(0.0, 0.0), border_value=None
) -> tuple[np.ndarray, np.ndarray]:
    """Crop ``out_size x out_size`` about the image centre after stretching the image by ``stretch = (sx, sy)``
    and moving its content by ``shift = (dx, dy)`` output pixels (a target at the image centre ends up at
    ``out_size / 2 + shift``). Returns the crop and ``box`` in crop coordinates.

    SiamFC's training augmentation (``acquire_augment``): random stretch of up to ``maxStretch`` and
    translation of up to ``maxTranslate`` pixels of the curated crop, in one resampling.
    """
    stretch = np.asarray(stretch, dtype=np.float64)
    shift = np.asarray(shift, dtype=np.float64)
    window = out_size / stretch
    center = np.array([image.shape[1], image.shape[0]]) / 2.0 - shift / stretch
    crop = crop_window(image, center, window, out_size, border_value)
    return crop, window_box(box, center, window, out_size)


def color_offset(alphas) -> np.ndarray:
    """AlexNet's PCA lighting offset in 0..255 units: ``sum_i alpha_i lambda_i p_i`` (Krizhevsky et al. 2012,
    Sec. 4.1), with ``alpha_i ~ N(0, sigma)`` drawn by the caller (SiamFC/CFNet: sigma 0.1)."""
    return 255.0 * IMAGENET_EIGENVECTORS @ (np.asarray(alphas, dtype=np.float64) * IMAGENET_EIGENVALUES)


def shift_colors(image: np.ndarray, offset) -> np.ndarray:
    """Add one RGB ``offset`` to every pixel; float32 result clipped to 0..255."""
    return np.clip(image.astype(np.float32) + np.asarray(offset, dtype=np.float32), 0.0, 255.0)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Blur with an isotropic Gaussian of standard deviation ``sigma`` pixels (kernel +-3 sigma, reflected
    borders); ``sigma <= 0`` returns the image unchanged."""
    if sigma <= 0:
        return image
    radius = max(1, int(np.ceil(3.0 * sigma)))
    return cv2.GaussianBlur(
        image, (2 * radius + 1, 2 * radius + 1), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101
    )


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Replace every channel by the luma ``0.2989 R + 0.5870 G + 0.1140 B`` (float32, 3 channels), as SiamFC's
    grayscale pairs (``repmat(rgb2gray(x), [1 1 3])``)."""
    luma = image.astype(np.float32) @ LUMA_WEIGHTS.astype(np.float32)
    return np.repeat(luma[:, :, None], 3, axis=2)


@dataclass(frozen=True)
class BranchAugmentation:
    """Augmentation of one branch (exemplar or instance); every amount 0 = off.

    Attributes:
        stretch: maximum relative stretch per axis: scale factors uniform in ``[1 - stretch, 1 + stretch]``.
        shift: maximum translation per axis, in output pixels (uniform in ``[-shift, shift]``).
        color: standard deviation of AlexNet's PCA lighting coefficients.
        blur_probability: chance of a Gaussian blur, its sigma uniform in ``[blur_sigma_min, blur_sigma_max]``.
    """

    stretch: float = 0.0
    shift: float = 0.0
    color: float = 0.0
    blur_probability: float = 0.0
    blur_sigma_min: float = 0.5
    blur_sigma_max: float = 1.5

    def __post_init__(self):
        for name in ("stretch", "shift", "color", "blur_probability", "blur_sigma_min", "blur_sigma_max"):
            if getattr(self, name) < 0:
                raise ValueError(f"augmentation {name} must be >= 0, got {getattr(self, name)}")
        if self.stretch >= 1:
            raise ValueError(f"augmentation stretch must be < 1, got {self.stretch}")
        if self.blur_probability > 1:
            raise ValueError(f"blur_probability must be <= 1, got {self.blur_probability}")
        if self.blur_sigma_min > self.blur_sigma_max:
            raise ValueError(f"blur_sigma_min {self.blur_sigma_min} > blur_sigma_max {self.blur_sigma_max}")


@dataclass(frozen=True)
class BranchDraw:
    """One branch's random draws: stretch ``(sx, sy)``, shift ``(dx, dy)``, colour alphas, blur sigma (0 = none)."""

    stretch: tuple[float, float]
    shift: tuple[float, float]
    alphas: tuple[float, float, float]
    blur_sigma: float


def sample_branch(rng: np.random.Generator, settings: BranchAugmentation) -> BranchDraw:
    """Draw one branch's augmentation. Always consumes the same number of random numbers, so that turning
    one augmentation off does not change the others' draws."""
    stretch = 1.0 + settings.stretch * rng.uniform(-1.0, 1.0, size=2)
    shift = settings.shift * rng.uniform(-1.0, 1.0, size=2)
    alphas = settings.color * rng.standard_normal(3)
    blur_draw, sigma_draw = rng.uniform(size=2)
    blur_sigma = 0.0
    if blur_draw < settings.blur_probability:
        blur_sigma = settings.blur_sigma_min + (settings.blur_sigma_max - settings.blur_sigma_min) * sigma_draw
    return BranchDraw(tuple(stretch), tuple(shift), tuple(alphas), float(blur_sigma))


def apply_branch(image: np.ndarray, box, out_size: int, draw: BranchDraw) -> tuple[np.ndarray, np.ndarray]:
    """Stretch and shift (one resampling), then blur, then the colour offset: float32 crop and its box."""
    crop, crop_box = stretch_and_shift(image, box, out_size, draw.stretch, draw.shift)
    crop = gaussian_blur(crop, draw.blur_sigma)
    crop = shift_colors(crop, color_offset(draw.alphas)) if any(draw.alphas) else crop.astype(np.float32)
    return crop, crop_box
