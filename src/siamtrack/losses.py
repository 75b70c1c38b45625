"""Training losses, each a plain function ``loss(scores, targets, ...) -> tensor``.

Conventions shared by every function here:

* ``scores`` are the network's raw outputs (logits / responses) of shape ``(B, ...)``; ``targets`` and
  ``weights`` broadcast to it.
* The loss of one training pair is a weighted *sum* over its map; ``reduction="mean"`` (the default) averages
  these per-pair losses over the batch, ``reduction="none"`` returns them as a ``(B,)`` tensor (to weight whole
  pairs, e.g. RASNet's temporal weighting, :func:`temporal_pair_weight`). Averaging over pairs keeps the loss
  of a global batch equal to the mean of its shards' losses, which is what distributed training needs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _reduce(per_pair: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_pair.mean()
    if reduction == "none":
        return per_pair
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def _per_pair_sum(values: torch.Tensor) -> torch.Tensor:
    return values.reshape(values.shape[0], -1).sum(dim=1)


def _check_shapes(scores: torch.Tensor, *others: torch.Tensor | None) -> None:
    if scores.dim() < 1:
        raise ValueError(f"scores need a batch dimension, got a tensor of shape {tuple(scores.shape)}")
    for other in others:
        if other is None:
            continue
        try:
            fits = torch.broadcast_shapes(other.shape, scores.shape) == scores.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(
                f"a tensor of shape {tuple(other.shape)} does not broadcast to the scores' shape {tuple(scores.shape)}"
            )


def balanced_weights(labels: torch.Tensor) -> torch.Tensor:
    """SiamFC's class-balanced element weights for ``±1`` labels: per pair, the positive positions share a
    total weight of 1/2 and the negative ones another 1/2 (``create_labels.m``, ``labelWeight='balanced'``).

    Positions labelled 0 (neutral) get weight 0. A pair without positives (or negatives) gives that class
    no weight (its other class still sums to 1/2).
    """
    flat = labels.reshape(labels.shape[0], -1)
    positive, negative = (flat > 0).to(labels.dtype), (flat < 0).to(labels.dtype)
    pos_count = positive.sum(dim=1, keepdim=True).clamp(min=1)
    neg_count = negative.sum(dim=1, keepdim=True).clamp(min=1)
    weights = 0.5 * positive / pos_count + 0.5 * negative / neg_count
    return weights.reshape(labels.shape)


def logistic_loss(
    scores: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None, reduction: str = "mean"
) -> torch.Tensor:
    """SiamFC's logistic loss (Bertinetto et al. 2016, Eq. 1-2; RASNet Eq. 11).

    ``l(y, v) = log(1 + exp(-y v))`` for a label ``y`` in ``{-1, +1}`` (0 = neutral) and a score ``v``
    (Eq. 1); the loss of a score map is ``L(y, v) = sum_u w[u] l(y[u], v[u])`` (Eq. 2 with ``w = 1/|D|``, the
    default; pass :func:`balanced_weights` for SiamFC's balanced variant). Computed as ``softplus(-y v)``,
    stable for any score. ``d l / d v = -y * sigmoid(-y v)``.
    """
    _check_shapes(scores, labels, weights)
    if weights is None:
        weights = torch.full_like(scores, 1.0 / scores[0].numel())
    return _reduce(_per_pair_sum(weights * F.softplus(-labels * scores)), reduction)


def bce_with_logits_loss(
    scores: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None, reduction: str = "mean"
) -> torch.Tensor:
    """Binary cross-entropy on logits for soft targets ``t`` in ``[0, 1]`` (e.g. Gaussian labels).

    ``l(t, v) = -t log(sigmoid(v)) - (1 - t) log(1 - sigmoid(v)) = softplus(v) - t v``; per pair
    ``sum_u w[u] l(t[u], v[u])`` with ``w = 1/|D|`` by default. For ``t = (y + 1) / 2`` it equals
    :func:`logistic_loss`. ``d l / d v = sigmoid(v) - t``.
    """
    _check_shapes(scores, targets, weights)
    if weights is None:
        weights = torch.full_like(scores, 1.0 / scores[0].numel())
    return _reduce(
        _per_pair_sum(
            weights * F.binary_cross_entropy_with_logits(scores, targets.expand_as(scores), reduction="none")
        ),
        reduction,
    )


def l2_loss(responses: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Squared L2 distance between a response and its desired response, summed over the map.

    DCFNet's objective (Wang et al. 2017, Sec. 3): ``L(theta) = ||g(phi(x; theta)) - y||^2``
    (+ ``gamma ||theta||^2``, which is the optimiser's weight decay); DSLT's square loss (Eq. 2-3) before
    shrinkage. The authors' DCFNet code sums over the batch too; averaging over pairs instead makes the
    gradient batch-size independent (scale the learning rate by the batch size to match theirs).
    ``d L / d g = 2 (g - y)``.
    """
    _check_shapes(responses, targets)
    return _reduce(_per_pair_sum((responses - targets) ** 2), reduction)


def temporal_pair_weight(gaps: torch.Tensor, sigma: float) -> torch.Tensor:
    """RASNet's temporal validity of a training pair (Wang et al. 2018, Eq. 13): ``exp(-|i - j| / sigma)``
    for frames ``i, j`` that are ``gaps = |i - j|`` apart; Eq. 12 weights each pair's loss by it."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    return torch.exp(-gaps.abs().to(torch.get_default_dtype()) / sigma)


def focal_logistic_loss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor | None = None,
    a: float = 2.0,
    b: float = 1.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """AdaCFNet's focal logistic loss (Li et al., Eq. 6), averaged over the score map (Eq. 5).

    ``l(y, v) = a / (1 + exp(b y v)) · log(1 + exp(-y v))`` for a label ``y`` in ``{-1, +1}`` and a score
    ``v``: the logistic loss (Eq. 4) times the modulating factor ``a / (1 + exp(b y v))``, which is small
    for easy (``y v > 0``) samples and approaches ``a`` for misclassified ones. The paper uses ``a = 2``,
    ``b = 1`` (Sec. IV); at ``v = 0`` the loss equals the logistic loss (``log 2``). The loss of a map is
    ``sum_u w[u] l(y[u], v[u])`` with ``w = 1/|D|`` by default (Eq. 5), as :func:`logistic_loss`.

    Computed as ``a · sigmoid(-b y v) · softplus(-y v)``, finite for any score. The gradient flows through
    the modulating factor too (as in the focal loss of Lin et al.):
    ``d l / d v = -a y sigmoid(-b y v) [b sigmoid(b y v) softplus(-y v) + sigmoid(-y v)]``.
    """
    _check_shapes(scores, labels, weights)
    if not a > 0 or not b >= 0:
        raise ValueError(f"focal logistic loss needs a > 0 and b >= 0, got a={a!r}, b={b!r}")
    if weights is None:
        weights = torch.full_like(scores, 1.0 / scores[0].numel())
    margin = labels * scores
    per_element = a * torch.sigmoid(-b * margin) * F.softplus(-margin)
    return _reduce(_per_pair_sum(weights * per_element), reduction)


def reconstruction_loss(reconstruction: torch.Tensor, image: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """EDCF's reconstruction loss of one image (Wang et al. 2018, Eq. 2: ``||ψ(φ(z')) - z'||²``), averaged
    over the image's values instead of summed: per pair ``mean_u (r[u] - t[u])²`` over every channel and pixel.

    The average (our choice; the paper writes the squared norm) makes the term independent of the image size
    and, for intensities in [0, 1], of the order of the logistic loss in the multi-task sum (Eq. 15). Eq. 2
    sums this over the exemplar and the search image. ``d / d r = 2 (r - t) / n`` with ``n`` values per image.
    """
    _check_shapes(reconstruction, image)
    if reconstruction.shape != image.shape:
        raise ValueError(f"reconstruction {tuple(reconstruction.shape)} and image {tuple(image.shape)} differ in shape")
    per_pair = ((reconstruction - image) ** 2).reshape(reconstruction.shape[0], -1).mean(dim=1)
    return _reduce(per_pair, reduction)


# ------------------------------------------------------------------------------------------------------------
# DSLT (Lu et al., "Deep Object Tracking with Shrinkage Loss", TPAMI 2020): regression losses (Sec. 3.2, Fig. 4)
# and classification losses on logits (Sec. 3.4, Fig. 6). Same conventions as above: per-pair sums over the map,
# mean over pairs by default.


def shrinkage_modulation(l: torch.Tensor, a: float = 10.0, c: float = 0.2) -> torch.Tensor:
    """DSLT Eq. 5: the modulating factor ``f(l) = 1 / (1 + exp(a (c - l)))`` of an absolute difference ``l``
    (``= sigmoid(a (l - c))``): near 0 for easy samples (``l < c``), near 1 for hard ones. ``a`` sets the
    shrinkage speed, ``c`` the location."""
    return torch.sigmoid(a * (l - c))


def l3_loss(
    responses: torch.Tensor, targets: torch.Tensor, gamma: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """DSLT Eq. 4: the square loss re-weighted by ``l^gamma``, ``L_F = l^gamma · l² = l^(2 + gamma)`` with
    ``l = |r - y|`` (the paper's "L3" loss at ``gamma = 1``), summed over the map.
    ``d L / d r = (2 + gamma) l^(1 + gamma) sign(r - y)``."""
    _check_shapes(responses, targets)
    if not gamma >= 0:
        raise ValueError(f"l3_loss needs gamma >= 0, got {gamma!r}")
    return _reduce(_per_pair_sum((responses - targets).abs() ** (2.0 + gamma)), reduction)


def shrinkage_loss(
    responses: torch.Tensor,
    targets: torch.Tensor,
    a: float = 10.0,
    c: float = 0.2,
    importance: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """DSLT shrinkage loss for regression (Eq. 6-7, without Eq. 7's ``λ||W||²``, which is the optimiser's
    weight decay), summed over the map:

    ``L_S = exp(Y) · l² / (1 + exp(a (c - l)))``, ``l = |r - Y|``, the square loss (Eq. 3) times the
    modulating factor of Eq. 5 (:func:`shrinkage_modulation`) and, with ``importance=True``, the label's
    importance factor ``exp(Y)`` (Eq. 7; ``importance=False`` is Eq. 6, the "w/o exp(Y)" row of Table 3).
    The paper's values: ``a = 10``, ``c = 0.2``.

    The gradient flows through the modulating factor (the loss is a function of ``r``, as plotted in Fig. 4):
    with ``s = sigmoid(a (l - c))``, ``d L / d r = exp(Y) (r - Y) [2 s + a l s (1 - s)]``.
    """
    _check_shapes(responses, targets)
    l = (responses - targets).abs()
    per_element = l**2 * shrinkage_modulation(l, a, c)
    if importance:
        per_element = torch.exp(targets) * per_element
    return _reduce(_per_pair_sum(per_element), reduction)


def ohnm_l2_loss(
    responses: torch.Tensor, targets: torch.Tensor, threshold: float = 0.01, reduction: str = "mean"
) -> torch.Tensor:
    """The square loss with online hard negative mining, the alternative of DSLT Sec. 5.4 (Fig. 15): samples
    whose absolute difference ``l = |r - y|`` is below ``threshold`` (0.01 in the paper) are "easy" and
    excluded; the others keep their ``l²``. Summed over the map.

    The paper does not say whether the threshold applies to ``l`` or to the loss ``l²``; we threshold ``l``,
    the quantity the paper uses to call a sample easy or hard (Sec. 3.2). The selection is not
    differentiated: ``d L / d r = 2 (r - y)`` on kept samples, 0 elsewhere.
    """
    _check_shapes(responses, targets)
    difference = responses - targets
    kept = (difference.detach().abs() >= threshold).to(difference.dtype)
    return _reduce(_per_pair_sum(kept * difference**2), reduction)


def _binary_terms(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``p = sigmoid(v)``, ``log p`` and ``log(1 - p)`` (both computed stably from the logit ``v``)."""
    return torch.sigmoid(scores), -F.softplus(-scores), -F.softplus(scores)


def focal_bce_loss(
    scores: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """The focal loss (Lin et al. 2017) in DSLT's class-weighted form (Eq. 11) on logits ``v``, ``p = sigmoid(v)``:

    ``-β1 (1 - p)^γ log p`` for ``y = 1`` and ``-β2 p^γ log(1 - p)`` for ``y = 0``, i.e.
    ``-β (1 - p_t)^γ log p_t``; the class weights ``β`` (Eq. 10) are the ``weights`` argument (e.g.
    :func:`balanced_weights`; ``None``: ``1/|D|``), replacing the focal loss's ``α``. Soft targets ``t`` mix the
    two cases, ``t·L(y=1) + (1 - t)·L(y=0)``. Not AdaCFNet's :func:`focal_logistic_loss` (a different modulation
    ``a / (1 + exp(b y v))`` of the logistic loss). ``γ = 2`` is Lin et al.'s value and Table 3's best.

    Gradient (through the modulation too), for ``y = 1``: ``d L / d v = -β (1 - p)^γ [(1 - p) - γ p log p]``.
    """
    _check_shapes(scores, targets, weights)
    if not gamma >= 0:
        raise ValueError(f"focal_bce_loss needs gamma >= 0, got {gamma!r}")
    if weights is None:
        weights = torch.full_like(scores, 1.0 / scores[0].numel())
    p, log_p, log_not_p = _binary_terms(scores)
    positive = -((1.0 - p) ** gamma) * log_p
    negative = -(p**gamma) * log_not_p
    return _reduce(_per_pair_sum(weights * (targets * positive + (1.0 - targets) * negative)), reduction)


def shrinkage_bce_loss(
    scores: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
    a: float = 10.0,
    c: float = 0.6,
    importance: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    """DSLT shrinkage loss for classification (Eq. 12-14) on logits ``v``, ``p = sigmoid(v)``:

    ``-β1 exp(p) / (1 + exp(a (p - c))) · log p`` for ``y = 1`` and
    ``-β2 exp(1 - p) / (1 + exp(a ((1 - p) - c))) · log(1 - p)`` for ``y = 0``, i.e. ``-β f(p_t) log p_t`` with
    ``f(p_t) = exp(p_t) / (1 + exp(a (p_t - c)))`` (Eq. 13). The text's Eq. 14 reads ``exp(a·(1−a))−c`` in the
    second case, an OCR slip: we use ``exp(a·((1 − p) − c))``, Eq. 12 with ``p_t = 1 - p``. ``importance=False``
    drops the ``exp(p_t)`` factor (Eq. 12 alone; Table 3's "w/o exp(p_t)"). ``β`` (Eq. 10) is ``weights``
    (e.g. :func:`balanced_weights`; ``None``: ``1/|D|``); soft targets mix the cases as in :func:`focal_bce_loss`.
    The paper's values: ``a = 10``, ``c = 0.6``.

    Gradient (through ``f`` too), for ``y = 1`` with ``s = sigmoid(a (p - c))`` and ``g = exp(p)`` (or 1):
    ``d L / d v = -β g (1 - s) p (1 - p) [(1 - a s) log p + 1/p]`` (``importance=True``), and without ``exp(p)``
    the ``log p`` coefficient is ``-a s`` instead of ``1 - a s``.
    """
    _check_shapes(scores, targets, weights)
    if weights is None:
        weights = torch.full_like(scores, 1.0 / scores[0].numel())
    p, log_p, log_not_p = _binary_terms(scores)
    factor_positive = torch.sigmoid(-a * (p - c))  # Eq. 12 with p_t = p
    factor_negative = torch.sigmoid(-a * ((1.0 - p) - c))  # Eq. 12 with p_t = 1 - p
    if importance:  # Eq. 13
        factor_positive = torch.exp(p) * factor_positive
        factor_negative = torch.exp(1.0 - p) * factor_negative
    positive = -factor_positive * log_p
    negative = -factor_negative * log_not_p
    return _reduce(_per_pair_sum(weights * (targets * positive + (1.0 - targets) * negative)), reduction)


def smooth_ranking_loss(scores: torch.Tensor, pairs: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """TADT's smooth approximated ranking loss (Li et al. 2019, Eq. 5; the LSEP loss of Li et al. 2017):
    ``L = log(1 + Σ_{(i, j) ∈ Ω} exp(f(x_i) - f(x_j)))`` per row of ``scores`` ``(B, n)``, where each row of
    ``pairs`` ``(P, 2)`` is ``(i, j)`` with sample ``j`` to be ranked above sample ``i``. Computed as a
    log-sum-exp over ``[0, f_i - f_j ...]`` (no overflow); ``reduction`` as elsewhere in this module.

    Gradient (Eq. 6 read with ``Δz = z_j - z_i``, the preferred minus the other, and ``1 + Σ exp`` where the text
    prints ``L_rank``): ``∂L/∂f = -Σ_Ω Δz_ij exp(-f·Δz_ij) / (1 + Σ_Ω exp(-f·Δz_ij))``, i.e. the softmax weight of
    each pair pulls ``f_j`` up and ``f_i`` down; the tests check it against autograd.
    """
    if scores.dim() != 2:
        raise ValueError(f"ranking scores must be (B, n), got shape {tuple(scores.shape)}")
    if pairs.dim() != 2 or pairs.shape[1] != 2 or pairs.shape[0] == 0:
        raise ValueError(f"ranking pairs must be a non-empty (P, 2) index tensor, got shape {tuple(pairs.shape)}")
    if pairs.dtype != torch.long or int(pairs.min()) < 0 or int(pairs.max()) >= scores.shape[1]:
        raise ValueError(f"ranking pairs must be long indices into {scores.shape[1]} samples, got {pairs.tolist()}")
    margins = scores[:, pairs[:, 0]] - scores[:, pairs[:, 1]]
    per_set = torch.logsumexp(F.pad(margins, (1, 0)), dim=1)  # the leading 0 is the "1 +" of Eq. 5
    return _reduce(per_set, reduction)
