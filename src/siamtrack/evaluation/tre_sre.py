"""OTB robustness experiments (Wu et al., "Object Tracking Benchmark", TPAMI 2015, Sec. 4.2).

* TRE (temporal robustness): each sequence is split into 20 segments; the tracker starts on the first
  frame of each, from its ground truth, and runs to the end of the sequence (``splitSeqTRE.m``).
* SRE (spatial robustness): the tracker starts on the first frame from 12 perturbed boxes — 8 shifts by
  10 % of the target size (4 of the centre: left, right, up, down; 4 of a corner: top-left, top-right,
  bottom-left, bottom-right, which move one corner outwards and keep the opposite one) and 4 scalings
  by 0.8, 0.9, 1.1, 1.2 about the centre (``shiftInitBB.m``).

Each run is scored on its own frames (its first frame forced to the ground truth under the ``otb`` preset);
a sequence's TRE/SRE curve pools the frames of its runs, as OTB's ``perfPlot.m`` sums success counts over
the runs before dividing by their total length.
"""

from __future__ import annotations

import numpy as np

from siamtrack.geometry import one_based_to_zero_based, zero_based_to_one_based

TRE_SEGMENTS = 20
TRE_MIN_LENGTH = 20  # a segment leaves at least this many frames to track (``minNum``)
SRE_SHIFTS = (
    "left",
    "right",
    "up",
    "down",
    "topLeft",
    "topRight",
    "bottomLeft",
    "bottomRight",
    "scale_8",
    "scale_9",
    "scale_11",
    "scale_12",
)


def _matlab_round(values):
    """MATLAB's ``round``: halves away from zero."""
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def tre_start_frames(
    ground_truth,
    absent=None,
    omit: list[tuple[int, int]] = (),
    segments: int = TRE_SEGMENTS,
    min_length: int = TRE_MIN_LENGTH,
) -> list[int]:
    """0-based start frames of the TRE runs of one sequence (OTB ``splitSeqTRE.m``).

    Candidate frames are those with a usable ground truth — finite, ``w, h > 0`` and ``x, y > -1`` (OTB's
    1-based ``x, y > 0``), not absent, not inside an ``omit`` range (0-based inclusive ``(first, last)``,
    OTB's ``initOmit`` files; runners take them from ``Sequence.metadata["tre_omit"]``) — that leave at
    least ``min_length`` frames. With E such candidates the runs start on the candidates numbered
    ``floor(1 + k E / (segments - 1))`` (k = 0, 1, ... while <= E) and on the E-th (1-based numbers);
    short sequences may repeat a start frame, as in OTB.
    """
    boxes = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    count = len(boxes)
    with np.errstate(invalid="ignore"):
        usable = (
            np.isfinite(boxes).all(axis=1)
            & (boxes[:, 0] > -1)
            & (boxes[:, 1] > -1)
            & (boxes[:, 2] > 0)
            & (boxes[:, 3] > 0)
        )
    if absent is not None:
        usable &= ~np.asarray(absent, dtype=bool)
    for first, last in omit:
        usable[first : last + 1] = False
    candidates = np.flatnonzero(usable)
    candidates = candidates[count - candidates >= min_length]
    if len(candidates) == 0:
        raise ValueError(f"no TRE start frame: no usable ground truth leaving {min_length} frames in {count}")
    last = len(candidates)  # E, the 1-based position of the last admissible candidate
    positions = [1 + (k * last) // (segments - 1) for k in range(segments) if k * last <= (last - 1) * (segments - 1)]
    positions.append(last)
    return [int(candidates[p - 1]) for p in positions]


def sre_initial_boxes(box, image_size) -> list[np.ndarray]:
    """The 12 perturbed initial boxes (0-based ``x, y, w, h``) of :data:`SRE_SHIFTS`, computed in OTB's
    1-based pixel convention with MATLAB rounding and clamped to the image ``(width, height)``."""
    width, height = image_size
    x, y, w, h = zero_based_to_one_based(np.asarray(box, dtype=np.float64))
    out = []
    for shift in SRE_SHIFTS:
        r = np.array([x, y, w, h])
        right, bottom = x + w - 1, y + h - 1
        if shift.startswith("scale_"):
            ratio = int(shift.split("_")[1]) / 10.0
            cx, cy = x + w / 2, y + h / 2
            r = _matlab_round([cx - ratio * w / 2, cy - ratio * h / 2, ratio * w, ratio * h])
        elif shift in ("left", "right"):
            r[0] += (-1 if shift == "left" else 1) * np.ceil(0.1 * w)
        elif shift in ("up", "down"):
            r[1] += (-1 if shift == "up" else 1) * np.ceil(0.1 * h)
        else:
            left, top = x, y
            if shift.startswith("top"):
                top = _matlab_round(y - 0.1 * h)
            else:
                bottom = _matlab_round(bottom + 0.1 * h)
            if shift.endswith("Left"):
                left = _matlab_round(x - 0.1 * w)
            else:
                right = _matlab_round(right + 0.1 * w)
            r = np.array([left, top, right - left + 1, bottom - top + 1], dtype=np.float64)
        r[0], r[1] = max(r[0], 1.0), max(r[1], 1.0)
        if r[0] + r[2] - 1 > width:
            r[2] = width - r[0] + 1
        if r[1] + r[3] - 1 > height:
            r[3] = height - r[1] + 1
        out.append(one_based_to_zero_based(r))
    return out


def one_pass_runs(sequence, experiment: str) -> list[tuple[int, str]]:
    """``(0-based start frame, run name)`` of each run of ``sequence`` (a :class:`~siamtrack.data.Sequence`) in a
    one-pass ``experiment``: ``ope`` one run named after the sequence; ``tre`` one per
    :func:`tre_start_frames` (``Sequence.metadata["tre_omit"]`` honoured), ``sre`` one per :data:`SRE_SHIFTS`,
    named ``<sequence>_001`` ... The one list of the runs that the runner writes and the scorer reads."""
    if experiment == "ope":
        return [(0, sequence.name)]
    if experiment == "tre":
        starts = tre_start_frames(sequence.ground_truth, sequence.absent, omit=sequence.metadata.get("tre_omit", ()))
        return [(start, f"{sequence.name}_{k:03d}") for k, start in enumerate(starts, 1)]
    if experiment == "sre":
        return [(0, f"{sequence.name}_{k:03d}") for k in range(1, len(SRE_SHIFTS) + 1)]
    raise ValueError(f"unknown one-pass experiment {experiment!r} (ope, tre, sre)")
