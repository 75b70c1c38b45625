"""RASNet tracker (Wang et al. 2018, Sec. 3.5 and 4.1 "Tracking setting").

The attentions are inferred once, on the first frame: :meth:`RASNetNet.template` folds the dual and channel
attention into the exemplar features (``γ ⊙ φ(z)``, Eq. 7), so every later frame is SiamFC's search with a
plain cross-correlation; that is where RASNet's speed comes from. The template is never updated.

Hyper-parameters from the paper: 3 scales ``1.03^{-1,0,1}`` and a scale damping (linear interpolation factor)
of 0.56. The paper gives no scale penalty, window influence or upsampling; those are SiamFC-3s's, on which
RASNet's search is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from siamtrack.trackers.siamese import LiteTracker, SiameseParams, SiameseTracker


@dataclass(frozen=True)
class RASNetParams(SiameseParams):
    """RASNet's tracking hyper-parameters (Sec. 4.1); the rest are SiamFC-3s's."""

    num_scales: int = 3
    scale_step: float = 1.03
    scale_lr: float = 0.56


class RASNetTracker(SiameseTracker):
    """RASNet around a :class:`~siamtrack.models.rasnet.RASNetNet` (any ablation variant: the weights file's
    ``model_config`` says which attentions it has)."""

    name = "rasnet"
    model_name = "rasnet"
    Params = RASNetParams


class RASNetLiteTracker(LiteTracker, RASNetTracker):
    """RASNet's tracker on the ImageNet EfficientNet-Lite0 embedding (``RASNetNet(backbone="efficientnet-lite0")``:
    the attentions on the centre 7x7 of the exemplar map, 257x257 crops). No weights: ImageNet trunk + random head;
    AlexNet RASNet weights are refused (:class:`~siamtrack.trackers.siamese.LiteTracker`)."""

    name = "rasnet-lite"
