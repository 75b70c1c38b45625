"""ResNet-50 (He et al. 2016) with torchvision-compatible state-dict keys.

The modules and their names are torchvision's ``resnet50()`` (v1.5: the stride of a down-sampling bottleneck
sits on its 3x3 convolution): ``conv1``, ``bn1``, ``layer1`` .. ``layer4`` of 3, 4, 6, 3 bottlenecks
(``layerN.M.conv1/bn1/conv2/bn2/conv3/bn3`` and ``layerN.0.downsample.0/1``). The classifier (``fc``) is not
built; :func:`resnet50` drops a weight file's ``fc.*`` entries on purpose and rejects any other difference.

:meth:`ResNet50.forward` returns the outputs of the named stages: ``conv1`` (after ReLU, stride 2), ``layer1``
(stride 4), ``layer2`` (stride 8, 512 channels; Caffe's ``res3d``), ``layer3`` (stride 16, 1024 channels;
``res4f``), ``layer4`` (stride 32, 2048 channels; ``res5c``). The Caffe names used by DSLT (Lu et al., Sec. 5.1)
are accepted as aliases. Input convention: torchvision's (see :func:`siamtrack.models.vgg.normalize_imagenet`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import torch
from torch import nn

from siamtrack.models.vgg import load_torchvision_state_dict

STAGES = ("conv1", "layer1", "layer2", "layer3", "layer4")
CAFFE_ALIASES = {"res2c": "layer1", "res3d": "layer2", "res4f": "layer3", "res5c": "layer4"}
STAGE_CHANNELS = {"conv1": 64, "layer1": 256, "layer2": 512, "layer3": 1024, "layer4": 2048}
STAGE_STRIDES = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand (x4), plus the identity or a projection shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + shortcut)


class ResNet50(nn.Module):
    """The convolutional part of ResNet-50 (everything but ``avgpool`` and ``fc``)."""

    blocks = (3, 4, 6, 3)

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = 64
        for index, (count, width) in enumerate(zip(self.blocks, (64, 128, 256, 512))):
            stride = 1 if index == 0 else 2
            layers = []
            for block in range(count):
                layers.append(Bottleneck(channels, width, stride if block == 0 else 1))
                channels = width * Bottleneck.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*layers))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    @staticmethod
    def stage(name: str) -> str:
        """The torchvision stage name of ``name`` (a stage name or a Caffe alias such as ``res4f``)."""
        stage = CAFFE_ALIASES.get(name, name)
        if stage not in STAGES:
            raise KeyError(
                f"ResNet-50 has no stage {name!r}; stages are {', '.join(STAGES)} (aliases {', '.join(CAFFE_ALIASES)})"
            )
        return stage

    def channels(self, name: str) -> int:
        return STAGE_CHANNELS[self.stage(name)]

    def stride(self, name: str) -> int:
        return STAGE_STRIDES[self.stage(name)]

    def forward(self, images: torch.Tensor, layers: Iterable[str] = ("layer2", "layer3")) -> dict[str, torch.Tensor]:
        """Outputs of the named stages (dict keyed by the names as given); stops after the deepest one."""
        wanted = {name: STAGES.index(self.stage(name)) for name in layers}
        if not wanted:
            raise ValueError("ask for at least one ResNet-50 stage")
        deepest = max(wanted.values())
        outputs, x = [], self.relu(self.bn1(self.conv1(images)))
        outputs.append(x)
        if deepest >= 1:
            x = self.maxpool(x)
            for index in range(1, deepest + 1):
                x = getattr(self, f"layer{index}")(x)
                outputs.append(x)
        return {name: outputs[index] for name, index in wanted.items()}


def resnet50(weights: str | os.PathLike | Mapping | None = None) -> ResNet50:
    """ResNet-50, randomly initialised, or loaded from a torchvision weight file / state dict ``weights``
    (read with ``torch.load(..., weights_only=True)``; ``fc.*`` entries are ignored)."""
    from siamtrack.models import read_weights

    model = ResNet50()
    if weights is not None:
        read = read_weights(weights)
        load_torchvision_state_dict(model, read.state_dict, read.source, ignore_prefixes=("fc.",))
    return model


__all__ = ["Bottleneck", "ResNet50", "resnet50"]
