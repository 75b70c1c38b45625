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

**On the pretrained embedding** (``backbone="efficientnet-lite0"``): ``φ`` is the frozen ImageNet trunk + the
adjust layer (:class:`~siamtrack.models.pretrained.PretrainedEmbedding`), which is the only trainable convolution,
so the paper's rule "a SE block coupled to each convolutional layer" (Sec. III-A) gives one SE block, on the adjust
layer's output (:class:`SqueezeExcitationEmbedding`, under ``backbone.attention.0``, reduction 16: 128 -> 8 -> 128).
The frozen trunk gets none: a block inside it would change the ImageNet features the trunk was trained to produce
(and the cached maps). The adjust layer is conv + BN without a ReLU (as for SiamFC and CFNet on this path, so that
``attention=False`` is exactly the ``cfnet-conv2`` pretrained network); the squeeze is the spatial mean of its
signed output, which is still input-conditioned. The CF layer and its crop are CFNet-conv2's on this path
(:class:`~siamtrack.models.siamese.CFNetNet`: the filter learned on the 33x33 exemplar map, cropped to 13x13).
"""

from __future__ import annotations

import torch
from torch import nn

from siamtrack.models.attention import SqueezeExcitation
from siamtrack.models.backbones import ARCHITECTURES, AlexNet
from siamtrack.models.pretrained import PretrainedEmbedding, pretrained_embedding
from siamtrack.models.siamese import CorrelationFilterSiamese


def reset_squeeze_excitation(blocks) -> None:
    """He-normal (fan-in) FC layers with zero biases in the SE ``blocks`` (AdaCFNet Sec. IV: "improved Xavier",
    He et al. 2015, for all parameters)."""
    for block in blocks:
        for layer in (block.reduce, block.expand):
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(layer.bias)


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
        self.attention = (
            nn.ModuleList(SqueezeExcitation(count, reduction) for count in channels) if attention else nn.ModuleList()
        )
        self._attention_after = {index: number for number, index in enumerate(relus)} if attention else {}
        self.reduction = reduction
        self._reset_attention()  # the convolutions were initialised by AlexNet.__init__

    def reset_parameters(self) -> None:
        """The backbone's He-normal convolutions, and He-normal (fan-in) FC layers with zero biases in
        the SE blocks (AdaCFNet Sec. IV: "improved Xavier", He et al. 2015, for all parameters)."""
        super().reset_parameters()
        self._reset_attention()

    def _reset_attention(self) -> None:
        reset_squeeze_excitation(getattr(self, "attention", ()))  # absent while AlexNet.__init__ runs

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


class SqueezeExcitationEmbedding(PretrainedEmbedding):
    """The pretrained embedding (trunk + adjust layer) followed by one :class:`SqueezeExcitation` block (AdaCFNet on
    the pretrained path, see the module doc); ``attention=False`` gives the plain embedding. :meth:`forward` and
    :meth:`forward_from` (cached trunk maps) both end with the SE block; :meth:`forward_with_weights` also returns
    its channel weights ``{"se1": (N, channels)}`` (empty without attention), as the AlexNet backbone does."""

    def __init__(
        self,
        backbone: str = "efficientnet-lite0",
        stage: int = 5,
        channels: int = 128,
        finetune_stages: int = 0,
        pretrained: bool = True,
        attention: bool = True,
        reduction: int = 16,
    ):
        super().__init__(backbone, stage, channels, finetune_stages, pretrained)
        self.attention = nn.ModuleList([SqueezeExcitation(channels, reduction)] if attention else [])
        self.reduction = reduction
        reset_squeeze_excitation(self.attention)

    def _excite(self, features: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if not len(self.attention):
            return features, {}
        weights = self.attention[0].channel_weights(features)
        return features * weights[:, :, None, None], {"se1": weights}

    def forward_with_weights(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self._excite(super().forward(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_with_weights(images)[0]

    def forward_from(self, features: torch.Tensor, stage: int) -> torch.Tensor:
        return self._excite(super().forward_from(features, stage))[0]


class AdaCFNetNet(CorrelationFilterSiamese):
    """AdaCFNet: CFNet-conv2 with SE channel attention (AdaCFNet Sec. III, Fig. 3, Table I).

    ``width`` scales every channel count (the paper's network at 1.0); ``attention`` toggles the SE blocks
    (``False``: CFNet-conv2); ``reduction`` is the SE reduction factor (16, Sec. IV); ``lam``, ``sigma``,
    ``margin``: the CF layer's λ (Eq. 1), Gaussian width in cells and crop (57x57 -> 25x25 cells, 33x33 score
    map); ``gain``/``bias``: the initial learned score adjustment (CFNet's 1 and -0.5).
    The loss (Eq. 4 or the focal logistic Eq. 6) is chosen in the training config, not here.

    ``backbone="efficientnet-lite0"`` (with ``stage``, ``channels``, ``finetune_stages``, ``pretrained``; ``width``
    must stay 1): the SE block on the pretrained embedding (see the module doc), 257x257 crops, the filter learned on
    the 33x33 exemplar map and cropped by ``margin`` = 10 to 13x13, 21x21 score maps. What trains: the adjust layer,
    the SE block's two FC layers and ``s, b``.
    """

    exemplar_size = 255

    def __init__(
        self,
        width: float = 1.0,
        attention: bool = True,
        reduction: int = 16,
        lam: float = 10.0,
        sigma: float = 2.0,
        margin: int | None = None,
        gain: float = 1.0,
        bias: float = -0.5,
        backbone: str = "alexnet",
        stage: int = 5,
        channels: int = 128,
        finetune_stages: int = 0,
        pretrained: bool = True,
    ):
        if backbone != "alexnet":
            super().__init__(
                pretrained_embedding(
                    backbone,
                    width,
                    stage,
                    channels,
                    finetune_stages,
                    pretrained,
                    SqueezeExcitationEmbedding,
                    attention=attention,
                    reduction=reduction,
                )
            )
        else:
            super().__init__(SqueezeExcitationAlexNet(ARCHITECTURES["cfnet-conv2"], width, attention, reduction))
        self.add_correlation_filter(lam, sigma, margin, gain, bias)
        self.backbone_name = backbone
        self.width = width

    def embed_with_weights(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``φ(images)`` and the SE channel weights computed from these images (see the backbone)."""
        return self.backbone.forward_with_weights(images)


__all__ = ["AdaCFNetNet", "SqueezeExcitationAlexNet", "SqueezeExcitationEmbedding"]
