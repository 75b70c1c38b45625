"""DSLT* (Lu et al., "Deep Object Tracking with Shrinkage Loss", TPAMI 2020): a fixed two-layer feature
extractor and the small regression network learned online on top of it (Sec. 3.1, 3.3, Fig. 2 and 5c).

:class:`TwoLayerFeatures` taps two stages of a frozen backbone (shallow, deep):

* ``resnet50``: ``res3d`` / ``res4f`` (torchvision ``layer2`` / ``layer3``; 512 / 1024 channels, stride 8 / 16),
  the paper's choice (Sec. 5.1); input normalised the torchvision way;
* ``vgg16``: ``relu4_3`` / ``relu5_3`` (512 / 512 channels, stride 8 / 16), the paper's variant of Sec. 5.4;
* ``siamfc``: two stages of this project's SiamFC AlexNet embedding (default ``conv4`` after its ReLU and the
  linear ``conv5``, both stride 8), fed raw 0..255 RGB as SiamFC is trained. No ImageNet weights can be had
  here, so this is the default backbone (the bundled ``siamfc.pth``).

:class:`DSLTRegression` is the network of Fig. 2 / Fig. 5(c): each layer reduced to 128 channels by a 1x1
convolution (Sec. 5.1), the deeper one upsampled to the shallower one's resolution by a bilinear interpolation
layer (Fig. 2), the two fused by a residual (sum) connection; a regression convolution without bias (Eq. 1)
on the fused features and another on the deep features, whose response maps are fused by a second residual
connection: ``P = W_f * (s + up(d)) + W_d * up(d)``.

The paper does not spell out which maps the output residual connection joins; we read Fig. 2 and the
per-layer learning rates of Sec. 5.1 ("in the Res4f and Res3d layers") as one regression branch per layer
(deep: ``W_d``; shallow: ``W_f`` on the fused features), summed -- as CREST's base + residual maps.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from siamtrack.models.backbones import AlexNet, fuse_batchnorm, scaled_channels
from siamtrack.models.vgg import normalize_imagenet

DEFAULT_LAYERS = {"siamfc": ("conv4", "conv5"), "vgg16": ("relu4_3", "relu5_3"), "resnet50": ("res3d", "res4f")}


def alexnet_stages(alexnet: AlexNet) -> dict[str, tuple[int, int, int]]:
    """``convK -> (index of its last module in features, channels, stride)`` for an AlexNet-style backbone:
    a stage ends after its ReLU (or after the convolution of a linear block), before its pooling."""
    stages, index, stride = {}, 0, 1
    for number, block in enumerate(alexnet.blocks, start=1):
        stride *= block.stride
        last = index if block.linear else index + 2
        stages[f"conv{number}"] = (last, scaled_channels(block.channels, alexnet.width), stride)
        index = last + 1
        if block.pool_stride:
            index += 1
            stride *= block.pool_stride
    return stages


class TwoLayerFeatures(nn.Module):
    """A frozen backbone returning ``(shallow, deep)`` feature maps of ``(N, 3, S, S)`` RGB 0..255 crops.

    Build it with :meth:`from_backbone`. ``channels`` and ``strides`` describe the two maps.
    """

    def __init__(self, kind: str, network: nn.Module, layers: tuple[str, str], channels: tuple[int, int],
                 strides: tuple[int, int]):
        super().__init__()
        if strides[1] % strides[0]:
            raise ValueError(f"the deep layer's stride {strides[1]} must be a multiple of the shallow one's "
                             f"{strides[0]} (layers {layers})")
        self.kind, self.layers = kind, tuple(layers)
        self.network = network.eval()
        self.channels, self.strides = tuple(channels), tuple(strides)
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)

    @classmethod
    def from_backbone(cls, kind: str, network: nn.Module, layers: tuple[str, str] | None = None) -> "TwoLayerFeatures":
        """``kind`` is ``siamfc`` (``network`` an :class:`AlexNet`), ``vgg16`` or ``resnet50``; ``layers`` default
        to :data:`DEFAULT_LAYERS`."""
        if kind not in DEFAULT_LAYERS:
            raise KeyError(f"unknown DSLT backbone {kind!r}; known: {', '.join(DEFAULT_LAYERS)}")
        layers = tuple(layers) if layers is not None else DEFAULT_LAYERS[kind]
        if len(layers) != 2:
            raise ValueError(f"DSLT taps exactly two layers (shallow, deep), got {layers!r}")
        if kind == "siamfc":
            stages = alexnet_stages(network)
            unknown = [name for name in layers if name not in stages]
            if unknown:
                raise KeyError(f"the SiamFC backbone has no stage {unknown[0]!r}; stages are {', '.join(stages)}")
            if stages[layers[0]][0] >= stages[layers[1]][0]:
                raise ValueError(f"layers must be ordered shallow, deep; got {layers!r}")
            network = fuse_batchnorm(network)  # frozen: fold BN once
            return cls(kind, network, layers, (stages[layers[0]][1], stages[layers[1]][1]),
                       (stages[layers[0]][2], stages[layers[1]][2]))
        return cls(kind, network, layers, (network.channels(layers[0]), network.channels(layers[1])),
                   (network.stride(layers[0]), network.stride(layers[1])))

    def train(self, mode: bool = True) -> "TwoLayerFeatures":
        super().train(mode)
        self.network.eval()  # frozen backbone: batch norm always uses its running statistics
        return self

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.kind == "siamfc":
            stages = alexnet_stages(self.network)
            wanted = {stages[name][0]: name for name in self.layers}
            outputs, x = {}, images
            for index in range(max(wanted) + 1):
                module = self.network.features[index]
                x = module(x) if not (isinstance(module, nn.ReLU) and index - 1 in wanted) else torch.relu(x)
                if index in wanted:
                    outputs[wanted[index]] = x
        else:
            outputs = self.network(normalize_imagenet(images), self.layers)
        return outputs[self.layers[0]], outputs[self.layers[1]]


def align_deep(shallow: torch.Tensor, deep: torch.Tensor, ratio: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bring the deep map to the shallow map's grid: bilinear upsampling by ``ratio`` (stride ratio; half-pixel
    aligned, so cell centres coincide when the input side is a multiple of the deep stride), or, at equal
    strides (unpadded backbones such as AlexNet), a centred crop of both maps to the smaller size."""
    if ratio > 1:
        deep = F.interpolate(deep, scale_factor=ratio, mode="bilinear", align_corners=False)
        if deep.shape[-2:] != shallow.shape[-2:]:
            raise ValueError(f"upsampled deep features {tuple(deep.shape[-2:])} do not match the shallow features "
                             f"{tuple(shallow.shape[-2:])}: the input side must be a multiple of the deep stride")
        return shallow, deep
    height = min(shallow.shape[-2], deep.shape[-2])
    width = min(shallow.shape[-1], deep.shape[-1])

    def centre(x: torch.Tensor) -> torch.Tensor:
        top, left = (x.shape[-2] - height) // 2, (x.shape[-1] - width) // 2
        if (x.shape[-2] - height) % 2 or (x.shape[-1] - width) % 2:
            raise ValueError(f"feature maps {tuple(x.shape[-2:])} and {(height, width)} cannot be centre-aligned")
        return x[..., top:top + height, left:left + width]

    return centre(shallow), centre(deep)


class DSLTRegression(nn.Module):
    """The regression network of Fig. 2 (see the module doc): ``forward(shallow, deep) -> (N, 1, h, w)``.

    ``kernel_size = (kh, kw)`` is the regression kernel (odd sides; "proportional to the size of the input
    features", Sec. 3.1 -- the tracker sets it from the target's size in feature cells), applied with "same"
    padding so the response has the fused map's size and centre. The regression kernels start at zero, so
    the first response is 0 everywhere.
    """

    def __init__(self, in_channels: tuple[int, int], stride_ratio: int, kernel_size: tuple[int, int],
                 reduced_channels: int = 128):
        super().__init__()
        if any(k < 1 or k % 2 == 0 for k in kernel_size):
            raise ValueError(f"regression kernel sides must be odd and positive, got {kernel_size!r}")
        self.stride_ratio = int(stride_ratio)
        self.reduce_shallow = nn.Conv2d(in_channels[0], reduced_channels, 1)  # 1x1 channel reduction (Sec. 5.1)
        self.reduce_deep = nn.Conv2d(in_channels[1], reduced_channels, 1)
        padding = (kernel_size[0] // 2, kernel_size[1] // 2)
        self.regress_fused = nn.Conv2d(reduced_channels, 1, kernel_size, padding=padding, bias=False)  # Eq. 1
        self.regress_deep = nn.Conv2d(reduced_channels, 1, kernel_size, padding=padding, bias=False)
        nn.init.zeros_(self.regress_fused.weight)
        nn.init.zeros_(self.regress_deep.weight)

    def branches(self) -> dict[str, list[nn.Conv2d]]:
        """The layers of each branch, for the per-layer learning rates of Sec. 5.1: ``deep`` (the Res4f branch)
        and ``shallow`` (the Res3d branch, whose regression acts on the fused features)."""
        return {"deep": [self.reduce_deep, self.regress_deep], "shallow": [self.reduce_shallow, self.regress_fused]}

    def forward(self, shallow: torch.Tensor, deep: torch.Tensor) -> torch.Tensor:
        shallow, deep = align_deep(self.reduce_shallow(shallow), self.reduce_deep(deep), self.stride_ratio)
        fused = shallow + deep  # residual connection of the two layers (Fig. 5c)
        return self.regress_fused(fused) + self.regress_deep(deep)  # residual connection of the response maps


__all__ = ["DEFAULT_LAYERS", "DSLTRegression", "TwoLayerFeatures", "align_deep", "alexnet_stages"]
