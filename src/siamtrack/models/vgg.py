"""VGG-16 (Simonyan & Zisserman 2015, configuration D) with torchvision-compatible state-dict keys.

Only the convolutional part is built: ``features.N.weight`` / ``features.N.bias`` for the 13 convolutions at
the same indices ``N`` as ``torchvision.models.vgg16().features`` (conv1_1 = 0, conv4_3 = 21, conv5_3 = 28).
A torchvision weight file (``vgg16-397923af.pth``) loads with :func:`vgg16`; its ``classifier.*`` entries (the
fully connected layers, unused by trackers) are dropped on purpose, any other difference raises an error.

Every layer of ``features`` has a name (``conv4_3``, ``relu4_3``, ``pool4`` ...): ``conv*`` is the output of the
convolution before its ReLU, ``relu*`` the rectified output (what most trackers call "conv4_3 features").
:meth:`VGG16.forward` returns the requested layers by name and stops at the deepest one.

Input convention: torchvision's -- RGB in [0, 1], normalised by the ImageNet mean/std. The project's crops are
RGB 0..255 floats; :func:`normalize_imagenet` converts them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import torch
from torch import nn

# "M" = 2x2 max pool, stride 2; numbers = 3x3 convolutions (padding 1) + ReLU.
VGG16_CONFIG: tuple[int | str, ...] = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_imagenet(images: torch.Tensor) -> torch.Tensor:
    """RGB 0..255 ``(N, 3, H, W)`` crops -> torchvision's input convention ``(x / 255 - mean) / std``."""
    mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (images / 255.0 - mean) / std


def vgg16_layer_names() -> list[str]:
    """Name of each module of ``features``, index by index: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ..."""
    names, stage, index = [], 1, 1
    for entry in VGG16_CONFIG:
        if entry == "M":
            names.append(f"pool{stage}")
            stage, index = stage + 1, 1
        else:
            names += [f"conv{stage}_{index}", f"relu{stage}_{index}"]
            index += 1
    return names


class VGG16(nn.Module):
    """The 13 convolutions of VGG-16 as ``features`` (an ``nn.Sequential``, torchvision's indices)."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for entry in VGG16_CONFIG:
            if entry == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, entry, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = entry
        self.features = nn.Sequential(*layers)
        self.layer_names = vgg16_layer_names()
        self.layer_index = {name: index for index, name in enumerate(self.layer_names)}
        for module in self.features:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def channels(self, name: str) -> int:
        """Number of channels of layer ``name``."""
        index = self._index(name)
        convs = [m for m in self.features[: index + 1] if isinstance(m, nn.Conv2d)]
        return convs[-1].out_channels

    def stride(self, name: str) -> int:
        """Pixels of the input per cell of layer ``name`` (1, 2, 4, 8, 16 or 32)."""
        index = self._index(name)
        return 2 ** sum(isinstance(m, nn.MaxPool2d) for m in self.features[: index + 1])

    def _index(self, name: str) -> int:
        if name not in self.layer_index:
            raise KeyError(f"VGG-16 has no layer {name!r}; layers are {', '.join(self.layer_names)}")
        return self.layer_index[name]

    def forward(self, images: torch.Tensor, layers: Iterable[str] = ("relu4_3", "relu5_3")) -> dict[str, torch.Tensor]:
        """Features of the named ``layers`` (a dict name -> ``(N, C, H, W)``); computes no layer past the deepest."""
        wanted = {self._index(name): name for name in layers}
        if not wanted:
            raise ValueError("ask for at least one VGG-16 layer")
        outputs, x = {}, images
        for index in range(max(wanted) + 1):
            module = self.features[index]
            # An in-place ReLU would overwrite a requested conv output: apply it out of place there.
            x = torch.relu(x) if isinstance(module, nn.ReLU) and index - 1 in wanted else module(x)
            if index in wanted:
                outputs[wanted[index]] = x
        return outputs


def load_torchvision_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str, ignore_prefixes: tuple[str, ...]
) -> None:
    """Load a torchvision-layout ``state_dict`` into ``model`` strictly, after dropping the keys that start with
    one of ``ignore_prefixes`` (parts of the torchvision model that the tracker does not build).

    Raises ``ValueError`` naming ``source`` and the first missing/unexpected/mis-shaped keys.
    """
    kept = {key: value for key, value in state_dict.items() if not key.startswith(ignore_prefixes)}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(kept))
    unexpected = sorted(set(kept) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{source}: not a torchvision {type(model).__name__} state dict: "
            f"missing keys {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
            f"unexpected keys {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}"
        )
    wrong = [
        f"{key} {tuple(kept[key].shape)} != {tuple(expected[key].shape)}"
        for key in expected
        if kept[key].shape != expected[key].shape
    ]
    if wrong:
        raise ValueError(f"{source}: shapes differ from {type(model).__name__}: {'; '.join(wrong[:5])}")
    model.load_state_dict(kept, strict=True)


def vgg16(weights: str | os.PathLike | Mapping | None = None) -> VGG16:
    """VGG-16 features, randomly initialised, or loaded from a torchvision weight file / state dict ``weights``
    (read with ``torch.load(..., weights_only=True)``; ``classifier.*`` entries are ignored)."""
    from siamtrack.models import read_weights

    model = VGG16()
    if weights is not None:
        read = read_weights(weights)
        load_torchvision_state_dict(model, read.state_dict, read.source, ignore_prefixes=("classifier.",))
    return model


__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VGG16",
    "VGG16_CONFIG",
    "load_torchvision_state_dict",
    "normalize_imagenet",
    "vgg16",
    "vgg16_layer_names",
]
