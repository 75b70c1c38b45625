"""Training configuration: YAML files read into frozen dataclasses.

The package ships one config per tracker variant and paper ablation row (``siamtrack/configs/``, package data);
``bundled/<name>`` names ``configs/<name>.yaml`` there (e.g. ``bundled/siamfc``,
``bundled/pretrained/siamfc-lite0-cached``, ``bundled/weights/siamfc`` for the recipe of the bundled SiamFC
weights), so ``siamtrack train --config bundled/siamfc`` works from an installed wheel, without a checkout;
anything else is a path (:func:`resolve_config`).

A config file may start from another with ``base: other.yaml`` (a path relative to the file, or a bundled name such
as ``base: bundled/siamfc``); its keys are merged over the base's, section by section. Command-line overrides
``section.key=value`` (``--set``; the one KEY=VALUE grammar of :mod:`siamtrack.keyvalue`) are applied last. Unknown
keys and values of the wrong type raise :class:`ConfigError` naming the file, line and key. :func:`dump_config`
writes the resolved config (what a run saves as ``config.yaml``).

Where a section is a runtime settings class (augmentation: :class:`~siamtrack.training.augment.BranchAugmentation`;
the crop fields of curation: :class:`~siamtrack.training.curation.CropSettings`), the config holds that class
itself, so its fields are defined once.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from siamtrack.training.augment import BranchAugmentation
from siamtrack.training.curation import CropSettings


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the file, line and key."""


@dataclass(frozen=True)
class ModelConfig:
    """``name``: a name known to ``siamtrack.models.build_model`` (or ``package.module:factory``);
    ``args``: its keyword arguments (e.g. SiamFC's ``width``)."""

    name: str = "siamfc"
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CurationConfig(CropSettings):
    """How and where the training frames are curated: the crop fields are :class:`CropSettings`' own (one
    definition; its checks apply when the config is read), plus ``cache_dir`` (one folder per dataset
    fingerprint), ``directory`` (if set, a curated folder to train from directly; no sources needed) and
    ``workers`` (curation processes)."""

    cache_dir: str = "~/.cache/siamtrack/curated"
    directory: str | None = None
    workers: int = 0

    def crop_settings(self) -> CropSettings:
        """The crop fields alone (what the curated folder's fingerprint and manifest hold)."""
        return CropSettings(**{f.name: getattr(self, f.name) for f in dataclasses.fields(CropSettings)})


@dataclass(frozen=True)
class DataConfig:
    """``sources``: training sequences, each ``{dataset: <siamtrack.data.READERS name>, root: path, ...options}``
    (e.g. ``{dataset: shared, root: ../shared, split: train}``); ``max_gap``: largest frame distance
    between the two frames of a pair (null: anywhere in the sequence); ``pairs_per_epoch``: epoch size;
    ``input_mean``: RGB value subtracted from the crops (what the model's tracker feeds it, e.g. DCFNet's)."""

    sources: list = field(default_factory=list)
    curation: CurationConfig = CurationConfig()
    exemplar_size: int = 127
    instance_size: int = 255
    max_gap: int | None = 100
    pairs_per_epoch: int = 53200
    input_mean: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self):
        if self.pairs_per_epoch < 1 or self.exemplar_size < 1 or self.instance_size < 1:
            raise ValueError("pairs_per_epoch, exemplar_size and instance_size must be >= 1")


@dataclass(frozen=True)
class AugmentConfig:
    """Each branch is a :class:`siamtrack.training.augment.BranchAugmentation` (one definition: its fields are the
    YAML keys, its checks apply when the config is read); ``grayscale``: the probability of a grayscale pair."""

    exemplar: BranchAugmentation = BranchAugmentation()
    instance: BranchAugmentation = BranchAugmentation()
    grayscale: float = 0.0


@dataclass(frozen=True)
class LabelConfig:
    """See :class:`siamtrack.training.pairs.PairSettings`."""

    kind: str = "logistic"
    total_stride: float = 8.0
    radius: float = 16.0
    sigma_factor: float = 0.1
    origin: str = "center"


# the objectives' former dotted paths (in the models) -> where they are now (siamtrack.training.objectives)
MOVED_OBJECTIVES = {
    "siamtrack.models.edcf:edcf_objective": "siamtrack.training.objectives:edcf_objective",
    "siamtrack.models.siamrpn:rpn_objective": "siamtrack.training.objectives:rpn_objective",
}


@dataclass(frozen=True)
class LossConfig:
    """``name``: ``logistic`` (``±1`` labels), ``focal_logistic`` (``±1`` labels, AdaCFNet Eq. 6), ``bce``
    (targets in 0..1), ``focal_bce`` / ``shrinkage_bce`` (targets in 0..1, DSLT Eq. 11 / Eq. 14) or ``l2``;
    ``balanced``: SiamFC's class-balanced weights (logistic labels only; DSLT Eq. 10's β up to a constant);
    ``temporal_sigma``: RASNet's pair weighting (Eq. 13); ``args``: extra keyword arguments of the loss
    function in :mod:`siamtrack.losses` (e.g. ``{a: 2.0, b: 1.0}`` for ``focal_logistic``).
    A multi-task model names its own objective instead, ``name: package.module:function``: the loop then
    calls ``function(model, batch, **args) -> loss`` (it runs the model itself, e.g. with extra batch
    entries, and builds what labels it needs; ``balanced`` and ``temporal_sigma`` are not used)."""

    name: str = "logistic"
    balanced: bool = True
    temporal_sigma: float | None = None
    args: dict = field(default_factory=dict)

    def __post_init__(self):
        # an objective's former path (configs and run folders written before the move) names the same function
        object.__setattr__(self, "name", MOVED_OBJECTIVES.get(self.name, self.name))
        known = ("logistic", "focal_logistic", "bce", "focal_bce", "shrinkage_bce", "l2")
        if self.name not in known and ":" not in self.name:
            raise ValueError(
                f"loss name must be one of {', '.join(known)} or package.module:objective, got {self.name!r}"
            )
        if self.temporal_sigma is not None and self.temporal_sigma <= 0:
            raise ValueError(f"temporal_sigma must be positive, got {self.temporal_sigma}")


@dataclass(frozen=True)
class OptimConfig:
    """``lr_start`` on the first epoch, decaying geometrically to ``lr_end`` on the last one (SiamFC's
    ``logspace(-2, -5, epochs)``)."""

    name: str = "sgd"
    lr_start: float = 1e-2
    lr_end: float = 1e-5
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 5e-4
    trunk_lr_factor: float = 1.0  # lr of fine-tuned pretrained trunk stages / the head's (pysot: 0.1)

    def __post_init__(self):
        if not 0.0 < self.trunk_lr_factor <= 1.0:
            raise ValueError(f"trunk_lr_factor must be in (0, 1], got {self.trunk_lr_factor}")
        if self.name not in ("sgd", "adam"):
            raise ValueError(f"optimizer name must be 'sgd' or 'adam', got {self.name!r}")
        if self.lr_start <= 0 or self.lr_end <= 0:
            raise ValueError(f"learning rates must be positive, got {self.lr_start} -> {self.lr_end}")


@dataclass(frozen=True)
class TrainConfig:
    """Loop settings. ``batch_size`` is the global batch (split over DDP processes); ``checkpoint_every``
    iterations (and at each epoch's end) the checkpoint is replaced; ``device``: ``auto`` (CUDA if present),
    ``cpu`` or ``cuda``; ``epoch_snapshots``: also keep the model's state dict of every epoch as
    ``epochs/model-NNN.pth`` (for validation curves, e.g. RASNet Fig. 5); ``channels_last``: run the model
    in the channels-last memory format (15 % faster for SiamFC on CPUs, slower for DCFNet)."""

    seed: int = 0
    epochs: int = 50
    batch_size: int = 8
    workers: int = 0
    checkpoint_every: int = 500
    device: str = "auto"
    progress: bool = True
    epoch_snapshots: bool = False
    channels_last: bool = False
    feature_cache: bool = False  # train on cached maps of a frozen pretrained trunk (siamtrack.training.feature_cache)
    feature_shift: int = 8  # with feature_cache: the search window's largest displacement, in cells
    feature_scale: float = 0.0  # with feature_cache: search windows resampled by 1/(1+a)..1+a per axis (0: off)
    feature_precision: str = "float32"  # with feature_cache: the trunk's precision when caching (or bfloat16)

    def __post_init__(self):
        for name in ("epochs", "batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.feature_shift < 0:
            raise ValueError(f"feature_shift must be >= 0, got {self.feature_shift}")
        if not 0.0 <= self.feature_scale <= 0.5:
            raise ValueError(f"feature_scale must be in [0, 0.5], got {self.feature_scale}")
        if self.feature_precision not in ("float32", "bfloat16"):
            raise ValueError(f"feature_precision must be 'float32' or 'bfloat16', got {self.feature_precision!r}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {self.device!r}")


@dataclass(frozen=True)
class TrackerConfig:
    """The tracker the trained model is for, recorded in ``model.pth`` (``tracker_name``, ``tracker_params``) so
    that ``build_tracker(name, weights=model.pth)`` and :func:`siamtrack.presets.tracker_from_run` rebuild it with
    these parameters. ``name``: a registered tracker (default: the preset's tracker, else the model's name when a
    tracker has it); ``preset``: a parameter preset (``bundled/presets/<name>`` or a path,
    :mod:`siamtrack.presets`); ``params``: overrides over the preset's. Changing them does not change training
    (a run resumes with other values)."""

    name: str | None = None
    preset: str | None = None
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    augment: AugmentConfig = AugmentConfig()
    labels: LabelConfig = LabelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()
    tracker: TrackerConfig = TrackerConfig()


def _read_yaml(path: Path) -> tuple[dict, dict]:
    """The mapping in ``path`` and the line (1-based) of every key path in it."""
    try:
        text = path.read_text()
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: a config file must hold a mapping, got {type(data).__name__}")
    lines = {}

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = prefix + (key_node.value,)
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)

    walk(node, ())
    return data, lines


def _merge(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _load_tree(path: Path, seen: tuple = ()) -> tuple[dict, dict]:
    """Raw mapping of ``path`` merged over its ``base`` chain, and ``key path -> "file:line"``."""
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: circular 'base' chain {[str(p) for p in seen]}")
    data, lines = _read_yaml(path)
    where = {key: f"{path}:{line}" for key, line in lines.items()}
    base = data.pop("base", None)
    if base is None:
        return data, where
    if not isinstance(base, str):
        raise ConfigError(f"{where[('base',)]}: 'base' must be a path, got {base!r}")
    try:
        base_path = resolve_config(base) if base.startswith(BUNDLED_PREFIX) else path.parent / base
    except ConfigError as error:
        raise ConfigError(f"{where[('base',)]}: {error}") from None
    if not base_path.is_file():
        raise ConfigError(f"{where[('base',)]}: base config {base_path} (named by 'base: {base}') does not exist")
    try:
        base_data, base_where = _load_tree(base_path, seen + (path,))
    except ConfigError as error:
        raise ConfigError(f"{error} (read as the base of {where[('base',)]})") from None
    return _merge(base_data, data), {**base_where, **where}


def _convert(value, kind, key: str, where: str, locations: dict):
    """``value`` as type ``kind`` (dataclass, Optional, tuple, float, ...), or :class:`ConfigError`."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not type(None)]
        if value is None and len(options) < len(typing.get_args(kind)):
            return None
        errors = []
        for option in options:
            try:
                return _convert(value, option, key, where, locations)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{key}' must be a mapping, got {value!r}")
        return _build_section(kind, value, key, where, locations)
    if origin is tuple:
        items = typing.get_args(kind)
        if not isinstance(value, (list, tuple)) or len(value) != len(items):
            raise ConfigError(f"{where}: '{key}' must be a list of {len(items)} values, got {value!r}")
        return tuple(_convert(v, t, f"{key}[{i}]", where, locations) for i, (v, t) in enumerate(zip(value, items)))
    if kind is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: '{key}' must be a number, got {value!r}")
        try:  # YAML 1.1 reads 1e-5 (no dot) as a string
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: '{key}' must be a number, got {value!r}") from None
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: '{key}' must be an integer, got {value!r}")
        return value
    if kind in (str, bool, dict, list):
        if not isinstance(value, kind):
            raise ConfigError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}")
        return value
    raise TypeError(f"unsupported config field type {kind}")  # pragma: no cover - programming error


def _build_section(cls, data: dict, prefix: str, where: str, locations: dict):
    """Instance of dataclass ``cls`` from ``data``; ``locations`` maps key paths to ``file:line``."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        key_where = locations.get(tuple(path.split(".")), where)
        if key not in names:
            raise ConfigError(f"{key_where}: unknown key '{path}' (known keys here: {sorted(names)})")
        values[key] = _convert(value, hints[key], path, key_where, locations)
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"{locations.get(tuple(prefix.split('.')), where)}: section '{prefix or '<top>'}': {error}"
        ) from None


def _apply_overrides(data: dict, overrides, locations: dict) -> dict:
    data = _merge({}, data)
    from siamtrack.keyvalue import KeyValueError, parse_value, split_item

    for text in overrides:  # the one KEY=VALUE grammar of --set, --param and --option (siamtrack.keyvalue)
        try:
            key, raw = split_item(text, "--set", dotted=True)
        except KeyValueError as error:
            raise ConfigError(str(error)) from None
        keys = key.split(".")
        value = parse_value(raw)
        node = data
        for part in keys[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: '{part}' is not a section")
        node[keys[-1]] = value
        locations[tuple(keys)] = f"override {text!r}"
    return data


def config_from_dict(data: dict, source: str = "<dict>", overrides=()) -> Config:
    """Build a :class:`Config` from a plain mapping, applying ``overrides`` (``section.key=value``)."""
    locations: dict = {}
    return _build_section(Config, _apply_overrides(data, overrides, locations), "", source, locations)


BUNDLED_PREFIX = "bundled/"


def bundled_config_root() -> Path:
    """The folder of the configs shipped in the package (``siamtrack/configs``)."""
    root = importlib.resources.files("siamtrack") / "configs"
    if not isinstance(root, Path):  # a zip import; pip's installs (wheel, editable) are folders
        raise ConfigError(f"the bundled configs are not a folder on disk here ({root!r}): install siamtrack with pip")
    return root


def bundled_configs() -> list[str]:
    """The names of the bundled configs, ``bundled/<path under siamtrack/configs, without .yaml>``, sorted."""
    root = bundled_config_root()
    return sorted(BUNDLED_PREFIX + path.relative_to(root).with_suffix("").as_posix() for path in root.rglob("*.yaml"))


def resolve_config(path: str | os.PathLike) -> Path:
    """The file of a config: ``bundled/<name>`` (``.yaml`` optional) is ``siamtrack/configs/<name>.yaml`` of the
    installed package (:class:`ConfigError` listing the bundled names when there is none such); anything else is a
    path, returned as it is."""
    text = os.fspath(path)
    if not isinstance(text, str) or not text.startswith(BUNDLED_PREFIX):
        return Path(path)
    name = text[len(BUNDLED_PREFIX) :].removesuffix(".yaml")
    root = bundled_config_root()
    parts = name.split("/")
    candidate = root.joinpath(*parts[:-1], parts[-1] + ".yaml")  # not with_suffix: siamfc-width0.5
    if "" in parts or ".." in parts or "\\" in name or not candidate.is_file():
        raise ConfigError(
            f"{text}: no such bundled config (bundled/<name> names siamtrack/configs/<name>.yaml); "
            f"the bundled configs are: {', '.join(bundled_configs())}"
        )
    return candidate


def load_config(path: str | os.PathLike, overrides=()) -> Config:
    """Read a YAML config (following its ``base`` chain) and apply ``overrides`` (``section.key=value``).
    ``path``: a file, or ``bundled/<name>`` for one shipped with the package (:func:`resolve_config`)."""
    data, locations = _load_tree(resolve_config(path))
    return _build_section(Config, _apply_overrides(data, overrides, locations), "", str(path), locations)


def config_to_dict(config: Config) -> dict:
    """Plain nested mapping of ``config`` (tuples as lists), ready for YAML."""

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(dataclasses.asdict(config))


def dump_config(config: Config) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=False)
