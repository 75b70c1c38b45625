"""Attention blocks: squeeze-and-excitation channel attention (AdaCFNet, RASNet) and RASNet's
general/residual attention.

:class:`SqueezeExcitation` is Hu et al.'s SE block as used by AdaCFNet (Sec. III-A, Table I):
global average pooling ("squeeze"), a fully connected layer ``C -> C / reduction``, ReLU, a fully
connected layer ``C / reduction -> C`` and a sigmoid ("excitation"); the features are rescaled
channel-wise by the resulting weights. The weights are input-conditioned, so they are returned along
with the recalibrated features for inspection (AdaCFNet Fig. 4 and 7).
"""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation channel attention: ``forward(x) -> (x * w, w)`` with ``w`` of shape
    ``(N, C)`` in ``(0, 1)``.

    AdaCFNet Sec. III-A: ``z_c = mean_{i,j} x_c(i, j)`` (squeeze), ``w = sigmoid(W2 relu(W1 z))``
    (excitation, ``W1: C -> C/r``, ``W2: C/r -> C``), ``x~_c = w_c * x_c`` (scale). The hidden width is
    ``max(1, channels // reduction)`` (96 -> 6 and 32 -> 2 for Table I's ``reduction=16``).

    Layers are named ``reduce`` and ``expand`` (``nn.Linear``, with biases as in Hu et al.).
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        if channels < 1:
            raise ValueError(f"SqueezeExcitation needs channels >= 1, got {channels!r}")
        if reduction < 1:
            raise ValueError(f"SqueezeExcitation needs reduction >= 1, got {reduction!r}")
        self.channels = channels
        self.reduction = reduction
        hidden = max(1, channels // reduction)
        self.reduce = nn.Linear(channels, hidden)
        self.expand = nn.Linear(hidden, channels)

    def channel_weights(self, features: torch.Tensor) -> torch.Tensor:
        """The excitation weights ``w`` of shape ``(N, C)`` for ``features`` of shape ``(N, C, H, W)``."""
        if features.dim() != 4 or features.shape[1] != self.channels:
            raise ValueError(
                f"SqueezeExcitation({self.channels}) expects (N, {self.channels}, H, W) features, "
                f"got shape {tuple(features.shape)}"
            )
        squeezed = features.mean(dim=(2, 3))
        return torch.sigmoid(self.expand(torch.relu(self.reduce(squeezed))))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = self.channel_weights(features)
        return features * weights[:, :, None, None], weights


# ------------------------------------------------------------------------------ RASNet (Wang et al. 2018)


class GeneralAttention(nn.Module):
    """RASNet's general attention ``ρ̄`` (Sec. 3.3, Eq. 9): one learnable ``m x n`` map shared by every
    target, initialised to a matrix of ones (6x6 for the SiamFC AlexNet exemplar features).

    ``channels=1`` gives the joint form's ``ρ̄_ij`` (Eq. 8); ``channels=d`` gives a full-form general
    attention ``γ̄_ijc`` (Eq. 6). ``forward(features)`` returns the map as ``(1, channels, m, n)``, ready
    to broadcast over a batch of exemplar features ``(N, d, m, n)``.
    """

    def __init__(self, height: int, width: int, channels: int = 1):
        super().__init__()
        if height < 1 or width < 1 or channels < 1:
            raise ValueError(f"GeneralAttention needs positive sizes, got {channels}x{height}x{width}")
        self.weight = nn.Parameter(torch.ones(channels, height, width))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() != 4 or features.shape[-2:] != self.weight.shape[-2:]:
            raise ValueError(
                f"GeneralAttention of size {tuple(self.weight.shape[-2:])} got exemplar features "
                f"of shape {tuple(features.shape)}; the exemplar crop size must match the one "
                "the model was built for"
            )
        return self.weight[None]


class ResidualAttention(nn.Module):
    """RASNet's residual attention ``ρ̃`` (Sec. 3.3, Fig. 3): an hourglass (encoder-decoder) net on the
    exemplar features ``(N, d, m, n)`` -> ``(N, out_channels, m, n)``.

    The paper shows the hourglass only as a figure (after Newell et al. 2016); this one is: a 1x1
    convolution ``d -> hidden`` + ReLU, then ``depth`` encoder levels (2x2 max pool, ceil mode, then
    3x3 convolution + ReLU; 6x6 -> 3x3 -> 2x2), then as many decoder levels (bilinear upsampling to the
    skip's size, plus the skip connection, then 3x3 convolution + ReLU), then a 1x1 convolution
    ``hidden -> out_channels``. Choices, since the paper gives none: ``hidden = max(8, d // 4)`` and no
    batch norm (the map is 6x6 and the attention must not depend on the batch); the last convolution
    starts at zero, so ``ρ̃ = 0`` and ``ρ = ρ̄`` at initialisation (residual learning starts from the
    general attention rather than from noise).
    """

    def __init__(self, channels: int, out_channels: int = 1, hidden: int | None = None, depth: int = 2):
        super().__init__()
        if channels < 1 or out_channels < 1 or depth < 0:
            raise ValueError(
                f"ResidualAttention needs channels, out_channels >= 1 and depth >= 0, got "
                f"{channels}, {out_channels}, {depth}"
            )
        hidden = hidden if hidden is not None else max(8, channels // 4)
        self.channels = channels
        self.stem = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True))
        self.encoder = nn.ModuleList(
            nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(inplace=True)) for _ in range(depth)
        )
        self.decoder = nn.ModuleList(
            nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(inplace=True)) for _ in range(depth)
        )
        self.head = nn.Conv2d(hidden, out_channels, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
        nn.init.zeros_(self.head.weight)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() != 4 or features.shape[1] != self.channels:
            raise ValueError(
                f"ResidualAttention({self.channels}) expects (N, {self.channels}, m, n) features, "
                f"got shape {tuple(features.shape)}"
            )
        x = self.stem(features)
        skips = []
        for level in self.encoder:
            skips.append(x)
            x = level(nn.functional.max_pool2d(x, 2, ceil_mode=True))
        for level, skip in zip(self.decoder, reversed(skips)):
            x = nn.functional.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = level(x + skip)
        return self.head(x)


__all__ = ["GeneralAttention", "ResidualAttention", "SqueezeExcitation"]
