"""SiamRPN (Li et al. 2018) with the SiamFC AlexNet embedding, its anchors, target assignment and objective,
as used by DSLT's SiamRPN / SiamRPN_fl / SiamRPN_sl (Lu et al., TPAMI 2020, Sec. 3.4, Eq. 15-16).

Network (Eq. 15, "up-channel" correlation): the embedding ``φ`` gives 6x6 exemplar and 22x22 search features;
a 3x3 convolution lifts ``φ(z)`` to ``2k`` (classification) and ``4k`` (regression) correlation kernels of
4x4xC each, another 3x3 convolution per branch adapts ``φ(x)`` (20x20xC); cross-correlation gives 17x17 maps
with ``2k`` and ``4k`` channels (the regression one followed by a learned 1x1 adjustment, as in the authors'
code). Channels: ``cls[:, :k]`` background and ``cls[:, k:]`` target logits of the ``k`` anchors; ``reg`` holds
``dx, dy, dw, dh`` in four blocks of ``k``. The two-class softmax equals a sigmoid of the logit difference,
``p = sigmoid(target - background)``, which the BCE / focal / shrinkage losses (Eq. 9-14) take.

Anchors: ``k = 5`` ratios ``r = h / w`` (0.33, 0.5, 1, 2, 3) at one scale (8) on the stride-8 grid, SiamRPN's
shapes (``w = int(sqrt(64 / r))``, ``h = int(w r)``, both times the scale), centred at crop pixel
``N/2 + (u - (S-1)/2) * 8`` as every score map of this project (:mod:`siamtrack.labels`).

Targets (:func:`assign_targets`): IoU with the ground truth ``> 0.6`` positive, ``< 0.3`` negative, others
ignored; then at most ``max_positives`` (16) positives and ``max_samples`` (64) samples in all, drawn at random
per pair (``max_samples=None`` keeps every labelled anchor: the "all proposals" protocol DSLT follows for its
_sl/_fl variants, Sec. 4). The draw is seeded by the pair's own boxes, so a pair gets the same samples whatever
the process or resumption. Objective
(:func:`siamtrack.training.objectives.rpn_objective`, Eq. 16): ``L_cls + η L_reg``, ``L_cls`` the chosen
classification loss with SiamFC's balanced class weights (Eq. 10's β up to a constant), ``L_reg`` the smooth L1
loss of the anchor offsets averaged over the positives.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from siamtrack.models.backbones import build_backbone
from siamtrack.models.correlation import xcorr
from siamtrack.models.pretrained import center_cells, pretrained_embedding
from siamtrack.models.siamese import SiameseNet

ANCHOR_RATIOS = (0.33, 0.5, 1.0, 2.0, 3.0)
ANCHOR_SCALES = (8.0,)


def anchor_shapes(stride: int = 8, ratios=ANCHOR_RATIOS, scales=ANCHOR_SCALES) -> np.ndarray:
    """``(k, 2)`` anchor widths and heights in crop pixels (SiamRPN's rounding)."""
    area = stride * stride
    shapes = []
    for ratio in ratios:
        base_w = int(np.sqrt(area / ratio))
        base_h = int(base_w * ratio)
        shapes += [(base_w * scale, base_h * scale) for scale in scales]
    return np.array(shapes, dtype=np.float64)


def generate_anchors(
    score_size: int, instance_size: int, stride: int = 8, ratios=ANCHOR_RATIOS, scales=ANCHOR_SCALES
) -> torch.Tensor:
    """``(k, S, S, 4)`` anchors ``(cx, cy, w, h)`` in search-crop pixels."""
    shapes = anchor_shapes(stride, ratios, scales)
    offsets = instance_size / 2.0 + (np.arange(score_size) - (score_size - 1) / 2.0) * stride
    cy, cx = np.meshgrid(offsets, offsets, indexing="ij")
    anchors = np.zeros((len(shapes), score_size, score_size, 4))
    anchors[..., 0], anchors[..., 1] = cx, cy
    anchors[..., 2] = shapes[:, 0, None, None]
    anchors[..., 3] = shapes[:, 1, None, None]
    return torch.from_numpy(anchors).float()


def encode_boxes(boxes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Offsets of ``(cx, cy, w, h)`` boxes from anchors: ``((x - a_x)/a_w, (y - a_y)/a_h, log(w/a_w), log(h/a_h))``."""
    return torch.stack(
        [
            (boxes[..., 0] - anchors[..., 0]) / anchors[..., 2],
            (boxes[..., 1] - anchors[..., 1]) / anchors[..., 3],
            torch.log(boxes[..., 2] / anchors[..., 2]),
            torch.log(boxes[..., 3] / anchors[..., 3]),
        ],
        dim=-1,
    )


MAX_LOG_SCALE = float(np.log(1000.0 / 16.0))  # torchvision's clip of dw, dh when decoding


def decode_boxes(deltas: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`encode_boxes`; ``dw, dh`` are clipped at ``log(1000/16)`` so sizes stay finite."""
    return torch.stack(
        [
            anchors[..., 0] + deltas[..., 0] * anchors[..., 2],
            anchors[..., 1] + deltas[..., 1] * anchors[..., 3],
            anchors[..., 2] * torch.exp(deltas[..., 2].clamp(max=MAX_LOG_SCALE)),
            anchors[..., 3] * torch.exp(deltas[..., 3].clamp(max=MAX_LOG_SCALE)),
        ],
        dim=-1,
    )


def center_box_iou(boxes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """IoU of ``(B, 4)`` boxes with ``(A, 4)`` anchors, both ``(cx, cy, w, h)`` -> ``(B, A)``."""
    b = boxes[:, None, :]
    a = anchors[None, :, :]
    left = torch.maximum(b[..., 0] - b[..., 2] / 2, a[..., 0] - a[..., 2] / 2)
    right = torch.minimum(b[..., 0] + b[..., 2] / 2, a[..., 0] + a[..., 2] / 2)
    top = torch.maximum(b[..., 1] - b[..., 3] / 2, a[..., 1] - a[..., 3] / 2)
    bottom = torch.minimum(b[..., 1] + b[..., 3] / 2, a[..., 1] + a[..., 3] / 2)
    inter = (right - left).clamp(min=0) * (bottom - top).clamp(min=0)
    return inter / (b[..., 2] * b[..., 3] + a[..., 2] * a[..., 3] - inter)


def _pair_generator(box: torch.Tensor) -> np.random.Generator:
    """A random generator seeded by a pair's ground-truth box (float32 bytes): reproducible per pair."""
    words = np.frombuffer(box.detach().cpu().numpy().astype(np.float32).tobytes(), dtype=np.uint32)
    return np.random.default_rng([int(w) for w in words])


def assign_targets(
    gt_boxes: torch.Tensor,
    anchors: torch.Tensor,
    pos_iou: float = 0.6,
    neg_iou: float = 0.3,
    max_samples: int | None = 64,
    max_positives: int = 16,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchor labels and regression targets of a batch (see the module doc).

    ``gt_boxes``: ``(B, 4)`` ground truth ``x, y, w, h`` (0-based, crop pixels); ``anchors``: ``(A, 4)``
    ``(cx, cy, w, h)``. Returns ``labels`` ``(B, A)`` in ``{+1 positive, -1 negative, 0 ignored}`` and the
    offsets ``(B, A, 4)`` of the ground truth from every anchor.
    """
    if not 0 <= neg_iou <= pos_iou <= 1:
        raise ValueError(f"need 0 <= neg_iou <= pos_iou <= 1, got {neg_iou}, {pos_iou}")
    centers = torch.cat([gt_boxes[:, :2] + gt_boxes[:, 2:] / 2, gt_boxes[:, 2:]], dim=1)
    iou = center_box_iou(centers, anchors)
    labels = torch.zeros_like(iou)
    labels[iou > pos_iou] = 1.0
    labels[iou < neg_iou] = -1.0
    if max_samples is not None:
        for pair in range(len(labels)):
            rng = _pair_generator(gt_boxes[pair])
            positives = torch.nonzero(labels[pair] > 0).flatten().cpu().numpy()
            negatives = torch.nonzero(labels[pair] < 0).flatten().cpu().numpy()
            keep_pos = rng.permutation(positives)[: min(max_positives, max_samples)]
            keep_neg = rng.permutation(negatives)[: max_samples - len(keep_pos)]
            kept = torch.zeros_like(labels[pair])
            kept[torch.from_numpy(keep_pos).to(labels.device)] = 1.0
            kept[torch.from_numpy(keep_neg).to(labels.device)] = -1.0
            labels[pair] = kept
    offsets = encode_boxes(centers[:, None, :], anchors[None, :, :])
    return labels, offsets


def depthwise_xcorr(kernels: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
    """Channel-by-channel correlation (SiamRPN++, Li et al. 2019, Sec. 3.4): kernels ``(B, C, h, w)`` against search
    features ``(B, C, H, W)`` -> ``(B, C, H-h+1, W-w+1)``, each channel of a pair correlated with the same channel of
    its kernel only (one grouped convolution), divided by ``h·w`` (the mean product, O(1) for batch-normed inputs)."""
    batch, channels = search.shape[:2]
    if kernels.shape[:2] != (batch, channels):
        raise ValueError(
            f"depthwise correlation needs kernels (B, C, h, w) matching the search's (B, C, ...), got "
            f"{tuple(kernels.shape)} and {tuple(search.shape)}"
        )
    scores = F.conv2d(
        search.reshape(1, batch * channels, *search.shape[-2:]),
        kernels.reshape(batch * channels, 1, *kernels.shape[-2:]),
        groups=batch * channels,
    )
    return scores.reshape(batch, channels, *scores.shape[-2:]) / (kernels.shape[-2] * kernels.shape[-1])


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)
    )


class DepthwiseRPNBranch(nn.Module):
    """One branch (classification or regression) of SiamRPN++'s depthwise head: a 3x3 conv + BN + ReLU on each side,
    :func:`depthwise_xcorr`, then 1x1 conv + BN + ReLU and a 1x1 conv to ``outputs`` channels."""

    def __init__(self, channels: int, outputs: int):
        super().__init__()
        self.kernel = _conv_bn_relu(channels, channels, 3)
        self.search = _conv_bn_relu(channels, channels, 3)
        self.head = nn.Sequential(
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, outputs, 1),
        )

    def forward(self, kernel: torch.Tensor, search_features: torch.Tensor) -> torch.Tensor:
        return self.head(depthwise_xcorr(kernel, self.search(search_features)))


class SiamRPNNet(SiameseNet):
    """SiamRPN on the SiamFC AlexNet (``width`` scales every channel count). ``forward(exemplar, instance)``
    returns ``{"cls": (B, 2k, S, S), "reg": (B, 4k, S, S), "scores": (B, 1, S, S)}``, ``scores`` being each
    position's best anchor logit (what a single-map consumer, such as the training loop's label maker, reads).

    ``backbone="efficientnet-lite0"`` (``stage``, ``channels``, ``finetune_stages``, ``template_cells``,
    ``pretrained`` as for :class:`~siamtrack.models.siamese.SiamFCNet`; ``width`` must stay 1) puts the head on the
    ImageNet :class:`~siamtrack.models.pretrained.PretrainedEmbedding`: 257x257 crops, the template is the centre
    7x7 of the exemplar's 33x33 map, and the head is SiamRPN++'s depthwise one (:class:`DepthwiseRPNBranch`, Li et
    al. 2019, Sec. 3.4) instead of SiamRPN's up-channel one. Why: the up-channel kernels of Eq. 15 at 128 channels
    are 128 x 128 x 2k and 128 x 128 x 4k 3x3 convolutions (4.4M numbers, a 18 MB file, trained on 13.8k frames),
    which is the parameter imbalance SiamRPN++ removed with the depthwise correlation (0.6M numbers here). 7x7
    templates -> 5x5 kernels, 33x33 search maps -> 31x31, 27x27 score maps at stride 8. The anchors, targets and
    Eq. 16 objective are unchanged.
    """

    def __init__(
        self,
        width: float = 1.0,
        ratios=ANCHOR_RATIOS,
        scales=ANCHOR_SCALES,
        backbone: str = "alexnet",
        stage: int = 5,
        channels: int = 128,
        finetune_stages: int = 0,
        template_cells: int = 7,
        pretrained: bool = True,
    ):
        self.ratios, self.scales = tuple(ratios), tuple(scales)
        k = len(self.ratios) * len(self.scales)
        if backbone != "alexnet":
            super().__init__(pretrained_embedding(backbone, width, stage, channels, finetune_stages, pretrained))
            self.template_cells = int(template_cells)
            self.cls_branch = DepthwiseRPNBranch(channels, 2 * k)
            self.reg_branch = DepthwiseRPNBranch(channels, 4 * k)
        else:
            super().__init__(build_backbone("siamfc", width))
            channels = self.backbone.out_channels
            self.template_cls = nn.Conv2d(channels, channels * 2 * k, 3)
            self.template_reg = nn.Conv2d(channels, channels * 4 * k, 3)
            self.search_cls = nn.Conv2d(channels, channels, 3)
            self.search_reg = nn.Conv2d(channels, channels, 3)
            self.reg_adjust = nn.Conv2d(4 * k, 4 * k, 1)
        self.backbone_name = backbone
        self.width = width
        self.anchor_count = k

    def template_from_embedding(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """AlexNet path: the ``(B·2k, C, 4, 4)`` classification and ``(B·4k, C, 4, 4)`` regression kernels (Eq. 15);
        pretrained path: the ``(B, C, 5, 5)`` depthwise kernels of each branch from the centre cells."""
        if self.pretrained_backbone:
            features = center_cells(features, self.template_cells)
            return self.cls_branch.kernel(features), self.reg_branch.kernel(features)
        batch, channels = features.shape[:2]
        cls = self.template_cls(features)
        reg = self.template_reg(features)
        return (
            cls.reshape(batch * 2 * self.anchor_count, channels, *cls.shape[-2:]),
            reg.reshape(batch * 4 * self.anchor_count, channels, *reg.shape[-2:]),
        )

    @staticmethod
    def _correlate(kernels: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """Per-pair multi-channel correlation with :func:`xcorr`: kernels ``(B·m, C, h, w)`` against search
        features ``(B, C, H, W)`` -> ``(B, m, H-h+1, W-w+1)``, divided by ``C·h·w`` (the mean product instead
        of the sum: a fixed gain, like SiamFC's score scale, that keeps a randomly initialised network's outputs
        of order one so training from scratch starts stably)."""
        batch = search.shape[0]
        outputs = kernels.shape[0] // batch
        scores = xcorr(kernels, search.repeat_interleave(outputs, dim=0)) / kernels[0].numel()
        return scores.reshape(batch, outputs, *scores.shape[-2:])

    def match(self, template: tuple[torch.Tensor, torch.Tensor], instance_features: torch.Tensor) -> dict:
        cls_kernels, reg_kernels = template
        if self.pretrained_backbone:
            cls = self.cls_branch(cls_kernels, instance_features)
            reg = self.reg_branch(reg_kernels, instance_features)
        else:
            cls = self._correlate(cls_kernels, self.search_cls(instance_features))
            reg = self.reg_adjust(self._correlate(reg_kernels, self.search_reg(instance_features)))
        k = self.anchor_count
        scores = (cls[:, k:] - cls[:, :k]).amax(dim=1, keepdim=True)
        return {"cls": cls, "reg": reg, "scores": scores}

    def target_logits(self, cls: torch.Tensor) -> torch.Tensor:
        """``(B, 2k, S, S)`` -> ``(B, k·S·S)`` logits ``target - background``, anchor-major."""
        k = self.anchor_count
        return (cls[:, k:] - cls[:, :k]).reshape(cls.shape[0], -1)

    def offsets(self, reg: torch.Tensor) -> torch.Tensor:
        """``(B, 4k, S, S)`` -> ``(B, k·S·S, 4)`` predicted ``dx, dy, dw, dh``, anchor-major."""
        batch, _, height, width = reg.shape
        return reg.reshape(batch, 4, self.anchor_count * height * width).transpose(1, 2)

    def anchors(self, score_size: int, instance_size: int) -> torch.Tensor:
        """``(k·S·S, 4)`` anchors, in the order of :meth:`target_logits`."""
        return generate_anchors(score_size, instance_size, self.total_stride, self.ratios, self.scales).reshape(-1, 4)


__all__ = [
    "ANCHOR_RATIOS",
    "ANCHOR_SCALES",
    "SiamRPNNet",
    "anchor_shapes",
    "assign_targets",
    "center_box_iou",
    "decode_boxes",
    "depthwise_xcorr",
    "encode_boxes",
    "generate_anchors",
]
