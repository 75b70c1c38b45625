"""EDCF: the encoder-decoder correlation-filter network (Wang, Zhang, Xing, Gao, Hu, Maybank, "Do not Lose
the Details: Reinforced Representation Learning for High Performance Visual Tracking", IJCAI 2018).

One encoder, two correlation branches and a decoder (Fig. 2):

* **encoder** ``φ``: SiamFC's AlexNet (:mod:`siamtrack.models.backbones`), 255x255x3 -> conv5 22x22x256, five
  convolutions and two max pools (Sec. 3.1, 4.1). One change: conv1 is zero-padded by 2 pixels, so that conv1
  (and the conv2 branch below) are 125x125 on a 255 input, the size the paper gives (valid convolutions
  give 123); conv5 stays 22x22.
* **high-level branch**: spatial cross-correlation of conv5 features (Eq. 3), ``f = s · φ(z') ⋆ φ(x')`` with
  SiamFC's fixed ``s = 0.001``. Exemplars are 255x255 like the search crops (Sec. 4.1: both are cropped
  alike and resized to 255); the exemplar's conv5 is cut to its central ``m x n = 6 x 6`` cells (the
  127-pixel context square, as a SiamFC exemplar), giving 17x17 score maps at stride 8.
* **low-level branch** ``φ_l``: "fine-grained conv2 features without max-pooling, 125x125x8" (Sec. 3.2, 4.1).
  The paper does not say how conv2 gets 8 channels. Our choice: a branch of its own after the encoder's
  conv1 (+BN+ReLU, before pool1): one 5x5 convolution (conv2's kernel), padding 2, 8 output channels, linear
  (no BN/ReLU, as a final embedding layer), so the thin map keeps conv1's stride 2 and the encoder's conv2
  (256 channels, after pooling) serves the high-level path unchanged. The 8 channels do not scale with
  ``width``. Its features feed the context-aware CF layer
  (:class:`~siamtrack.models.correlation.ContextAwareCorrelationFilter`, Eq. 6-14).
* **decoder** ``ψ`` (training only): 7 transposed convolutions 22x22 -> 255x255x3 (Sec. 3.1), mirroring the
  encoder's spatial path layer by layer (conv5, conv4, conv3, pool2, conv2, pool1, conv1). The paper gives
  only the layer count; our channel counts halve towards the image (256, 192, 128, 128, 64, 64, 3 at width 1).
  It reconstructs the input image scaled to [0, 1] (the loss compares it with ``image / 255``).

**Context patches** (the ``k`` hard negatives ``z'_i`` of Eq. 6): CACF (Mueller et al. 2017) takes ``k = 4``
patches displaced by the target's height/width up, down, left and right. We cut them from the exemplar's
fine-grained feature map by translating it by the target's extent in cells (zero where the translation runs
past the map, the padding value), which needs no extra crops in training nor extra network passes in tracking.

``variant`` flags build only what a Table 1 row needs: ``high`` (conv3-5 + Eq. 3), ``low`` (``"conv2"``, the
learned branch; ``"grayscale"``, CACF's hand-crafted baseline: grayscale pixels in [-0.5, 0.5] box-averaged
onto the same 125x125 stride-2 grid; ``None``: no CF branch) and ``decoder``.

:func:`siamtrack.training.objectives.edcf_objective` is the multi-task loss of Eq. 15 as the training loop calls it
(``loss.name: siamtrack.training.objectives:edcf_objective``); it runs the network and builds the CF branch's label.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from siamtrack.models.backbones import ARCHITECTURES, AlexNet, scaled_channels
from siamtrack.models.correlation import ContextAwareCorrelationFilter, xcorr

#: SiamFC's AlexNet with conv1 padded by 2 (see the module doc).
EDCF_ENCODER = (dataclasses.replace(ARCHITECTURES["siamfc"][0], padding=2),) + ARCHITECTURES["siamfc"][1:]

#: Decoder layers ``(out_channels at width 1, kernel, stride, padding, output_padding)``, 22 -> 255: the
#: transposes of conv5, conv4, conv3, pool2, conv2, pool1, conv1.
DECODER_LAYERS = (
    (256, 3, 1, 0, 0),  # 22 -> 24
    (192, 3, 1, 0, 0),  # 24 -> 26
    (128, 3, 1, 0, 0),  # 26 -> 28
    (128, 3, 2, 0, 1),  # 28 -> 58   (pool2: 58 -> 28)
    (64, 5, 1, 0, 0),  # 58 -> 62
    (64, 3, 2, 0, 0),  # 62 -> 125  (pool1: 125 -> 62)
    (3, 11, 2, 2, 0),  # 125 -> 255 (conv1, padding 2)
)

LOW_LEVEL_KINDS = ("conv2", "grayscale")


class Decoder(nn.Module):
    """EDCF's decoder ``ψ`` (Sec. 3.1): 7 transposed convolutions, BN + ReLU between them, linear output."""

    def __init__(self, in_channels: int, width: float = 1.0):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for index, (out, kernel, stride, padding, output_padding) in enumerate(DECODER_LAYERS):
            last = index == len(DECODER_LAYERS) - 1
            out = out if last else scaled_channels(out, width)
            layers.append(nn.ConvTranspose2d(channels, out, kernel, stride, padding, output_padding))
            if not last:
                layers += [nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


def _translated_slices(height: int, width: int, dx: int, dy: int):
    """``(output slices, input slices)`` of a translation by ``(dx, dy)`` cells (None: nothing left)."""
    if abs(dx) >= width or abs(dy) >= height:
        return None
    return (
        (slice(max(0, -dy), height - max(0, dy)), slice(max(0, -dx), width - max(0, dx))),
        (slice(max(0, dy), height - max(0, -dy)), slice(max(0, dx), width - max(0, -dx))),
    )


def translate(features: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """``out[..., v, u] = features[..., v + dy, u + dx]``, zero where that falls outside the map: the feature
    map of a patch whose centre is ``(dx, dy)`` cells from the map's centre."""
    out = torch.zeros_like(features)
    slices = _translated_slices(*features.shape[-2:], dx, dy)
    if slices is not None:
        out[(..., *slices[0])] = features[(..., *slices[1])]
    return out


def context_patches(features: torch.Tensor, target_cells: torch.Tensor) -> torch.Tensor:
    """The ``k = 4`` context feature maps of CACF (Mueller et al. 2017): ``features`` ``(B, C, H, W)`` of
    target-centred patches translated (:func:`translate`) by the target's height up and down and its width
    left and right. ``target_cells`` ``(B, 2)`` is the target's ``(w, h)`` in feature cells (rounded).
    Returns ``(B, 4, C, H, W)``."""
    if features.dim() != 4 or target_cells.shape != (features.shape[0], 2):
        raise ValueError(
            f"context patches need features (B, C, H, W) and target sizes (B, 2), got "
            f"{tuple(features.shape)} and {tuple(target_cells.shape)}"
        )
    height, width = features.shape[-2:]
    sizes = np.rint(target_cells.detach().cpu().double().numpy()).astype(int)
    patches = features.new_zeros((features.shape[0], 4) + tuple(features.shape[1:]))
    for index, (w, h) in enumerate(sizes):
        for patch, (dx, dy) in enumerate(((0, -h), (0, h), (-w, 0), (w, 0))):
            slices = _translated_slices(height, width, dx, dy)
            if slices is not None:
                patches[(index, patch, slice(None), *slices[0])] = features[(index, slice(None), *slices[1])]
    return patches


class EDCFNet(nn.Module):
    """The EDCF network (see the module doc). ``forward(exemplar, instance, exemplar_boxes=None)`` returns a
    dict of the present branches' outputs: ``high`` ``(B, 1, 17, 17)`` (Eq. 3), ``low`` ``(B, 1, 125, 125)``
    (Eq. 9, circular: ``(0, 0)`` = no displacement), ``exemplar_reconstruction`` / ``instance_reconstruction``
    ``(B, 3, 255, 255)``, and ``scores`` (``high`` if present, else ``low``: the map the training loop sizes
    its labels by). ``exemplar_boxes`` ``(B, 4)`` (``x, y, w, h`` in exemplar-crop pixels) place the context
    patches; without them the target is taken as a centred square of half the context size.

    Args: ``width``: channel multiplier of encoder and decoder; ``high``, ``low``, ``decoder``: the branches
    (see the module doc); ``low_channels``: channels of the conv2 branch (paper: 8); ``lam1``, ``lam2``: λ1, λ2
    of Eq. 6 (paper: 1e-4, 0.1); ``sigma``: the CF's desired Gaussian response, in cells (default: 0.1 x the
    side of a square target, 63.5 crop pixels = 31.75 cells, the DCFNet/KCF output-sigma rule);
    ``score_scale``: SiamFC's response scale ``s``.
    """

    exemplar_size = 255
    instance_size = 255
    context_size = 127  # crop pixels onto which the target-with-context square is mapped
    low_stride = 2  # crop pixels per cell of the low-level map (and of the CF response)

    def __init__(
        self,
        width: float = 1.0,
        high: bool = True,
        low: str | None = "conv2",
        decoder: bool = True,
        low_channels: int = 8,
        lam1: float = 1e-4,
        lam2: float = 0.1,
        sigma: float = 3.175,
        score_scale: float = 1e-3,
    ):
        super().__init__()
        if low is not None and low not in LOW_LEVEL_KINDS:
            raise ValueError(f"low must be one of {LOW_LEVEL_KINDS} or None, got {low!r}")
        if not high and low is None:
            raise ValueError("EDCFNet needs at least one correlation branch (high=True or a low branch)")
        if decoder and not high:
            raise ValueError("the decoder reconstructs from conv5: decoder=True needs high=True")
        if low_channels < 1:
            raise ValueError(f"low_channels must be >= 1, got {low_channels}")
        self.width, self.high, self.low, self.use_decoder = width, bool(high), low, bool(decoder)
        self.score_scale = float(score_scale)
        self.encoder = None
        if high:
            self.encoder = AlexNet(EDCF_ENCODER, width)
        elif low == "conv2":  # conv1 alone (no pooling)
            self.encoder = AlexNet((dataclasses.replace(EDCF_ENCODER[0], pool_stride=0),), width)
        self.low_branch = None
        if low == "conv2":
            conv1_channels = self.encoder.features[0].out_channels
            self.low_branch = nn.Sequential(nn.Conv2d(conv1_channels, low_channels, 5, padding=2))
        self.correlation_filter = ContextAwareCorrelationFilter(lam1, lam2, sigma) if low else None
        self.decoder = Decoder(self.encoder.out_channels, width) if decoder else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal (transposed) convolutions, zero biases, unit BN scales (as the backbones)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    @property
    def total_stride(self) -> int:
        """Crop pixels per cell of the high-level score map (the low-level map's is :attr:`low_stride`)."""
        return self.encoder.total_stride if self.high else self.low_stride

    @property
    def template_cells(self) -> int:
        """Side ``m = n`` of the exemplar's conv5 window correlated in Eq. 3 (6 for a 127 context square)."""
        return self.encoder.output_size(self.context_size)

    @property
    def high_stride(self) -> int:
        """Crop pixels per cell of the high-level (Eq. 3) score map."""
        return self.encoder.total_stride

    def high_score_size(self, instance_size: int) -> int:
        """Side of the Eq. 3 score map of an ``instance_size`` search crop (17 for 255)."""
        return self.encoder.output_size(instance_size) - self.template_cells + 1

    # ---- branches ------------------------------------------------------------------------------------------

    def encode(self, images: torch.Tensor, need_high: bool = True) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(low, high)`` features of ``(N, 3, 255, 255)`` crops (RGB, 0..255): the fine-grained map
        ``(N, 8, 125, 125)`` (None without a low branch) and conv5 ``(N, C, 22, 22)`` (None without the high
        branch or when ``need_high`` is False)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"EDCFNet expects (N, 3, H, W) images, got {tuple(images.shape)}")
        low = high = None
        if self.low == "grayscale":
            low = grayscale_cells(images)
        if self.encoder is not None and (self.low == "conv2" or (self.high and need_high)):
            conv1 = self.encoder.features[:3](images)
            if self.low == "conv2":
                low = self.low_branch(conv1)
            if self.high and need_high:
                high = self.encoder.features[3:](conv1)
        return low, high

    def high_template(self, exemplar_high: torch.Tensor) -> torch.Tensor:
        """The central ``m x n`` cells of the exemplar's conv5 map (``φ(z')`` of Eq. 3)."""
        size, cells = exemplar_high.shape[-1], self.template_cells
        start = (size - cells) // 2
        return exemplar_high[..., start : start + cells, start : start + cells]

    def match(self, template: torch.Tensor, instance_high: torch.Tensor) -> torch.Tensor:
        """Eq. 3: ``f = s · φ(z') ⋆ φ(x')`` ``(N, 1, 17, 17)``; templates pair with instances as in
        :func:`~siamtrack.models.correlation.xcorr`."""
        return xcorr(template, instance_high) * self.score_scale

    def default_target_cells(self, batch: int, device=None) -> torch.Tensor:
        """``(batch, 2)`` target sizes in cells of a centred square target (half the context square)."""
        side = self.context_size / 2.0 / self.low_stride
        return torch.full((batch, 2), side, device=device)

    def boxes_to_cells(self, boxes: torch.Tensor) -> torch.Tensor:
        """Target ``(w, h)`` in low-level cells from ``(B, 4)`` crop-pixel boxes."""
        return boxes[:, 2:4] / self.low_stride

    def forward(
        self, exemplar: torch.Tensor, instance: torch.Tensor, exemplar_boxes: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        exemplar_low, exemplar_high = self.encode(exemplar)
        instance_low, instance_high = self.encode(instance)
        outputs: dict[str, torch.Tensor] = {}
        if self.high:
            outputs["high"] = self.match(self.high_template(exemplar_high), instance_high)
        if self.low:
            cells = (
                self.default_target_cells(len(exemplar), exemplar.device)
                if exemplar_boxes is None
                else self.boxes_to_cells(exemplar_boxes)
            )
            outputs["low"] = self.correlation_filter(exemplar_low, context_patches(exemplar_low, cells), instance_low)
        if self.decoder is not None:
            outputs["exemplar_reconstruction"] = self.decoder(exemplar_high)
            outputs["instance_reconstruction"] = self.decoder(instance_high)
        outputs["scores"] = outputs["high"] if self.high else outputs["low"]
        return outputs

    def extra_repr(self) -> str:
        return f"width={self.width}, high={self.high}, low={self.low!r}, decoder={self.use_decoder}"


class EDCFLiteNet(nn.Module):
    """EDCF on the ImageNet EfficientNet-Lite0 trunk (``edcf-lite``): the trunk plays the encoder ``φ``, and the two
    correlation branches of Fig. 2 read two of its depths in one pass.

    * **high-level branch** (Eq. 3): the trained SiamFC head of ``siamfc`` (a
      :class:`~siamtrack.models.siamese.SiamFCNet` built with ``backbone="efficientnet-lite0"``, e.g. the bundled
      ``siamfc-lite.pth``): stage 5 + adjust layer, the centre 7x7 of the 257-px exemplar's map, its calibrated
      normalised correlation; 27x27 score maps at stride 8.
    * **low-level branch** (Eq. 6-14): the context-aware CF layer on the trunk's stage 2 (24 channels at stride 4:
      a 65x65 map of a 257-px crop), the trunk's finest stage after the stem that keeps a stride of its own, which
      plays "fine-grained conv2 features without max-pooling". ``sigma`` keeps the AlexNet path's rule (0.1 x the
      63.5-px side of a square target, 6.35 px = 1.5875 cells at stride 4).

    What is not EDCF's, and why: there is **no decoder** and **no learned 8-channel projection** of the fine
    features. Both exist in the paper to shape the encoder (the reconstruction loss keeps details that the
    tracking loss would discard, Sec. 3.1); here the encoder is the frozen ImageNet trunk, which already keeps
    them, so the reconstruction loss could only reach the adjust layer, and the projection would be the only
    thing the CF loss trains, on stride-4 maps that the feature cache does not hold. The fine branch therefore
    uses the 24 ImageNet channels as they are and has no parameters; the network's only trained numbers are the
    SiamFC head's. :class:`~siamtrack.trackers.edcf.EDCFTracker` runs it with Eq. 16-18 unchanged.
    """

    exemplar_size = 257
    instance_size = 257
    context_size = 127
    low_stride = 4
    high = True
    low = "trunk"
    decoder = None

    def __init__(
        self, siamfc: nn.Module, low_stage: int = 2, lam1: float = 1e-4, lam2: float = 0.1, sigma: float = 6.35 / 4
    ):
        super().__init__()
        if not getattr(siamfc, "pretrained_backbone", False):
            raise ValueError(
                "EDCFLiteNet needs a SiamFC network on the pretrained backbone "
                "(build_model('siamfc', backbone='efficientnet-lite0'))"
            )
        trunk = siamfc.backbone.trunk
        if low_stage != 2:  # the low branch's geometry (low_stride 4, sigma in its cells) is stage 2's
            raise ValueError(f"low_stage must be 2 (the stride-4 stage), got {low_stage!r}")
        self.siamfc = siamfc
        self.low_stage = low_stage
        self.correlation_filter = ContextAwareCorrelationFilter(lam1, lam2, sigma)
        self.low_channels = trunk.stage_channels[low_stage - 1]

    @property
    def tracking_params(self) -> dict:
        return {"exemplar_size": self.exemplar_size, "instance_size": self.instance_size}

    @property
    def total_stride(self) -> int:
        return self.high_stride

    @property
    def high_stride(self) -> int:
        return self.siamfc.total_stride

    @property
    def template_cells(self) -> int:
        return self.siamfc.template_cells

    def high_score_size(self, instance_size: int) -> int:
        return (instance_size - 1) // self.high_stride + 1 - self.template_cells + 1

    def encode(self, images: torch.Tensor, need_high: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(low, high)``: the trunk's stage-2 map and (when ``need_high``) the SiamFC embedding, one trunk pass."""
        embedding = self.siamfc.backbone
        taps = [self.low_stage, embedding.stage] if need_high else [self.low_stage]
        maps = embedding.trunk.features(images, taps)
        return maps[self.low_stage], embedding.adjust(maps[embedding.stage]) if need_high else None

    def high_template(self, exemplar_high: torch.Tensor) -> torch.Tensor:
        return self.siamfc.template_from_embedding(exemplar_high)

    def match(self, template: torch.Tensor, instance_high: torch.Tensor) -> torch.Tensor:
        return self.siamfc.match(template, instance_high)

    def extra_repr(self) -> str:
        return f"low_stage={self.low_stage}, high=siamfc-lite head, decoder=None"


def grayscale_cells(images: torch.Tensor) -> torch.Tensor:
    """CACF's hand-crafted features for the ablation: grayscale intensity (ITU-R 601 luma of RGB 0..255)
    scaled to [-0.5, 0.5], averaged over 3x3 pixels at stride 2 and cut to the conv branch's grid (a 255
    crop gives 125x125 cells whose centres fall where conv1's do). ``(N, 1, 125, 125)``."""
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype, device=images.device)
    gray = (images * weights[:, None, None]).sum(dim=1, keepdim=True) / 255.0 - 0.5
    cells = F.avg_pool2d(gray, 3, stride=2)
    return cells[..., 1:-1, 1:-1]
