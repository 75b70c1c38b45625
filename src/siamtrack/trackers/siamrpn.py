"""SiamRPN tracker (Li et al. 2018) around :class:`~siamtrack.models.siamrpn.SiamRPNNet`; with weights trained by
the focal or shrinkage classification loss it is DSLT's SiamRPN_fl / SiamRPN_sl (Lu et al., TPAMI 2020, Sec. 3.4).
The registry names ``siamrpn``, ``siamrpn_fl`` and ``siamrpn_sl`` are this one tracker with their own weights.

Per frame (the authors' DaSiamRPN tracking step):

* one search crop of side ``s_x = s_z · instance_size / context_size`` around the last centre (``s_z`` SiamFC's
  context square of the current size, which maps onto ``context_size`` crop pixels: the exemplar's side, 127, on the
  AlexNet path; on the pretrained path, ``siamrpn_sl-lite``, both crops are 257 px and ``s_z`` maps onto 127 of them,
  as in :class:`~siamtrack.trackers.siamese.SiameseParams`);
* every anchor's target probability ``p = sigmoid(target - background)`` and its decoded box;
* a penalty on changes of size and aspect ratio, ``exp(-(max(r, 1/r) · max(s, 1/s) - 1) · penalty_k)`` with
  ``r`` the aspect-ratio change and ``s`` the change of the context size ``sqrt((w + p)(h + p))``;
* ``(1 - window_influence) · penalty · p + window_influence · cosine window``, its best anchor gives the box;
  the size moves towards it at rate ``lr · penalty · p`` (the centre moves fully), and stays within the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from siamtrack.models.correlation import hann_window
from siamtrack.models.siamrpn import decode_boxes
from siamtrack.trackers.base import check_size_limit
from siamtrack.trackers.search import clip_to_image, context_side, crop_pyramid
from siamtrack.trackers.siamese import LiteTracker, ModelTracker


@dataclass(frozen=True)
class SiamRPNParams:
    """Hyper-parameters; defaults are SiamRPN's VOT settings (DaSiamRPN ``TrackerConfig``)."""

    exemplar_size: int = 127
    instance_size: int = 255
    context_size: int | None = None  # crop pixels onto which s_z maps; None: exemplar_size (SiamRPN's geometry)
    context: float = 0.5
    penalty_k: float = 0.055
    window_influence: float = 0.42
    lr: float = 0.295
    min_size: float = 10.0  # pixels

    def __post_init__(self):
        if self.exemplar_size < 1 or self.instance_size < self.exemplar_size:
            raise ValueError(
                f"SiamRPNParams: need 0 < exemplar_size <= instance_size, got exemplar_size="
                f"{self.exemplar_size!r}, instance_size={self.instance_size!r}"
            )
        if self.context_size is not None and not 0 < self.context_size <= self.exemplar_size:
            raise ValueError(
                f"SiamRPNParams: need 0 < context_size <= exemplar_size, got context_size={self.context_size!r}"
            )
        check_size_limit(self, ("exemplar_size", "instance_size"))
        if not (
            self.penalty_k >= 0
            and 0 <= self.window_influence <= 1
            and 0 <= self.lr <= 1
            and self.context >= 0
            and self.min_size > 0
        ):
            raise ValueError(f"SiamRPNParams: a parameter is out of range: {self}")


def _change(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(ratio, 1.0 / ratio)


class SiamRPNTracker(ModelTracker):
    """SiamRPN tracking (see the module doc); ``confidence`` is the chosen anchor's target probability. The size is
    kept as ``(w, h)`` (``_size``, :attr:`target_size`), not as a scale of the first frame's."""

    name = "siamrpn"
    model_name = "siamrpn"
    Params = SiamRPNParams

    def __init__(self, model: torch.nn.Module, params: SiamRPNParams | None = None, device=None, **hyperparameters):
        super().__init__(model, params, device, **hyperparameters)
        params = self.params
        self.template = None
        with torch.no_grad():
            instance = torch.zeros(1, 3, params.instance_size, params.instance_size, device=self.device)
            exemplar = torch.zeros(1, 3, params.exemplar_size, params.exemplar_size, device=self.device)
            score_size = self.model(exemplar, instance)["cls"].shape[-1]
        self.anchors = model.anchors(score_size, params.instance_size).numpy().astype(np.float64)
        window = hann_window(score_size, score_size, dtype=torch.float64).numpy().reshape(-1)
        self.window = np.tile(window, model.anchor_count)

    def network_params(self, model: torch.nn.Module, params, hyperparameters: dict) -> dict:
        """The network's crop sizes (the pretrained network fixes its 257x257 crops, ``SiameseNet.tracking_params``);
        with them ``s_z`` still maps onto 127 px (``context_size``)."""
        model_sizes = super().network_params(model, params, hyperparameters)
        if model_sizes and "context_size" not in hyperparameters and params is None:
            model_sizes["context_size"] = 127
        return model_sizes

    @property
    def context_size(self) -> int:
        """Crop pixels onto which the context square ``s_z`` maps."""
        return self.params.context_size or self.params.exemplar_size

    @property
    def target_size(self) -> np.ndarray:
        return self._size

    def _crop(self, image: np.ndarray, side: float, size: int) -> torch.Tensor:
        crops = crop_pyramid(image, self._center, [side], size, self._fill).to(self.device, torch.float32)
        return crops.contiguous(memory_format=torch.channels_last) if self.device.type == "cpu" else crops

    def start(self, image: np.ndarray, box: np.ndarray) -> None:
        self._size = box[2:].copy()
        p = self.params
        with torch.inference_mode():
            self.template = self.model.template(
                self._crop(
                    image, context_side(*self._size, p.context) * p.exemplar_size / self.context_size, p.exemplar_size
                )
            )

    def step(self, image: np.ndarray) -> None:
        p = self.params
        side_z = context_side(*self._size, p.context)
        scale = self.context_size / side_z  # crop pixels per image pixel
        side_x = side_z * p.instance_size / self.context_size
        with torch.inference_mode():
            out = self.model.match(self.template, self.model.embed(self._crop(image, side_x, p.instance_size)))
            scores = torch.sigmoid(self.model.target_logits(out["cls"].float()))[0].cpu().numpy().astype(np.float64)
            deltas = self.model.offsets(out["reg"].float())[0].cpu().double()
        boxes = decode_boxes(deltas, torch.from_numpy(self.anchors)).numpy()  # (cx, cy, w, h) crop pixels
        target = self._size * scale
        pads = p.context * (boxes[:, 2] + boxes[:, 3])  # context squares of the boxes (context_side, vectorised)
        sides = np.sqrt((boxes[:, 2] + pads) * (boxes[:, 3] + pads))
        size_change = _change(sides / context_side(target[0], target[1], p.context))
        ratio_change = _change((target[0] / target[1]) / (boxes[:, 2] / boxes[:, 3]))
        penalty = np.exp(-(ratio_change * size_change - 1.0) * p.penalty_k)
        chosen = (1.0 - p.window_influence) * penalty * scores + p.window_influence * self.window
        best = int(np.argmax(chosen))
        offset = (boxes[best, :2] - p.instance_size / 2.0) / scale
        rate = penalty[best] * scores[best] * p.lr
        height, width = image.shape[:2]
        self._center = clip_to_image(self._center + offset, image)
        self._size = (1.0 - rate) * self._size + rate * boxes[best, 2:] / scale
        self._size = np.clip(self._size, p.min_size, [float(width), float(height)])
        self.confidence = float(scores[best])


class SiamRPNLiteTracker(LiteTracker, SiamRPNTracker):
    """SiamRPN_sl on the ImageNet EfficientNet-Lite0 embedding (``siamrpn_sl-lite``): SiamRPN++'s depthwise head
    (:class:`~siamtrack.models.siamrpn.SiamRPNNet` with ``backbone="efficientnet-lite0"``), trained with the shrinkage
    classification loss (DSLT Eq. 14 in Eq. 16) by ``bundled/pretrained/siamrpn_sl-lite0-cached``; 257x257
    crops, ``s_z`` on 127 px of them, the tracking step above."""

    name = "siamrpn_sl-lite"
