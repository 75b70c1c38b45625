"""DCFNet tracker (Wang et al. 2017, arXiv:1704.04057), as the authors' PyTorch tracker runs it.

Per frame: crop the search region at 3 scales around the last position, correlate their features with the
learned filter (Eq. 3), move to the highest penalised peak, then re-crop at the new position and blend the
new filter into the model (linear interpolation of numerator features and denominator, Sec. 3.3's online
update). The details follow the authors' ``track/DCFNet.py`` / ``track/util.py`` (foolwood/DCFNet_pytorch):

- crops: ``cv2.warpAffine`` (bilinear, zero border, on the ``uint8`` frame) mapping the window
  ``[cx - w/2, cx + w/2]`` onto output pixels ``0 .. crop_size - 1``; then ``pixel - mean``;
- a peak at response index ``(r, c)`` is a displacement of ``(c, r) * window / crop_size`` (indices above
  ``crop_size / 2`` wrap to negative), the scale with the highest ``peak * penalty`` wins;
- the size is clamped to ``[max(0.2 * size0, 4), min(image_shape, 5 * size0)]`` where, as in their code,
  ``image_shape`` is ``(height, width)`` compared with ``(w, h)``.

Frames come in as RGB (the library convention); weights trained on BGR input (the authors' ``param.pth``)
get their crops reversed to BGR here, which is exact because the crop acts on each channel alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from siamtrack.geometry import box_to_center, center_to_box
from siamtrack.models.dcfnet import DCFNet, DCFNetFeatures, dcf_response, dcf_solve
from siamtrack.trackers.base import Tracker


@dataclass(frozen=True)
class DCFNetConfig:
    """Hyper-parameters of the authors' PyTorch DCFNet tracker (OTB2013 AUC 0.665 with ``param.pth``)."""

    crop_size: int = 125
    padding: float = 2.0  # search window = target size * (1 + padding)
    lambda_: float = 1e-4  # ridge regularisation (Eq. 1)
    output_sigma_factor: float = 0.1  # label sigma = crop_size / (1 + padding) * factor
    interp_factor: float = 0.01  # online model update rate
    num_scales: int = 3  # scale exponents arange(n) - n // 2
    scale_step: float = 1.0275
    scale_penalty: float = 0.9925  # per unit of |scale exponent|
    min_scale_factor: float = 0.2  # size stays within [min_scale_factor, max_scale_factor] x initial size
    max_scale_factor: float = 5.0
    precision: str = "float32"  # "float32" (exact) or "bfloat16" (feature net in bfloat16, DCF in float32)

    def __post_init__(self):
        if self.precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be 'float32' or 'bfloat16', got {self.precision!r}")
        if self.crop_size < 8 or self.num_scales < 1 or not 0.0 < self.interp_factor <= 1.0:
            raise ValueError(f"invalid DCFNet configuration: {self}")


def crop_window(image: np.ndarray, center: np.ndarray, window: np.ndarray, out_size: int) -> np.ndarray:
    """Resample the window of size ``window = (w, h)`` centred on ``center`` (0-based pixel coordinates) to
    ``out_size x out_size`` with ``cv2.warpAffine`` (bilinear, zero outside the image).

    The window's edges ``center -/+ window / 2`` land on the first and last output pixels (scale
    ``(out_size - 1) / w``), as in the authors' ``crop_chw``. Returns ``out_size x out_size x C`` ``uint8``.
    """
    scale_x = (out_size - 1) / window[0]
    scale_y = (out_size - 1) / window[1]
    mapping = np.array([[scale_x, 0.0, -scale_x * (center[0] - window[0] / 2)],
                        [0.0, scale_y, -scale_y * (center[1] - window[1] / 2)]], dtype=np.float64)
    return cv2.warpAffine(image, mapping, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


class DCFNetTracker(Tracker):
    """DCFNet tracking with a :class:`~siamtrack.models.dcfnet.DCFNetFeatures` net (e.g. the authors' weights
    from :func:`siamtrack.weights.dcfnet.load_dcfnet_features`). ``confidence`` is the winning raw peak."""

    name = "DCFNet"

    def __init__(self, features: DCFNetFeatures, config: DCFNetConfig = DCFNetConfig()):
        super().__init__()
        self.config = config
        self.net = DCFNet(features, size=config.crop_size, padding=config.padding,
                          output_sigma_factor=config.output_sigma_factor, lambda_=config.lambda_).eval()
        self.net.feature.to(memory_format=torch.channels_last)
        self.feature_dtype = torch.bfloat16 if config.precision == "bfloat16" else torch.float32
        if self.feature_dtype != torch.float32:
            self.net.feature.to(self.feature_dtype)
        self.reverse_channels = features.channel_order == "BGR"
        mean = np.asarray(features.mean, dtype=np.float32)
        self.mean = mean[::-1].copy() if self.reverse_channels else mean  # in the crops' (frame) RGB order
        exponents = np.arange(config.num_scales) - config.num_scales // 2
        self.scale_factors = config.scale_step ** exponents
        self.scale_penalties = config.scale_penalty ** np.abs(exponents)

    @torch.inference_mode()
    def _features_fft(self, crops: list[np.ndarray]) -> torch.Tensor:
        """``rfft2`` of the windowed features of RGB ``uint8`` crops (``N x 32 x S x S//2+1``)."""
        pixels = np.stack(crops).astype(np.float32) - self.mean
        if self.reverse_channels:
            pixels = pixels[..., ::-1]
        batch = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2)  # N x 3 x S x S, channels-last
        features = self.net.feature(batch.to(self.feature_dtype)).float()
        return torch.fft.rfft2(features * self.net.window)

    def _crop(self, image: np.ndarray, window: np.ndarray) -> np.ndarray:
        return crop_window(image, self.center, window, self.config.crop_size)

    def init(self, image: np.ndarray, box) -> None:
        image = _check_image(image)
        box = np.asarray(box, dtype=np.float64).reshape(-1)
        if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"DCFNet init box must be a finite x, y, w, h with w, h > 0, got {box.tolist()}")
        center = box_to_center(box)
        self.center, self.size = center[:2].copy(), center[2:].copy()
        cfg = self.config
        self.min_size = np.maximum(cfg.min_scale_factor * self.size, 4.0)
        # The authors clamp (w, h) by image.shape[:2] = (height, width); kept for faithful results.
        self.max_size = np.minimum(np.asarray(image.shape[:2], dtype=np.float64), cfg.max_scale_factor * self.size)
        template_fft = self._features_fft([self._crop(image, self.size * (1 + cfg.padding))])
        self.template_fft = template_fft
        self.alpha_fft = dcf_solve(template_fft, self.net.label_fft, cfg.lambda_)
        self.confidence = 1.0

    def update(self, image: np.ndarray) -> np.ndarray:
        image = _check_image(image)
        cfg, size = self.config, self.config.crop_size
        windows = [self.size * (factor * (1 + cfg.padding)) for factor in self.scale_factors]
        search_fft = self._features_fft([self._crop(image, window) for window in windows])
        with torch.inference_mode():
            response = dcf_response(search_fft, self.template_fft, self.alpha_fft, (size, size))
            peaks, indices = torch.max(response.view(len(windows), -1), 1)
        scores = peaks.numpy().astype(np.float64) * self.scale_penalties
        best = int(np.argmax(scores))
        row, col = divmod(int(indices[best]), size)
        row = row - size if row > size / 2 else row
        col = col - size if col > size / 2 else col
        self.center = self.center + np.array([col, row], dtype=np.float64) * windows[best] / size
        self.size = np.minimum(np.maximum(windows[best] / (1 + cfg.padding), self.min_size), self.max_size)
        self.confidence = float(peaks[best])

        new_fft = self._features_fft([self._crop(image, self.size * (1 + cfg.padding))])
        new_alpha = dcf_solve(new_fft, self.net.label_fft, cfg.lambda_)
        rate = cfg.interp_factor
        self.template_fft = (1 - rate) * self.template_fft + rate * new_fft
        self.alpha_fft = (1 - rate) * self.alpha_fft + rate * new_alpha
        return center_to_box(np.concatenate([self.center, self.size]))


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("DCFNet expects an RGB uint8 H x W x 3 frame, got "
                         f"{type(image).__name__} {getattr(image, 'dtype', '')} {getattr(image, 'shape', '')}")
    return image
