"""AdaCFNet (Li, Wen, Kuai and Porikli, "Robust Visual Tracking with Channel Attention and Focal Loss"):
CFNet-conv2 with a squeeze-and-excitation block after each convolutional layer.

Feature net, AdaCFNet Table I (channel counts at ``width=1``; 255x255 input)::

    conv1 11x11/2, 96      + BN + ReLU -> 123x123x96
    SE1   pool, FC 96->6, ReLU, FC 6->96, sigmoid (reduction 16)
    pool1 3x3/2                        -> 61x61x96
    conv2 5x5/1, 32 (2 groups of 48)   + BN + ReLU -> 57x57x32
    SE2   pool, FC 32->2, ReLU, FC 2->32, sigmoid

The convolutions, BN and pooling are CFNet-conv2's :class:`~siamtrack.models.backbones.AlexNet` (same
``features.*`` state-dict keys), so with ``attention=False`` the network *is* CFNet-conv2 (the ``CFNet`` row of
the paper's Fig. 9 ablation) and loads CFNet-conv2 weights. The SE blocks live under ``attention.0``,
``attention.1``. Initialisation: He et al. 2015 ("improved Xavier", Sec. IV) for every convolution and FC.

The exemplar branch applies CFNet's correlation-filter layer (Eq. 1-3) and crop; the score map is
``v = s · crop(w(φ(z))) ⋆ φ(x) + b`` with CFNet's learned scalars ``s, b`` (the paper follows CFNet's
architecture, Sec. III-A).
"""
from __future__ import annotations

import torch
from torch import nn

from siamtrack.models.attention import SqueezeExcitation
from siamtrack.models.backbones import ARCHITECTURES, AlexNet
from siamtrack.models.correlation import CorrelationFilter, xcorr
from siamtrack.models.siamese import SiameseNet


class SqueezeExcitationAlexNet(AlexNet):
    """An :class:`AlexNet` backbone with a :class:`SqueezeExcitation` block after the ReLU of every
    non-linear block (before its pooling), as AdaCFNet couples SE to each convolutional layer (Sec. III-A).

    ``attention=False`` gives the plain backbone. :meth:`forward_with_weights` also returns the channel
    weights of every SE block (``{"se1": (N, C1), "se2": (N, C2)}``), which depend on the input. An SE block
    followed by a max-pool scales the pooled map instead (the same function, see the code).
    """

    def __init__(self, blocks, width: float = 1.0, attention: bool = True, reduction: int = 16):
        super().__init__(blocks, width=width)
        relus = [index for index, layer in enumerate(self.features) if isinstance(layer, nn.ReLU)]
        channels = [self.features[index - 2].out_channels for index in relus]  # conv, BN, ReLU
        self.attention = nn.ModuleList(
            SqueezeExcitation(count, reduction) for count in channels) if attention else nn.ModuleList()
        self._attention_after = {index: number for number, index in enumerate(relus)} if attention else {}
        self.reduction = reduction
        self._reset_attention()  # the convolutions were initialised by AlexNet.__init__

    def reset_parameters(self) -> None:
        """The backbone's He-normal convolutions, and He-normal (fan-in) FC layers with zero biases in
        the SE blocks (AdaCFNet Sec. IV: "improved Xavier", He et al. 2015, for all parameters)."""
        super().reset_parameters()
        self._reset_attention()

    def _reset_attention(self) -> None:
        for block in getattr(self, "attention", ()):  # absent while AlexNet.__init__ runs
            for layer in (block.reduce, block.expand):
                nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(layer.bias)

    def forward_with_weights(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Features and ``{"se1": w1, "se2": w2, ...}`` (each ``(N, C)``; empty without attention)."""
        weights = {}
        layers = list(self.features)
        pending = None  # SE weights to apply after the max-pool that follows them
        x = images
        for index, layer in enumerate(layers):
            x = layer(x)
            if pending is not None:
                x, pending = x * pending, None
            number = self._attention_after.get(index)
            if number is None:
                continue
            name = f"se{number + 1}"
            weights[name] = self.attention[number].channel_weights(x)
            scale = weights[name][:, :, None, None]
            if index + 1 < len(layers) and isinstance(layers[index + 1], nn.MaxPool2d):
                # max-pooling commutes with a positive per-channel scale (sigmoid > 0): scaling the pooled
                # map is the same function as pooling the scaled one (SE1 then pool1), on 4x fewer values
                pending = scale
            else:
                x = x * scale
        return x, weights

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_with_weights(images)[0]


class AdaCFNetNet(SiameseNet):
    """AdaCFNet: CFNet-conv2 with SE channel attention (AdaCFNet Sec. III, Fig. 3, Table I).

    ``width`` scales every channel count (the paper's network at 1.0); ``attention`` toggles the SE blocks
    (``False``: CFNet-conv2); ``reduction`` is the SE reduction factor (16, Sec. IV); ``lam``, ``sigma``,
    ``margin``: the CF layer's λ (Eq. 1), Gaussian width in cells and crop (57x57 -> 25x25 cells, 33x33 score
    map); ``gain``/``bias``: the initial learned score adjustment (CFNet's 1 and -0.5).
    The loss (Eq. 4 or the focal logistic Eq. 6) is chosen in the training config, not here.
    """

    exemplar_size = 255

    def __init__(self, width: float = 1.0, attention: bool = True, reduction: int = 16, lam: float = 10.0,
                 sigma: float = 2.0, margin: int = 16, gain: float = 1.0, bias: float = -0.5):
        super().__init__(SqueezeExcitationAlexNet(ARCHITECTURES["cfnet-conv2"], width, attention, reduction))
        self.width = width
        self.filter = CorrelationFilter(lam=lam, sigma=sigma, margin=margin)
        self.gain = nn.Parameter(torch.tensor(float(gain)))
        self.bias = nn.Parameter(torch.tensor(float(bias)))

    def embed_with_weights(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``φ(images)`` and the SE channel weights computed from these images (see the backbone)."""
        return self.backbone.forward_with_weights(images)

    def template_from_features(self, features: torch.Tensor) -> torch.Tensor:
        """The cropped correlation filter learned on exemplar features (AdaCFNet Eq. 1-2 + crop layer)."""
        return self.filter(features)

    def template(self, exemplar_images: torch.Tensor) -> torch.Tensor:
        return self.template_from_features(self.embed(exemplar_images))

    def match(self, template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
        """Score map ``s · (template ⋆ φ(x)) + b``."""
        return self.gain * xcorr(template, instance_features) + self.bias


__all__ = ["AdaCFNetNet", "SqueezeExcitationAlexNet"]
