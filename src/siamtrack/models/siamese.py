"""The Siamese networks SiamFC and CFNet as plain ``nn.Module``s (no tracking logic).

Both expose the same three pieces, which trackers and the training pipeline call:

* ``embed(images)``: the shared backbone ``φ`` on ``(N, 3, S, S)`` crops (RGB, 0..255 floats);
* ``template(exemplar_images)``: what is correlated with the search features (SiamFC: ``φ(z)``;
  CFNet: the cropped correlation filter learned on ``φ(z)``);
* ``match(template, instance_features)``: the calibrated score map ``(N, 1, h, w)``.

``forward(exemplar, instance) = match(template(exemplar), embed(instance))`` is the training forward pass:
``M`` exemplars against ``N = k·M`` instances (see :func:`~siamtrack.models.correlation.xcorr`).
"""
from __future__ import annotations

import torch
from torch import nn

from siamtrack.models.backbones import build_backbone
from siamtrack.models.correlation import CorrelationFilter, xcorr


class SiameseNet(nn.Module):
    """Shared structure: a backbone, a template function and a matching function."""

    exemplar_size = 127
    instance_size = 255

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    @property
    def total_stride(self) -> int:
        """Pixels of the input crop per cell of the score map."""
        return self.backbone.total_stride

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(images)

    def template(self, exemplar_images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def match(self, template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, exemplar: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
        return self.match(self.template(exemplar), self.embed(instance))


class SiamFCNet(SiameseNet):
    """SiamFC (Bertinetto et al. 2016): ``f(z, x) = s · φ(z) ⋆ φ(x)`` (Eq. 2), AlexNet-style ``φ``.

    127x127 exemplars give 6x6 templates, 255x255 instances 22x22 features, hence a 17x17 score map at
    stride 8. ``score_scale`` (0.001) is the fixed response adjustment that brings the raw correlation
    into the range of the logistic loss. ``width`` scales every channel count of the backbone.
    """

    def __init__(self, width: float = 1.0, score_scale: float = 1e-3):
        super().__init__(build_backbone("siamfc", width))
        self.width = width
        self.score_scale = float(score_scale)

    def template(self, exemplar_images: torch.Tensor) -> torch.Tensor:
        return self.embed(exemplar_images)

    def match(self, template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
        return xcorr(template, instance_features) * self.score_scale


class CFNetNet(SiameseNet):
    """CFNet (Valmadre et al. 2017): ``h(z, x) = s · ω(φ(z)) ⋆ φ(x) + b`` (Eq. 3), where ``ω`` is the
    correlation-filter block (window, closed-form filter, crop) and ``s, b`` are learned scalars.

    ``variant`` picks the backbone (``conv1``, ``conv2`` or ``conv5``, all at stride 4). Exemplars are
    255x255 like the instances (the larger exemplar limits the filter's circular boundary effects);
    the filter is cropped by ``margin`` cells, e.g. conv2: 57x57 -> 25x25, giving 33x33 score maps.
    ``gain``/``bias`` start at CFNet's 1 and -0.5.
    """

    exemplar_size = 255

    def __init__(self, variant: str = "conv2", width: float = 1.0, lam: float = 10.0, sigma: float = 2.0,
                 margin: int = 16, gain: float = 1.0, bias: float = -0.5):
        if variant not in ("conv1", "conv2", "conv5"):
            raise ValueError(f"unknown CFNet variant {variant!r}; known: conv1, conv2, conv5")
        super().__init__(build_backbone(f"cfnet-{variant}", width))
        self.variant = variant
        self.width = width
        self.filter = CorrelationFilter(lam=lam, sigma=sigma, margin=margin)
        self.gain = nn.Parameter(torch.tensor(float(gain)))
        self.bias = nn.Parameter(torch.tensor(float(bias)))

    def template(self, exemplar_images: torch.Tensor) -> torch.Tensor:
        return self.filter(self.embed(exemplar_images))

    def match(self, template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
        return self.gain * xcorr(template, instance_features) + self.bias
