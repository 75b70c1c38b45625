"""One-pass metrics (OPE, and each run of TRE/SRE): success, precision, normalised precision, AO, SR/OP.

Definitions (Wu et al., "Object Tracking Benchmark", TPAMI 2015, Sec. 4.1; Huang et al., "GOT-10k", TPAMI
2019, Sec. 4.2; Fan et al., "LaSOT", CVPR 2019, Sec. 4.1):

* success curve ``S(t) = |{f : IoU_f > t}| / |F|`` over the IoU thresholds (``>=`` if not strict);
  its AUC (the "success score") is its mean or its trapezoid area (:class:`Protocol` ``auc``);
* precision curve ``P(d) = |{f : ||c_f - c*_f|| <= d}| / |F|`` over centre-error thresholds in pixels,
  reported at 20 px;
* normalised precision: the same with the centre difference divided by the ground-truth size,
  ``((cx - cx*) / w*, (cy - cy*) / h*)``, over 0..0.5, reported at 0.2 and as its mean (AUC);
* AO = mean IoU; SR_t / OP_t = fraction of frames with IoU above t (0.5 and 0.75).

Every convention (which frames count, how IoU is measured, strictness, averaging) comes from the
:class:`~siamtrack.evaluation.protocol.Protocol`. All functions are vectorised over frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siamtrack.evaluation.overlap import overlaps
from siamtrack.evaluation.protocol import Protocol, get_protocol
from siamtrack.geometry import as_boxes, box_to_center


@dataclass
class FrameScores:
    """Per-frame scores of one run over the frames its protocol evaluates."""

    ious: np.ndarray
    center_errors: np.ndarray
    normalized_center_errors: np.ndarray

    def __len__(self) -> int:
        return len(self.ious)

    @staticmethod
    def concatenate(parts: list[FrameScores]) -> FrameScores:
        return FrameScores(
            *(
                np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0)
                for name in ("ious", "center_errors", "normalized_center_errors")
            )
        )


def invalid_boxes(boxes: np.ndarray) -> np.ndarray:
    """Rows that are NaN or have a non-positive width or height."""
    with np.errstate(invalid="ignore"):
        return np.isnan(boxes).any(axis=1) | ~(boxes[:, 2] > 0) | ~(boxes[:, 3] > 0)


def frame_scores(
    predictions,
    ground_truth,
    protocol: Protocol | str,
    absent=None,
    image_size=None,
    frame_mask=None,
    polygons=None,
    source: str = "predictions",
) -> FrameScores:
    """IoU and centre errors of one run on the frames ``protocol`` scores.

    Args:
        predictions: ``(N, 4)`` predicted boxes, row 0 on the initial frame.
        ground_truth: ``(N, 4)`` ground-truth boxes of the same frames.
        absent: ``(N,)`` bool, frames where the target is not visible (counted as invalid ground truth).
        image_size: ``(width, height)``, needed by ``clip_to_image`` and raster overlaps.
        frame_mask: ``(N,)`` bool, keep only these frames (per-frame attribute tags); the protocol's own
            exclusions still apply.
        polygons: ``(N, 2k)`` polygon ground truth, used by raster overlaps when ``protocol.use_polygons``.
        source: named in the error raised when the lengths differ (e.g. the result file).
    """
    protocol = get_protocol(protocol)
    predictions = as_boxes(predictions).copy()
    ground_truth = as_boxes(ground_truth)
    if len(predictions) != len(ground_truth):
        raise ValueError(f"{source}: {len(predictions)} predicted boxes for {len(ground_truth)} ground-truth frames")
    count = len(ground_truth)
    invalid_truth = invalid_boxes(ground_truth)
    if absent is not None:
        invalid_truth |= np.asarray(absent, dtype=bool)
    if count and protocol.first_frame == "force_ground_truth":
        predictions[0] = ground_truth[0]
    if protocol.invalid_prediction == "previous":
        # OTB/LaSOT calcSeqErrRobust: an invalid prediction takes the previous frame's (after replacement)
        replace = invalid_boxes(predictions) & ~np.isnan(ground_truth).any(axis=1)
        replace[:1] = False
        source_index = np.maximum.accumulate(np.where(replace, 0, np.arange(count)))
        predictions = predictions[source_index]

    ious = overlaps(
        predictions,
        ground_truth,
        protocol.overlap,
        image_size=image_size,
        clip_to_image=protocol.clip_to_image,
        polygons=polygons if protocol.use_polygons else None,
    )
    ious = np.nan_to_num(ious, nan=0.0)  # an IoU that cannot be computed is a miss (0)
    centers, true_centers = box_to_center(predictions), box_to_center(ground_truth)
    delta = centers[:, :2] - true_centers[:, :2]
    with np.errstate(invalid="ignore", divide="ignore"):
        errors = np.hypot(delta[:, 0], delta[:, 1])
        normalized = np.hypot(delta[:, 0] / ground_truth[:, 2], delta[:, 1] / ground_truth[:, 3])
    errors = np.nan_to_num(errors, nan=np.inf)  # NaN never passes a threshold
    normalized = np.nan_to_num(normalized, nan=np.inf, posinf=np.inf)

    keep = np.ones(count, dtype=bool)
    if protocol.first_frame == "exclude":
        keep[:1] = False
    if protocol.invalid_ground_truth == "skip":
        keep &= ~invalid_truth
    if frame_mask is not None:
        frame_mask = np.asarray(frame_mask, dtype=bool)
        if frame_mask.shape != (count,):
            raise ValueError(f"{source}: frame mask of shape {frame_mask.shape} for {count} frames")
        keep &= frame_mask
    return FrameScores(ious[keep], errors[keep], normalized[keep])


@dataclass
class OPEScores:
    """Curves and scores of one sequence, or of a whole dataset."""

    success_curve: np.ndarray
    precision_curve: np.ndarray
    normalized_precision_curve: np.ndarray
    auc: float
    precision: float
    normalized_precision: float
    normalized_precision_auc: float
    ao: float
    sr50: float
    sr75: float
    num_frames: int
    num_sequences: int = 1

    def summary(self) -> dict:
        """Scalars only (for tables)."""
        return {
            key: getattr(self, key)
            for key in (
                "auc",
                "precision",
                "normalized_precision",
                "normalized_precision_auc",
                "ao",
                "sr50",
                "sr75",
                "num_frames",
                "num_sequences",
            )
        }

    def to_dict(self) -> dict:
        out = self.summary()
        for key in ("success_curve", "precision_curve", "normalized_precision_curve"):
            out[key] = getattr(self, key).tolist()
        return out


def _fraction_above(values: np.ndarray, thresholds: np.ndarray, strict: bool) -> np.ndarray:
    """Fraction of ``values`` ``> t`` (strict) or ``>= t`` for each threshold (sorting, then bisection:
    the same comparisons as a ``(frames, thresholds)`` table, without building it)."""
    ordered = np.sort(values)
    return (len(ordered) - np.searchsorted(ordered, thresholds, side="right" if strict else "left")) / len(ordered)


def _fraction_at_most(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of ``values`` ``<= t`` for each threshold."""
    ordered = np.sort(values)
    return np.searchsorted(ordered, thresholds, side="right") / len(ordered)


def _curve_area(curve: np.ndarray, thresholds: np.ndarray, rule: str) -> float:
    if rule == "mean":
        return float(np.mean(curve))
    span = thresholds[-1] - thresholds[0]
    return float(np.sum((curve[1:] + curve[:-1]) * np.diff(thresholds)) / 2.0 / span)


def scores_from_frames(frames: FrameScores, protocol: Protocol | str, name: str = "run") -> OPEScores:
    """Curves and scores over the frames of ``frames`` (one sequence, or frames pooled over several)."""
    protocol = get_protocol(protocol)
    if len(frames) == 0:
        raise ValueError(
            f"{name}: no frame to evaluate under protocol {protocol.name!r} "
            "(every frame is excluded or has invalid ground truth)"
        )
    thresholds = protocol.success_threshold_values
    success = _fraction_above(frames.ious, thresholds, protocol.success_strict)
    precision = _fraction_at_most(frames.center_errors, protocol.precision_thresholds)
    normalized = _fraction_at_most(frames.normalized_center_errors, protocol.normalized_precision_thresholds)
    op = _fraction_above(frames.ious, np.array([0.5, 0.75]), protocol.success_strict)
    return OPEScores(
        success_curve=success,
        precision_curve=precision,
        normalized_precision_curve=normalized,
        auc=_curve_area(success, thresholds, protocol.auc),
        precision=float(precision[protocol.precision_at]),
        normalized_precision=float(normalized[protocol.normalized_precision_index]),
        normalized_precision_auc=float(np.mean(normalized)),
        ao=float(np.mean(frames.ious)),
        sr50=float(op[0]),
        sr75=float(op[1]),
        num_frames=len(frames),
    )


def average_scores(
    per_sequence: list[OPEScores], protocol: Protocol | str, frames: list[FrameScores] | None = None
) -> OPEScores:
    """Dataset scores: the equal-weight mean over sequences, or (``average_over="frames"``) the scores of
    all frames pooled, which needs ``frames``."""
    protocol = get_protocol(protocol)
    if not per_sequence:
        raise ValueError("no sequence to average")
    if protocol.average_over == "frames":
        if frames is None:
            raise ValueError(f"protocol {protocol.name!r} pools frames: pass the per-sequence FrameScores")
        pooled = scores_from_frames(FrameScores.concatenate(frames), protocol, name="all sequences")
        pooled.num_sequences = len(per_sequence)
        return pooled
    success = np.mean([s.success_curve for s in per_sequence], axis=0)
    precision = np.mean([s.precision_curve for s in per_sequence], axis=0)
    normalized = np.mean([s.normalized_precision_curve for s in per_sequence], axis=0)
    return OPEScores(
        success_curve=success,
        precision_curve=precision,
        normalized_precision_curve=normalized,
        auc=_curve_area(success, protocol.success_threshold_values, protocol.auc),
        precision=float(precision[protocol.precision_at]),
        normalized_precision=float(normalized[protocol.normalized_precision_index]),
        normalized_precision_auc=float(np.mean(normalized)),
        ao=float(np.mean([s.ao for s in per_sequence])),
        sr50=float(np.mean([s.sr50 for s in per_sequence])),
        sr75=float(np.mean([s.sr75 for s in per_sequence])),
        num_frames=int(sum(s.num_frames for s in per_sequence)),
        num_sequences=len(per_sequence),
    )


def sequence_fps(times, protocol: Protocol | str) -> float:
    """Frames per second of one run from its per-frame seconds (NaN and non-positive entries ignored);
    NaN where no frame was timed. ``protocol.speed`` picks the mean of ``1/t`` or frames / total time."""
    protocol = get_protocol(protocol)
    times = np.asarray(times, dtype=np.float64).ravel()
    with np.errstate(invalid="ignore"):
        times = times[np.isfinite(times) & (times > 0)]
    if len(times) == 0:
        return float("nan")
    if protocol.speed == "mean_frame_rate":
        return float(np.mean(1.0 / times))
    return float(len(times) / np.sum(times))


def overall_fps(per_sequence_times: list[np.ndarray], protocol: Protocol | str) -> float:
    """Dataset speed; NaN when nothing was timed. ``mean_frame_rate``: the mean of the sequences' fps over
    the timed sequences (got10k ExperimentOTB), or of ``1/t`` over all timed frames when the protocol pools
    frames (ExperimentGOT10k). ``total_time``: all timed frames / all seconds."""
    protocol = get_protocol(protocol)
    if protocol.speed == "mean_frame_rate" and protocol.average_over == "sequences":
        rates = [sequence_fps(t, protocol) for t in per_sequence_times]
        rates = [r for r in rates if np.isfinite(r)]
        return float(np.mean(rates)) if rates else float("nan")
    timed = [np.asarray(t, dtype=np.float64).ravel() for t in per_sequence_times]
    return sequence_fps(np.concatenate(timed) if timed else np.zeros(0), protocol)
