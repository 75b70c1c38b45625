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
dict after epoch NNN), and, at the end, ``model.pth`` (the state dict with the model's registry name and config,
and the tracker it is for with its resolved parameters (the config's ``tracker`` section, :func:`tracker_record`),
the format of :func:`siamtrack.models.read_weights`).
``resume=True`` continues from the checkpoint bit for bit (on CPUs; cuDNN kernels may not be deterministic).
"""

from __future__ import annotations

import csv
import datetime
import inspect
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from siamtrack import losses
from siamtrack.training.config import Config, ConfigError, config_to_dict
from siamtrack.importing import import_object
from siamtrack.training.checkpoint import load_checkpoint, rng_state, save_atomically, set_rng_state
from siamtrack.training.curation import curate, load_curated
from siamtrack.training.pairs import GlobalBatchSampler, PairDataset, PairSettings
from siamtrack.training.run_folder import (
    CHECKPOINT_FORMAT,
    History,
    check_run_dir,
    seed_everything,
    unwrap,
    write_epochs,
    write_logs,
)


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
        return import_object(name)(**args)
    from siamtrack import models

    return models.build_model(name, **args)


def lr_gamma(config: Config) -> float:
    """Per-epoch decay factor taking ``lr_start`` (first epoch) to ``lr_end`` (last epoch)."""
    epochs = config.train.epochs
    if epochs == 1:
        return 1.0
    return (config.optim.lr_end / config.optim.lr_start) ** (1.0 / (epochs - 1))


def build_optimizer(model: nn.Module, config: Config) -> torch.optim.Optimizer:
    """SGD or Adam on the parameters that train; fine-tuned stages of a pretrained trunk (``backbone.trunk.*``,
    ``model.args.finetune_stages > 0``) form a second group at ``optim.trunk_lr_factor`` times the lr, as pysot
    trains its backbone at a tenth of the head's rate. The head's group is first (``param_groups[0]`` is the lr
    that the logs record)."""
    optim = config.optim
    head, trunk = [], []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (trunk if name.startswith("backbone.trunk.") else head).append(parameter)
    parameters = [{"params": head}, {"params": trunk, "lr": optim.lr_start * optim.trunk_lr_factor}] if trunk else head
    if optim.name == "sgd":
        return torch.optim.SGD(
            parameters,
            lr=optim.lr_start,
            momentum=optim.momentum,
            nesterov=optim.nesterov,
            weight_decay=optim.weight_decay,
        )
    return torch.optim.Adam(parameters, lr=optim.lr_start, betas=optim.betas, weight_decay=optim.weight_decay)


def pair_settings(config: Config, score_size: int) -> PairSettings:
    augment = config.augment
    return PairSettings(
        exemplar_size=config.data.exemplar_size,
        instance_size=config.data.instance_size,
        score_size=score_size,
        total_stride=config.labels.total_stride,
        label=config.labels.kind,
        radius=config.labels.radius,
        sigma_factor=config.labels.sigma_factor,
        origin=config.labels.origin,
        exemplar_augment=augment.exemplar,
        instance_augment=augment.instance,
        grayscale=augment.grayscale,
        input_mean=config.data.input_mean,
    )


# loss.name -> its function in siamtrack.losses (loss.args are passed to it as keyword arguments)
LOSS_FUNCTIONS = {
    "logistic": losses.logistic_loss,
    "focal_logistic": losses.focal_logistic_loss,
    "bce": losses.bce_with_logits_loss,
    "l2": losses.l2_loss,
    "focal_bce": losses.focal_bce_loss,
    "shrinkage_bce": losses.shrinkage_bce_loss,
}
# losses on logits against targets in 0..1 (logistic ±1 labels are mapped to 0/1), weighted like "bce"
BINARY_LOSSES = ("bce", "focal_bce", "shrinkage_bce")


def objective_function(config: Config):
    """The model's own objective when ``loss.name`` is ``package.module:function`` (else None; an objective's former
    path is mapped when the config is read, :data:`~siamtrack.training.config.MOVED_OBJECTIVES`)."""
    if ":" not in config.loss.name:
        return None
    try:
        return import_object(config.loss.name)
    except (ImportError, ValueError) as error:
        raise ConfigError(f"loss.name {config.loss.name!r}: cannot import the objective ({error})") from None


def check_loss_and_labels(config: Config) -> None:
    loss, kind = config.loss, config.labels.kind
    objective = objective_function(config)
    if objective is not None:
        from_outputs = getattr(objective, "loss_from_outputs", None)
        try:
            if from_outputs is None:
                inspect.signature(objective).bind(None, None, **loss.args)
            else:  # rpn_objective passes its keyword arguments on to rpn_loss(net, outputs, boxes, size, ...)
                inspect.signature(from_outputs).bind(None, None, None, None, **loss.args)
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
        raise ConfigError(
            "loss.balanced weighs positive and negative labels: it needs labels.kind logistic "
            f"(got {kind!r}); set loss.balanced: false"
        )
    if loss.balanced and loss.name == "l2":
        raise ConfigError("loss.balanced applies to the logistic and bce losses, not l2")


def batch_loss(scores: torch.Tensor, batch: dict, config: Config) -> torch.Tensor:
    """The loss of a batch: mean over its pairs of each pair's loss (see :mod:`siamtrack.losses`)."""
    labels = batch["label"]
    if scores.shape != labels.shape:
        raise ValueError(
            f"the model's score map has shape {tuple(scores.shape)} but the labels "
            f"{tuple(labels.shape)}; check data.instance_size / labels against the model"
        )
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
            raise ConfigError(
                f"data.sources[{number}]: expected {{dataset: name, root: path, ...options}}, got {source!r}"
            )
        options = {key: value for key, value in source.items() if key not in ("dataset", "root")}
        if source["dataset"] not in READERS:
            raise ConfigError(
                f"data.sources[{number}]: unknown dataset {source['dataset']!r}; known: {sorted(READERS)}"
            )
        sequences.extend(load_dataset(source["dataset"], os.path.expanduser(str(source["root"])), **options))
    return sequences


def prepare_curated(config: Config, progress: bool = True) -> Path:
    """The curated folder of this config: ``data.curation.directory`` if set (curating the sources into it
    when there are any), else ``<cache_dir>/<fingerprint of the sources>``."""
    curation = config.data.curation
    settings = curation.crop_settings()
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
            raise ConfigError(
                f"data.curation.directory {target} does not hold these sources (their curated "
                f"folder is {directory}); leave data.curation.directory unset"
            )
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
    if (
        not isinstance(scores, torch.Tensor)
        or scores.dim() != 4
        or scores.shape[1] != 1
        or scores.shape[2] != scores.shape[3]
    ):
        raise ValueError(
            f"model {model_name!r} must return a (B, 1, S, S) score map, got {getattr(scores, 'shape', type(scores))}"
        )
    return int(scores.shape[-1])


def train(
    config: Config, run_dir: str | os.PathLike, resume: bool = False, stop_after: int | None = None
) -> Path | None:
    """Train ``config`` in ``run_dir``; returns the path of the exported ``model.pth`` (None if stopped early).

    ``resume`` continues from ``run_dir/checkpoint.pth`` (a fresh start where there is none yet).
    ``stop_after`` ends the run, without writing anything more, once that many iterations (counted from the
    start of training) are done, as a kill would (used by tests and for short timing runs).

    The parts: :func:`curated_for_run` (the run folder and the crops), :func:`resume_state` (the checkpoint),
    :func:`train_step` (one optimisation step) and :class:`RunRecorder` (log, checkpoints, epoch files).
    """
    tracker_record(config)  # a bad tracker preset or parameter fails now, not after training
    if config.train.feature_cache:
        from siamtrack.training.feature_cache import train_with_feature_cache

        return train_with_feature_cache(config, Path(run_dir), resume, stop_after)
    check_loss_and_labels(config)
    objective = objective_function(config)
    process = setup_process(config.train.device)
    run_dir = Path(run_dir)
    curated = curated_for_run(config, run_dir, resume, process)

    seed_everything(config.train.seed)
    model = build_model(config.model.name, dict(config.model.args)).to(process.device)
    memory_format = torch.channels_last if config.train.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    score_size = probe_score_size(model, config, process.device)
    dataset = PairDataset(curated, pair_settings(config, score_size), config.data.max_gap, config.train.seed)
    optimizer = build_optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=lr_gamma(config))
    iterations = epoch_iterations(config)
    start_epoch, start_iteration, history = 0, 0, History()
    if resume and (run_dir / "checkpoint.pth").exists():
        start_epoch, start_iteration, history = resume_state(run_dir / "checkpoint.pth", model, optimizer, scheduler)
    if process.is_main:
        write_logs(run_dir, history)
    model = distributed(model, process)
    model.train()

    from siamtrack.progress import progress_bar  # tqdm: a line on a terminal, plain lines in a log

    show_progress = config.train.progress and process.is_main
    done = len(history.loss)
    recorder = RunRecorder(run_dir, config, process, history, model, optimizer, scheduler)
    try:
        for epoch in range(start_epoch, config.train.epochs):
            sampler = GlobalBatchSampler(
                epoch,
                iterations,
                config.train.batch_size,
                process.rank,
                process.world_size,
                start_iteration if epoch == start_epoch else 0,
            )
            loader = torch.utils.data.DataLoader(
                dataset,
                batch_sampler=sampler,
                num_workers=config.train.workers,
                pin_memory=process.device.type == "cuda",
                generator=torch.Generator().manual_seed(config.train.seed + epoch),
            )  # leaves the global RNG alone
            lr = optimizer.param_groups[0]["lr"]
            bar = progress_bar(
                loader,
                desc=f"epoch {epoch + 1}/{config.train.epochs}",
                disable=not show_progress,
                initial=sampler.start,
                total=iterations,
                unit="it",
                dynamic_ncols=True,
            )
            for iteration, batch in enumerate(bar, sampler.start):
                batch = {key: value.to(process.device, non_blocking=True) for key, value in batch.items()}
                for key in ("exemplar", "instance"):
                    batch[key] = batch[key].contiguous(memory_format=memory_format)
                value = train_step(model, batch, config, objective, optimizer, process)
                recorder.step(epoch, iteration, value, lr)
                bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.2e}")
                done += 1
                if iteration + 1 < iterations and (iteration + 1) % config.train.checkpoint_every == 0:
                    recorder.checkpoint(epoch, iteration + 1)
                if stop_after is not None and done >= stop_after:
                    return None
            bar.close()
            scheduler.step()
            recorder.end_epoch(epoch)
    finally:
        recorder.close()

    model_path = export_model(unwrap(model), config, run_dir) if process.is_main else run_dir / "model.pth"
    if process.world_size > 1:
        dist.barrier()
    return model_path


def epoch_iterations(config: Config) -> int:
    """Optimisation steps per epoch: ``data.pairs_per_epoch // train.batch_size`` (a ConfigError when 0)."""
    iterations = config.data.pairs_per_epoch // config.train.batch_size
    if iterations < 1:
        raise ConfigError(
            f"data.pairs_per_epoch {config.data.pairs_per_epoch} is smaller than the batch size "
            f"{config.train.batch_size}"
        )
    return iterations


def curated_for_run(config: Config, run_dir: Path, resume: bool, process: Process) -> list:
    """Set up ``run_dir`` (:func:`~siamtrack.training.run_folder.check_run_dir`, main process) and curate the
    training crops (main process; the others wait and are told the folder); every process's curated sequences."""
    if process.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        check_run_dir(config, run_dir, resume)
    if process.world_size > 1:
        dist.barrier()
    if process.is_main:
        curated_dir = prepare_curated(config, config.train.progress)
    if process.world_size > 1:
        holder = [str(curated_dir) if process.is_main else None]
        dist.broadcast_object_list(holder, src=0)
        curated_dir = Path(holder[0])
    return load_curated(curated_dir)[1]


def resume_state(checkpoint_path: Path, model: nn.Module, optimizer, scheduler) -> tuple[int, int, History]:
    """Load a checkpoint into ``model``, ``optimizer``, ``scheduler`` and the global random generators; its
    ``(epoch, iteration, history)``."""
    checkpoint = load_checkpoint(checkpoint_path)
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{checkpoint_path}: checkpoint format {checkpoint.get('format')}, expected {CHECKPOINT_FORMAT}"
        )
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    history = History(checkpoint["history"])
    set_rng_state(checkpoint["rng"])
    return checkpoint["epoch"], checkpoint["iteration"], history


def distributed(model: nn.Module, process: Process) -> nn.Module:
    """``model`` for a job of several processes: DistributedDataParallel (SyncBatchNorm first on GPUs); the model
    itself in a one-process job."""
    if process.world_size <= 1:
        return model
    if process.device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return nn.parallel.DistributedDataParallel(
        model, device_ids=[process.device.index] if process.device.type == "cuda" else None
    )


def train_step(
    model: nn.Module, batch: dict, config: Config, objective, optimizer: torch.optim.Optimizer, process: Process
) -> float:
    """One optimisation step on ``batch`` (on the device): :func:`training_loss`, backward, ``optimizer.step()``;
    returns the loss, averaged over the processes."""
    loss = training_loss(model, batch, config, objective)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    value = loss.detach()
    if process.world_size > 1:
        dist.all_reduce(value)
        value = value / process.world_size
    return float(value)


class RunRecorder:
    """What a run writes while it trains, in the main process (the others write nothing): a ``log.csv`` row and a
    :class:`~siamtrack.training.run_folder.History` entry per step, ``checkpoint.pth`` (every
    ``train.checkpoint_every`` steps and at each epoch's end), ``epochs.csv`` and the ``train.epoch_snapshots``."""

    def __init__(
        self, run_dir: Path, config: Config, process: Process, history: History, model: nn.Module, optimizer, scheduler
    ):
        self.run_dir, self.config, self.process, self.history = run_dir, config, process, history
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.handle = open(run_dir / "log.csv", "a", newline="") if process.is_main else None
        self.log = csv.writer(self.handle) if self.handle else None

    def step(self, epoch: int, iteration: int, value: float, lr: float) -> None:
        """Record one step's loss (a FloatingPointError when it is not finite)."""
        if not math.isfinite(value):
            raise FloatingPointError(f"loss became {value} at epoch {epoch}, iteration {iteration}")
        self.history.append(epoch, iteration, value, lr)
        if self.log:
            self.log.writerow([len(self.history.loss) - 1, epoch, iteration, repr(value), repr(lr)])

    def checkpoint(self, epoch: int, iteration: int) -> None:
        """Within an epoch: flush the log, then save the state to resume at ``iteration`` of ``epoch``."""
        if self.handle:
            self.handle.flush()
        self.save(epoch, iteration)

    def save(self, epoch: int, iteration: int) -> None:
        """Replace ``checkpoint.pth`` atomically (main process only)."""
        if not self.process.is_main:
            return
        save_atomically(
            {
                "format": CHECKPOINT_FORMAT,
                "model": unwrap(self.model).state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "epoch": epoch,
                "iteration": iteration,
                "rng": rng_state(),
                "history": self.history.state(),
                "config": config_to_dict(self.config),
            },
            self.run_dir / "checkpoint.pth",
        )

    def end_epoch(self, epoch: int) -> None:
        """After epoch ``epoch`` (and its scheduler step): the checkpoint, the snapshot, ``epochs.csv``."""
        self.save(epoch + 1, 0)
        if not self.process.is_main:
            return
        if self.config.train.epoch_snapshots:
            (self.run_dir / "epochs").mkdir(exist_ok=True)
            save_atomically(unwrap(self.model).state_dict(), self.run_dir / "epochs" / f"model-{epoch + 1:03d}.pth")
        self.handle.flush()
        write_epochs(self.run_dir, self.history)

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def tracker_record(config: Config) -> dict:
    """What ``model.pth`` records of the tracker (``tracker_name``, ``tracker_params``): the config's ``tracker``
    section with its preset resolved (:func:`siamtrack.presets.resolve_params`); the name defaults to the preset's
    tracker, else to the model's name when a tracker is registered under it (else ``None``). A
    :class:`~siamtrack.training.config.ConfigError` names the preset file or the ``tracker.params`` key at fault."""
    from siamtrack.presets import PresetError, check_params, load_preset, resolve_params
    from siamtrack.trackers import TRACKERS

    section = config.tracker
    try:
        preset = load_preset(section.preset) if section.preset else None
    except PresetError as error:
        raise ConfigError(f"tracker.preset: {error}") from None
    name = (
        section.name
        or (preset.tracker if preset else None)
        or (config.model.name if config.model.name in TRACKERS else None)
    )
    if name is not None and name not in TRACKERS:
        raise ConfigError(f"tracker.name: unknown tracker {name!r}; known trackers: {', '.join(sorted(TRACKERS))}")
    params = resolve_params(preset, dict(section.params))
    if name is None and params:
        raise ConfigError(
            f"tracker.params: no tracker to apply them to (model {config.model.name!r} is not a "
            "tracker name): set tracker.name"
        )
    if name is not None:
        try:
            check_params(name, params, lambda key: f"tracker.params.{key}")
        except PresetError as error:
            raise ConfigError(str(error)) from None
    return {"tracker_name": name, "tracker_params": params}


def export_model(model: nn.Module, config: Config, run_dir: Path) -> Path:
    """Write ``run_dir/model.pth`` (the :func:`siamtrack.models.read_weights` format: the tracker rebuilds the run's
    exact variant, e.g. width 0.5, from its fields, with the parameters of :func:`tracker_record`; only what
    training changed, a pretrained backbone's frozen weights coming from its package again) and ``losses.png``."""
    from siamtrack.models import trained_state_dict
    from siamtrack.training.plots import plot_losses

    model_path = run_dir / "model.pth"
    save_atomically(
        {
            "state_dict": trained_state_dict(model),
            "model_name": config.model.name,
            "model_config": dict(config.model.args),
            **tracker_record(config),
        },
        model_path,
    )
    plot_losses(run_dir / "log.csv", run_dir / "losses.png")
    return model_path
