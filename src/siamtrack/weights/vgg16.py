"""MatConvNet's VGG-16 (``imagenet-vgg-verydeep-16.mat``) -> a torchvision VGG-16 state dict, for TADT's paper
backbone (``backbone=vgg16``, :mod:`siamtrack.models.tadt`): convert once, save with ``torch.save`` and pass the
``.pth`` as the tracker's weights. A converter: it imports the models, never the reverse.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from siamtrack.models.vgg import IMAGENET_MEAN, IMAGENET_STD, vgg16_layer_names
from siamtrack.weights.matconvnet import WeightFileError, read_simplenn, simplenn_to_torch


def vgg16_state_dict_from_matconvnet(path, mean: Sequence[float] | None = None) -> dict[str, torch.Tensor]:
    """A MatConvNet VGG-16 (``imagenet-vgg-verydeep-16.mat``, simplenn) as a torchvision-layout state dict of
    its 13 convolutions (``features.N.weight/bias``), loadable by :func:`siamtrack.models.vgg.vgg16`.

    MatConvNet's VGG takes RGB 0..255 minus the mean colour ``M`` (``meta.normalization.averageImage``, or
    ``mean``); torchvision's takes ``(x / 255 - m) / s``. conv1_1 is rewritten for torchvision's input:
    ``W'_c = 255 s_c W_c``, ``b' = b + Σ_c (255 m_c - M_c) ΣW_c`` -- exact but on the one-pixel border, where the
    zero padding differs by ``255 m - M`` (under 0.5 grey levels for VGG's mean).
    """
    net = read_simplenn(path)
    if mean is None:
        mean = _matconvnet_mean(net)
    mean = np.asarray(mean, dtype=np.float64).ravel()
    if mean.shape != (3,):
        raise WeightFileError(f"{net.path}: the mean colour must be 3 numbers (RGB), got {mean.tolist()}")
    modules = simplenn_to_torch(net)
    convs = {name: module for name, module in zip(net.names, modules) if isinstance(module, nn.Conv2d)}
    names = [name for name in vgg16_layer_names() if name.startswith("conv")]
    missing = [name for name in names if name not in convs]
    if missing:
        raise WeightFileError(
            f"{net.path}: not a VGG-16 simplenn net: no conv layer(s) {missing[:3]} "
            f"(its layers are {net.names[:8]} ...)"
        )
    index = {name: i for i, name in enumerate(vgg16_layer_names())}
    state = {}
    for name in names:
        conv = convs[name]
        if conv.bias is None or conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.groups != 1:
            raise WeightFileError(f"{net.path}: layer {name} is not a padded 3x3 convolution with a bias")
        weight, bias = conv.weight.detach().clone(), conv.bias.detach().clone()
        if name == "conv1_1":
            std = torch.tensor(IMAGENET_STD, dtype=weight.dtype).view(1, 3, 1, 1)
            shift = 255.0 * torch.tensor(IMAGENET_MEAN, dtype=torch.float64) - torch.from_numpy(mean)
            bias = bias + (weight.double().sum(dim=(2, 3)) @ shift).to(bias.dtype)
            weight = weight * 255.0 * std
        state[f"features.{index[name]}.weight"] = weight
        state[f"features.{index[name]}.bias"] = bias
    return state


def _matconvnet_mean(net) -> np.ndarray:
    normalization = net.meta.get("normalization")
    try:
        record = normalization[0, 0] if normalization.shape == (1, 1) else normalization
        average = np.asarray(record["averageImage"], dtype=np.float64)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        raise WeightFileError(
            f"{net.path}: no meta.normalization.averageImage; pass the mean colour "
            "(e.g. mean=(123.68, 116.779, 103.939))"
        ) from None
    average = average.reshape(-1, 3) if average.size % 3 == 0 and average.shape[-1] == 3 else average.reshape(3, -1).T
    return average.mean(axis=0)


__all__ = ["vgg16_state_dict_from_matconvnet"]
