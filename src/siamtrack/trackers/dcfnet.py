"""DCFNet tracker (Wang et al. 2017, arXiv:1704.04057), as the authors' PyTorch tracker runs it.

Per frame: crop the search region at 3 scales around the last position, correlate their features with the
learned filter (Eq. 3), move to the highest penalised peak, then re-crop at the new position and blend the
new filter into the model (the paper's online update: linear interpolation, at rate ``template_lr`` -- the
authors' ``interp_factor`` --, of the template spectrum and of the filter's ``y_hat / (energy + ridge_lambda)``
part). That last crop's features are
computed at the start of the next ``update``, in one batch with the next 3 search crops (the same arithmetic
as the authors' update-then-search, batched by 4 instead of 1 + 3). The details follow the authors'
``track/DCFNet.py`` / ``track/util.py`` (foolwood/DCFNet_pytorch):

- crops: ``cv2.warpAffine`` (bilinear, zero border, on the ``uint8`` frame) mapping the window
  ``[cx - w/2, cx + w/2]`` onto output pixels ``0 .. crop_size - 1``; then ``pixel - mean``;
- a peak at response index ``(r, c)`` is a displacement of ``(c, r) * window / crop_size`` (indices above
  ``crop_size / 2`` wrap to negative), the scale with the highest ``peak * penalty`` wins;
- the size is clamped to ``[max(0.2 * size0, 4), min((width, height), 5 * size0)]`` (their code compares
  ``(w, h)`` with ``image.shape[:2] = (height, width)``, which swaps the bounds once the clamp binds: a box
  larger than the frame came out as tall as the frame is wide; here the bounds are not swapped).

Frames come in as RGB (the library convention); weights trained on BGR input (the authors' ``param.pth``)
get their crops reversed to BGR here, which is exact because the crop acts on each channel alone.

Parameter names are those of the other trackers where they mean the same thing (``template_lr``, ``min_scale``,
``max_scale``, TADT's ``ridge_lambda``); the authors' names (``interp_factor``, ``min_scale_factor``,
``max_scale_factor``, ``lambda_``) are still accepted as overrides, with a deprecation warning
(:data:`RENAMED_PARAMS`). ``confidence`` is NaN after ``init``, as for every tracker (no response is computed on
the first frame), and the winning response peak after ``update``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from siamtrack.geometry import box_to_center, center_to_box
from siamtrack.models import Weights, check_model_name
from siamtrack.models.dcfnet import DCFNet, DCFNetFeatures, dcf_response, dcf_solve
from siamtrack.trackers.base import (
    Tracker,
    check_field_types,
    check_initial_box,
    check_size_limit,
    pick_device,
    with_overrides,
)
from siamtrack.weights.dcfnet import features_from_state_dict


@dataclass(frozen=True)
class DCFNetParams:
    """Hyper-parameters of the authors' PyTorch DCFNet tracker (OTB2013 AUC 0.665 with ``param.pth``)."""

    crop_size: int = 125
    padding: float = 2.0  # search window = target size * (1 + padding)
    ridge_lambda: float = 1e-4  # ridge regularisation λ (Eq. 1; the authors' lambda_)
    output_sigma_factor: float = 0.1  # label sigma = crop_size / (1 + padding) * factor
    template_lr: float = 0.01  # online model update rate (the authors' interp_factor)
    num_scales: int = 3  # scale exponents arange(n) - n // 2
    scale_step: float = 1.0275
    scale_penalty: float = 0.9925  # per unit of |scale exponent|
    min_scale: float = 0.2  # size stays within [min_scale, max_scale] x initial size (min_scale_factor, ...)
    max_scale: float = 5.0
    precision: str = "float32"  # "float32" (exact) or "bfloat16" (feature net in bfloat16, DCF in float32)

    def __post_init__(self):
        check_field_types(self)
        if self.precision not in ("float32", "bfloat16"):
            raise ValueError(f"DCFNetParams.precision must be 'float32' or 'bfloat16', got {self.precision!r}")
        checks = {  # one message per field, naming it (not the whole dataclass)
            "crop_size": (self.crop_size >= 8, "must be at least 8"),
            "num_scales": (self.num_scales >= 1, "must be at least 1"),
            "template_lr": (0.0 < self.template_lr <= 1.0, "must be in (0, 1]"),
        }
        for name, (ok, rule) in checks.items():
            if not ok:
                raise ValueError(f"DCFNetParams.{name} {rule}, got {getattr(self, name)!r}")
        check_size_limit(self, ("crop_size",))


RENAMED_PARAMS = {
    "lambda_": "ridge_lambda",
    "interp_factor": "template_lr",
    "min_scale_factor": "min_scale",
    "max_scale_factor": "max_scale",
}  # the authors' (and siamtrack's before 0.1.0) name -> the name now


def renamed_params(hyperparameters: dict, owner: str = "DCFNetTracker") -> dict:
    """``hyperparameters`` with the old names of :data:`RENAMED_PARAMS` replaced by the new ones, one
    FutureWarning per old name; a TypeError when a parameter is given under both names."""
    result = dict(hyperparameters)
    for old, new in RENAMED_PARAMS.items():
        if old in result:
            if new in result:
                raise TypeError(f"{owner}: {old} and {new} are the same parameter; give {new} only")
            warnings.warn(f"{owner}: hyper-parameter {old!r} is deprecated, use {new!r}", FutureWarning, stacklevel=3)
            result[new] = result.pop(old)
    return result


def crop_chw(image: np.ndarray, center: np.ndarray, window: np.ndarray, out_size: int) -> np.ndarray:
    """Resample the window of size ``window = (w, h)`` centred on ``center`` (0-based pixel coordinates) to
    ``out_size x out_size`` with ``cv2.warpAffine`` (bilinear, zero outside the image).

    The window's edges ``center -/+ window / 2`` land on the first and last output pixels (scale
    ``(out_size - 1) / w``), as in the authors' ``crop_chw``. Returns ``out_size x out_size x C`` ``uint8``.
    """
    scale_x = (out_size - 1) / window[0]
    scale_y = (out_size - 1) / window[1]
    mapping = np.array(
        [
            [scale_x, 0.0, -scale_x * (center[0] - window[0] / 2)],
            [0.0, scale_y, -scale_y * (center[1] - window[1] / 2)],
        ],
        dtype=np.float64,
    )
    return cv2.warpAffine(
        image,
        mapping,
        (out_size, out_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


class DCFNetTracker(Tracker):
    """DCFNet tracking with a :class:`~siamtrack.models.dcfnet.DCFNetFeatures` net, e.g. the authors' weights
    from :func:`siamtrack.weights.dcfnet.load_dcfnet_features`. ``params`` (or keyword overrides of
    :class:`DCFNetParams`' fields) set the hyper-parameters; ``device`` defaults to CUDA when available.
    The caller's module is copied, never changed. ``confidence`` is the winning raw response peak.
    On a CPU, :func:`~siamtrack.trackers.base.keep_freed_memory` (process-wide malloc thresholds, applied by the
    tracking loops, not by the tracker) gives DCFNet up to a third less CPU per frame with one torch thread, ~40 %
    with two; no change in results."""

    name = "dcfnet"
    Params = DCFNetParams  # what a preset's params are checked against (siamtrack.presets)

    def __init__(self, features: DCFNetFeatures, params: DCFNetParams | None = None, device=None, **hyperparameters):
        super().__init__()
        params = with_overrides(
            params if params is not None else DCFNetParams(),
            renamed_params(hyperparameters, type(self).__name__),
            type(self).__name__,
        )
        self.params = params
        self.device = pick_device(device)
        self.net = DCFNet(
            size=params.crop_size,
            padding=params.padding,
            output_sigma_factor=params.output_sigma_factor,
            lambda_=params.ridge_lambda,
            channel_order=features.channel_order,
            mean=features.mean,
        )
        self.net.feature.load_state_dict(features.state_dict())
        self.feature_dtype = torch.bfloat16 if params.precision == "bfloat16" else torch.float32
        self.net.eval().to(self.device)
        self.net.feature.to(self.feature_dtype, memory_format=torch.channels_last)
        self.reverse_channels = features.channel_order == "BGR"
        self.mean = np.asarray(features.mean, dtype=np.float32)  # in the net's channel order
        exponents = np.arange(params.num_scales) - params.num_scales // 2
        self.scale_factors = params.scale_step**exponents
        self.scale_penalties = params.scale_penalty ** np.abs(exponents)

    @classmethod
    def from_weights(cls, weights: Weights | None, device=None, **hyperparameters) -> DCFNetTracker:
        """The tracker from registry weights (``None``: random features). A state dict with keys
        ``feature.0.weight`` ... is the authors' ``param.pth`` (BGR); ``feature.feature.0.weight`` ... is a
        siamtrack DCFNet checkpoint (RGB), whose ``model_config`` (the :class:`DCFNet` arguments: size, padding,
        output_sigma_factor, lambda_, channel_order, mean) sets the defaults."""
        if weights is None:
            return cls(DCFNetFeatures(), device=device, **hyperparameters)
        check_model_name(weights, "dcfnet", cls.name)
        config = weights.model_config
        renamed = {
            "size": "crop_size",
            "padding": "padding",
            "output_sigma_factor": "output_sigma_factor",
            "lambda_": "ridge_lambda",
        }
        from_config = {renamed[key]: value for key, value in config.items() if key in renamed}
        loaded = features_from_state_dict(weights.state_dict, weights.source)
        features = DCFNetFeatures(
            channel_order=config.get("channel_order", loaded.channel_order), mean=config.get("mean", loaded.mean)
        )
        features.load_state_dict(loaded.state_dict())
        return cls(features, device=device, **{**from_config, **hyperparameters})

    def _pixels(self, crops: list[np.ndarray]) -> torch.Tensor:
        """The feature net's input for RGB ``uint8`` crops: ``N x 3 x S x S`` channels-last, minus the mean."""
        pixels = np.stack(crops)
        if self.reverse_channels:
            pixels = pixels[..., ::-1]  # a view
        pixels = np.subtract(pixels, self.mean, dtype=np.float32)  # one pass: uint8 -> float32, minus the mean
        batch = torch.from_numpy(pixels).permute(0, 3, 1, 2)  # N x 3 x S x S, channels-last
        return batch.to(self.device, self.feature_dtype)

    def _features_fft(self, crops: list[np.ndarray]) -> torch.Tensor:
        """``rfft2`` of the windowed features of RGB ``uint8`` crops (``N x 32 x S x S//2+1``)."""
        return self.net.features_fft(self._pixels(crops))

    def _crop(self, image: np.ndarray, window: np.ndarray) -> np.ndarray:
        return crop_chw(image, self.center, window, self.params.crop_size)

    @torch.inference_mode()
    def init(self, image: np.ndarray, box) -> None:
        image = _check_image(image)
        box = check_initial_box(box, self.name, image)
        center = box_to_center(box)
        self.center, self.size = center[:2].copy(), center[2:].copy()
        p = self.params
        self.min_size = np.maximum(p.min_scale * self.size, 4.0)
        # (w, h) at most the frame's (width, height) (the authors' code takes image.shape[:2]: swapped)
        self.max_size = np.minimum(
            np.array([image.shape[1], image.shape[0]], dtype=np.float64), p.max_scale * self.size
        )
        self.template_fft = self._features_fft([self._crop(image, self.size * (1 + p.padding))])
        self.alpha_fft = dcf_solve(self.template_fft, self.net.label_fft, p.ridge_lambda)
        self.pending_crop = None
        self.confidence = float("nan")  # no response on the first frame (was 1.0 before 0.1.0)
        self.extras = {}

    def _learn(self, new_fft: torch.Tensor) -> None:
        """Blend the filter learned on ``new_fft`` into the model at rate ``template_lr``."""
        rate = self.params.template_lr
        new_alpha = dcf_solve(new_fft, self.net.label_fft, self.params.ridge_lambda)
        # (1 - rate) * model + rate * new, in place: the model tensors are the tracker's own
        self.template_fft.mul_(1 - rate).add_(new_fft, alpha=rate)
        self.alpha_fft.mul_(1 - rate).add_(new_alpha, alpha=rate)

    @torch.inference_mode()
    def update(self, image: np.ndarray) -> np.ndarray:
        image = _check_image(image)
        p, size = self.params, self.params.crop_size
        windows = [self.size * (factor * (1 + p.padding)) for factor in self.scale_factors]
        crops = [self._crop(image, window) for window in windows]
        # The previous frame's model update (its crop was taken there) shares this frame's feature batch.
        if self.pending_crop is None:
            search_fft = self._features_fft(crops)
        else:
            features_fft = self._features_fft([self.pending_crop] + crops)
            self._learn(features_fft[:1])
            search_fft = features_fft[1:]
        response = dcf_response(search_fft, self.template_fft, self.alpha_fft, (size, size))
        peaks, indices = torch.max(response.view(len(windows), -1), 1)
        peaks, indices = peaks.cpu().numpy().astype(np.float64), indices.cpu().numpy()
        best = int(np.argmax(peaks * self.scale_penalties))
        row, col = divmod(int(indices[best]), size)
        row = row - size if row > size / 2 else row  # the response is periodic: wrap to negative shifts
        col = col - size if col > size / 2 else col
        self.center = self.center + np.array([col, row], dtype=np.float64) * windows[best] / size
        self.size = np.minimum(np.maximum(windows[best] / (1 + p.padding), self.min_size), self.max_size)
        self.confidence = float(peaks[best])
        self.pending_crop = self._crop(image, self.size * (1 + p.padding))  # learnt at the start of the next update
        return center_to_box(np.concatenate([self.center, self.size]))


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            "DCFNet expects an RGB uint8 H x W x 3 frame, got "
            f"{type(image).__name__} {getattr(image, 'dtype', '')} {getattr(image, 'shape', '')}"
        )
    return image
