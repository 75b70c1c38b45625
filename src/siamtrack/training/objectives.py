"""The models' own training objectives, named by ``loss.name: siamtrack.training.objectives:<function>`` in a
config: each takes ``(model, batch, **loss.args)``, runs the network and returns the loss. The networks
(:mod:`siamtrack.models`) only compute outputs; what they are trained to minimise lives here, on top of
:mod:`siamtrack.losses`.

* :func:`edcf_objective`: EDCF's multi-task loss (Wang et al., IJCAI 2018, Eq. 15) for
  :class:`~siamtrack.models.edcf.EDCFNet`.
* :func:`rpn_objective`: SiamRPN's ``L_cls + η L_reg`` as DSLT writes it (Lu et al., TPAMI 2020, Eq. 16) for
  :class:`~siamtrack.models.siamrpn.SiamRPNNet`; its ``loss_from_outputs`` (:func:`rpn_loss`) is what training on
  cached trunk maps (:mod:`siamtrack.training.feature_cache`) calls.

Configs written before the move name them ``siamtrack.models.edcf:edcf_objective`` and
``siamtrack.models.siamrpn:rpn_objective``; :class:`~siamtrack.training.config.LossConfig` maps those names here
when a config is read (:data:`~siamtrack.training.config.MOVED_OBJECTIVES`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from siamtrack import losses
from siamtrack.labels import gaussian_labels
from siamtrack.models.edcf import EDCFNet
from siamtrack.models.siamrpn import assign_targets

# SiamRPN's classification term: loss name -> function of siamtrack.losses
CLASSIFICATION_LOSSES = {
    "bce": losses.bce_with_logits_loss,
    "focal_bce": losses.focal_bce_loss,
    "shrinkage_bce": losses.shrinkage_bce_loss,
}


def low_level_labels(
    net: EDCFNet, exemplar_boxes: torch.Tensor, instance_boxes: torch.Tensor, size: int
) -> torch.Tensor:
    """The CF branch's desired responses ``(B, 1, size, size)``: the circular Gaussian ``y`` of Eq. 7 (same
    ``sigma``) moved to the target's displacement between the exemplar and search crops (Eq. 8)."""
    exemplar = exemplar_boxes.detach().cpu().double().numpy()
    instance = instance_boxes.detach().cpu().double().numpy()
    offsets = (
        (instance[:, :2] + instance[:, 2:] / 2 - net.instance_size / 2)
        - (exemplar[:, :2] + exemplar[:, 2:] / 2 - net.exemplar_size / 2)
    ) / net.low_stride
    sigma = net.correlation_filter.sigma
    labels = np.stack([gaussian_labels(size, offset, sigma, wrap=True) for offset in offsets])
    return torch.from_numpy(labels)[:, None].to(exemplar_boxes.device)


def edcf_objective(
    model: nn.Module,
    batch: dict,
    high_weight: float = 1.0,
    low_weight: float = 1.0,
    reconstruction_weight: float = 1.0,
    balanced: bool = True,
) -> torch.Tensor:
    """EDCF's multi-task loss (Eq. 15) ``L_all = L_low + L_high + L_recon`` (+ weight decay ``R(θ)``, the
    optimiser's), each term present when the network has its branch, times its weight:

    * ``L_high`` (Eq. 4): the logistic loss of the conv5 score map against the batch's ``±1`` labels
      (``labels:`` of the config), class-balanced as SiamFC's code when ``balanced``;
    * ``L_low`` (Eq. 8): ``||g - y||²`` summed over the 125x125 CF response, ``y`` from
      :func:`low_level_labels`;
    * ``L_recon`` (Eq. 2): :func:`~siamtrack.losses.reconstruction_loss` of the exemplar plus that of the
      search image (pixel intensities in [0, 1]; the paper's squared norm averaged over the pixels, our
      normalisation, which keeps the term on the scale of the logistic loss).

    Every term is a mean over the batch's pairs. ``model`` may be DDP-wrapped (it is called, not unwrapped).
    The batch's crops must be plain RGB 0..255 (``data.input_mean`` 0), the decoder's target being ``/ 255``.
    """
    net = getattr(model, "module", model)
    outputs = model(batch["exemplar"], batch["instance"], batch["exemplar_box"])
    total = outputs["scores"].new_zeros(())
    if "high" in outputs:
        weights = losses.balanced_weights(batch["label"]) if balanced else None
        if outputs["high"].shape != batch["label"].shape:
            raise ValueError(
                f"EDCF: conv5 score map {tuple(outputs['high'].shape)} but labels "
                f"{tuple(batch['label'].shape)}; the config's labels must be logistic at stride 8"
            )
        total = total + high_weight * losses.logistic_loss(outputs["high"], batch["label"], weights)
    if "low" in outputs:
        target = low_level_labels(net, batch["exemplar_box"], batch["instance_box"], outputs["low"].shape[-1])
        total = total + low_weight * losses.l2_loss(outputs["low"], target.to(outputs["low"].dtype))
    if "exemplar_reconstruction" in outputs:
        total = total + reconstruction_weight * (
            losses.reconstruction_loss(outputs["exemplar_reconstruction"], batch["exemplar"] / 255.0)
            + losses.reconstruction_loss(outputs["instance_reconstruction"], batch["instance"] / 255.0)
        )
    return total


def rpn_objective(model: nn.Module, batch: dict, **loss_args) -> torch.Tensor:
    """DSLT Eq. 16 for a training batch, ``L_cls + η L_reg`` averaged over the pairs (the training loop's
    ``loss.name: siamtrack.training.objectives:rpn_objective``): the network on the batch's images, then
    :func:`rpn_loss` with ``loss.args`` as its keyword arguments (checked against its signature before training)."""
    net = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    outputs = model(batch["exemplar"], batch["instance"])
    return rpn_loss(net, outputs, batch["instance_box"], batch["instance"].shape[-1], **loss_args)


def rpn_loss(
    net: nn.Module,
    outputs: dict,
    instance_boxes: torch.Tensor,
    instance_size: int,
    classification: str = "bce",
    classification_args: dict | None = None,
    eta: float = 1.0,
    pos_iou: float = 0.6,
    neg_iou: float = 0.3,
    max_samples: int | None = 64,
    max_positives: int = 16,
    smooth_l1_beta: float = 1.0 / 9.0,
    class_weights: str = "balanced",
) -> torch.Tensor:
    """Eq. 16 of the network's ``outputs`` (``cls``, ``reg``) for ground-truth ``instance_boxes`` ``(B, 4)``
    (``x, y, w, h`` in pixels of the ``instance_size`` search crop), averaged over the pairs; :func:`rpn_objective`
    calls it on the network's outputs for a batch of images, the training on cached trunk maps
    (:mod:`siamtrack.training.feature_cache`) on the outputs of its feature windows.

    ``classification``: ``bce`` (SiamRPN), ``focal_bce`` (SiamRPN_fl, Eq. 11) or ``shrinkage_bce`` (SiamRPN_sl,
    Eq. 14), with ``classification_args`` (e.g. ``{a: 10, c: 0.6}``). Anchors with IoU ``> pos_iou`` are positive,
    ``< neg_iou`` negative (:func:`~siamtrack.models.siamrpn.assign_targets`; ``max_samples`` / ``max_positives``
    sample them per pair, ``max_samples=None`` keeps all). ``class_weights``: ``balanced`` (DSLT Eq. 10's β: the
    positives and the negatives each weigh 1/2 in all, :func:`siamtrack.losses.balanced_weights`) or ``per_positive``
    (RetinaNet's normalisation, Lin et al. 2017 Sec. 4: every labelled anchor weighs 1 / the number of positives, so
    a hard negative counts as much as a positive and the loss's modulation alone suppresses the easy ones).
    ``L_reg``: smooth L1 (``beta = 1/9``: Faster R-CNN's RPN, σ = 3) of the four offsets, summed over them and
    averaged over the positives."""
    if classification not in CLASSIFICATION_LOSSES:
        raise ValueError(f"classification must be one of {', '.join(CLASSIFICATION_LOSSES)}, got {classification!r}")
    if class_weights not in ("balanced", "per_positive"):
        raise ValueError(f"class_weights must be 'balanced' or 'per_positive', got {class_weights!r}")
    cls, reg = outputs["cls"], outputs["reg"]
    anchors = net.anchors(cls.shape[-1], instance_size).to(cls.device)
    labels, targets = assign_targets(instance_boxes.float(), anchors, pos_iou, neg_iou, max_samples, max_positives)
    logits = net.target_logits(cls)
    if class_weights == "balanced":
        weights = losses.balanced_weights(labels)
    else:
        labelled = (labels != 0).to(labels.dtype)
        weights = labelled / (labels > 0).sum(dim=1, keepdim=True).clamp(min=1).to(labels.dtype)
    classification_loss = CLASSIFICATION_LOSSES[classification](
        logits, (labels > 0).to(logits.dtype), weights, reduction="none", **(classification_args or {})
    )
    positive = (labels > 0).to(logits.dtype)
    per_anchor = F.smooth_l1_loss(net.offsets(reg), targets.to(reg.dtype), beta=smooth_l1_beta, reduction="none").sum(
        dim=-1
    )
    regression_loss = (positive * per_anchor).sum(dim=1) / positive.sum(dim=1).clamp(min=1)
    return (classification_loss + eta * regression_loss).mean()


rpn_objective.loss_from_outputs = rpn_loss  # what training on cached trunk maps calls (feature_cache.py)


__all__ = ["CLASSIFICATION_LOSSES", "edcf_objective", "low_level_labels", "rpn_loss", "rpn_objective"]
