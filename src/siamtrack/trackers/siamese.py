"""Shared machinery of Siamese trackers: crops, scale pyramid, response post-processing, one generic tracker.

The search follows SiamFC (Bertinetto et al. 2016, Sec. 2.4) and CFNet (Valmadre et al. 2017, Sec. 4):

* the target ``w x h`` gets context ``p = context·(w + h)`` and the square side ``s_z = sqrt((w+p)(h+p))``;
  ``s_z`` maps onto ``context_size`` model pixels (127), so an exemplar of ``exemplar_size`` pixels covers
  ``s_z·exemplar_size/context_size`` image pixels and a search crop ``s_z·instance_size/context_size``;
* crops are one :func:`~siamtrack.imaging.crop_window` (``cv2.warpAffine``) each, padded with the first
  frame's per-channel mean colour;
* the search runs on ``num_scales`` crops ``scale_step^{-k..k}``; each score map is upsampled (bicubic)
  ``response_up`` times, off-centre scales are damped by ``scale_penalty``, the best scale's map is
  normalised and blended with a Hann window (``window_influence``), its peak gives the displacement;
* the size follows the chosen scale with damping ``scale_lr`` and stays within
  ``[min_scale, max_scale]`` of the first frame's; the centre stays inside the image, so a target that
  leaves the frame never raises.

:class:`SiameseTracker` implements all of it for any :class:`~siamtrack.models.siamese.SiameseNet`; the
model-specific steps are small methods (``preprocess``, ``build_template``, ``update_template``,
``score``) that subclasses override.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from siamtrack.imaging import crop_window
from siamtrack.models import Weights, model_from_weights
from siamtrack.models.backbones import fuse_batchnorm
from siamtrack.models.correlation import hann_window
from siamtrack.trackers.base import (Tracker, check_field_types, check_initial_box, check_size_limit, pick_device,
                                     with_overrides)


@dataclass(frozen=True)
class SiameseParams:
    """Hyper-parameters of a Siamese tracker; the defaults are SiamFC-3s's (Bertinetto et al. 2016)."""

    exemplar_size: int = 127  # side of the exemplar crop fed to the network (model pixels)
    instance_size: int = 255  # side of each search crop
    context_size: int = 127  # model pixels onto which the context square s_z is mapped
    context: float = 0.5  # p = context * (w + h)
    num_scales: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745  # multiplies the responses of the off-centre scales
    scale_lr: float = 0.59  # damping of the size update
    window_influence: float = 0.176  # weight of the Hann window in the final response
    response_up: int = 16  # bicubic upsampling factor of the score maps (17 -> 272)
    min_scale: float = 0.2  # size limits relative to the first frame's target
    max_scale: float = 5.0
    template_lr: float = 0.0  # rolling-average rate of the template (0: fixed first-frame template)
    precision: str = "float32"  # float32 | bfloat16 (CPU/CUDA autocast of the network; responses stay float32)

    def __post_init__(self):
        check_field_types(self)
        positive_ints = ("exemplar_size", "instance_size", "context_size", "num_scales", "response_up")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{type(self).__name__}.{name} must be a positive integer, got {value!r}")
        check_size_limit(self, ("exemplar_size", "instance_size", "context_size"))
        if self.response_up > 64:  # the upsampled maps hold (score side x response_up)^2 floats per scale
            raise ValueError(f"{type(self).__name__}.response_up = {self.response_up!r} is too large (at most 64)")
        if self.num_scales % 2 == 0:
            raise ValueError(f"{type(self).__name__}.num_scales must be odd (a centre scale), got {self.num_scales}")
        checks = {
            "context": self.context >= 0,
            "scale_step": self.scale_step >= 1,
            "scale_penalty": 0 < self.scale_penalty <= 1,
            "scale_lr": 0 <= self.scale_lr <= 1,
            "window_influence": 0 <= self.window_influence <= 1,
            "min_scale": 0 < self.min_scale <= 1,
            "max_scale": self.max_scale >= 1,
            "template_lr": 0 <= self.template_lr <= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{type(self).__name__}.{name} out of range: {getattr(self, name)!r}")
        if self.precision not in ("float32", "bfloat16"):
            raise ValueError(f"{type(self).__name__}.precision must be 'float32' or 'bfloat16', got {self.precision!r}")

    @property
    def scale_factors(self) -> np.ndarray:
        """:func:`scale_pyramid` of ``num_scales`` and ``scale_step``."""
        return scale_pyramid(self.num_scales, self.scale_step)


# --------------------------------------------------------------------------------------------- geometry


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
        raise ValueError(f"scale_penalty must be one number or one per scale ({len(responses)}), "
                         f"got {list(scale_penalty)}")
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


def prepare_for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    """An inference copy of ``model``: eval mode, batch norm folded into the convolutions, no gradients,
    on ``device``, channels-last memory on the CPU (the faster layout for oneDNN convolutions)."""
    model = fuse_batchnorm(model).to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


# --------------------------------------------------------------------------------------------- tracker


class SiameseTracker(Tracker):
    """A Siamese tracker around a :class:`~siamtrack.models.siamese.SiameseNet`.

    ``params`` (or keyword overrides of :attr:`Params`' fields) set the hyper-parameters; ``device``
    defaults to CUDA when available. The model is copied for inference (BN folded), so the caller's
    module is untouched. Subclasses set ``name``, ``model_name`` (a :func:`siamtrack.models.build_model`
    name used by :meth:`from_weights`) and ``Params``, and override the model-specific steps.
    """

    name = "siamese"
    model_name: ClassVar[str] = ""
    Params: ClassVar[type[SiameseParams]] = SiameseParams

    def __init__(self, model: nn.Module, params: SiameseParams | None = None, device=None, **hyperparameters):
        super().__init__()
        # a network may fix the crop sizes it was trained for (the pretrained backbone's 257x257 crops); explicit
        # params or keyword overrides still win
        model_sizes = {key: value for key, value in getattr(model, "tracking_params", {}).items()
                       if params is None and key not in hyperparameters}
        self.params = with_overrides(params if params is not None else self.Params(),
                                     {**model_sizes, **hyperparameters}, type(self).__name__)
        self.device = pick_device(device)
        self.model = prepare_for_inference(model, self.device)
        self.total_stride = int(model.total_stride)
        self.template = None

    @classmethod
    def from_weights(cls, weights: Weights | None, device=None, **hyperparameters) -> SiameseTracker:
        """The tracker with its model built from ``weights`` (``None``: random initialisation)."""
        return cls(model_from_weights(cls.model_name, weights, cls.name), device=device, **hyperparameters)

    # ---- model-specific steps (override in subclasses) ------------------------------------------------

    def preprocess(self, crops: torch.Tensor) -> torch.Tensor:
        """uint8 ``N x 3 x S x S`` RGB crops -> network input (here: float 0..255 RGB, as SiamFC/CFNet)."""
        return crops.to(self.device, torch.float32)

    def build_template(self, exemplar: torch.Tensor) -> torch.Tensor:
        """The template from the preprocessed exemplar crop ``(1, 3, S, S)``."""
        return self.model.template(exemplar)

    def update_template(self, template: torch.Tensor, exemplar: torch.Tensor) -> torch.Tensor:
        """Rolling average ``(1 - template_lr)·template + template_lr·new`` (CFNet's online update)."""
        rate = self.params.template_lr
        return (1.0 - rate) * template + rate * self.build_template(exemplar)

    def score(self, template: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        """Score maps ``(N, 1, h, w)`` of the preprocessed search crops ``(N, 3, S, S)``."""
        return self.model.match(template, self.model.embed(instances))

    # ---- state -----------------------------------------------------------------------------------------

    @property
    def target_size(self) -> np.ndarray:
        return self._base_size * self._scale

    @property
    def context_region(self) -> float:
        """Current ``s_z`` (image pixels that map onto ``context_size`` model pixels)."""
        return self._base_side * self._scale

    def autocast(self):
        """The network's precision context: bfloat16 autocast when ``params.precision`` says so (convolutions and
        matrix products in bfloat16, ~3x faster on CPUs with AVX-512 BF16/AMX), else a no-op."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.params.precision == "bfloat16")

    def crop_inputs(self, image: np.ndarray, sides, out_size: int) -> torch.Tensor:
        """Network input for square crops of ``sides`` image pixels around the current centre."""
        crops = self.preprocess(crop_pyramid(image, self._center, sides, out_size, self._fill))
        if self.device.type == "cpu":
            crops = crops.contiguous(memory_format=torch.channels_last)
        return crops

    def crop_exemplar(self, image: np.ndarray) -> torch.Tensor:
        """Network input for the exemplar crop (``s_z·exemplar_size/context_size`` image pixels) around the
        current centre."""
        p = self.params
        return self.crop_inputs(image, [self.context_region * p.exemplar_size / p.context_size], p.exemplar_size)

    # ---- tracker API -----------------------------------------------------------------------------------

    def init(self, image: np.ndarray, box) -> None:
        image = check_image(image)
        box = check_initial_box(box, self.name, image)
        p = self.params
        self._center = box[:2] + box[2:] / 2.0
        self._base_size = box[2:].copy()
        self._scale = 1.0
        self._base_side = context_side(box[2], box[3], p.context)
        self._fill = image.reshape(-1, 3).mean(axis=0)
        with torch.inference_mode(), self.autocast():
            self.template = self.build_template(self.crop_exemplar(image))
        self.confidence = float("nan")

    def update(self, image: np.ndarray) -> np.ndarray:
        if self.template is None:
            raise RuntimeError(f"{self.name}: update() called before init()")
        image = check_image(image)
        p = self.params
        factors = p.scale_factors
        sides = self.context_region * p.instance_size / p.context_size * factors
        with torch.inference_mode():
            with self.autocast():
                scores = self.score(self.template, self.crop_inputs(image, sides, p.instance_size))[:, 0]
            responses = upsample_responses(scores.float(), p.response_up).cpu().numpy()
        best = int(np.argmax(penalized_peaks(responses, p.scale_penalty)))
        response = apply_window(responses[best].astype(np.float64), unit_sum_window(*responses.shape[1:]),
                                p.window_influence)
        # response pixels -> search-crop pixels -> image pixels (SiamFC's tracker_step)
        displacement = peak_displacement(response) * self.total_stride / p.response_up
        self._center = clip_to_image(self._center + displacement * sides[best] / p.instance_size, image)
        self._scale = damped_scale(self._scale, factors[best], p.scale_lr, p.min_scale, p.max_scale)
        self.confidence = float(scores[best].max())
        if p.template_lr > 0:
            with torch.inference_mode(), self.autocast():
                self.template = self.update_template(self.template, self.crop_exemplar(image))
        size = self.target_size
        return np.concatenate([self._center - size / 2.0, size])


class LiteTracker:
    """Mixin of the ``-lite`` trackers (``siamfc-lite``, ``cfnet-lite``, ``adacfnet-lite``, ``rasnet-lite``), listed
    before the paper's tracker class: its network on the ImageNet EfficientNet-Lite0 embedding
    (``build_model(model_name, backbone="efficientnet-lite0")``). The network fixes the 257x257 crops
    (:attr:`~siamtrack.models.siamese.SiameseNet.tracking_params`); the search is the paper's tracker's.

    :meth:`from_weights` with ``None`` (``"random"``) keeps the ImageNet trunk and draws the trained parts at random
    (speed measurements), never the AlexNet network; a weights file must have been trained on the pretrained
    backbone (its ``model_config`` names it), else a ValueError says so."""

    lite_backbone = "efficientnet-lite0"

    @classmethod
    def from_weights(cls, weights: Weights | None, device=None, **hyperparameters):
        if weights is None:
            from siamtrack.models import build_model

            return cls(build_model(cls.model_name, backbone=cls.lite_backbone), device=device, **hyperparameters)
        if weights.model_config.get("backbone", "alexnet") == "alexnet":
            raise ValueError(f"{weights.source}: {cls.name} needs weights trained on the pretrained backbone "
                             f"(model_config backbone: {cls.lite_backbone}), these are for the AlexNet "
                             f"{cls.model_name} network")
        return super().from_weights(weights, device=device, **hyperparameters)
