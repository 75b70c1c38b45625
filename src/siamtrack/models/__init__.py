"""siamtrack.models: plain ``nn.Module``s built from a config, ``build_model(name, **config)``.

Weights files (``.pth``, read with ``torch.load(..., weights_only=True)``) are either a bare state dict or
a dict with the state dict under ``"state_dict"`` (or ``"model"``) plus, optionally, ``"model_name"`` and
``"model_config"`` (the keyword arguments of :func:`build_model`, e.g. ``{"width": 0.5}``), so a network
trained at a reduced width is rebuilt at that width, and ``"tracker_name"`` / ``"tracker_params"`` (the tracker
the model was trained for and its resolved parameters, :mod:`siamtrack.presets`; what a training run records),
which :func:`siamtrack.trackers.build_tracker` applies under any explicit hyper-parameters. :func:`read_weights`
reads both forms.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from siamtrack.importing import import_object

# name: ("module:callable", fixed keyword arguments). Imports are lazy so a broken optional model
# cannot break the others.
MODELS: dict[str, tuple[str, dict]] = {
    "siamfc": ("siamtrack.models.siamese:SiamFCNet", {}),
    "cfnet-conv1": ("siamtrack.models.siamese:CFNetNet", {"variant": "conv1"}),
    "cfnet-conv2": ("siamtrack.models.siamese:CFNetNet", {"variant": "conv2"}),
    "cfnet-conv5": ("siamtrack.models.siamese:CFNetNet", {"variant": "conv5"}),
    "dcfnet": ("siamtrack.models.dcfnet:DCFNet", {}),
    "edcf": ("siamtrack.models.edcf:EDCFNet", {}),
    "edsiam": ("siamtrack.models.edcf:EDCFNet", {"low": None}),
    "cacfnet": ("siamtrack.models.edcf:EDCFNet", {"high": False, "decoder": False}),
    "cacf": ("siamtrack.models.edcf:EDCFNet", {"low": "grayscale", "high": False, "decoder": False}),
    "rasnet": ("siamtrack.models.rasnet:RASNetNet", {}),
    "adacfnet": ("siamtrack.models.adacfnet:AdaCFNetNet", {}),
    "siamrpn": ("siamtrack.models.siamrpn:SiamRPNNet", {}),
}


def build_model(name: str, **config) -> nn.Module:
    """A freshly (randomly) initialised model ``name`` built with ``config``, e.g.
    ``build_model("siamfc", width=0.5)`` or ``build_model("cfnet-conv2", lam=10.0)``."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    path, fixed = MODELS[name]
    clash = set(fixed) & set(config)
    if clash:
        raise TypeError(f"model {name!r} fixes {sorted(clash)}; choose the matching registry name instead")
    return import_object(path)(**fixed, **config)


@dataclass
class Weights:
    """A state dict with the model it belongs to (``model_name`` may be None for a bare state dict)."""

    state_dict: dict[str, torch.Tensor]
    model_name: str | None = None
    model_config: dict = field(default_factory=dict)
    source: str = "<memory>"
    tracker_name: str | None = None
    tracker_params: dict = field(default_factory=dict)


def read_weights(source: str | os.PathLike | Mapping) -> Weights:
    """Read a weights file (or take an in-memory dict) in either of the forms described in the module doc."""
    name = "<memory>"
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        if not os.path.isfile(name):
            raise FileNotFoundError(f"{name}: weights file does not exist")
        size = os.path.getsize(name)
        if size == 0:
            raise ValueError(f"{name}: weights file is empty (0 bytes)")
        try:
            source = torch.load(name, map_location="cpu", weights_only=True)
        except Exception as error:  # unreadable, or a pickle that weights_only refuses
            raise ValueError(_unreadable_weights_message(name, size, error)) from error
    if not isinstance(source, Mapping):
        raise ValueError(f"{name}: expected a state dict or a dict with 'state_dict', got {type(source).__name__}")
    for key in ("state_dict", "model"):
        if isinstance(source.get(key), Mapping):
            config = source.get("model_config") or {}
            params = source.get("tracker_params") or {}
            for entry, value in (("model_config", config), ("tracker_params", params)):
                if not isinstance(value, Mapping):
                    raise ValueError(f"{name}: '{entry}' must be a dict, got {type(value).__name__}")
            return Weights(
                dict(source[key]),
                source.get("model_name"),
                dict(config),
                name,
                source.get("tracker_name"),
                dict(params),
            )
    bad = [key for key, value in source.items() if not isinstance(value, torch.Tensor)]
    if bad:
        raise ValueError(f"{name}: not a state dict (entries {bad[:3]} are not tensors) and no 'state_dict' key")
    return Weights(dict(source), None, {}, name)


def _unreadable_weights_message(name: str, size: int, error: Exception) -> str:
    """One line saying why ``torch.load`` could not read the weights file ``name`` of ``size`` bytes: a file cut
    short (a zip archive without its central directory, or a legacy pickle that ends early) is called truncated,
    anything else unreadable; the loader's own message follows, with its exception type (some are empty)."""
    import zipfile

    detail = " ".join(str(error).split()) or "no message"
    detail = f"{type(error).__name__}: {detail[:200]}"
    with open(name, "rb") as handle:
        head = handle.read(4)
    zip_cut = head == b"PK\x03\x04" and not zipfile.is_zipfile(name)
    pickle_cut = head[:1] == b"\x80" and (isinstance(error, (EOFError, IndexError)) or "EOF" in str(error))
    if zip_cut or pickle_cut:
        return f"{name}: weights file is truncated ({size} bytes, cut short: copy or download it again) [{detail}]"
    return f"{name}: not a readable weights file ({size} bytes) [{detail}]"


def check_model_name(weights: Weights, name: str, needed_by: str) -> None:
    """A ValueError naming the file when ``weights`` say they belong to a model other than ``name`` (the model
    that ``needed_by``, a tracker, needs); a bare state dict (no model name) passes."""
    if weights.model_name not in (None, name):
        raise ValueError(
            f"{weights.source}: weights are for model {weights.model_name!r}, not {name!r}: "
            f"tracker {needed_by!r} needs model {name!r}"
        )


def model_from_weights(name: str, weights: Weights | None, needed_by: str) -> nn.Module:
    """Model ``name`` built with the ``model_config`` of ``weights`` and loaded with their state dict (``None``:
    randomly initialised). A ValueError names the file when the weights are for another model
    (:func:`check_model_name`) or do not fit the model (missing, unexpected or mis-shaped entries)."""
    if weights is None:
        return build_model(name)
    check_model_name(weights, name, needed_by)
    model = build_model(name, **weights.model_config)
    try:
        result = model.load_state_dict(weights.state_dict, strict=False)
    except RuntimeError as error:  # shape mismatches
        raise ValueError(
            f"{weights.source}: state dict does not fit model {name!r} {weights.model_config or ''}: "
            f"{' '.join(str(error).split()[:40])} ..."
        ) from error
    from_package = set(pretrained_keys(model))  # loaded from the pretrained backbone's package by build_model
    missing = [key for key in result.missing_keys if key not in from_package]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"{weights.source}: state dict does not fit model {name!r} {weights.model_config or ''}: "
            f"missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}"
        )
    return model


def pretrained_keys(model: nn.Module) -> list[str]:
    """State-dict keys of ``model`` whose values come from an ImageNet weight file installed with a package (a
    pretrained backbone's frozen part) rather than from training; empty for models trained from scratch."""
    method = getattr(model, "pretrained_keys", None)
    return list(method()) if callable(method) else []


def trained_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model.state_dict()`` without :func:`pretrained_keys`: what a trained weights file must hold."""
    skip = set(pretrained_keys(model))
    return {key: value for key, value in model.state_dict().items() if key not in skip}


__all__ = [
    "MODELS",
    "Weights",
    "build_model",
    "check_model_name",
    "import_object",
    "model_from_weights",
    "pretrained_keys",
    "read_weights",
    "trained_state_dict",
]
