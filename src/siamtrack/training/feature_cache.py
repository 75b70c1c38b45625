"""Training on cached features of a frozen pretrained trunk (``train.feature_cache: true``).

A network on the pretrained EfficientNet-Lite embedding (:class:`~siamtrack.models.pretrained.PretrainedEmbedding`;
SiamFC, CFNet-conv2, AdaCFNet or RASNet built with ``backbone: efficientnet-lite0``) trains only what follows its
frozen trunk stages. Those stages compute the same map for a crop at every epoch, so they run **once** per curated
frame and their outputs are stored (float16, one ``.npy`` per sequence under
``<data.curation.cache_dir>/../features/<fingerprint>/``); training then reads maps instead of images, about a
hundred times cheaper per pair on a CPU.

**What a pair is.** Each curated frame is a target-centred crop of ``data.curation.crop_size`` = ``8m + 1`` pixels
(e.g. 385: a 49x49 map at stride 8). The exemplar is the centre window of ``data.exemplar_size`` pixels' worth of
cells (257 px -> 33x33 cells) of frame ``i``'s map, as at tracking time; the search is a window of the same size of
frame ``j``'s map displaced by up to ``feature_shift`` cells on each axis (drawn uniformly), which moves the target
away from the centre as SiamFC's translation augmentation does, by whole cells. The label is centred on the target's
exact position in that window (its box offset in the curated crop included). What this gives up against image-space
training: stretch and colour augmentation, and sub-cell shifts; the windows' borders see real image content where a
257-px tracking crop sees zero padding.

**Scale and stretch on maps** (``train.feature_scale: a > 0``). Curation normalises every frame to its own target
size, so whole-cell windows never show a box of another size or aspect than the exemplar's: a box regression (SiamRPN's
Eq. 16) trained on them learns a constant size, and at tracking time the box does not follow the target's growth.
With ``a > 0`` each search window is resampled bilinearly from the cached map, zoomed by ``s_x, s_y`` drawn
log-uniformly in ``[1/(1+a), 1+a]`` per axis about a centre displaced by a continuous shift (sub-cell shifts too),
the shift limited so that the window stays inside the map; the target's box in the window is moved and scaled
with it. This resamples features, not pixels: a CNN's map of a zoomed image is only approximately the zoomed map, so
it is the cheap stand-in for pysot's image-space scale and stretch augmentation (which would cost a trunk pass per
pair). The exemplar stays the un-resampled centre window, as the tracker's template is.

**What a step is.** ``match(template_from_features(exemplar), backbone.forward_from(search))``: the model's own
template (SiamFC's and RASNet's centre cells, CFNet's and AdaCFNet's filter learned on the whole exemplar window) and
score. The side of the score map, for which the labels are made, is probed once by that step on zero windows
(:func:`probe_score_size`), so no model's geometry is assumed here. Each pair carries its frame ``gap``, so RASNet's
temporal weight (``loss.temporal_sigma``, Eq. 12-13) applies as in image training, and the target's box in the
search window's pixels (``instance_box``: the curated box moved by the window's shift, relative to the exemplar's
target as the label is), which a model's own objective takes when it can score the network's outputs
(``loss_from_outputs``, e.g. SiamRPN's Eq. 16: :func:`siamtrack.training.objectives.rpn_loss`); an objective that
runs the network on images itself is refused. Pairs are drawn as :class:`~siamtrack.training.pairs.PairSampler`
draws them, from ``numpy.random.default_rng([seed, epoch, index])``, so a resumed run is the same run.

Checkpoints are written at every epoch's end (``checkpoint.pth``); ``resume`` continues from the last finished epoch.
The exported ``model.pth`` is the one :func:`siamtrack.training.loop.train` writes.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import torch

from siamtrack.training.config import Config, ConfigError
from siamtrack.imaging import read_image
from siamtrack.atomic_files import write_text_atomically
from siamtrack.training.checkpoint import load_checkpoint, save_atomically
from siamtrack.training.curation import CuratedSequence, load_curated
from siamtrack.labels import logistic_labels, map_center
from siamtrack.training.loop import score_map_side
from siamtrack.training.pairs import PairSampler

CACHE_FORMAT = 1
STRIDE = 8


def frozen_stage(model) -> int:
    """The last trunk stage that training leaves frozen: its output is what the cache holds."""
    embedding = getattr(model, "backbone", None)
    if not hasattr(embedding, "trunk") or not hasattr(embedding, "forward_from"):
        raise ConfigError(
            "train.feature_cache needs a model on a pretrained trunk (e.g. model.args.backbone: efficientnet-lite0)"
        )
    return embedding.stage - embedding.finetune_stages


def probe_score_size(model, window: int, stage: int, model_name: str = "") -> int:
    """Side of the model's score map for ``window x window`` cached trunk maps of ``stage``: one training step's
    forward (:meth:`template_from_features`, ``backbone.forward_from``, ``match``) on zero windows in eval mode, the
    cached-map counterpart of :func:`siamtrack.training.loop.probe_score_size`."""
    channels = model.backbone.trunk.stage_channels[stage - 1]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        maps = torch.zeros(1, channels, window, window)
        scores = model.match(model.template_from_features(maps, stage), model.backbone.forward_from(maps, stage))
    model.train(was_training)
    return score_map_side(scores, model_name or type(model).__name__)


def cache_directory(config: Config, curated_dir: Path, crop_size: int, model) -> Path:
    """``<cache_dir>/../features/<hash of the curated folder, the trunk, the tapped stage and the crop size>``."""
    embedding = model.backbone
    key = json.dumps(
        {
            "format": CACHE_FORMAT,
            "curated": curated_dir.name,
            "trunk": embedding.trunk.variant,
            "stage": frozen_stage(model),
            "crop_size": crop_size,
            "precision": config.train.feature_precision,
        }
    )
    root = Path(os.path.expanduser(config.data.curation.cache_dir)).parent / "features"
    return root / hashlib.sha256(key.encode()).hexdigest()[:16]


def build_feature_cache(
    config: Config, curated_dir: Path, crop_size: int, sequences: list[CuratedSequence], model, progress: bool = True
) -> Path:
    """Compute (or reuse) the frozen trunk's map of every curated frame; returns the cache folder. A sequence whose
    file exists is not recomputed (an interrupted build resumes); files are written atomically."""
    from siamtrack.progress import progress_bar  # tqdm: a line on a terminal, plain lines in a log

    directory = cache_directory(config, curated_dir, crop_size, model)
    directory.mkdir(parents=True, exist_ok=True)
    stage = frozen_stage(model)
    # an inference copy of the frozen trunk: eval mode (ImageNet BN statistics), BN folded, channels-last
    trunk = copy.deepcopy(model.backbone.trunk).eval()
    trunk.fuse_batchnorm_()
    trunk = trunk.to(memory_format=torch.channels_last)
    size = crop_size
    bfloat16 = config.train.feature_precision == "bfloat16"
    for sequence in progress_bar(sequences, desc=f"caching trunk features in {directory}", disable=not progress):
        path = directory / f"{sequence.directory.name}.npy"
        if path.exists():
            continue
        maps = []
        for start in range(0, len(sequence.frames), 8):
            images = []
            for k in range(start, min(start + 8, len(sequence.frames))):
                image = read_image(sequence.path(k))
                if image.shape[:2] != (size, size):
                    raise ValueError(
                        f"{sequence.path(k)}: curated crop is {image.shape[1]}x{image.shape[0]}, "
                        f"expected {size}x{size} (the curated folder's crop size)"
                    )
                images.append(torch.from_numpy(image).permute(2, 0, 1))
            batch = torch.stack(images).float().contiguous(memory_format=torch.channels_last)
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
                maps.append(trunk.features(batch, [stage])[stage].float().numpy().astype(np.float16))
        temporary = path.with_suffix(".tmp.npy")
        np.save(temporary, np.concatenate(maps))
        os.replace(temporary, path)
    write_text_atomically(
        directory / "manifest.json",
        json.dumps(
            {
                "format": CACHE_FORMAT,
                "curated": str(curated_dir),
                "stage": stage,
                "crop_size": size,
                "sequences": [s.directory.name for s in sequences],
            },
            indent=1,
        ),
    )
    return directory


class CachedPairs:
    """Training pairs as feature windows (see the module doc); ``stage`` is the trunk stage the maps come from."""

    def __init__(
        self,
        sequences: list[CuratedSequence],
        maps: list[np.ndarray],
        config: Config,
        crop_size: int,
        score_size: int,
        stage: int = 5,
    ):
        self.stage = stage
        self.window = (config.data.exemplar_size - 1) // STRIDE + 1
        self.window_pixels = config.data.exemplar_size  # the crop a window stands for (257 px: 33x33 cells)
        self.map_size = (crop_size - 1) // STRIDE + 1
        self.shift = config.train.feature_shift
        if (crop_size - 1) % STRIDE or (config.data.exemplar_size - 1) % STRIDE:
            raise ConfigError(
                f"train.feature_cache needs crop sizes of 8m + 1 pixels, got curated crops of "
                f"{crop_size} and data.exemplar_size {config.data.exemplar_size}"
            )
        margin = (self.map_size - self.window) // 2
        if self.shift > margin:
            raise ConfigError(
                f"train.feature_shift {self.shift} cells does not fit: the {crop_size}-px crops leave "
                f"{margin} cells around a {self.window}-cell window"
            )
        self.sequences, self.maps, self.config, self.score_size = sequences, maps, config, score_size
        self.margin = margin
        self.sampler = PairSampler([s.frames for s in sequences], config.data.max_gap)
        self.crop_centre = crop_size / 2.0
        self.scale = config.train.feature_scale
        if self.scale > 0 and margin < (self.window - 1) / 2.0 * self.scale:
            raise ConfigError(
                f"train.feature_scale {self.scale} does not fit: zooming a {self.window}-cell window out "
                f"by 1/{1 + self.scale:g} needs more than the {margin} cells the {crop_size}-px crops "
                f"leave around it"
            )

    def offset(self, sequence: int, k: int) -> np.ndarray:
        """The target centre's offset (px) from the centre of its curated crop."""
        box = self.sequences[sequence].boxes[k]
        return box[:2] + box[2:] / 2.0 - self.crop_centre

    def batch(self, epoch: int, start: int, count: int) -> dict:
        exemplars, instances, labels, boxes, gaps = [], [], [], [], []
        w, m = self.window, self.margin
        for index in range(start, start + count):
            rng = np.random.default_rng([self.config.train.seed, epoch, index])
            pair = self.sampler.draw(rng)
            exemplars.append(self.maps[pair.sequence][pair.exemplar, :, m : m + w, m : m + w])
            zoom = np.ones(2)
            if self.scale > 0:
                zoom, shift = self.draw_zoom(rng)
                instances.append(self.resampled_window(self.maps[pair.sequence][pair.instance], zoom, shift))
            else:
                shift = rng.integers(-self.shift, self.shift + 1, size=2)
                dx, dy = shift
                instances.append(self.maps[pair.sequence][pair.instance, :, m + dy : m + dy + w, m + dx : m + dx + w])
            offset = zoom * (self.offset(pair.sequence, pair.instance) - STRIDE * shift) - self.offset(
                pair.sequence, pair.exemplar
            )
            labels.append(
                logistic_labels(
                    self.score_size, map_center(self.score_size, offset, STRIDE), self.config.labels.radius, STRIDE
                )
            )
            size = zoom * self.sequences[pair.sequence].boxes[pair.instance][2:]
            centre = self.window_pixels / 2.0 + offset  # the target's centre in the search window's pixels
            boxes.append(np.concatenate([centre - size / 2.0, size]))
            gaps.append(pair.gap)
        to_tensor = lambda arrays: torch.from_numpy(np.stack(arrays).astype(np.float32))  # noqa: E731
        return {
            "exemplar": to_tensor(exemplars),
            "instance": to_tensor(instances),
            "label": torch.from_numpy(np.stack(labels))[:, None],
            "gap": torch.tensor(gaps, dtype=torch.int64),
            "instance_box": torch.from_numpy(np.stack(boxes).astype(np.float32)),
        }

    def draw_zoom(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Zoom ``(s_x, s_y)``, log-uniform in ``[1/(1+a), 1+a]``, and the window centre's shift ``(dx, dy)`` in cells,
        uniform within ``feature_shift`` and within what keeps the zoomed window inside the map."""
        zoom = np.exp(rng.uniform(-np.log1p(self.scale), np.log1p(self.scale), size=2))
        half = (self.window - 1) / 2.0
        room = np.minimum(self.shift, self.margin - half * np.maximum(1.0 / zoom - 1.0, 0.0))
        return zoom, rng.uniform(-room, room)

    def resampled_window(self, feature_map: np.ndarray, zoom: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """The ``window x window`` search window of ``feature_map`` ``(C, H, W)`` zoomed by ``zoom`` about the map
        centre moved by ``shift`` cells: output cell ``j`` reads the map at ``centre + shift + (j - half) / zoom``
        (bilinear; ``zoom = 1`` and a whole-cell shift give the plain window exactly)."""
        half = (self.window - 1) / 2.0
        centre = (self.map_size - 1) / 2.0 + shift
        steps = np.arange(self.window) - half
        columns = (centre[0] + steps / zoom[0]) / (self.map_size - 1) * 2.0 - 1.0  # align_corners=True units
        rows = (centre[1] + steps / zoom[1]) / (self.map_size - 1) * 2.0 - 1.0
        grid = torch.stack(
            torch.meshgrid(torch.from_numpy(rows), torch.from_numpy(columns), indexing="ij")[::-1], dim=-1
        ).float()[None]
        source = torch.from_numpy(np.asarray(feature_map, dtype=np.float32))[None]
        window = torch.nn.functional.grid_sample(
            source, grid, mode="bilinear", padding_mode="border", align_corners=True
        )
        return window[0].numpy()


def cached_model_and_pairs(config: Config, progress: bool = False):
    """The model of ``config`` and its training pairs: its curated crops (curated first if needed) and the frozen
    trunk's maps of every crop (computed once, :func:`build_feature_cache`), checked against the crops. The model
    is in the memory format ``train.channels_last`` asks for (the windows follow it in :func:`cached_batch_loss`:
    ~2x faster depthwise backward on the CPU when a trunk stage trains, 1.5x slower for frozen heads)."""
    from siamtrack.training.loop import build_model, prepare_curated

    model = build_model(config.model.name, dict(config.model.args))
    curated_dir = prepare_curated(config, progress)
    settings, sequences = load_curated(curated_dir)
    stage = frozen_stage(model)
    cache = build_feature_cache(config, curated_dir, settings.crop_size, sequences, model, progress)
    maps = [np.load(cache / f"{s.directory.name}.npy", mmap_mode="r") for s in sequences]
    for sequence, array in zip(sequences, maps):
        if len(array) != len(sequence.frames):
            raise ValueError(
                f"{cache / sequence.directory.name}.npy: {len(array)} maps for {len(sequence.frames)} "
                f"curated frames; delete the file to recompute it"
            )
    window = (config.data.exemplar_size - 1) // STRIDE + 1
    score_size = probe_score_size(model, window, stage, config.model.name)
    if config.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, CachedPairs(sequences, maps, config, settings.crop_size, score_size, stage)


def cached_batch_loss(model, batch: dict, pairs: CachedPairs, config: Config, objective) -> torch.Tensor:
    """The loss of one batch of cached windows: the template from the exemplar windows, the rest of the trunk
    (from ``pairs.stage`` on) and the head on the search windows, then the score-map loss or the objective's
    ``loss_from_outputs`` (e.g. SiamRPN's Eq. 16 on its cls/reg outputs). ``objective``: ``objective_function
    (config)``, resolved once by the caller."""
    from siamtrack.training.loop import batch_loss

    memory_format = torch.channels_last if config.train.channels_last else torch.contiguous_format
    exemplar, instance = (batch[key].contiguous(memory_format=memory_format) for key in ("exemplar", "instance"))
    template = model.template_from_features(exemplar, pairs.stage)
    scores = model.match(template, model.backbone.forward_from(instance, pairs.stage))
    from_outputs = getattr(objective, "loss_from_outputs", None)
    if from_outputs is not None:
        return from_outputs(model, scores, batch["instance_box"], config.data.exemplar_size, **config.loss.args)
    return batch_loss(scores, batch, config)


def train_with_feature_cache(
    config: Config, run_dir: Path, resume: bool = False, stop_after: int | None = None
) -> Path | None:
    """:func:`siamtrack.training.loop.train` for ``train.feature_cache: true`` (see the module doc)."""
    from siamtrack.progress import progress_bar  # tqdm: a line on a terminal, plain lines in a log

    from siamtrack.training.loop import (
        build_optimizer,
        check_loss_and_labels,
        export_model,
        lr_gamma,
        objective_function,
    )
    from siamtrack.training.run_folder import (
        CHECKPOINT_FORMAT,
        History,
        check_run_dir,
        seed_everything,
        write_epochs,
        write_logs,
    )

    check_loss_and_labels(config)
    objective = objective_function(config)
    from_outputs = getattr(objective, "loss_from_outputs", None)
    if objective is not None and from_outputs is None:
        raise ConfigError(
            f"train.feature_cache: the objective {config.loss.name} runs the network on images; only "
            f"score-map losses and objectives with a loss_from_outputs (e.g. "
            f"siamtrack.training.objectives:rpn_objective) train on cached maps"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    check_run_dir(config, run_dir, resume)
    seed_everything(config.train.seed)
    model, pairs = cached_model_and_pairs(config, config.train.progress)
    optimizer = build_optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=lr_gamma(config))
    batch_size = config.train.batch_size
    iterations = config.data.pairs_per_epoch // batch_size
    if iterations < 1:
        raise ConfigError(
            f"data.pairs_per_epoch {config.data.pairs_per_epoch} is smaller than the batch size {batch_size}"
        )
    checkpoint_path = run_dir / "checkpoint.pth"
    start_epoch, history = 0, History()
    if resume and checkpoint_path.exists():
        checkpoint = load_checkpoint(checkpoint_path)
        if checkpoint.get("format") != CHECKPOINT_FORMAT or checkpoint.get("feature_cache") is not True:
            raise ValueError(f"{checkpoint_path}: not a feature-cache checkpoint of format {CHECKPOINT_FORMAT}")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        start_epoch, history = checkpoint["epoch"], History(checkpoint["history"])
    write_logs(run_dir, history)
    model.train()
    done = len(history.loss)
    with open(run_dir / "log.csv", "a", newline="") as handle:
        log = csv.writer(handle)
        for epoch in range(start_epoch, config.train.epochs):
            lr = optimizer.param_groups[0]["lr"]
            bar = progress_bar(
                range(iterations),
                desc=f"epoch {epoch + 1}/{config.train.epochs}",
                disable=not config.train.progress,
                unit="it",
                dynamic_ncols=True,
            )
            for iteration in bar:
                loss = cached_batch_loss(
                    model, pairs.batch(epoch, iteration * batch_size, batch_size), pairs, config, objective
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(f"loss became {value} at epoch {epoch}, iteration {iteration}")
                history.append(epoch, iteration, value, lr)
                log.writerow([len(history.loss) - 1, epoch, iteration, repr(value), repr(lr)])
                bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.2e}")
                done += 1
                if stop_after is not None and done >= stop_after:
                    return None
            scheduler.step()
            handle.flush()
            save_atomically(
                {
                    "format": CHECKPOINT_FORMAT,
                    "feature_cache": True,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "epoch": epoch + 1,
                    "history": history.state(),
                },
                checkpoint_path,
            )
            write_epochs(run_dir, history)
    return export_model(model, config, run_dir)
