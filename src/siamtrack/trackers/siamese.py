"""The base classes of the trackers that search for the target around its last position, and SiamFC's search.

* :class:`SearchTracker` (SiamFC, CFNet, AdaCFNet, RASNet, EDCF, SiamRPN, DSLT, TADT) holds the search state (the
  centre, the first frame's size, the scale, the padding colour) and does what each of those trackers does at the
  start of ``init`` and ``update`` (check the frame and the box, set up the state, refuse an update before ``init``,
  a NaN first-frame confidence, fresh per-frame ``extras``); a tracker implements two steps, ``start(image, box)``
  (the first frame: a template, a filter, a network learned online) and ``step(image)`` (locate the target, move
  the state, set ``confidence``); ``update`` returns the box of the state.
* :class:`ModelTracker` is a :class:`SearchTracker` around a network of :func:`siamtrack.models.build_model`
  (``model_name``): the one ``__init__(model, params, device, **hyperparameters)`` (an inference copy of the
  network, hyper-parameter overrides, the crop sizes a network fixes) and the one :meth:`~ModelTracker.from_weights`.
* :class:`SiameseTracker` is SiamFC's search (Bertinetto et al. 2016, Sec. 2.4; CFNet, Valmadre et al. 2017,
  Sec. 4) on a :class:`~siamtrack.models.siamese.SiameseNet`, written with the functions of
  :mod:`siamtrack.trackers.search`: ``num_scales`` crops around the last centre, the score maps upsampled,
  penalised and windowed, the best scale's peak as the displacement, the damped scale update. The model-specific
  steps are small methods (``preprocess``, ``build_template``, ``update_template``, ``score``) that subclasses
  override; SiamFC, CFNet and RASNet only set ``Params``.
* :class:`LiteTracker` is the mixin of the trackers on the ImageNet EfficientNet-Lite0 embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from siamtrack.models import Weights, model_from_weights
from siamtrack.models.backbones import fuse_batchnorm
from siamtrack.trackers.base import (
    Tracker,
    check_field_types,
    check_initial_box,
    check_size_limit,
    pick_device,
    with_overrides,
)
from siamtrack.trackers.search import (
    apply_window,
    check_image,
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


@dataclass(frozen=True)
class SiameseParams:
    """Hyper-parameters of a Siamese tracker; the defaults are SiamFC-3s's (Bertinetto et al. 2016)."""

    exemplar_size: int = 127  # side of the exemplar crop fed to the network (model pixels)
    instance_size: int = 255  # side of each search crop
    context_size: int = 127  # model pixels onto which the context square s_z is mapped
    context: float = 0.5  # p = context * (w + h)
    num_scales: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745  # multiplies the responses of the off-centre scales
    scale_lr: float = 0.59  # damping of the size update
    window_influence: float = 0.176  # weight of the Hann window in the final response
    response_up: int = 16  # bicubic upsampling factor of the score maps (17 -> 272)
    min_scale: float = 0.2  # size limits relative to the first frame's target
    max_scale: float = 5.0
    template_lr: float = 0.0  # rolling-average rate of the template (0: fixed first-frame template)
    precision: str = "float32"  # float32 | bfloat16 (CPU/CUDA autocast of the network; responses stay float32)

    def __post_init__(self):
        check_field_types(self)
        positive_ints = ("exemplar_size", "instance_size", "context_size", "num_scales", "response_up")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{type(self).__name__}.{name} must be a positive integer, got {value!r}")
        check_size_limit(self, ("exemplar_size", "instance_size", "context_size"))
        if self.response_up > 64:  # the upsampled maps hold (score side x response_up)^2 floats per scale
            raise ValueError(f"{type(self).__name__}.response_up = {self.response_up!r} is too large (at most 64)")
        if self.num_scales % 2 == 0:
            raise ValueError(f"{type(self).__name__}.num_scales must be odd (a centre scale), got {self.num_scales}")
        checks = {
            "context": self.context >= 0,
            "scale_step": self.scale_step >= 1,
            "scale_penalty": 0 < self.scale_penalty <= 1,
            "scale_lr": 0 <= self.scale_lr <= 1,
            "window_influence": 0 <= self.window_influence <= 1,
            "min_scale": 0 < self.min_scale <= 1,
            "max_scale": self.max_scale >= 1,
            "template_lr": 0 <= self.template_lr <= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{type(self).__name__}.{name} out of range: {getattr(self, name)!r}")
        if self.precision not in ("float32", "bfloat16"):
            raise ValueError(f"{type(self).__name__}.precision must be 'float32' or 'bfloat16', got {self.precision!r}")

    @property
    def scale_factors(self) -> np.ndarray:
        """:func:`~siamtrack.trackers.search.scale_pyramid` of ``num_scales`` and ``scale_step``."""
        return scale_pyramid(self.num_scales, self.scale_step)


def prepare_for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    """An inference copy of ``model``: eval mode, batch norm folded into the convolutions, no gradients,
    on ``device``, channels-last memory on the CPU (the faster layout for oneDNN convolutions)."""
    model = fuse_batchnorm(model).to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


# --------------------------------------------------------------------------------------------- tracker


class SearchTracker(Tracker):
    """Base of the trackers that search for the target around its last position (see the module doc).

    State (image pixels): ``_center`` ``(cx, cy)``, ``_base_size`` (the first frame's ``(w, h)``), ``_scale`` (the
    size relative to it, :attr:`target_size`), ``_fill`` (the first frame's mean colour, which pads the crops).
    ``init`` checks the frame and the box, sets this state up, a NaN ``confidence`` and empty ``extras``, then calls
    :meth:`start`; ``update`` refuses to run before a completed ``init``, checks the frame, empties ``extras``, calls
    :meth:`step` and returns the box of the state (:meth:`box`). A subclass implements :meth:`start` and
    :meth:`step`, and overrides :attr:`target_size` when it keeps the size otherwise (SiamRPN)."""

    _started = False

    def start(self, image: np.ndarray, box: np.ndarray) -> None:
        """The first frame's step, after the state is set up (``box``: the checked float64 ``x, y, w, h``)."""
        raise NotImplementedError

    def step(self, image: np.ndarray) -> None:
        """Locate the target in ``image`` (checked): move ``_center`` / the size, set ``confidence``."""
        raise NotImplementedError

    @property
    def target_size(self) -> np.ndarray:
        """The target's current ``(w, h)`` in image pixels."""
        return self._base_size * self._scale

    def box(self) -> np.ndarray:
        """The current box ``x, y, w, h``."""
        size = self.target_size
        return np.concatenate([self._center - size / 2.0, size])

    def init(self, image: np.ndarray, box) -> None:
        image = check_image(image)
        box = check_initial_box(box, self.name, image)
        self._started = False
        self._center = box[:2] + box[2:] / 2.0
        self._base_size = box[2:].copy()
        self._scale = 1.0
        self._fill = image.reshape(-1, 3).mean(axis=0)
        self.confidence = float("nan")
        self.extras = {}
        self.start(image, box)
        self._started = True

    def update(self, image: np.ndarray) -> np.ndarray:
        if not self._started:
            raise RuntimeError(f"{self.name}: update() called before init()")
        image = check_image(image)
        self.extras = {}
        self.step(image)
        return self.box()


class ModelTracker(SearchTracker):
    """A :class:`SearchTracker` around a network of :func:`siamtrack.models.build_model` (``model_name``).

    ``params`` (or keyword overrides of :attr:`Params`' fields) set the hyper-parameters; a network may fix the crop
    sizes it was trained for (its ``tracking_params``, e.g. the pretrained backbone's 257x257 crops), which explicit
    params or keyword overrides still beat (:meth:`network_params`). ``device`` defaults to CUDA when available. The
    model is copied for inference (BN folded, :func:`prepare_for_inference`), so the caller's module is untouched.
    Subclasses set ``name``, ``model_name`` and ``Params``."""

    name = "model"
    model_name: ClassVar[str] = ""
    Params: ClassVar[type]

    def __init__(self, model: nn.Module, params=None, device=None, **hyperparameters):
        super().__init__()
        model_sizes = self.network_params(model, params, hyperparameters)
        self.params = with_overrides(
            params if params is not None else self.Params(), {**model_sizes, **hyperparameters}, type(self).__name__
        )
        self.device = pick_device(device)
        self.model = prepare_for_inference(model, self.device)

    def network_params(self, model: nn.Module, params, hyperparameters: dict) -> dict:
        """The hyper-parameters ``model`` fixes (its ``tracking_params``) that neither ``params`` nor
        ``hyperparameters`` set."""
        return {
            key: value
            for key, value in getattr(model, "tracking_params", {}).items()
            if params is None and key not in hyperparameters
        }

    @classmethod
    def from_weights(cls, weights: Weights | None, device=None, **hyperparameters) -> ModelTracker:
        """The tracker with its model built from ``weights`` (``None``: random initialisation)."""
        return cls(model_from_weights(cls.model_name, weights, cls.name), device=device, **hyperparameters)


class SiameseTracker(ModelTracker):
    """SiamFC's search (see the module doc) around a :class:`~siamtrack.models.siamese.SiameseNet`; subclasses set
    ``name``, ``model_name`` and ``Params``, and override the model-specific steps below."""

    name = "siamese"
    Params: ClassVar[type[SiameseParams]] = SiameseParams

    def __init__(self, model: nn.Module, params: SiameseParams | None = None, device=None, **hyperparameters):
        super().__init__(model, params, device, **hyperparameters)
        self.total_stride = int(model.total_stride)
        self.template = None

    # ---- model-specific steps (override in subclasses) ------------------------------------------------

    def preprocess(self, crops: torch.Tensor) -> torch.Tensor:
        """uint8 ``N x 3 x S x S`` RGB crops -> network input (here: float 0..255 RGB, as SiamFC/CFNet)."""
        return crops.to(self.device, torch.float32)

    def build_template(self, exemplar: torch.Tensor) -> torch.Tensor:
        """The template from the preprocessed exemplar crop ``(1, 3, S, S)``."""
        return self.model.template(exemplar)

    def update_template(self, template: torch.Tensor, exemplar: torch.Tensor) -> torch.Tensor:
        """Rolling average ``(1 - template_lr)·template + template_lr·new`` (CFNet's online update)."""
        rate = self.params.template_lr
        return (1.0 - rate) * template + rate * self.build_template(exemplar)

    def score(self, template: torch.Tensor, instances: torch.Tensor) -> torch.Tensor:
        """Score maps ``(N, 1, h, w)`` of the preprocessed search crops ``(N, 3, S, S)``."""
        return self.model.match(template, self.model.embed(instances))

    # ---- state -----------------------------------------------------------------------------------------

    @property
    def context_region(self) -> float:
        """Current ``s_z`` (image pixels that map onto ``context_size`` model pixels)."""
        return self._base_side * self._scale

    def autocast(self):
        """The network's precision context: bfloat16 autocast when ``params.precision`` says so (convolutions and
        matrix products in bfloat16, ~3x faster on CPUs with AVX-512 BF16/AMX), else a no-op."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.params.precision == "bfloat16")

    def crop_inputs(self, image: np.ndarray, sides, out_size: int) -> torch.Tensor:
        """Network input for square crops of ``sides`` image pixels around the current centre."""
        crops = self.preprocess(crop_pyramid(image, self._center, sides, out_size, self._fill))
        if self.device.type == "cpu":
            crops = crops.contiguous(memory_format=torch.channels_last)
        return crops

    def crop_exemplar(self, image: np.ndarray) -> torch.Tensor:
        """Network input for the exemplar crop (``s_z·exemplar_size/context_size`` image pixels) around the
        current centre."""
        p = self.params
        return self.crop_inputs(image, [self.context_region * p.exemplar_size / p.context_size], p.exemplar_size)

    # ---- the search ------------------------------------------------------------------------------------

    def start(self, image: np.ndarray, box: np.ndarray) -> None:
        self._base_side = context_side(box[2], box[3], self.params.context)
        with torch.inference_mode(), self.autocast():
            self.template = self.build_template(self.crop_exemplar(image))

    def step(self, image: np.ndarray) -> None:
        p = self.params
        factors = p.scale_factors
        sides = self.context_region * p.instance_size / p.context_size * factors
        with torch.inference_mode():
            with self.autocast():
                scores = self.score(self.template, self.crop_inputs(image, sides, p.instance_size))[:, 0]
            responses = upsample_responses(scores.float(), p.response_up).cpu().numpy()
        best = int(np.argmax(penalized_peaks(responses, p.scale_penalty)))
        response = apply_window(
            responses[best].astype(np.float64), unit_sum_window(*responses.shape[1:]), p.window_influence
        )
        # response pixels -> search-crop pixels -> image pixels (SiamFC's tracker_step)
        displacement = peak_displacement(response) * self.total_stride / p.response_up
        self._center = clip_to_image(self._center + displacement * sides[best] / p.instance_size, image)
        self._scale = damped_scale(self._scale, factors[best], p.scale_lr, p.min_scale, p.max_scale)
        self.confidence = float(scores[best].max())
        if p.template_lr > 0:
            with torch.inference_mode(), self.autocast():
                self.template = self.update_template(self.template, self.crop_exemplar(image))


class LiteTracker:
    """Mixin of the ``-lite`` trackers (``siamfc-lite``, ``cfnet-lite``, ``adacfnet-lite``, ``rasnet-lite``), listed
    before the paper's tracker class: its network on the ImageNet EfficientNet-Lite0 embedding
    (``build_model(model_name, backbone="efficientnet-lite0")``). The network fixes the 257x257 crops
    (:attr:`~siamtrack.models.siamese.SiameseNet.tracking_params`); the search is the paper's tracker's.

    :meth:`from_weights` with ``None`` (``"random"``) keeps the ImageNet trunk and draws the trained parts at random
    (speed measurements), never the AlexNet network; a weights file must have been trained on the pretrained
    backbone (its ``model_config`` names it), else a ValueError says so."""

    lite_backbone = "efficientnet-lite0"

    @classmethod
    def from_weights(cls, weights: Weights | None, device=None, **hyperparameters):
        if weights is None:
            from siamtrack.models import build_model

            return cls(build_model(cls.model_name, backbone=cls.lite_backbone), device=device, **hyperparameters)
        if weights.model_config.get("backbone", "alexnet") == "alexnet":
            raise ValueError(
                f"{weights.source}: {cls.name} needs weights trained on the pretrained backbone "
                f"(model_config backbone: {cls.lite_backbone}), these are for the AlexNet "
                f"{cls.model_name} network"
            )
        return super().from_weights(weights, device=device, **hyperparameters)
