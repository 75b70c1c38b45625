"""AlexNet-style embedding networks of SiamFC and CFNet, with a channel-width multiplier.

Every backbone is one ``features`` :class:`torch.nn.Sequential` (state-dict keys ``features.0.weight``,
``features.1.running_mean`` ..., as in torchvision's AlexNet) built from a tuple of :class:`ConvBlock`
specifications: convolution, then batch norm + ReLU (except on a final linear layer), then an optional
3x3 max pool. All convolutions are unpadded ("valid"), so a crop maps to a feature map of a fixed size.

Architectures (channel counts at ``width=1``):

* ``siamfc``: Bertinetto et al. 2016, Table 1 -- conv 11/2 96, pool 3/2, conv 5 256 (2 groups),
  pool 3/2, conv 3 384, conv 3 384 (2 groups), conv 3 256 (2 groups, linear). Total stride 8;
  127 -> 6x6, 255 -> 22x22.
* ``cfnet-conv1``: Valmadre et al. 2017 -- conv 11/4 32 + BN + ReLU. Total stride 4; 255 -> 62x62.
* ``cfnet-conv2``: conv 11/2 96, pool 3/2, conv 5 32 (2 groups) + BN + ReLU. Stride 4; 255 -> 57x57.
* ``cfnet-conv5``: the SiamFC stack with pool2 at stride 1 and a 32-channel linear conv5. Stride 4;
  255 -> 49x49.
(The CFNet variants follow the authors' ``run_experiment_cfnet_conv*.m`` configurations.)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


@dataclass(frozen=True)
class ConvBlock:
    """One block: ``Conv2d(kernel, stride, groups)`` [+ BN + ReLU] [+ MaxPool2d(3, pool_stride)]."""

    channels: int
    kernel: int
    stride: int = 1
    groups: int = 1
    pool_stride: int = 0  # 0: no pooling after this block
    linear: bool = False  # True: no BN/ReLU after the convolution (a final embedding layer)
    padding: int = 0  # zero padding of the convolution (0: "valid", as every architecture below)


ARCHITECTURES: dict[str, tuple[ConvBlock, ...]] = {
    "siamfc": (
        ConvBlock(96, 11, stride=2, pool_stride=2),
        ConvBlock(256, 5, groups=2, pool_stride=2),
        ConvBlock(384, 3),
        ConvBlock(384, 3, groups=2),
        ConvBlock(256, 3, groups=2, linear=True),
    ),
    "cfnet-conv1": (ConvBlock(32, 11, stride=4),),
    "cfnet-conv2": (
        ConvBlock(96, 11, stride=2, pool_stride=2),
        ConvBlock(32, 5, groups=2),
    ),
    "cfnet-conv5": (
        ConvBlock(96, 11, stride=2, pool_stride=2),
        ConvBlock(256, 5, groups=2, pool_stride=1),
        ConvBlock(384, 3),
        ConvBlock(384, 3, groups=2),
        ConvBlock(32, 3, groups=2, linear=True),
    ),
}


def scaled_channels(channels: int, width: float) -> int:
    """``channels * width`` rounded to an even number (grouped convolutions need it), at least 2."""
    return max(2, 2 * round(channels * width / 2))


class AlexNet(nn.Module):
    """An AlexNet-style fully convolutional embedding built from ``blocks``; ``width`` scales every
    channel count (0.5 and 0.25 make CPU training and tracking practical)."""

    def __init__(self, blocks: tuple[ConvBlock, ...], width: float = 1.0, in_channels: int = 3):
        super().__init__()
        if not width > 0:
            raise ValueError(f"width multiplier must be > 0, got {width!r}")
        if not blocks:
            raise ValueError("an AlexNet backbone needs at least one ConvBlock")
        layers: list[nn.Module] = []
        channels, stride = in_channels, 1
        for block in blocks:
            out = scaled_channels(block.channels, width)
            layers.append(nn.Conv2d(channels, out, block.kernel, block.stride, block.padding, groups=block.groups))
            if not block.linear:
                layers += [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            if block.pool_stride:
                layers.append(nn.MaxPool2d(3, block.pool_stride))
            channels, stride = out, stride * block.stride * max(block.pool_stride, 1)
        self.features = nn.Sequential(*layers)
        self.blocks = blocks
        self.width = width
        self.out_channels = channels
        self.total_stride = stride
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal convolutions (fan-out, ReLU gain), zero biases, unit BN scales."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def output_size(self, input_size: int) -> int:
        """Side of the feature map of a square ``input_size`` crop (closed form, no forward pass)."""
        size = input_size
        for block in self.blocks:
            size = (size + 2 * block.padding - block.kernel) // block.stride + 1
            if block.pool_stride:
                size = (size - 3) // block.pool_stride + 1
        if size < 1:
            raise ValueError(f"a {input_size}x{input_size} input is smaller than the backbone's receptive field")
        return size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.features(images)


def build_backbone(name: str, width: float = 1.0) -> AlexNet:
    """The backbone ``name`` (a key of :data:`ARCHITECTURES`) at channel ``width``."""
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown backbone {name!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    return AlexNet(ARCHITECTURES[name], width=width)


def fuse_batchnorm(module: nn.Module) -> nn.Module:
    """A copy of ``module`` (in eval mode) where every ``Conv2d`` directly followed by a ``BatchNorm2d`` in
    an ``nn.Sequential`` has the BN folded into its weights and bias (the BN becomes ``Identity``), and every
    submodule with a ``fuse_batchnorm_()`` method (EfficientNet-Lite) has folded its own pairs.

    Inference only: the fused copy computes the same function as ``module.eval()``, one pass cheaper
    per layer. The original module is not modified.
    """
    fused = copy.deepcopy(module).eval()
    for submodule in list(fused.modules()):  # modules that know their own conv/BN pairs (EfficientNet-Lite)
        if callable(getattr(submodule, "fuse_batchnorm_", None)):
            submodule.fuse_batchnorm_()
    for sequential in [m for m in fused.modules() if isinstance(m, nn.Sequential)]:
        for index in range(len(sequential) - 1):
            conv, norm = sequential[index], sequential[index + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                sequential[index] = fuse_conv_bn_eval(conv, norm)
                sequential[index + 1] = nn.Identity()
    return fused
