"""DSLT* (Lu et al., "Deep Object Tracking with Shrinkage Loss", TPAMI 2020): the small regression network
learned online on top of a fixed two-layer feature extractor (Sec. 3.1, 3.3, Fig. 2 and 5c).

The backbone is a frozen :class:`~siamtrack.models.two_layer_features.TwoLayerFeatures` (shared with TADT): ResNet-50's
``res3d`` / ``res4f`` in the paper (Sec. 5.1), VGG-16's ``relu4_3`` / ``relu5_3`` in its Sec. 5.4, this project's
SiamFC embedding (the default), or the ImageNet-pretrained EfficientNet-Lite0's ``stage4`` / ``stage5`` (both stride
8: ``stride_ratio`` 1, the bilinear layer is then the identity; the ``dslt-lite`` tracker).

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
from torch import nn

from siamtrack.models.two_layer_features import align_deep


class DSLTRegression(nn.Module):
    """The regression network of Fig. 2 (see the module doc): ``forward(shallow, deep) -> (N, 1, h, w)``.

    ``kernel_size = (kh, kw)`` is the regression kernel (odd sides; "proportional to the size of the input
    features", Sec. 3.1 -- the tracker sets it from the target's size in feature cells), applied with "same"
    padding so the response has the fused map's size and centre. The regression kernels start at zero, so
    the first response is 0 everywhere.
    """

    def __init__(
        self, in_channels: tuple[int, int], stride_ratio: int, kernel_size: tuple[int, int], reduced_channels: int = 128
    ):
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


__all__ = ["DSLTRegression"]
