"""CFNet (Valmadre et al. 2017, "End-to-end representation learning for Correlation Filter based tracking").

The network (:class:`~siamtrack.models.siamese.CFNetNet`) learns a correlation filter from a 255x255
exemplar; the tracker is SiamFC's search with CFNet's differences: the exemplar is as large as the search
crop, the responses are 33x33 at stride 4 (upsampled x8), and the template (the cropped filter) follows
the target with a rolling average of rate ``template_lr``.

Hyper-parameters are those the authors tuned per variant (``run_cfnet{1,2}_evaluation.m`` of the CFNet
code, the supplementary material's table); no tuned values were published for conv5, which uses conv2's.

Scale of the crops: the context square ``s_z`` maps onto 127 pixels, as for SiamFC, so a 255 exemplar or
search crop covers ``s_z·255/127`` image pixels and the target has the same size in tracking as in
SiamFC-style training pairs. (The authors' MATLAB tracker maps ``s_z`` onto all 255 pixels, i.e. twice
the training scale; set ``context_size=255`` to reproduce that.)

``cfnet-lite`` (:class:`CFNetLiteTracker`) is the same search around CFNet-conv2 on the ImageNet EfficientNet-Lite0
embedding: 257x257 crops (the network's), 21x21 responses at stride 8 (the filter's crop decides: 13x13 cells by
default, :class:`~siamtrack.models.siamese.CFNetNet`) upsampled x16.
"""

from __future__ import annotations

from dataclasses import dataclass

from siamtrack.trackers.siamese import LiteTracker, SiameseParams, SiameseTracker


@dataclass(frozen=True)
class CFNetParams(SiameseParams):
    """CFNet-conv2's tracking hyper-parameters."""

    exemplar_size: int = 255
    instance_size: int = 255
    scale_step: float = 1.0575
    scale_penalty: float = 0.9780
    scale_lr: float = 0.52
    window_influence: float = 0.2625
    response_up: int = 8
    template_lr: float = 0.005


@dataclass(frozen=True)
class CFNetConv1Params(CFNetParams):
    """CFNet-conv1's tracking hyper-parameters."""

    scale_step: float = 1.0355
    scale_penalty: float = 0.9825
    scale_lr: float = 0.7
    window_influence: float = 0.2375
    template_lr: float = 0.0058


@dataclass(frozen=True)
class CFNetLiteParams(CFNetParams):
    """CFNet-conv2's hyper-parameters for the pretrained network (stride 8, 21x21 score maps): responses upsampled
    x16, so that an upsampled cell is half a crop pixel as with CFNet's x8 at stride 4. The crop sizes are the
    network's (257x257, :attr:`~siamtrack.models.siamese.SiameseNet.tracking_params`)."""

    response_up: int = 16


class CFNetTracker(SiameseTracker):
    """CFNet-conv2 (two convolutional layers + correlation filter), the paper's main variant."""

    name = "cfnet-conv2"
    model_name = "cfnet-conv2"
    Params = CFNetParams


class CFNetConv1Tracker(CFNetTracker):
    """CFNet-conv1: one 11x11 stride-4 convolution + correlation filter."""

    name = "cfnet-conv1"
    model_name = "cfnet-conv1"
    Params = CFNetConv1Params


class CFNetConv5Tracker(CFNetTracker):
    """CFNet-conv5: the full AlexNet-style stack (stride 4) + correlation filter."""

    name = "cfnet-conv5"
    model_name = "cfnet-conv5"


class CFNetLiteTracker(LiteTracker, CFNetTracker):
    """CFNet-conv2's tracker on the ImageNet EfficientNet-Lite0 embedding (``CFNetNet(backbone="efficientnet-lite0")``:
    the correlation filter learned on the 33x33 map of a 257x257 exemplar, cropped to 13x13). No weights: ImageNet
    trunk + random adjust layer; AlexNet CFNet weights are refused
    (:class:`~siamtrack.trackers.siamese.LiteTracker`)."""

    name = "cfnet-lite"
    Params = CFNetLiteParams
