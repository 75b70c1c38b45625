"""RASNet (Wang et al. 2018, "Learning Attentions: Residual Attentional Siamese Network for High
Performance Online Visual Tracking") as a plain ``nn.Module``.

SiamFC's AlexNet embedding ``φ`` (:mod:`~siamtrack.models.backbones`, with its ``width`` multiplier for the
paper's lighter × 0.5 / × 0.25 / × 0.125 variants) and a *weighted* cross-correlation (Eq. 6-8):

    f(z, x) = s · (γ ⊙ φ(z)) ⋆ φ(x) + b                       (Eq. 7)

with ``γ_ijc = ρ_ij · β_c`` in the joint form (Eq. 8, m·n + d attention values) or a free ``γ_ijc`` in the
full form (Eq. 6, m·n·d values). Every attention is computed from the exemplar features only:

* dual attention ``ρ = ρ̄ + ρ̃`` (Eq. 9): the general attention ``ρ̄`` (a learnable 6x6 map initialised to
  ones, :class:`~siamtrack.models.attention.GeneralAttention`) plus the residual attention ``ρ̃`` (an
  hourglass net, :class:`~siamtrack.models.attention.ResidualAttention`);
* channel attention ``β`` (Eq. 10): squeeze-and-excitation with reduction ``r = 4``
  (:class:`~siamtrack.models.attention.SqueezeExcitation`, shared with AdaCFNet).

Because the attentions depend on the exemplar only, ``template(z) = γ ⊙ φ(z)`` folds them into the template
once; ``match`` is then SiamFC's plain grouped :func:`~siamtrack.models.correlation.xcorr`. Training runs
``forward = match(template(z), embed(x))``; tracking calls ``template`` on the first frame and ``match`` on
every frame (Sec. 3.5: "the inference of attention mechanisms is only practised on the first frame"), so
tracking costs exactly SiamFC's per frame.

Ablation switches (Sec. 4.2, Fig. 5 and 7): ``general``, ``residual`` and ``channel`` turn each attention on.
A switched-off ``ρ̄`` is the constant 1 (SiamFC's uniform weighting), a switched-off ``ρ̃`` is 0 and a
switched-off ``β`` is 1, so all three off is SiamFC with a bias (RASNet Eq. 4), ``general`` alone is GenAtt,
``general + residual`` is DualAtt, ``channel`` alone is ChanAtt and all three is RASNet.

Choices where the paper is silent:

* ``s = 0.001`` (fixed) scales the raw correlation into the logistic loss's range, as SiamFC's response
  adjustment does; ``b`` (Eq. 4-8) is learned, starting at 0. The learnable ``ρ̄`` makes the gain learnable.
* Full form (``form="full"``): ``γ = γ̄ + γ̃``, a general ``d x m x n`` map initialised to ones plus the
  hourglass with ``d`` output channels. The paper decomposes ``γ`` *into* ``ρ`` and ``β`` (Sec. 3.2), so the
  full form has no separate channel attention (``channel=True`` with ``form="full"`` is refused).
"""
from __future__ import annotations

import torch
from torch import nn

from siamtrack.models.attention import GeneralAttention, ResidualAttention, SqueezeExcitation
from siamtrack.models.backbones import build_backbone
from siamtrack.models.correlation import xcorr
from siamtrack.models.siamese import SiameseNet

FORMS = ("joint", "full")


class RASNetNet(SiameseNet):
    """RASNet: SiamFC's embedding and a weighted cross-correlation with general, residual and channel
    attention (see the module doc). 127x127 exemplars give 6x6 features, 255x255 instances 22x22, score
    maps 17x17 at stride 8.

    Args:
        width: channel multiplier of the AlexNet embedding (1.0 = the paper's; 0.5, 0.25, 0.125 lighter).
        general, residual, channel: which attentions are on (all on = RASNet).
        form: ``"joint"`` (Eq. 8, ``ρ_ij β_c``) or ``"full"`` (Eq. 6, ``γ_ijc``).
        reduction: ``r`` of the channel attention (Sec. 3.4: 4).
        score_scale: fixed ``s`` of the response; bias: initial ``b``.
    """

    def __init__(self, width: float = 1.0, general: bool = True, residual: bool = True, channel: bool = True,
                 form: str = "joint", reduction: int = 4, score_scale: float = 1e-3, bias: float = 0.0):
        if form not in FORMS:
            raise ValueError(f"RASNet attention form must be one of {FORMS}, got {form!r}")
        if form == "full" and channel:
            raise ValueError("RASNet's full attention γ (Eq. 6) already weights every channel; use form='joint' "
                             "for a separate channel attention β (Eq. 8), or channel=False")
        super().__init__(build_backbone("siamfc", width))
        self.width = width
        self.form = form
        channels = self.backbone.out_channels
        size = self.backbone.output_size(self.exemplar_size)
        spatial_channels = channels if form == "full" else 1
        self.general_attention = GeneralAttention(size, size, spatial_channels) if general else None
        self.residual_attention = ResidualAttention(channels, spatial_channels) if residual else None
        self.channel_attention = SqueezeExcitation(channels, reduction) if channel else None
        self.score_scale = float(score_scale)
        self.bias = nn.Parameter(torch.tensor(float(bias)))

    def attention_maps(self, exemplar_features: torch.Tensor) -> dict[str, torch.Tensor]:
        """The attentions of exemplar features ``(N, d, m, n)``, each broadcastable to them:
        ``general`` ``ρ̄``, ``residual`` ``ρ̃``, ``dual`` ``ρ = ρ̄ + ρ̃`` (Eq. 9; ``(·, 1, m, n)`` joint,
        ``(·, d, m, n)`` full), ``channel`` ``β`` (Eq. 10, ``(N, d, 1, 1)``). Switched-off attentions are the
        constants 1 (``ρ̄``, ``β``) and 0 (``ρ̃``)."""
        ones = exemplar_features.new_ones(1, 1, 1, 1)
        general = self.general_attention(exemplar_features) if self.general_attention is not None else ones
        residual = (self.residual_attention(exemplar_features) if self.residual_attention is not None
                    else exemplar_features.new_zeros(1, 1, 1, 1))
        channel = (self.channel_attention.channel_weights(exemplar_features)[:, :, None, None]
                   if self.channel_attention is not None else ones)
        return {"general": general, "residual": residual, "dual": general + residual, "channel": channel}

    def attention(self, exemplar_features: torch.Tensor) -> torch.Tensor:
        """``γ`` of Eq. 7: ``ρ_ij β_c`` (Eq. 8) in the joint form, ``γ̄_ijc + γ̃_ijc`` in the full form (Eq. 6)."""
        maps = self.attention_maps(exemplar_features)
        return maps["dual"] * maps["channel"]

    def template(self, exemplar_images: torch.Tensor) -> torch.Tensor:
        """``γ ⊙ φ(z)`` (Eq. 7): the attention folded into the exemplar features."""
        features = self.embed(exemplar_images)
        return self.attention(features) * features

    def match(self, template: torch.Tensor, instance_features: torch.Tensor) -> torch.Tensor:
        """``s · template ⋆ φ(x) + b`` (Eq. 7), one grouped convolution for the whole batch."""
        return xcorr(template, instance_features) * self.score_scale + self.bias

    def general_attention_map(self) -> torch.Tensor | None:
        """The learned general attention ``ρ̄`` as an ``m x n`` tensor (full form: averaged over channels),
        or None when it is switched off (what Fig. 6a of the paper shows)."""
        if self.general_attention is None:
            return None
        return self.general_attention.weight.detach().mean(dim=0)


__all__ = ["FORMS", "RASNetNet"]
