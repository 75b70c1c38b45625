"""The Siamese networks SiamFC and CFNet as plain ``nn.Module``s (no tracking logic).

Both expose the same three pieces, which trackers and the training pipeline call:

* ``embed(images)``: the shared backbone ``φ`` on ``(N, 3, S, S)`` crops (RGB, 0..255 floats);
* ``template(exemplar_images)``: what is correlated with the search features (SiamFC: ``φ(z)``;
  CFNet: the cropped correlation filter learned on ``φ(z)``), i.e. ``template_from_embedding(embed(z))``;
* ``match(template, instance_features)``: the calibrated score map ``(N, 1, h, w)``.

``forward(exemplar, instance) = match(template(exemplar), embed(instance))`` is the training forward pass:
``M`` exemplars against ``N = k·M`` instances (see :func:`~siamtrack.models.correlation.xcorr`).

**Pretrained path.** A model built with ``backbone="efficientnet-lite0"`` (SiamFC, CFNet-conv2, AdaCFNet, RASNet)
has the ImageNet :class:`~siamtrack.models.pretrained.PretrainedEmbedding` as ``φ``; :class:`SiameseNet` then
provides what the trackers and trainers need of it: 257x257 crops (:attr:`SiameseNet.tracking_params`), the
package's keys (:meth:`SiameseNet.pretrained_keys`) and :meth:`SiameseNet.template_from_features` (the template of
cached trunk maps, :mod:`siamtrack.training.feature_cache`).
"""

from __future__ import annotations

import torch
from torch import nn

from siamtrack.models.backbones import build_backbone
from siamtrack.models.correlation import CorrelationFilter, xcorr
from siamtrack.models.pretrained import (
    PRETRAINED_CROP,
    PretrainedEmbedding,
    center_cells,
    normalized_xcorr,
    pretrained_embedding,
)


class SiameseNet(nn.Module):
    """Shared structure: a backbone, a template function and a matching function.

    With a :class:`~siamtrack.models.pretrained.PretrainedEmbedding` backbone (``pretrained_backbone``) both crops are
    :data:`~siamtrack.models.pretrained.PRETRAINED_CROP` pixels, and :attr:`tracking_params` tells the tracker so."""

    exemplar_size = 127
    instance_size = 255

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.pretrained_backbone = isinstance(backbone, PretrainedEmbedding)
        if self.pretrained_backbone:
            self.exemplar_size = self.instance_size = PRETRAINED_CROP

    @property
    def total_stride(self) -> int:
        """Pixels of the input crop per cell of the score map."""
        return self.backbone.total_stride

    @property
    def tracking_params(self) -> dict:
        """Crop sizes the tracker must use with this network (the pretrained path's 257x257 crops; none else)."""
        if self.pretrained_backbone:
            return {"exemplar_size": self.exemplar_size, "instance_size": self.instance_size}
        return {}

    def pretrained_keys(self) -> list[str]:
        """State-dict keys that come from the backbone's ImageNet file rather than from training."""
        if not self.pretrained_backbone:
            return []
        return [f"backbone.{key}" for key in self.backbone.pretrained_keys()]

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(images)

    def template_from_embedding(self, exemplar_features: torch.Tensor) -> torch.Tensor:
        """The template of exemplars whose embedding is ``exemplar_features``."""
        raise NotImplementedError

    def template(self, exemplar_images: torch.Tensor) -> torch.Tensor:
        return self.template_from_embedding(self.embed(exemplar_images))

    def template_from_features(self, trunk_features: torch.Tensor, stage: int) -> torch.Tensor:
        """:meth:`template` of exemplars whose pretrained trunk gave ``trunk_features`` at ``stage`` (training on
        cached trunk maps)."""
        if not self.pretrained_backbone:
            raise ValueError(f"{type(self).__name__}: template_from_features needs the pretrained backbone")
        return self.template_from_embedding(self.backbone.forward_from(trunk_features, stage))

    def match(self, template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, exemplar: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
        return self.match(self.template(exemplar), self.embed(instance))


class SiamFCNet(SiameseNet):
    """SiamFC (Bertinetto et al. 2016): ``f(z, x) = s · φ(z) ⋆ φ(x)`` (Eq. 2), AlexNet-style ``φ``.

    127x127 exemplars give 6x6 templates, 255x255 instances 22x22 features, hence a 17x17 score map at
    stride 8. ``score_scale`` (0.001) is the fixed response adjustment that brings the raw correlation
    into the range of the logistic loss. ``width`` scales every channel count of the backbone.

    ``backbone="efficientnet-lite0"`` (or ``-lite1``/``-lite2``) replaces the AlexNet ``φ`` by the ImageNet-pretrained
    :class:`~siamtrack.models.pretrained.PretrainedEmbedding` (``stage``, ``channels``, ``finetune_stages``; ``width``
    must stay 1): exemplar and instance crops are both 257x257 (33x33 maps whose centre is the crop's centre), the
    template is the centre ``template_cells``² of the exemplar's map (SiamRPN++'s centre crop: no zero-padded border
    in it, and the exemplar's context comes from real pixels), and the score is ``f = a · (φ(z) ⋆ φ(x)) / |φ(z)| + b``
    with learned ``a, b`` (the normalised correlation of batch-normed features is O(1); ``a`` starts at
    ``score_scale`` = 5 there, in place of the AlexNet path's fixed 0.001). 27x27 score maps.
    """

    def __init__(
        self,
        width: float = 1.0,
        score_scale: float | None = None,
        backbone: str = "alexnet",
        stage: int = 5,
        channels: int = 128,
        finetune_stages: int = 0,
        template_cells: int = 7,
        pretrained: bool = True,
    ):
        if backbone != "alexnet":
            super().__init__(pretrained_embedding(backbone, width, stage, channels, finetune_stages, pretrained))
            self.template_cells = int(template_cells)
            self.gain = nn.Parameter(torch.tensor(5.0 if score_scale is None else float(score_scale)))
            self.bias = nn.Parameter(torch.tensor(0.0))
        else:
            super().__init__(build_backbone("siamfc", width))
            self.score_scale = 1e-3 if score_scale is None else float(score_scale)
        self.backbone_name = backbone
        self.width = width

    def template_from_embedding(self, exemplar_features: torch.Tensor) -> torch.Tensor:
        """``φ(z)``; on the pretrained path its centre ``template_cells``² (SiamRPN++'s crop)."""
        if self.pretrained_backbone:
            return center_cells(exemplar_features, self.template_cells)
        return exemplar_features

    def match(self, template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
        if self.pretrained_backbone:
            return self.gain * normalized_xcorr(template, instance_features) + self.bias
        return xcorr(template, instance_features) * self.score_scale


class CorrelationFilterSiamese(SiameseNet):
    """The head CFNet and AdaCFNet share: ``h(z, x) = s · ω(φ(z)) ⋆ φ(x) + b`` (CFNet Eq. 3, AdaCFNet Eq. 1-3),
    with ``ω`` the correlation-filter block (window, closed-form filter, crop by ``margin`` cells) and the learned
    scalars ``s, b`` (``gain``/``bias``). Subclasses build the embedding, then call :meth:`add_correlation_filter`."""

    def add_correlation_filter(self, lam: float, sigma: float, margin: int | None, gain: float, bias: float) -> None:
        """The CF layer (``margin`` ``None``: 16 cells on the AlexNet path, 57x57 -> 25x25 filters; 10 on the
        pretrained path, 33x33 -> 13x13, see :class:`CFNetNet`) and ``s, b`` at their initial values."""
        if margin is None:
            margin = 10 if self.pretrained_backbone else 16
        self.filter = CorrelationFilter(lam=lam, sigma=sigma, margin=int(margin))
        self.gain = nn.Parameter(torch.tensor(float(gain)))
        self.bias = nn.Parameter(torch.tensor(float(bias)))

    def template_from_embedding(self, exemplar_features: torch.Tensor) -> torch.Tensor:
        """``ω(φ(z))``: the filter learned on the whole exemplar map, cropped by ``margin`` cells."""
        return self.filter(exemplar_features)

    def match(self, template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
        """The score map ``s · (template ⋆ φ(x)) + b``."""
        return self.gain * xcorr(template, instance_features) + self.bias


class CFNetNet(CorrelationFilterSiamese):
    """CFNet (Valmadre et al. 2017): ``h(z, x) = s · ω(φ(z)) ⋆ φ(x) + b`` (Eq. 3), where ``ω`` is the
    correlation-filter block (window, closed-form filter, crop) and ``s, b`` are learned scalars.

    ``variant`` picks the backbone (``conv1``, ``conv2`` or ``conv5``, all at stride 4). Exemplars are
    255x255 like the instances (the larger exemplar limits the filter's circular boundary effects);
    the filter is cropped by ``margin`` cells, e.g. conv2: 57x57 -> 25x25, giving 33x33 score maps.
    ``gain``/``bias`` start at CFNet's 1 and -0.5.

    ``backbone="efficientnet-lite0"`` (``variant`` conv2 only: the embedding takes conv2's place; ``stage``,
    ``channels``, ``finetune_stages``, ``pretrained`` as for :class:`SiamFCNet`; ``width`` must stay 1) replaces
    ``φ`` by the ImageNet :class:`~siamtrack.models.pretrained.PretrainedEmbedding` at stride 8. Eq. 3 is unchanged:
    ``ω`` learns the filter on the whole 33x33 map of the 257x257 exemplar (Hann window, the closed form of
    AdaCFNet Eq. 1-2 with ``lam`` and a Gaussian of ``sigma`` = 2 cells, as CFNet's σ equals its 2-cell positive
    radius) and ``margin`` defaults to 10 there: the 13x13 centre of the filter is matched against the 33x33 search
    map, giving 21x21 score maps. Why crop: an uncropped 33x33 filter fits a 33x33 search map in one place only
    (a 1x1 score map, no search); and the filter is the solution for *circular* shifts of the windowed map, so its
    outer cells weight features that the window zeroed and wrapped-around shifts that never occur in an image
    (boundary effects): its centre is the part that describes the target and its context. Why 13x13: it is
    CFNet-conv2's own filter extent (25x25 cells at stride 4 = 100 px; 13x13 at stride 8 = 104 px), and the 21x21
    score map searches +-80 px. A 33x33 search map cannot also give CFNet-conv2's +-64 px range with its extent;
    the 17x17 crop (136 px, +-64 px) that did was measured below it over three training seeds each (dev-eval
    AUC 0.430 +- 0.006 against 0.482 +- 0.011, benchmarks/RESULTS.md, seed table ``pretrained``), and the
    7x7 crop (SiamFC's 56-px template, +-104 px) with one seed in between (0.447). Only the adjust layer and
    ``s, b`` train (the CF layer has no parameters).
    """

    exemplar_size = 255

    def __init__(
        self,
        variant: str = "conv2",
        width: float = 1.0,
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
        if variant not in ("conv1", "conv2", "conv5"):
            raise ValueError(f"unknown CFNet variant {variant!r}; known: conv1, conv2, conv5")
        if backbone != "alexnet":
            if variant != "conv2":
                raise ValueError(
                    f"the pretrained embedding takes CFNet-conv2's place; got variant {variant!r} with "
                    f"backbone {backbone!r} (use cfnet-conv2)"
                )
            super().__init__(pretrained_embedding(backbone, width, stage, channels, finetune_stages, pretrained))
        else:
            super().__init__(build_backbone(f"cfnet-{variant}", width))
        self.variant = variant
        self.add_correlation_filter(lam, sigma, margin, gain, bias)
        self.backbone_name = backbone
        self.width = width
