"""The training loop: curate, sample pairs, optimise, checkpoint, resume; single process or DDP.

Launch with ``siamtrack train --config C --run-dir D`` or, on several GPUs/machines,
``torchrun --nproc-per-node N -m siamtrack.cli train ...``: the process group comes from torchrun's
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), the device from what is present. The global batch
``train.batch_size`` is split evenly over the processes; each global batch holds the same pairs whatever
the number of processes, so one process and N processes follow the same loss trajectory (up to float
summation order) for deterministic models; BatchNorm layers become SyncBatchNorm on GPUs (on CPUs, where
PyTorch has no SyncBatchNorm, each process normalises its own shard), and stochastic layers (dropout)
draw their own numbers in each process.

A run directory holds ``config.yaml`` (the resolved config), ``checkpoint.pth`` (replaced atomically every
``checkpoint_every`` iterations and at every epoch's end), ``log.csv`` (loss per iteration), ``epochs.csv``
(mean loss per epoch), ``losses.png``, with ``train.epoch_snapshots`` ``epochs/model-NNN.pth`` (the state
dict after epoch NNN), and, at the end, ``model.pth`` (the state dict with the model's registry name and config, the format of
:func:`siamtrack.models.read_weights`).
``resume=True`` continues from the checkpoint bit for bit (on CPUs; cuDNN kernels may not be deterministic).
"""
from __future__ import annotations

import csv
import datetime
import inspect
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch import nn

from siamtrack import losses
from siamtrack.config import Config, ConfigError, config_from_dict, config_to_dict, dump_config
from siamtrack.importing import import_object
from siamtrack.io import write_text_atomically
from siamtrack.training.augment import BranchAugmentation
from siamtrack.training.checkpoint import load_checkpoint, rng_state, save_atomically, set_rng_state
from siamtrack.training.curation import CropSettings, curate, load_curated
from siamtrack.training.pairs import GlobalBatchSampler, PairDataset, PairSettings

CHECKPOINT_FORMAT = 1
# keys that may change between a run and its resumption (they do not change the numbers)
RESUMABLE_CHANGES = {("train", "progress"), ("train", "workers"), ("data", "curation", "workers"),
                     ("data", "curation", "cache_dir"), ("data", "curation", "directory"), ("data", "sources")}


@dataclass(frozen=True)
class Process:
    """Where this process sits in a (possibly one-process) job."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_process(device: str = "auto") -> Process:
    """Join the torchrun process group if there is one (NCCL on GPUs, gloo on CPUs) and pick the device:
    ``cuda:<LOCAL_RANK>`` when CUDA is present (or asked), else the CPU."""
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is available")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=datetime.timedelta(hours=4))
    rank = dist.get_rank() if dist.is_initialized() else 0
    if use_cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        return Process(rank, world_size, torch.device("cuda", local_rank))
    return Process(rank, world_size, torch.device("cpu"))


def build_model(name: str, args: dict) -> nn.Module:
    """``siamtrack.models.build_model(name, **args)``, or ``factory(**args)`` for ``name = "module:factory"``."""
    if ":" in name:
        factory = import_object(name)
    else:
        from siamtrack import models

        if not hasattr(models, "build_model"):
            raise ConfigError(f"model {name!r}: siamtrack.models has no build_model (models not installed)")
        return models.build_model(name, **args)
    return factory(**args)


def lr_gamma(config: Config) -> float:
    """Per-epoch decay factor taking ``lr_start`` (first epoch) to ``lr_end`` (last epoch)."""
    epochs = config.train.epochs
    if epochs == 1:
        return 1.0
    return (config.optim.lr_end / config.optim.lr_start) ** (1.0 / (epochs - 1))


def build_optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    optim = config.optim
    parameters = [p for p in model.parameters() if p.requires_grad]
    if optim.name == "sgd":
        return torch.optim.SGD(parameters, lr=optim.lr_start, momentum=optim.momentum, nesterov=optim.nesterov,
                               weight_decay=optim.weight_decay)
    return torch.optim.Adam(parameters, lr=optim.lr_start, betas=optim.betas, weight_decay=optim.weight_decay)


def pair_settings(config: Config, score_size: int) -> PairSettings:
    augment = config.augment
    return PairSettings(
        exemplar_size=config.data.exemplar_size, instance_size=config.data.instance_size, score_size=score_size,
        total_stride=config.labels.total_stride, label=config.labels.kind, radius=config.labels.radius,
        sigma_factor=config.labels.sigma_factor, origin=config.labels.origin,
        exemplar_augment=BranchAugmentation(**vars(augment.exemplar)),
        instance_augment=BranchAugmentation(**vars(augment.instance)), grayscale=augment.grayscale,
        input_mean=config.data.input_mean)


# loss.name -> its function in siamtrack.losses (loss.args are passed to it as keyword arguments)
LOSS_FUNCTIONS = {"logistic": losses.logistic_loss, "focal_logistic": losses.focal_logistic_loss,
                  "bce": losses.bce_with_logits_loss, "l2": losses.l2_loss,
                  "focal_bce": losses.focal_bce_loss, "shrinkage_bce": losses.shrinkage_bce_loss}
# losses on logits against targets in 0..1 (logistic ±1 labels are mapped to 0/1), weighted like "bce"
BINARY_LOSSES = ("bce", "focal_bce", "shrinkage_bce")


def objective_function(config: Config):
    """The model's own objective when ``loss.name`` is ``package.module:function`` (else None). The objectives'
    former paths in the models (``siamtrack.models.edcf:edcf_objective``, ``siamtrack.models.siamrpn:rpn_objective``)
    name the same functions, in :mod:`siamtrack.training.objectives` (:data:`~siamtrack.training.objectives.MOVED`)."""
    if ":" not in config.loss.name:
        return None
    from siamtrack.training.objectives import MOVED

    try:
        return import_object(MOVED.get(config.loss.name, config.loss.name))
    except (ImportError, ValueError) as error:
        raise ConfigError(f"loss.name {config.loss.name!r}: cannot import the objective ({error})") from None


def check_loss_and_labels(config: Config) -> None:
    loss, kind = config.loss, config.labels.kind
    objective = objective_function(config)
    if objective is not None:
        try:
            inspect.signature(objective).bind(None, None, **loss.args)
        except TypeError as error:
            raise ConfigError(f"loss.args {loss.args!r} do not fit the objective {loss.name}: {error}") from None
        return
    if loss.name in ("logistic", "focal_logistic") and kind != "logistic":
        raise ConfigError(f"loss {loss.name!r} needs ±1 labels (labels.kind: logistic), got labels.kind {kind!r}")
    function = LOSS_FUNCTIONS[loss.name]
    try:
        inspect.signature(function).bind_partial(**loss.args)
    except TypeError as error:
        raise ConfigError(f"loss.args {loss.args!r} do not fit losses.{function.__name__}: {error}") from None
    if loss.balanced and kind != "logistic":
        raise ConfigError("loss.balanced weighs positive and negative labels: it needs labels.kind logistic "
                          f"(got {kind!r}); set loss.balanced: false")
    if loss.balanced and loss.name == "l2":
        raise ConfigError("loss.balanced applies to the logistic and bce losses, not l2")


def batch_loss(scores: torch.Tensor, batch: dict, config: Config) -> torch.Tensor:
    """The loss of a batch: mean over its pairs of each pair's loss (see :mod:`siamtrack.losses`)."""
    labels = batch["label"]
    if scores.shape != labels.shape:
        raise ValueError(f"the model's score map has shape {tuple(scores.shape)} but the labels "
                         f"{tuple(labels.shape)}; check data.instance_size / labels against the model")
    loss = config.loss
    weights = losses.balanced_weights(labels) if loss.balanced else None
    if loss.name in ("logistic", "focal_logistic"):
        per_pair = LOSS_FUNCTIONS[loss.name](scores, labels, weights, reduction="none", **loss.args)
    elif loss.name in BINARY_LOSSES:
        targets = (labels + 1) / 2 if config.labels.kind == "logistic" else labels
        per_pair = LOSS_FUNCTIONS[loss.name](scores, targets, weights, reduction="none", **loss.args)
    else:
        per_pair = losses.l2_loss(scores, labels, reduction="none", **loss.args)
    if loss.temporal_sigma is not None:
        per_pair = per_pair * losses.temporal_pair_weight(batch["gap"], loss.temporal_sigma).to(per_pair)
    return per_pair.mean()


def training_loss(model: nn.Module, batch: dict, config: Config, objective=None) -> torch.Tensor:
    """The loss one optimisation step minimises: the model's own ``objective`` (``loss.name`` =
    ``module:function``, see :func:`objective_function`) or :func:`batch_loss` of its score map."""
    if objective is not None:
        return objective(model, batch, **config.loss.args)
    return batch_loss(model(batch["exemplar"], batch["instance"]), batch, config)


def read_sources(sources: list) -> list:
    """The training sequences: each source ``{dataset: name, root: path, <option>: value ...}`` is read with
    ``siamtrack.data.load_dataset(name, root, **options)`` (e.g. ``{dataset: shared, root: ../shared,
    split: train}``; ``ilsvrc-vid``, ``got10k`` ...)."""
    from siamtrack.data import READERS, load_dataset

    sequences = []
    for number, source in enumerate(sources):
        if not isinstance(source, dict) or "dataset" not in source or "root" not in source:
            raise ConfigError(f"data.sources[{number}]: expected {{dataset: name, root: path, ...options}}, "
                              f"got {source!r}")
        options = {key: value for key, value in source.items() if key not in ("dataset", "root")}
        if source["dataset"] not in READERS:
            raise ConfigError(f"data.sources[{number}]: unknown dataset {source['dataset']!r}; known: "
                              f"{sorted(READERS)}")
        sequences.extend(load_dataset(source["dataset"], os.path.expanduser(str(source["root"])), **options))
    return sequences


def prepare_curated(config: Config, progress: bool = True) -> Path:
    """The curated folder of this config: ``data.curation.directory`` if set (curating the sources into it
    when there are any), else ``<cache_dir>/<fingerprint of the sources>``."""
    curation = config.data.curation
    settings = CropSettings(mode=curation.mode, context=curation.context, context_size=curation.context_size,
                            crop_size=curation.crop_size, jpeg_quality=curation.jpeg_quality)
    if curation.directory is not None and not config.data.sources:
        return Path(os.path.expanduser(curation.directory))
    if not config.data.sources:
        raise ConfigError("data.sources is empty and data.curation.directory is not set: no training data")
    sequences = read_sources(config.data.sources)
    if curation.directory is not None:
        cache_dir = Path(os.path.expanduser(curation.directory)).parent
        directory = curate(sequences, settings, cache_dir, curation.workers, progress)
        target = Path(os.path.expanduser(curation.directory))
        if directory != target:
            raise ConfigError(f"data.curation.directory {target} does not hold these sources (their curated "
                              f"folder is {directory}); leave data.curation.directory unset")
        return directory
    return curate(sequences, settings, curation.cache_dir, curation.workers, progress)


def probe_score_size(model: nn.Module, config: Config, device: torch.device) -> int:
    """Side of the model's score map for the config's crop sizes (one forward pass in eval mode)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        exemplar = torch.zeros(1, 3, config.data.exemplar_size, config.data.exemplar_size, device=device)
        instance = torch.zeros(1, 3, config.data.instance_size, config.data.instance_size, device=device)
        scores = model(exemplar, instance)
    model.train(was_training)
    return score_map_side(scores, config.model.name)


def score_map_side(scores, model_name: str) -> int:
    """``S`` of a probed ``(B, 1, S, S)`` score map (a multi-task model's dict: its ``"scores"``), or a ValueError."""
    if isinstance(scores, dict):  # a multi-task model: its score map (what the labels are made for)
        scores = scores.get("scores")
    if not isinstance(scores, torch.Tensor) or scores.dim() != 4 or scores.shape[1] != 1 \
            or scores.shape[2] != scores.shape[3]:
        raise ValueError(f"model {model_name!r} must return a (B, 1, S, S) score map, got "
                         f"{getattr(scores, 'shape', type(scores))}")
    return int(scores.shape[-1])


def _differences(old: dict, new: dict, prefix=()) -> list[tuple]:
    keys = set(old) | set(new)
    found = []
    for key in sorted(keys):
        path = prefix + (key,)
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            found.extend(_differences(old[key], new[key], path))
        elif old.get(key) != new.get(key) and path not in RESUMABLE_CHANGES:
            found.append(path)
    return found


class History:
    """Loss per iteration, kept as lists and stored in checkpoints as tensors."""

    def __init__(self, state: dict | None = None):
        state = state or {}
        self.epoch = [int(v) for v in state.get("epoch", torch.zeros(0)).tolist()]
        self.iteration = [int(v) for v in state.get("iteration", torch.zeros(0)).tolist()]
        self.loss = [float(v) for v in state.get("loss", torch.zeros(0)).tolist()]
        self.lr = [float(v) for v in state.get("lr", torch.zeros(0)).tolist()]

    def append(self, epoch: int, iteration: int, loss: float, lr: float) -> None:
        self.epoch.append(epoch)
        self.iteration.append(iteration)
        self.loss.append(loss)
        self.lr.append(lr)

    def state(self) -> dict:
        return {"epoch": torch.tensor(self.epoch, dtype=torch.int64),
                "iteration": torch.tensor(self.iteration, dtype=torch.int64),
                "loss": torch.tensor(self.loss, dtype=torch.float64),
                "lr": torch.tensor(self.lr, dtype=torch.float64)}

    def epoch_means(self) -> list[tuple[int, float, float, int]]:
        """``(epoch, mean loss, lr, iterations)`` per epoch seen."""
        rows = []
        for epoch in sorted(set(self.epoch)):
            picked = [k for k, e in enumerate(self.epoch) if e == epoch]
            rows.append((epoch, float(np.mean([self.loss[k] for k in picked])), self.lr[picked[0]], len(picked)))
        return rows


LOG_COLUMNS = ["step", "epoch", "iteration", "loss", "lr"]


def _write_logs(run_dir: Path, history: History) -> None:
    """Rewrite ``log.csv`` and ``epochs.csv`` from the history (on resume: drops rows past the checkpoint)."""
    with open(run_dir / "log.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LOG_COLUMNS)
        for step, row in enumerate(zip(history.epoch, history.iteration, history.loss, history.lr)):
            writer.writerow([step, row[0], row[1], repr(row[2]), repr(row[3])])
    _write_epochs(run_dir, history)


def _write_epochs(run_dir: Path, history: History) -> None:
    with open(run_dir / "epochs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "mean_loss", "lr", "iterations"])
        for epoch, mean, lr, count in history.epoch_means():
            writer.writerow([epoch, repr(mean), repr(lr), count])


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(config: Config, run_dir: str | os.PathLike, resume: bool = False,
          stop_after: int | None = None) -> Path | None:
    """Train ``config`` in ``run_dir``; returns the path of the exported ``model.pth`` (None if stopped early).

    ``resume`` continues from ``run_dir/checkpoint.pth`` (a fresh start where there is none yet).
    ``stop_after`` ends the run, without writing anything more, once that many iterations (counted from the
    start of training) are done, as a kill would (used by tests and for short timing runs).
    """
    if config.train.feature_cache:
        from siamtrack.training.feature_cache import train_with_feature_cache

        return train_with_feature_cache(config, Path(run_dir), resume, stop_after)
    check_loss_and_labels(config)
    objective = objective_function(config)
    process = setup_process(config.train.device)
    run_dir = Path(run_dir)
    checkpoint_path = run_dir / "checkpoint.pth"
    if process.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _check_run_dir(config, run_dir, resume)
    if process.world_size > 1:
        dist.barrier()

    show_progress = config.train.progress and process.is_main
    if process.is_main:
        curated_dir = prepare_curated(config, show_progress)
    if process.world_size > 1:
        holder = [str(curated_dir) if process.is_main else None]
        dist.broadcast_object_list(holder, src=0)
        curated_dir = Path(holder[0])
    _, curated = load_curated(curated_dir)

    _seed_everything(config.train.seed)
    model = build_model(config.model.name, dict(config.model.args)).to(process.device)
    memory_format = torch.channels_last if config.train.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    score_size = probe_score_size(model, config, process.device)
    dataset = PairDataset(curated, pair_settings(config, score_size), config.data.max_gap, config.train.seed)
    optimizer = build_optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=lr_gamma(config))
    iterations = config.data.pairs_per_epoch // config.train.batch_size
    if iterations < 1:
        raise ConfigError(f"data.pairs_per_epoch {config.data.pairs_per_epoch} is smaller than the batch size "
                          f"{config.train.batch_size}")
    start_epoch, start_iteration, history = 0, 0, History()
    if resume and checkpoint_path.exists():
        checkpoint = load_checkpoint(checkpoint_path)
        if checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{checkpoint_path}: checkpoint format {checkpoint.get('format')}, expected "
                             f"{CHECKPOINT_FORMAT}")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        start_epoch, start_iteration = checkpoint["epoch"], checkpoint["iteration"]
        history = History(checkpoint["history"])
        set_rng_state(checkpoint["rng"])
    if process.is_main:
        _write_logs(run_dir, history)

    if process.world_size > 1:
        if process.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[process.device.index] if process.device.type == "cuda" else None)
    model.train()

    def save(epoch: int, iteration: int) -> None:
        if not process.is_main:
            return
        save_atomically({
            "format": CHECKPOINT_FORMAT, "model": _unwrap(model).state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "epoch": epoch, "iteration": iteration, "rng": rng_state(),
            "history": history.state(), "config": config_to_dict(config),
        }, checkpoint_path)

    from siamtrack.progress import progress_bar  # tqdm: a line on a terminal, plain lines in a log

    done = len(history.loss)
    log_handle = open(run_dir / "log.csv", "a", newline="") if process.is_main else None
    log = csv.writer(log_handle) if log_handle else None
    try:
        for epoch in range(start_epoch, config.train.epochs):
            sampler = GlobalBatchSampler(epoch, iterations, config.train.batch_size, process.rank,
                                         process.world_size, start_iteration if epoch == start_epoch else 0)
            loader = torch.utils.data.DataLoader(
                dataset, batch_sampler=sampler, num_workers=config.train.workers,
                pin_memory=process.device.type == "cuda",
                generator=torch.Generator().manual_seed(config.train.seed + epoch))  # leaves the global RNG alone
            lr = optimizer.param_groups[0]["lr"]
            bar = progress_bar(loader, desc=f"epoch {epoch + 1}/{config.train.epochs}", disable=not show_progress,
                       initial=sampler.start, total=iterations, unit="it", dynamic_ncols=True)
            iteration = sampler.start
            for batch in bar:
                batch = {key: value.to(process.device, non_blocking=True) for key, value in batch.items()}
                for key in ("exemplar", "instance"):
                    batch[key] = batch[key].contiguous(memory_format=memory_format)
                loss = training_loss(model, batch, config, objective)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                value = loss.detach()
                if process.world_size > 1:
                    dist.all_reduce(value)
                    value = value / process.world_size
                value = float(value)
                if not math.isfinite(value):
                    raise FloatingPointError(f"loss became {value} at epoch {epoch}, iteration {iteration}")
                history.append(epoch, iteration, value, lr)
                if log:
                    log.writerow([len(history.loss) - 1, epoch, iteration, repr(value), repr(lr)])
                bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.2e}")
                iteration += 1
                done += 1
                if iteration < iterations and iteration % config.train.checkpoint_every == 0:
                    if log_handle:
                        log_handle.flush()
                    save(epoch, iteration)
                if stop_after is not None and done >= stop_after:
                    return None
            bar.close()
            scheduler.step()
            save(epoch + 1, 0)
            if process.is_main and config.train.epoch_snapshots:
                (run_dir / "epochs").mkdir(exist_ok=True)
                save_atomically(_unwrap(model).state_dict(), run_dir / "epochs" / f"model-{epoch + 1:03d}.pth")
            if process.is_main:
                log_handle.flush()
                _write_epochs(run_dir, history)
    finally:
        if log_handle:
            log_handle.close()

    model_path = export_model(_unwrap(model), config, run_dir) if process.is_main else run_dir / "model.pth"
    if process.world_size > 1:
        dist.barrier()
    return model_path


def export_model(model: nn.Module, config: Config, run_dir: Path) -> Path:
    """Write ``run_dir/model.pth`` (the :func:`siamtrack.models.read_weights` format: the tracker rebuilds the run's
    exact variant, e.g. width 0.5, from its fields; only what training changed, a pretrained backbone's frozen
    weights coming from its package again) and ``losses.png``."""
    from siamtrack.models import trained_state_dict
    from siamtrack.training.plots import plot_losses

    model_path = run_dir / "model.pth"
    save_atomically({"state_dict": trained_state_dict(model), "model_name": config.model.name,
                     "model_config": dict(config.model.args)}, model_path)
    plot_losses(run_dir / "log.csv", run_dir / "losses.png")
    return model_path


def _check_run_dir(config: Config, run_dir: Path, resume: bool) -> None:
    """Write ``config.yaml``; refuse to overwrite a run, or to resume one with a different config."""
    config_path = run_dir / "config.yaml"
    if (run_dir / "checkpoint.pth").exists() and not resume:
        raise FileExistsError(f"{run_dir} already holds a training run (checkpoint.pth); pass --resume to "
                              "continue it or choose another --run-dir")
    if resume and config_path.exists():
        saved = yaml.safe_load(config_path.read_text())  # keys added to Config since then take their defaults
        changed = _differences(config_to_dict(config_from_dict(saved, str(config_path))), config_to_dict(config))
        if changed:
            raise ConfigError(f"{config_path}: cannot resume with a different config; changed keys: "
                              f"{['.'.join(map(str, key)) for key in changed]}")
        return
    write_text_atomically(config_path, dump_config(config))

