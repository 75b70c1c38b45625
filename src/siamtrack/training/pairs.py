"""Training pairs: which frames are paired (:class:`PairSampler`), what a pair looks like (:class:`PairDataset`),
and which pairs each process trains on (:class:`GlobalBatchSampler`).

Every pair is addressed by ``(epoch, index)`` and everything random about it (sequence, frames,
augmentation) is drawn from ``numpy.random.default_rng([seed, epoch, index])``. A pair therefore does not
depend on the number of data-loader workers or processes, nor on what was drawn before it, so resuming
mid-epoch and sharding a global batch over processes are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from siamtrack.imaging import read_image
from siamtrack.training.augment import BranchAugmentation, apply_branch, sample_branch, to_grayscale
from siamtrack.training.curation import CuratedSequence
from siamtrack.labels import gaussian_labels, logistic_labels, map_center


@dataclass(frozen=True)
class Pair:
    """An exemplar frame and a search frame of one sequence (positions in its curated frame list) and their
    temporal distance ``gap = |i - j|`` in source frames (RASNet's ``|i - j|``, Eq. 13)."""

    sequence: int
    exemplar: int
    instance: int
    gap: int


class PairSampler:
    """SiamFC's pair sampling: a sequence uniformly at random, an exemplar frame uniformly among its valid
    frames, and a different valid search frame at most ``max_gap`` source frames away (``None``: anywhere
    in the sequence, as DCFNet). Exemplar frames with no partner within the gap are never drawn.
    """

    def __init__(self, frames: list[np.ndarray], max_gap: int | None = 100):
        if max_gap is not None and max_gap < 1:
            raise ValueError(f"max_gap must be >= 1 (or None for no limit), got {max_gap}")
        self.frames = [np.asarray(f, dtype=np.int64) for f in frames]
        self.max_gap = max_gap
        self._window = []  # per sequence: (first, last + 1) positions within the gap of each position
        self._anchors = []  # per sequence: positions that have at least one partner
        for numbers in self.frames:
            if max_gap is None:
                low = np.zeros(len(numbers), dtype=np.int64)
                high = np.full(len(numbers), len(numbers), dtype=np.int64)
            else:
                low = np.searchsorted(numbers, numbers - max_gap, side="left")
                high = np.searchsorted(numbers, numbers + max_gap, side="right")
            self._window.append((low, high))
            self._anchors.append(np.flatnonzero(high - low >= 2))
        self._usable = np.array([i for i, anchors in enumerate(self._anchors) if len(anchors)], dtype=np.int64)
        if len(self._usable) == 0:
            raise ValueError(f"no sequence has two valid frames within max_gap={max_gap} of each other")

    def draw(self, rng: np.random.Generator) -> Pair:
        sequence = int(self._usable[rng.integers(len(self._usable))])
        anchors = self._anchors[sequence]
        exemplar = int(anchors[rng.integers(len(anchors))])
        low, high = self._window[sequence][0][exemplar], self._window[sequence][1][exemplar]
        instance = int(low + rng.integers(high - low - 1))  # one of the high - low - 1 others ...
        if instance >= exemplar:  # ... skipping the exemplar itself
            instance += 1
        numbers = self.frames[sequence]
        return Pair(sequence, exemplar, instance, int(abs(numbers[instance] - numbers[exemplar])))


@dataclass(frozen=True)
class PairSettings:
    """What a training pair holds.

    Attributes:
        exemplar_size, instance_size: sides of the exemplar (z) and search (x) crops.
        score_size: side of the network's score map (found by running the model once).
        total_stride: network stride ``k``: crop pixels per score-map position.
        label: ``"logistic"`` (``±1`` within ``radius`` crop pixels, SiamFC) or ``"gaussian"`` (sigma =
            ``sigma_factor`` x the target size at crop scale, DCFNet).
        origin: ``"center"``: a centred target's label peaks at the map centre; ``"corner"``: at position
            ``(0, 0)`` of a periodic map (correlation filters evaluated with the DFT, as DCFNet's code).
        grayscale: chance that a pair is turned to grayscale (both crops).
        input_mean: RGB value subtracted from both crops (the model's input convention, e.g. DCFNet's mean).
    """

    exemplar_size: int
    instance_size: int
    score_size: int
    total_stride: float = 8.0
    label: str = "logistic"
    radius: float = 16.0
    sigma_factor: float = 0.1
    origin: str = "center"
    exemplar_augment: BranchAugmentation = BranchAugmentation()
    instance_augment: BranchAugmentation = BranchAugmentation()
    grayscale: float = 0.0
    input_mean: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self):
        if self.label not in ("logistic", "gaussian"):
            raise ValueError(f"label must be 'logistic' or 'gaussian', got {self.label!r}")
        if self.origin not in ("center", "corner"):
            raise ValueError(f"label origin must be 'center' or 'corner', got {self.origin!r}")
        if not 0 <= self.grayscale <= 1:
            raise ValueError(f"grayscale probability must be in [0, 1], got {self.grayscale}")


def _center_offset(box: np.ndarray, crop_size: int) -> np.ndarray:
    """Displacement of the box's centre from the centre of its ``crop_size`` crop."""
    return box[:2] + box[2:] / 2.0 - crop_size / 2.0


def _to_tensor(image: np.ndarray, mean) -> torch.Tensor:
    image = image - np.asarray(mean, dtype=np.float32) if any(mean) else image
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))


class PairDataset(torch.utils.data.Dataset):
    """Map-style dataset of training pairs, indexed by ``(epoch, index)``.

    An item is a dict: ``exemplar`` ``(3, z, z)`` and ``instance`` ``(3, x, x)`` float32 RGB in 0..255 (minus
    ``input_mean``), ``label`` ``(1, s, s)`` float32, ``gap`` (int64), and ``exemplar_box`` / ``instance_box``
    (the target in each crop). The label is centred on the target's displacement in the search crop relative
    to its place in the exemplar crop (zero without translation augmentation).
    """

    def __init__(self, sequences: list[CuratedSequence], settings: PairSettings, max_gap: int | None, seed: int):
        self.sequences = sequences
        self.settings = settings
        self.seed = int(seed)
        self.sampler = PairSampler([s.frames for s in sequences], max_gap)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        epoch, index = key
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        pair = self.sampler.draw(rng)
        sequence = self.sequences[pair.sequence]
        settings = self.settings
        exemplar_draw = sample_branch(rng, settings.exemplar_augment)
        instance_draw = sample_branch(rng, settings.instance_augment)
        grayscale = rng.uniform() < settings.grayscale
        exemplar, exemplar_box = apply_branch(
            read_image(sequence.path(pair.exemplar)),
            sequence.boxes[pair.exemplar],
            settings.exemplar_size,
            exemplar_draw,
        )
        instance, instance_box = apply_branch(
            read_image(sequence.path(pair.instance)),
            sequence.boxes[pair.instance],
            settings.instance_size,
            instance_draw,
        )
        if grayscale:
            exemplar, instance = to_grayscale(exemplar), to_grayscale(instance)
        return {
            "exemplar": _to_tensor(exemplar, settings.input_mean),
            "instance": _to_tensor(instance, settings.input_mean),
            "label": torch.from_numpy(self.label(exemplar_box, instance_box))[None],
            "gap": torch.tensor(pair.gap, dtype=torch.int64),
            "exemplar_box": torch.from_numpy(exemplar_box.astype(np.float32)),
            "instance_box": torch.from_numpy(instance_box.astype(np.float32)),
        }

    def label(self, exemplar_box: np.ndarray, instance_box: np.ndarray) -> np.ndarray:
        """The label map of a pair whose targets lie at ``exemplar_box`` and ``instance_box`` in their crops."""
        settings = self.settings

        offset = _center_offset(instance_box, settings.instance_size) - _center_offset(
            exemplar_box, settings.exemplar_size
        )
        if settings.origin == "center":
            center = map_center(settings.score_size, offset, settings.total_stride)
        else:
            center = offset / settings.total_stride
        if settings.label == "logistic":
            return logistic_labels(settings.score_size, center, settings.radius, settings.total_stride)
        sigma = settings.sigma_factor * np.sqrt(instance_box[2] * instance_box[3]) / settings.total_stride
        return gaussian_labels(settings.score_size, center, sigma, wrap=settings.origin == "corner")


class GlobalBatchSampler(torch.utils.data.Sampler):
    """Yields this process's share of each global batch of an epoch, from iteration ``start`` on.

    Global batch ``t`` is pairs ``t B .. t B + B - 1`` of the epoch; process ``rank`` of ``world_size`` takes
    the contiguous slice ``[t B + rank b, t B + (rank + 1) b)`` with ``b = B / world_size``.
    """

    def __init__(
        self, epoch: int, iterations: int, batch_size: int, rank: int = 0, world_size: int = 1, start: int = 0
    ):
        if batch_size % world_size:
            raise ValueError(f"the global batch size {batch_size} is not divisible by the {world_size} processes")
        self.epoch, self.iterations, self.batch_size = epoch, iterations, batch_size
        self.local = batch_size // world_size
        self.rank, self.start = rank, start

    def __len__(self) -> int:
        return max(self.iterations - self.start, 0)

    def __iter__(self):
        for iteration in range(self.start, self.iterations):
            first = iteration * self.batch_size + self.rank * self.local
            yield [(self.epoch, first + k) for k in range(self.local)]
