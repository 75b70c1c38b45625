"""Named tracker-parameter presets: one YAML schema, read by ``siamtrack track`` / ``eval`` (``--preset``), the
benchmark scripts and training (``tracker.preset`` of a training config, recorded in ``model.pth``).

A preset file holds::

    tracker: dslt              # registered tracker name (siamtrack.trackers.TRACKERS): what the preset is for
    name: DSLT-l2              # optional: the results folder ``eval`` writes to (default: the file's stem)
    description: "L2 (Fig. 15)"  # optional: a label for tables and listings
    params:                    # keyword overrides of the tracker's Params dataclass; empty = the paper's defaults
      loss: l2

and nothing else: an unknown top-level key, or a ``params`` key that is not a field of the tracker's ``Params``
(or whose value has the wrong type), raises :class:`PresetError` naming the file, the line and the key.

The package ships presets under ``siamtrack/configs/presets/`` (package data), named like the training configs:
``bundled/presets/<name>`` (e.g. ``bundled/presets/dslt``, ``bundled/presets/tadt-ablation-conv41-rand``; see
:func:`siamtrack.training.config.resolve_config`); anything else is a path. The parameters a tracker is built with are
resolved in one order everywhere (:func:`resolve_params`): the preset's ``params``, then each override
(``--param KEY=VALUE``) over them. ``eval`` records the result in its ``run.json`` (``preset`` and ``params``),
training in ``model.pth`` (``tracker_name`` and ``tracker_params``), so that :func:`tracker_from_run` rebuilds
the tracker of a results folder or a training run folder exactly.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

PRESET_KEYS = ("tracker", "name", "description", "params")


class PresetError(ValueError):
    """A preset file is invalid; the message names the file, line and key."""


@dataclass(frozen=True)
class Preset:
    """A tracker-parameter preset: ``tracker`` (registered name), ``params`` (overrides of its ``Params``),
    ``name`` (results folder), ``description`` (a label), ``source`` (what it was read from)."""

    tracker: str
    params: dict = field(default_factory=dict)
    name: str = ""
    description: str = ""
    source: str = "<memory>"


def _tracker_params_class(tracker: str):
    """The ``Params`` dataclass of registered tracker ``tracker`` (``None`` when it declares none: its own
    constructor checks the names then)."""
    from siamtrack.trackers import tracker_class

    params = getattr(tracker_class(tracker), "Params", None)
    return params if dataclasses.is_dataclass(params) else None


def check_params(tracker: str, params: dict, where) -> None:
    """A :class:`PresetError` naming ``where(key)`` (``file:line``) for a key of ``params`` that is not a field of
    the ``Params`` of ``tracker``, or a value of the wrong type for its field."""
    from siamtrack.trackers.base import check_field_type

    params_class = _tracker_params_class(tracker)
    if params_class is None:
        return
    fields = {f.name: f for f in dataclasses.fields(params_class)}
    for key, value in params.items():
        if key not in fields:
            raise PresetError(
                f"{where(key)}: unknown parameter '{key}' for tracker {tracker!r} "
                f"({params_class.__name__} fields: {', '.join(sorted(fields))})"
            )
        try:
            check_field_type(fields[key], value, params_class.__name__)
        except TypeError as error:
            raise PresetError(f"{where(key)}: {error}") from None


def load_preset(path: str | os.PathLike) -> Preset:
    """Read a preset: a file, or ``bundled/presets/<name>`` for one shipped with the package."""
    from siamtrack.training.config import ConfigError, _read_yaml, resolve_config

    try:
        file = resolve_config(path)
    except ConfigError:
        raise PresetError(
            f"{os.fspath(path)}: no such bundled preset (bundled/presets/<name> names "
            f"siamtrack/configs/presets/<name>.yaml); the bundled presets are: "
            f"{', '.join(bundled_presets())}"
        ) from None
    try:
        data, lines = _read_yaml(file)
    except ConfigError as error:
        raise PresetError(str(error)) from None

    def where(*keys) -> str:
        line = lines.get(tuple(keys))
        return f"{file}:{line}" if line else str(file)

    for key in data:
        if key not in PRESET_KEYS:
            raise PresetError(f"{where(key)}: unknown key '{key}' in a preset (its keys: {', '.join(PRESET_KEYS)})")
    tracker = data.get("tracker")
    if not isinstance(tracker, str) or not tracker:
        raise PresetError(
            f"{where('tracker')}: a preset names its tracker ('tracker: <registered name>'), got {tracker!r}"
        )
    from siamtrack.trackers import TRACKERS

    if tracker not in TRACKERS:
        raise PresetError(
            f"{where('tracker')}: unknown tracker {tracker!r}; known trackers: {', '.join(sorted(TRACKERS))}"
        )
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise PresetError(f"{where('params')}: 'params' must be a mapping of parameter: value, got {params!r}")
    check_params(tracker, params, lambda key: where("params", key))
    for key in ("name", "description"):
        if not isinstance(data.get(key, ""), str):
            raise PresetError(f"{where(key)}: '{key}' must be a string, got {data[key]!r}")
    return Preset(tracker, dict(params), data.get("name") or file.stem, data.get("description", ""), str(path))


def bundled_presets() -> list[str]:
    """The names of the presets shipped in the package, ``bundled/presets/<name>``, sorted."""
    from siamtrack.training.config import bundled_configs

    return [name for name in bundled_configs() if name.startswith("bundled/presets/")]


def resolve_params(preset: Preset | None, overrides: dict) -> dict:
    """The parameters a tracker is built with: the preset's ``params``, then ``overrides`` over them."""
    return {**(preset.params if preset is not None else {}), **overrides}


def plain(params: dict) -> dict:
    """``params`` as JSON would give them back (tuples as lists, keys sorted; what ``run.json`` holds)."""
    return json.loads(json.dumps(params, sort_keys=True, default=repr))


def tracker_from_run(folder: str | os.PathLike, **overrides):
    """The tracker that produced a run folder, rebuilt exactly:

    - a results folder of ``eval`` (``<results>/<name>``, holding ``run.json``): its tracker, its resolved
      parameters and the weights it read, checked against the recorded SHA-256 (a ValueError if they changed; a
      weights path is read as ``eval`` was given it, so a relative one from the folder ``eval`` ran in);
    - a training run folder (holding ``model.pth``): the tracker recorded in ``model.pth`` (``tracker_name``; by
      default the tracker registered under the model's name) with the weights and their recorded parameters.

    ``overrides`` (hyper-parameters) go over the recorded parameters."""
    from siamtrack.trackers import build_tracker

    folder = Path(folder)
    record = folder / "run.json"
    if record.is_file():
        from siamtrack.evaluation.runner import file_sha256

        try:
            run = json.loads(record.read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"{record}: unreadable ({error})") from None
        from siamtrack.trackers import default_weights

        weights = run.get("weights")
        read = default_weights(run["tracker"]) if weights is None else None if weights == "random" else weights
        if read is not None and not Path(read).is_file():
            raise FileNotFoundError(f"{record}: its weights {read} do not exist (any more)")
        if run.get("weights_sha256") is not None and (read is None or file_sha256(read) != run["weights_sha256"]):
            raise ValueError(f"{record}: the weights {read} are not those of the run (their SHA-256 differs)")
        return build_tracker(run["tracker"], weights=weights, **{**run.get("params", {}), **overrides})
    model = folder / "model.pth"
    if model.is_file():
        from siamtrack.models import read_weights
        from siamtrack.trackers import TRACKERS

        weights = read_weights(model)
        name = weights.tracker_name or weights.model_name
        if name not in TRACKERS:
            raise ValueError(
                f"{model}: records no tracker (tracker_name) and its model {weights.model_name!r} is "
                "not a tracker name: pass the tracker to build_tracker(name, weights=...)"
            )
        return build_tracker(name, weights=weights, **overrides)
    raise FileNotFoundError(f"{folder}: neither a results folder (run.json) nor a training run folder (model.pth)")


__all__ = [
    "PRESET_KEYS",
    "Preset",
    "PresetError",
    "bundled_presets",
    "check_params",
    "load_preset",
    "plain",
    "resolve_params",
    "tracker_from_run",
]
