"""EDCF tracking (Wang et al. 2018, Sec. 3.3) and the trackers of its ablation (Table 1).

Per frame, on SiamFC's search (:mod:`siamtrack.trackers.siamese`: 255x255 crops around the last position at
``num_scales`` scales, the context square mapped onto 127 pixels):

* **fused response** (Eq. 16): the conv5 correlation map ``f`` (17x17, stride 8) upsampled bilinearly to the
  CF map's resolution (stride 2, 65x65, corners aligned: the same ±64 crop pixels), plus the CF response ``g``
  (Eq. 9) over the same displacements, cut from its circular 125x125 map; the best scale and position of
  ``f + g`` give the target. (The paper says "argmax over (u, v, s)"; on top of that we keep SiamFC's
  post-processing: bicubic upsampling, a scale penalty and a Hann-window blend, see :class:`EDCFParams`.)
* **long/short-term update** (Eq. 17-18): the conv5 template is fixed from frame 1; the CF is re-learned on
  the crop at the new position (low-level features only, context patches from that crop) and blended in,
  ``ŵ_t = α_t ŵ + (1 - α_t) ŵ_{t-1}`` (Eq. 17 in the Fourier domain, the same by linearity), with
  ``α_t = α · f*(x_t) / f*(x_1)`` (Eq. 18), ``α = 0.017``. ``f*(x_1)`` is the peak of the first frame's
  conv5 map (the exemplar against its own 255 crop), ``f*(x_t)`` the peak over the current frame's scales.
  The ratio is clamped to ``[0, 1]`` (our choice): the raw scores are logits, so a negative ratio would
  extrapolate the filter away from the new sample and a ratio above 1 would let one frame count more than the
  base rate; the paper means the rate to fall when the appearance drifts from frame 1.

Table 1's tracking variants (all on :class:`EDCFTracker`, differing in network and ``response``):
``edcf`` (fused, dynamic rate), ``edsiam`` (conv5 map only, SiamFC's search, no update), ``cacfnet`` and
``cacfnet-plus`` (CF map only, fixed rate α; CACFNet's network has only the conv2 branch, CACFNet+'s is the
full EDCF network trained with all three losses), ``cacf`` (CF map only on grayscale pixels, no training).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from siamtrack.models.edcf import EDCFNet, context_patches
from siamtrack.trackers.siamese import SiameseParams, SiameseTracker

RESPONSES = ("fused", "low", "high")


@dataclass(frozen=True)
class EDCFParams(SiameseParams):
    """EDCF's tracking hyper-parameters. From the paper (Sec. 4.1): 3 scales of step 1.02, the CF's base
    learning rate α = 0.017 (``template_lr``). Not in the paper (ours): ``scale_penalty`` 0.9925 (DCFNet's, for
    a similar scale step), ``scale_lr`` 0.59 and ``window_influence`` 0.176 (SiamFC's), ``response_up`` 2
    (the stride-2 map refined to 1 crop pixel). ``response``: ``fused`` (Eq. 16), ``low`` (CF only) or
    ``high`` (conv5 only); ``dynamic_rate``: Eq. 18 (False: the fixed rate α)."""

    exemplar_size: int = 255
    instance_size: int = 255
    scale_step: float = 1.02
    scale_penalty: float = 0.9925
    response_up: int = 2
    template_lr: float = 0.017
    response: str = "fused"
    dynamic_rate: bool = True

    def __post_init__(self):
        super().__post_init__()
        if self.response not in RESPONSES:
            raise ValueError(f"{type(self).__name__}.response must be one of {RESPONSES}, got {self.response!r}")
        if self.response == "high" and self.template_lr > 0:
            raise ValueError(
                f"{type(self).__name__}: response 'high' has no correlation filter to update; "
                f"set template_lr=0 (got {self.template_lr})"
            )


@dataclass(frozen=True)
class CACFParams(EDCFParams):
    """Table 1's CF-only trackers (CACF, CACFNet, CACFNet+): the CF map, updated at the fixed rate α."""

    response: str = "low"
    dynamic_rate: bool = False


@dataclass(frozen=True)
class EDSiamParams(EDCFParams):
    """EDSiam: the conv5 map alone with SiamFC-3s's search (scale step 1.0375, penalty 0.9745, bicubic x16),
    fixed template, no CF."""

    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    response_up: int = 16
    template_lr: float = 0.0
    response: str = "high"
    dynamic_rate: bool = False


@dataclass
class EDCFTemplate:
    """What a frame's search is matched against: the fixed conv5 template (``None`` without the high branch
    or when unused), the CF spectrum ``ŵ`` (``None`` when unused) and ``f*(x_1)`` (Eq. 18)."""

    high: torch.Tensor | None
    filter_fft: torch.Tensor | None
    first_peak: float


class EDCFTracker(SiameseTracker):
    """EDCF (Eq. 16-18) around an :class:`~siamtrack.models.edcf.EDCFNet`; see the module doc."""

    name = "edcf"
    model_name = "edcf"
    Params = EDCFParams

    def __init__(self, model: EDCFNet, params: EDCFParams | None = None, device=None, **hyperparameters):
        super().__init__(model, params, device, **hyperparameters)
        self.model.decoder = None  # training only (Sec. 4.1); the inference copy drops it
        p, net = self.params, self.model
        needs = {"fused": (net.high and net.low), "low": bool(net.low), "high": net.high}[p.response]
        if not needs:
            raise ValueError(
                f"{self.name}: response {p.response!r} needs branches the network lacks ({net.extra_repr()})"
            )
        if p.dynamic_rate and not net.high:
            raise ValueError(f"{self.name}: dynamic_rate (Eq. 18) needs the conv5 branch; the network has none")
        self.use_high = p.response in ("fused", "high") or p.dynamic_rate
        self.use_low = p.response in ("fused", "low")
        # the CF map is cut to the displacements the conv5 map covers: ±(instance - context)/2 crop pixels on
        # the AlexNet path (17x17 at stride 8 = ±64 px), ±104 px on the pretrained one (27x27 at stride 8)
        if self.use_high:
            score_size = net.high_score_size(p.instance_size)
            self.search_cells, remainder = divmod((score_size - 1) * net.high_stride, 2 * net.low_stride)
            if remainder:
                raise ValueError(
                    f"{self.name}: the conv5 map ({score_size} cells at stride {net.high_stride}) does "
                    f"not span a whole number of CF cells (stride {net.low_stride})"
                )
        else:
            self.search_cells = (p.instance_size - net.context_size) // (2 * net.low_stride)
        self.total_stride = net.high_stride if p.response == "high" else net.low_stride
        self._frame_peak = float("nan")

    # ---- geometry --------------------------------------------------------------------------------------

    def _target_cells(self) -> torch.Tensor:
        """The target's ``(w, h)`` in low-level cells of a crop at the current scale."""
        crop_pixels = self.target_size * self.params.context_size / self.context_region
        return torch.tensor(crop_pixels / self.model.low_stride, dtype=torch.float32)[None]

    def _solve(self, low: torch.Tensor) -> torch.Tensor:
        """Eq. 7 on a crop's fine-grained features (target patch + its context patches)."""
        cf = self.model.correlation_filter
        return cf.solve(low, context_patches(low, self._target_cells()))

    # ---- model-specific steps ----------------------------------------------------------------------------

    def build_template(self, exemplar: torch.Tensor) -> EDCFTemplate:
        low, high = self.model.encode(exemplar, need_high=self.use_high)
        template_high, first_peak = None, float("nan")
        if self.use_high:
            template_high = self.model.high_template(high)
            first_peak = float(self.model.match(template_high, high).max())
        return EDCFTemplate(template_high, self._solve(low) if self.use_low else None, first_peak)

    def update_rate(self) -> float:
        """``α_t`` of Eq. 18 (clamped ratio, see the module doc), or α without ``dynamic_rate``."""
        p = self.params
        if not p.dynamic_rate:
            return p.template_lr
        first, current = self.template.first_peak, self._frame_peak
        if not first > 0:  # a degenerate first frame (all-zero features): keep the base rate
            return p.template_lr
        return p.template_lr * min(max(current / first, 0.0), 1.0)

    def update_template(self, template: EDCFTemplate, exemplar: torch.Tensor) -> EDCFTemplate:
        """Eq. 17: blend the CF learned on the crop at the new position into the running one; conv5 fixed."""
        low, _ = self.model.encode(exemplar, need_high=False)
        rate = self.update_rate()
        blended = (1.0 - rate) * template.filter_fft + rate * self._solve(low)
        return dataclasses.replace(template, filter_fft=blended)

    def score(self, template: EDCFTemplate, instances: torch.Tensor) -> torch.Tensor:
        """The response of Eq. 16 (or one of its two terms) ``(N, 1, h, w)`` for the search crops."""
        low, high = self.model.encode(instances, need_high=self.use_high)
        high_map = None
        if self.use_high:
            high_map = self.model.match(template.high, high)
            self._frame_peak = float(high_map.max())
            if self.params.response == "high":
                return high_map
        side = 2 * self.search_cells + 1
        low_map = self.model.correlation_filter.respond(template.filter_fft, low)
        low_map = torch.roll(low_map, (self.search_cells, self.search_cells), dims=(-2, -1))[..., :side, :side]
        if self.params.response == "low":
            return low_map
        return low_map + F.interpolate(high_map, size=(side, side), mode="bilinear", align_corners=True)


class EDSiamTracker(EDCFTracker):
    """EDSiam (Table 1): SiamFC trained with the reconstruction constraint; tracks on the conv5 map."""

    name = "edsiam"
    model_name = "edsiam"
    Params = EDSiamParams


class CACFNetTracker(EDCFTracker):
    """CACFNet (Table 1): the learned conv2 features + context-aware CF alone."""

    name = "cacfnet"
    model_name = "cacfnet"
    Params = CACFParams


class CACFNetPlusTracker(EDCFTracker):
    """CACFNet+ (Table 1): the full EDCF network (multi-task training), tracking on the CF map alone."""

    name = "cacfnet-plus"
    model_name = "edcf"
    Params = CACFParams


class CACFTracker(EDCFTracker):
    """CACF (Mueller et al. 2017) as Table 1's hand-crafted baseline: the same context-aware CF on grayscale
    pixels (no HOG, no learned weights: ``build_tracker("cacf")`` needs no weights file)."""

    name = "cacf"
    model_name = "cacf"
    needs_weights = False  # the model has no parameters
    Params = CACFParams


class EDCFLiteTracker(EDCFTracker):
    """EDCF on the ImageNet EfficientNet-Lite0 trunk (``edcf-lite``, :class:`~siamtrack.models.edcf.EDCFLiteNet`):
    the SiamFC head of a ``siamfc-lite`` weights file (the bundled one by default) as the high-level branch, the
    context-aware CF on the trunk's stage 2 as the low-level branch, Eq. 16-18 as for ``edcf``, 257-px crops."""

    name = "edcf-lite"
    model_name = "siamfc"
    bundled_weights_name = "siamfc-lite"

    def __init__(self, model, params: EDCFParams | None = None, device=None, **hyperparameters):
        from siamtrack.models.edcf import EDCFLiteNet

        super().__init__(
            model if isinstance(model, EDCFLiteNet) else EDCFLiteNet(model), params, device, **hyperparameters
        )

    @classmethod
    def from_weights(cls, weights, device=None, **hyperparameters) -> EDCFLiteTracker:
        """The tracker on a ``siamfc-lite`` file's SiamFC network (``None``: its head drawn at random)."""
        from siamtrack.models import build_model, model_from_weights

        if weights is None:
            return cls(build_model("siamfc", backbone="efficientnet-lite0"), device=device, **hyperparameters)
        if weights.model_config.get("backbone", "alexnet") == "alexnet":
            raise ValueError(
                f"{weights.source}: edcf-lite takes a siamfc-lite file (a SiamFC network trained on the "
                f"pretrained backbone), these are for the AlexNet network"
            )
        return cls(model_from_weights("siamfc", weights, cls.name), device=device, **hyperparameters)


__all__ = [
    "CACFNetPlusTracker",
    "CACFNetTracker",
    "CACFParams",
    "CACFTracker",
    "EDCFParams",
    "EDCFTemplate",
    "EDCFLiteTracker",
    "EDCFTracker",
    "EDSiamParams",
    "EDSiamTracker",
]
