"""siamtrack.trackers: the tracker registry, ``build_tracker(name, weights=..., **hyperparameters)``.

A registered tracker is a :class:`~siamtrack.trackers.base.Tracker` subclass named here by import path
(imported only when built) that provides::

    @classmethod
    def from_weights(cls, weights: siamtrack.models.Weights | None, **hyperparameters) -> Tracker

``weights`` is what :func:`siamtrack.models.read_weights` read (``None``: a randomly initialised network).
Adding a tracker = one line in :data:`TRACKERS`.

``weights`` of :func:`build_tracker` may be a path to a weights file, an in-memory state dict (or
:class:`~siamtrack.models.Weights`), the string ``"random"`` for an untrained network (tests, speed
measurements), or ``None`` for the bundled default ``siamtrack/weights/bundled/<name>.pth`` (a tracker class
may name other default weights with a ``bundled_weights_name`` attribute, e.g. DSLT's ``"siamfc"`` backbone).
Parameters recorded in a weights file (``tracker_params``, what a training run saves with its preset) are applied
when the file is built into the tracker it records (:func:`recorded_for`); explicit hyper-parameters go over them.
A tracker without learned weights (OpenCV's CSRT/KCF, the hand-crafted CACF) sets the class attribute
``needs_weights = False``: then ``None`` means no weights, like ``"random"``.

Every registered name either builds with ``build_tracker(name)`` alone or raises :class:`WeightsRequired`, whose
message says why it has no default weights (the ``detail`` of its :mod:`~siamtrack.trackers.catalogue` entry,
the ``needs --weights (...)`` column of ``siamtrack trackers``) and what to pass. The built tracker's ``name`` is
the registered name (``siamfc_sl`` is a SiamFC tracker whose ``name`` is ``"siamfc_sl"``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from siamtrack.models import Weights, import_object, read_weights
from siamtrack.trackers.base import FrameOutput, Tracker

TRACKERS: dict[str, str] = {
    "siamfc": "siamtrack.trackers.siamfc:SiamFCTracker",
    "siamfc-lite": "siamtrack.trackers.siamfc:SiamFCLiteTracker",
    "cfnet-conv1": "siamtrack.trackers.cfnet:CFNetConv1Tracker",
    "cfnet-conv2": "siamtrack.trackers.cfnet:CFNetTracker",
    "cfnet-conv5": "siamtrack.trackers.cfnet:CFNetConv5Tracker",
    "cfnet-lite": "siamtrack.trackers.cfnet:CFNetLiteTracker",  # CFNet-conv2 on the ImageNet EfficientNet-Lite0
    "dcfnet": "siamtrack.trackers.dcfnet:DCFNetTracker",
    "adacfnet": "siamtrack.trackers.adacfnet:AdaCFNetTracker",
    "adacfnet-lite": "siamtrack.trackers.adacfnet:AdaCFNetLiteTracker",
    "rasnet": "siamtrack.trackers.rasnet:RASNetTracker",
    "rasnet-lite": "siamtrack.trackers.rasnet:RASNetLiteTracker",
    "edcf": "siamtrack.trackers.edcf:EDCFTracker",
    "edcf-lite": "siamtrack.trackers.edcf:EDCFLiteTracker",  # the bundled siamfc-lite head + CF on the ImageNet trunk
    "edsiam": "siamtrack.trackers.edcf:EDSiamTracker",
    "cacfnet": "siamtrack.trackers.edcf:CACFNetTracker",
    "cacfnet-plus": "siamtrack.trackers.edcf:CACFNetPlusTracker",
    "cacf": "siamtrack.trackers.edcf:CACFTracker",
    "dslt": "siamtrack.trackers.dslt:DSLTTracker",
    "dslt-lite": "siamtrack.trackers.dslt:DSLTLiteTracker",  # ImageNet EfficientNet-Lite0, no weights file
    "siamfc_sl": "siamtrack.trackers.siamfc:SiamFCTracker",
    "siamfc_fl": "siamtrack.trackers.siamfc:SiamFCTracker",
    "siamrpn": "siamtrack.trackers.siamrpn:SiamRPNTracker",
    "siamrpn_sl": "siamtrack.trackers.siamrpn:SiamRPNTracker",
    "siamrpn_fl": "siamtrack.trackers.siamrpn:SiamRPNTracker",
    "siamrpn_sl-lite": "siamtrack.trackers.siamrpn:SiamRPNLiteTracker",  # SiamRPN++'s head on the ImageNet trunk
    "tadt": "siamtrack.trackers.tadt:TADTTracker",
    "tadt-lite": "siamtrack.trackers.tadt:TADTLiteTracker",  # ImageNet EfficientNet-Lite0, no weights file
    # reference baselines from opencv-contrib (no weights; OpenCV's contrib build is a dependency)
    "opencv-csrt": "siamtrack.trackers.opencv:OpenCVCSRTTracker",
    "opencv-kcf": "siamtrack.trackers.opencv:OpenCVKCFTracker",
}

# the tracker `siamtrack track` and `siamtrack demo` use when none is named: the most accurate tracker on the
# dev-eval split that also runs at >= 25 fps on 2 CPU cores. tadt-lite (TADT on the ImageNet EfficientNet-Lite0,
# no offline training, no weights file): AUC 0.559 at 49 fps, against CSRT 0.485 / 50 fps and the DCFNet authors'
# weights 0.551 / 49 fps (one siamtrack bench run); siamfc-lite and rasnet-lite score higher (0.574 over 3 seeds,
# 0.562 on one) but run at 12 fps (README, "Trackers"; benchmarks/RESULTS.md)
DEFAULT_TRACKER = "tadt-lite"

BUNDLED_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "bundled"
RANDOM_WEIGHTS = "random"


class WeightsRequired(FileNotFoundError):
    """``build_tracker(name)`` without weights, for a tracker that has no default weights in this install."""


def weights_required_message(name: str, reason: str) -> str:
    """The one-line error of :class:`WeightsRequired` (also what ``siamtrack trackers`` says, via ``reason``)."""
    return (
        f"no weights for tracker {name!r}: {reason}; pass --weights PATH (Python: weights=PATH) with a trained "
        f"checkpoint, or --weights {RANDOM_WEIGHTS} (weights={RANDOM_WEIGHTS!r}) for an untrained network"
    )


def available_trackers() -> list[str]:
    """Registered tracker names, sorted."""
    return sorted(TRACKERS)


def tracker_class(name: str) -> type[Tracker]:
    """The class registered as ``name`` (imported on demand)."""
    if name not in TRACKERS:
        raise KeyError(f"unknown tracker {name!r}; known trackers: {', '.join(available_trackers())}")
    try:
        cls = import_object(TRACKERS[name])
    except ImportError as error:
        raise ImportError(
            f"tracker {name!r} is registered as {TRACKERS[name]} but cannot be imported: {error}"
        ) from error
    if not hasattr(cls, "from_weights"):
        raise TypeError(f"tracker {name!r} ({TRACKERS[name]}) has no from_weights(weights, **hyperparameters)")
    return cls


def bundled_weights(name: str) -> Path:
    """Where the bundled default weights of tracker ``name`` live (the file may not exist)."""
    return BUNDLED_WEIGHTS / f"{name}.pth"


def default_weights(name: str) -> Path | None:
    """The weights file tracker ``name`` reads when none is given: its bundled default (which may not exist), or
    ``None`` for a tracker that needs no weights (``needs_weights = False``)."""
    cls = tracker_class(name)
    if not getattr(cls, "needs_weights", True):
        return None
    return bundled_weights(getattr(cls, "bundled_weights_name", None) or name)


def build_tracker(
    name: str, weights: str | os.PathLike | Mapping | Weights | None = None, **hyperparameters
) -> Tracker:
    """Tracker ``name`` with ``weights`` (see the module doc) and hyper-parameter overrides."""
    cls = tracker_class(name)
    if weights is None:
        default = default_weights(name)
        if default is not None and not default.is_file():
            from siamtrack.trackers.catalogue import NEEDS, entry

            item = entry(name)
            reason = f"the bundled default {default} does not exist"
            if item.weights == NEEDS:  # none is shipped, and why (the reason `siamtrack trackers` lists)
                reason = f"{item.detail} ({default} does not exist)"
            raise WeightsRequired(weights_required_message(name, reason))
        weights = RANDOM_WEIGHTS if default is None else default
    if isinstance(weights, str) and weights == RANDOM_WEIGHTS:
        resolved = None
    elif isinstance(weights, Weights):
        resolved = weights
    else:
        resolved = read_weights(weights)
    if resolved is not None and resolved.tracker_params and recorded_for(resolved, name):
        hyperparameters = {**resolved.tracker_params, **hyperparameters}  # explicit ones win
    tracker = cls.from_weights(resolved, **hyperparameters)
    if getattr(tracker, "name", None) != name:  # one class under several names (siamfc_sl is a SiamFC tracker)
        tracker.name = name
    return tracker


def recorded_for(weights: Weights, name: str) -> bool:
    """Whether the tracker parameters recorded in ``weights`` (by training, :mod:`siamtrack.presets`) are for
    tracker ``name``: the recorded tracker is ``name`` or another name of the same class (``siamfc_sl`` and
    ``siamfc``); never when another tracker reads the file (DSLT reads SiamFC's weights as its backbone)."""
    recorded = weights.tracker_name or weights.model_name
    if recorded == name:
        return True
    return recorded in TRACKERS and TRACKERS[recorded] == TRACKERS[name]


def parse_hyperparameters(items: list[str]) -> dict:
    """Command-line overrides ``["window_influence=0.2", "device='cpu'"]`` -> keyword arguments, in the one
    ``KEY=VALUE`` grammar of ``--param``, ``--option`` and ``--set`` (:mod:`siamtrack.keyvalue`: Python literals,
    true/false/null, YAML flow collections, else strings); a ValueError for an item that is not KEY=VALUE."""
    from siamtrack.keyvalue import parse_items

    return parse_items(items, "--param")


__all__ = [
    "DEFAULT_TRACKER",
    "default_weights",
    "FrameOutput",
    "TRACKERS",
    "RANDOM_WEIGHTS",
    "Tracker",
    "WeightsRequired",
    "available_trackers",
    "build_tracker",
    "bundled_weights",
    "parse_hyperparameters",
    "tracker_class",
]
