"""VOT reset-based ("supervised") evaluation: accuracy, failures/robustness, EAO; and the realtime clock.

A run is a per-frame state (:class:`FrameState`) plus the boxes of the tracked frames — exactly what the
vot-toolkit's result files hold (``1`` initialisation, ``2`` failure, ``0`` skipped, else a region).

Measures (Kristan et al., "A Novel Performance Evaluation Methodology for Single-Target Trackers", TPAMI
2016, Sec. 3-4; the VOT2015-2018 challenge papers):

* accuracy: mean overlap over the tracked frames, without the ``burnin`` frames that start at each
  (re-)initialisation (Eq. 1 with the burn-in of Sec. 3.1);
* robustness: the number of failures (Eq. 2); the AR-plot robustness is ``exp(-S F / L)`` (vot-toolkit);
* EAO: every run is cut into segments that start at an initialisation and end before the next failure (or
  at the end of the sequence). ``Φ_L`` averages a segment's overlaps over the ``L`` frames after its
  initialisation, counting frames after a failure as 0 (Eq. 8); the EAO curve ``Φ̂_L`` averages ``Φ_L``
  over the segments that failed or are at least ``L`` frames long (Eq. 9); the EAO score averages the curve
  over the protocol's interval of lengths (Eq. 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from siamtrack.evaluation.overlap import overlaps
from siamtrack.evaluation.protocol import Protocol, get_protocol


class FrameState(IntEnum):
    """State of one frame of a reset-based run; the values 0-2 are the vot-toolkit's special codes."""

    SKIPPED = 0  # between a failure and the re-initialisation (or after the end of a realtime run)
    INITIALIZED = 1  # the tracker was (re-)initialised on this frame with the ground truth
    FAILED = 2  # the tracker's output did not overlap the ground truth: it is stopped here
    TRACKED = 3  # a box was reported (never written as a code: the file holds the box)


@dataclass
class SupervisedRun:
    """One reset-based run: ``states`` (N,) and ``boxes`` (N, 4), NaN except on TRACKED frames."""

    states: np.ndarray
    boxes: np.ndarray
    times: np.ndarray | None = None

    def __post_init__(self):
        self.states = np.asarray(self.states, dtype=np.int8)
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        if len(self.states) != len(self.boxes):
            raise ValueError(f"{len(self.states)} states for {len(self.boxes)} boxes")

    def __len__(self) -> int:
        return len(self.states)

    @property
    def failures(self) -> int:
        return int(np.count_nonzero(self.states == FrameState.FAILED))


def run_overlaps(
    run: SupervisedRun, ground_truth, protocol: Protocol | str, image_size=None, polygons=None
) -> np.ndarray:
    """Overlap of each TRACKED frame with the ground truth (``protocol.reset_overlap``); 0 elsewhere."""
    protocol = get_protocol(protocol)
    ground_truth = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    if len(ground_truth) != len(run):
        raise ValueError(f"run of {len(run)} frames for {len(ground_truth)} ground-truth frames")
    out = np.zeros(len(run))
    tracked = run.states == FrameState.TRACKED
    if tracked.any():
        reference = polygons if (protocol.use_polygons and polygons is not None) else None
        values = overlaps(
            run.boxes[tracked],
            ground_truth[tracked],
            protocol.reset_overlap,
            image_size=image_size,
            clip_to_image=protocol.clip_to_image,
            polygons=None if reference is None else np.asarray(reference)[tracked],
        )
        out[tracked] = np.nan_to_num(values, nan=0.0)
    return out


def accuracy_mask(states: np.ndarray, burnin: int, valid_ground_truth: np.ndarray | None = None) -> np.ndarray:
    """Frames accuracy averages: TRACKED, not within ``burnin`` frames of an initialisation (the
    initialisation frame is the first of them) and, where given, with valid ground truth."""
    states = np.asarray(states)
    mask = states == FrameState.TRACKED
    for start in np.flatnonzero(states == FrameState.INITIALIZED):
        mask[start : start + burnin] = False
    if valid_ground_truth is not None:
        mask &= np.asarray(valid_ground_truth, dtype=bool)
    return mask


def accuracy(
    run_overlap: np.ndarray, states: np.ndarray, burnin: int, valid_ground_truth: np.ndarray | None = None
) -> tuple[float, int]:
    """``(mean overlap, frame count)`` over :func:`accuracy_mask`; ``(0.0, 0)`` when no frame remains, as
    ``vot.analysis.supervised.compute_accuracy`` returns."""
    mask = accuracy_mask(states, burnin, valid_ground_truth)
    if not mask.any():
        return 0.0, 0
    return float(np.mean(run_overlap[mask])), int(mask.sum())


def eao_segments(run_overlap: np.ndarray, states: np.ndarray) -> list[tuple[np.ndarray, bool]]:
    """Cut a run into ``(overlaps from an initialisation up to, not including, the next failure, failed)``
    segments. A run without initialisation counts as one unfailed segment."""
    states = np.asarray(states)
    starts = np.flatnonzero(states == FrameState.INITIALIZED)
    failures = np.flatnonzero(states == FrameState.FAILED)
    if len(failures) == 0:
        return [(np.asarray(run_overlap, dtype=np.float64), False)]
    segments = []
    for index, failure in enumerate(failures):
        segments.append((run_overlap[starts[index] : failure], True))
    if len(starts) > len(failures):
        segments.append((run_overlap[starts[-1] :], False))
    return segments


def eao_curve(segments: list[tuple[np.ndarray, bool]]) -> np.ndarray:
    """The expected-average-overlap curve (Kristan et al. 2016, Eq. 9) over all ``segments``.

    ``curve[0]`` is the mean first overlap (that of the initialisation frame); for ``L >= 1``,
    ``curve[L]`` averages, over the segments that failed or last at least ``L + 1`` frames, the mean overlap
    of frames ``1 .. L`` after the initialisation, a failed segment counting 0 after its end. The curve is
    as long as the longest segment.
    """
    if not segments:
        raise ValueError("no segment to average: the EAO curve needs at least one run")
    length = max(len(values) for values, _ in segments)
    padded = np.zeros((len(segments), length))
    considered = np.zeros((len(segments), length), dtype=bool)
    for row, (values, failed) in enumerate(segments):
        padded[row, : len(values)] = values
        considered[row, :] = True if failed else np.arange(length) < len(values)
    running = np.empty_like(padded)
    running[:, 0] = padded[:, 0]
    if length > 1:
        running[:, 1:] = np.cumsum(padded[:, 1:], axis=1) / np.arange(1, length)
    with np.errstate(invalid="ignore"):
        return np.sum(running * considered, axis=0) / considered.sum(axis=0)


def eao_score(curve: np.ndarray, protocol: Protocol | str) -> float:
    """Mean of the EAO curve over the protocol's interval of sequence lengths (Eq. 10). Entries beyond the
    curve's end are absent (vot-toolkit slices, pysot skips NaN); NaN when the curve ends before ``low``."""
    protocol = get_protocol(protocol)
    window = np.asarray(curve)[protocol.eao_slice]
    return float(np.mean(window)) if len(window) else float("nan")


@dataclass
class SupervisedScores:
    """Reset-based scores of a set of sequences (vot-toolkit ``AverageAccuracyRobustness`` + EAO)."""

    accuracy: float
    failures: float  # the sequence-length-weighted mean of per-sequence failures (vot-toolkit)
    total_failures: float  # the sum over sequences of per-sequence failures (mean over repetitions)
    robustness: float  # exp(-sensitivity * failures / mean length), the AR-plot coordinate
    eao: float
    eao_curve: np.ndarray
    num_sequences: int
    num_frames: int
    per_sequence: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            key: getattr(self, key)
            for key in ("accuracy", "failures", "total_failures", "robustness", "eao", "num_sequences", "num_frames")
        }

    def to_dict(self) -> dict:
        out = self.summary()
        out["eao_curve"] = self.eao_curve.tolist()
        out["per_sequence"] = self.per_sequence
        return out


def supervised_scores(
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    lengths: dict[str, int],
    protocol: Protocol | str,
    valid_ground_truth: dict[str, np.ndarray] | None = None,
) -> SupervisedScores:
    """Aggregate reset-based runs.

    Args:
        runs: per sequence, its repetitions as ``(overlaps, states)`` pairs (see :func:`run_overlaps`).
        lengths: per sequence, its number of frames (the weights of the accuracy/failure averages).
        valid_ground_truth: per sequence, frames whose ground truth is known (others are left out of
            accuracy).
    """
    protocol = get_protocol(protocol)
    if not runs:
        raise ValueError("no sequence to evaluate")
    per_sequence, segments = {}, []
    weighted_accuracy = weighted_failures = total_failures = total_length = 0.0
    for name, repetitions in runs.items():
        if not repetitions:
            raise ValueError(f"sequence {name!r}: no run")
        valid = None if valid_ground_truth is None else valid_ground_truth.get(name)
        accuracies = [accuracy(o, s, protocol.burnin, valid)[0] for o, s in repetitions]
        failure_counts = [int(np.count_nonzero(np.asarray(s) == FrameState.FAILED)) for _, s in repetitions]
        for run_overlap, states in repetitions:
            segments.extend(eao_segments(run_overlap, states))
        seq_accuracy, seq_failures = float(np.mean(accuracies)), float(np.mean(failure_counts))
        length = lengths[name]
        per_sequence[name] = {
            "accuracy": seq_accuracy,
            "failures": seq_failures,
            "length": length,
            "repetitions": len(repetitions),
        }
        weighted_accuracy += seq_accuracy * length
        weighted_failures += seq_failures * length
        total_failures += seq_failures
        total_length += length
    mean_failures = weighted_failures / total_length
    mean_length = total_length / len(runs)
    curve = eao_curve(segments)
    return SupervisedScores(
        accuracy=weighted_accuracy / total_length,
        failures=mean_failures,
        total_failures=total_failures,
        robustness=float(np.exp(-protocol.robustness_sensitivity * mean_failures / mean_length)),
        eao=eao_score(curve, protocol),
        eao_curve=curve,
        num_sequences=len(runs),
        num_frames=int(total_length),
        per_sequence=per_sequence,
    )


@dataclass
class RealtimeClock:
    """Simulated real-time delivery of frames (the VOT2017+ realtime experiment's zero-order hold).

    Frames arrive every ``1 / fps`` seconds (20 fps, as in VOT2017/2018). The tracker works on one frame at
    a time; a call takes its measured wall time, or exactly ``frame_time`` seconds when that is given (the
    "given-time" convention: it simulates a tracker of known speed and makes runs reproducible). The
    first ``grace`` calls after each initialisation that overrun the interval are forgiven (they take no
    time), like the vot-toolkit's ``grace``.

    * A frame gets the tracker's own box only when the call on it finishes before the next frame arrives;
      otherwise — and on every frame that arrives while the tracker is busy — it keeps the tracker's last
      output ("the last reported bounding box is assumed as the output at the available frame", VOT2017).
    * When a call finishes, the tracker immediately takes the newest frame that has arrived; frames that
      arrived meanwhile are never shown to it. A late output becomes the reported box from the frame during
      which it completes.
    * The initialisation call counts too: until it completes, frames keep the initial box.

    The vot-toolkit's own realtime runtime differs in two details: it reports a late output on the frame
    it was computed for, and a tracker that overran waits for the next frame to arrive.
    """

    fps: float = 20.0
    frame_time: float | None = None
    grace: int = 0

    def __post_init__(self):
        if not self.fps > 0:
            raise ValueError(f"realtime fps must be > 0, got {self.fps}")
        if self.frame_time is not None and self.frame_time < 0:
            raise ValueError(f"realtime frame_time must be >= 0 seconds, got {self.frame_time}")

    @property
    def interval(self) -> float:
        return 1.0 / self.fps

    def arrival(self, frame: int) -> float:
        return frame * self.interval

    def duration(self, measured: float, grace_left: int) -> tuple[float, int]:
        """The simulated length of a call and the grace left after it."""
        seconds = measured if self.frame_time is None else self.frame_time
        if seconds > self.interval and grace_left > 0:
            return 0.0, grace_left - 1
        return seconds, grace_left
