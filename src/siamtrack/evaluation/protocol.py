"""Every metric convention the reference toolkits disagree on, in one frozen :class:`Protocol`.

Metric code reads these fields and nothing else: there is no ``if dataset == ...`` anywhere. A preset
reproduces one toolkit; :func:`get_protocol` looks presets up by name and ``dataclasses.replace`` derives
variants (``replace(get_protocol("otb"), success_thresholds=101)``).

Toolkits referred to below:

* **OTB** — Wu et al.'s MATLAB benchmark (``calcSeqErrRobust.m``, ``perfPlot.m``, ``splitSeqTRE.m``).
* **got10k** — the ``got10k`` Python toolkit 0.1.3: ``ExperimentOTB`` (also used for UAV123, TColor128,
  DTB70, NfS) and ``ExperimentGOT10k`` (the GOT-10k benchmark's own AO/SR protocol).
* **pysot** — ``pysot/toolkit`` (OPE benchmark for OTB/UAV/LaSOT, EAO and AR benchmarks for VOT).
* **LaSOT** — the LaSOT MATLAB toolkit (its ``calc_seq_err_robust.m``).
* **vot-toolkit** — the Python vot-toolkit 0.9 (``vot.analysis.supervised``, ``vot.region.raster``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property

import numpy as np

OVERLAPS = ("continuous", "plus_one", "raster")
FIRST_FRAME = ("force_ground_truth", "as_is", "exclude")
INVALID_GROUND_TRUTH = ("fail", "skip")
INVALID_PREDICTION = ("fail", "previous")
AUC = ("mean", "trapezoid")
AVERAGE_OVER = ("sequences", "frames")
SPEED = ("mean_frame_rate", "total_time")

# EAO intervals [low, high] of the VOT challenges (Kristan et al., VOT2015-VOT2018 results papers).
EAO_INTERVALS = {
    "vot2015": (108, 371),
    "vot2016": (108, 371),
    "vot2017": (100, 356),
    "vot2018": (100, 356),
}


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Protocol:
    """The conventions of one evaluation toolkit.

    One-pass (OPE/TRE/SRE, GOT-10k, LaSOT) fields:

    overlap:
        How the IoU of a predicted and a ground-truth box is measured. ``"continuous"``: the area of
        continuous ``x, y, w, h`` boxes (got10k ``rect_iou``, pysot ``overlap_ratio``, pytracking; OTB's
        ``calcRectInt`` uses ``x2 = x + w - 1`` *and* ``+1``, which is algebraically the same).
        ``"plus_one"``: inclusive corners, a box spans ``w + 1`` pixels (several MATLAB-derived scripts).
        ``"raster"``: the vot-toolkit's pixel masks — regions rounded to whole pixels, rasterised inside the
        image and counted (:func:`siamtrack.evaluation.overlap.raster_overlaps`).
    clip_to_image:
        Clip both boxes to the image before the IoU (got10k ``ExperimentGOT10k`` passes ``bound=resolution``;
        raster overlaps are always bounded by the image).
    use_polygons:
        Raster overlaps compare with the sequence's polygon ground truth where it has one (the VOT toolkits:
        vot-toolkit, pysot's VOT benchmarks) instead of its axis-aligned box; continuous overlaps always use
        the box.
    first_frame:
        ``"force_ground_truth"``: the prediction on frame 0 is replaced by the ground truth and counted
        (OTB ``rectMat(1,:) = rect_anno(1,:)``, got10k ``boxes[0] = anno[0]``, LaSOT). ``"as_is"``: the
        result file's first row is scored as written (pysot; trackers write the initial box there).
        ``"exclude"``: frame 0 is not scored (GOT-10k ``ious[1:]``).
    invalid_ground_truth:
        Frames whose ground truth is NaN, marked absent, or has ``w <= 0`` or ``h <= 0``. ``"fail"``: they
        stay in the denominator and count as misses wherever the IoU/centre error cannot be computed (got10k:
        NaN never passes ``>``/``<=``; pysot: IoU -1; OTB: overlap -1 — OTB also sets the centre error to -1,
        which *passes* every precision threshold; siamtrack counts it as a miss). ``"skip"``: they are
        removed (LaSOT toolkit, GOT-10k ``cover > 0``).
    invalid_prediction:
        Predictions that are NaN or have ``w <= 0`` / ``h <= 0``. ``"fail"``: scored as they are (a NaN box
        misses everything; got10k, pysot). ``"previous"``: replaced by the previous frame's prediction where
        the ground truth is not NaN (OTB and LaSOT ``calcSeqErrRobust``).
    success_thresholds:
        Number of IoU thresholds, evenly spaced over [0, 1]: 21 (OTB, got10k ExperimentOTB, pysot, LaSOT)
        or 101 (got10k ExperimentGOT10k's success curve).
    success_strict:
        ``True``: success at threshold t means IoU ``> t`` (every toolkit above; so the threshold 1.0 gives
        0 even for a perfect tracker and the ground truth against itself scores AUC 20/21). ``False``: ``>=``.
        Applies to OP50/OP75 (= SR0.5/SR0.75) as well.
    auc:
        ``"mean"``: the success score is the mean of the curve's points (OTB, got10k, pysot, LaSOT).
        ``"trapezoid"``: the trapezoid-rule area under the curve over [0, 1] (tends to AO as the number of
        thresholds grows).
    precision_max, precision_at:
        Centre-error thresholds are the integers ``0 .. precision_max`` pixels (51 points everywhere);
        precision is the curve at ``precision_at`` (20 px). Success is centre error ``<= t`` in every toolkit.
    normalized_precision_max, normalized_precision_steps, normalized_precision_at:
        Normalised centre error (the difference of centres divided by the ground-truth width and height,
        LaSOT/pysot) thresholds ``linspace(0, max, steps)`` (0..0.5 in 51 steps); the reported normalised
        precision is the curve at ``normalized_precision_at`` (0.2, pysot/pytracking); its mean over the
        thresholds is reported as ``normalized_precision_auc`` (LaSOT's ranking score).
    average_over:
        ``"sequences"``: per-sequence curves and scores are averaged with equal weight (OTB, got10k
        ExperimentOTB, pysot, LaSOT). ``"frames"``: all scored frames of all sequences are pooled (got10k
        ExperimentGOT10k concatenates the IoUs of every sequence before taking AO/SR).
    speed:
        ``"mean_frame_rate"``: a sequence's fps is the mean of ``1 / t`` over its frames with ``t > 0``
        (got10k; frame 0, the initialisation, included) and the overall fps is the mean over sequences that
        have timings (ExperimentOTB) or, when ``average_over="frames"``, the mean of ``1 / t`` over all
        frames (ExperimentGOT10k). ``"total_time"``: frames / seconds, over a sequence and over all sequences.

    Reset-based (VOT supervised, realtime) fields:

    reset_overlap:
        The overlap measure of the reset-based experiments (failure detection, accuracy, EAO); choices as
        for ``overlap``. The VOT toolkits (vot-toolkit, pysot's ``vot_overlap``) rasterise.
    failure_overlap:
        A frame is a failure when its overlap is ``<= failure_overlap`` (0: no overlap at all).
    skip_initialize:
        After a failure at frame f the tracker is re-initialised on frame ``f + skip_initialize`` (5).
    burnin:
        Accuracy ignores the ``burnin`` frames starting at each (re-)initialisation (10; the
        initialisation frame itself is one of them, as in ``vot.analysis.supervised.compute_accuracy``).
    eao_interval, eao_interval_one_based:
        The EAO score averages the EAO curve over sequence lengths ``[low, high]``, both inclusive. The curve
        entry ``curve[L]`` is the expected average overlap over the ``L`` frames that follow an
        initialisation (the initialisation frame itself is not averaged; vot-toolkit ``compute_eao_curve``
        and pysot ``calculate_expected_overlap`` agree on that). ``eao_interval_one_based=False`` averages
        ``curve[low .. high]`` (vot-toolkit ``EAOScore``: ``curve[low:high + 1]``); ``True`` averages
        ``curve[low - 1 .. high - 1]`` (pysot ``weight[low - 1:high]``, the MATLAB toolkit's 1-based index).
    robustness_sensitivity:
        The AR-plot robustness is ``exp(-sensitivity * failures / length)`` (vot-toolkit, 30).
    """

    name: str
    overlap: str = "continuous"
    clip_to_image: bool = False
    use_polygons: bool = False
    first_frame: str = "force_ground_truth"
    invalid_ground_truth: str = "fail"
    invalid_prediction: str = "fail"
    success_thresholds: int = 21
    success_strict: bool = True
    auc: str = "mean"
    precision_max: int = 50
    precision_at: int = 20
    normalized_precision_max: float = 0.5
    normalized_precision_steps: int = 51
    normalized_precision_at: float = 0.2
    average_over: str = "sequences"
    speed: str = "total_time"
    reset_overlap: str = "raster"
    failure_overlap: float = 0.0
    skip_initialize: int = 5
    burnin: int = 10
    eao_interval: tuple[int, int] = EAO_INTERVALS["vot2018"]
    eao_interval_one_based: bool = False
    robustness_sensitivity: float = 30.0

    def __post_init__(self):
        choices = {
            "overlap": OVERLAPS,
            "reset_overlap": OVERLAPS,
            "first_frame": FIRST_FRAME,
            "invalid_ground_truth": INVALID_GROUND_TRUTH,
            "invalid_prediction": INVALID_PREDICTION,
            "auc": AUC,
            "average_over": AVERAGE_OVER,
            "speed": SPEED,
        }
        for field_name, allowed in choices.items():
            value = getattr(self, field_name)
            if value not in allowed:
                raise ValueError(f"protocol {self.name!r}: {field_name}={value!r} is not one of {allowed}")
        if self.success_thresholds < 2:
            raise ValueError(f"protocol {self.name!r}: success_thresholds={self.success_thresholds} must be >= 2")
        if not 0 <= self.precision_at <= self.precision_max:
            raise ValueError(
                f"protocol {self.name!r}: precision_at={self.precision_at} is not one of the "
                f"thresholds 0..{self.precision_max}"
            )
        if not np.isclose(self.normalized_precision_thresholds, self.normalized_precision_at).any():
            raise ValueError(
                f"protocol {self.name!r}: normalized_precision_at={self.normalized_precision_at} "
                f"is not one of the thresholds {self.normalized_precision_thresholds.tolist()}"
            )
        low, high = self.eao_interval
        if not 0 <= low <= high:
            raise ValueError(f"protocol {self.name!r}: eao_interval={self.eao_interval} must satisfy 0 <= low <= high")
        if self.skip_initialize < 1 or self.burnin < 0:
            raise ValueError(
                f"protocol {self.name!r}: skip_initialize must be >= 1 and burnin >= 0, got "
                f"{self.skip_initialize} and {self.burnin}"
            )

    @cached_property
    def success_threshold_values(self) -> np.ndarray:
        """IoU thresholds ``linspace(0, 1, success_thresholds)`` (as got10k/pysot build them)."""
        return _read_only(np.linspace(0.0, 1.0, self.success_thresholds))

    @cached_property
    def precision_thresholds(self) -> np.ndarray:
        """Centre-error thresholds in pixels: ``0, 1, ..., precision_max``."""
        return _read_only(np.arange(0, self.precision_max + 1, dtype=np.float64))

    @cached_property
    def normalized_precision_thresholds(self) -> np.ndarray:
        """Normalised centre-error thresholds ``linspace(0, normalized_precision_max, steps)``."""
        return _read_only(np.linspace(0.0, self.normalized_precision_max, self.normalized_precision_steps))

    @property
    def normalized_precision_index(self) -> int:
        """Index of ``normalized_precision_at`` in :attr:`normalized_precision_thresholds`."""
        return int(np.argmin(np.abs(self.normalized_precision_thresholds - self.normalized_precision_at)))

    @property
    def eao_slice(self) -> slice:
        """The entries of the EAO curve the EAO score averages (see ``eao_interval_one_based``)."""
        low, high = self.eao_interval
        shift = 1 if self.eao_interval_one_based else 0
        return slice(low - shift, high - shift + 1)

    def describe(self) -> dict:
        """All fields as a JSON-ready dict (written next to every report)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


_OTB = Protocol(
    name="otb",
    overlap="continuous",
    first_frame="force_ground_truth",
    invalid_ground_truth="fail",
    invalid_prediction="previous",
    speed="total_time",
)

PRESETS: dict[str, Protocol] = {
    # Wu et al.'s OTB MATLAB toolkit; UAV123 and TC128 ship the same scripts.
    "otb": _OTB,
    # got10k ExperimentOTB (and its UAV123/DTB70/NfS/TColor128 subclasses).
    "got10k": replace(_OTB, name="got10k", invalid_prediction="fail", speed="mean_frame_rate"),
    # got10k ExperimentGOT10k: the GOT-10k benchmark's AO / SR0.5 / SR0.75 (val split; the server likewise).
    "got10k_benchmark": replace(
        _OTB,
        name="got10k_benchmark",
        clip_to_image=True,
        first_frame="exclude",
        invalid_ground_truth="skip",
        invalid_prediction="fail",
        success_thresholds=101,
        average_over="frames",
        speed="mean_frame_rate",
    ),
    # pysot toolkit: OPE as written in the result file; VOT EAO with the 1-based interval.
    "pysot": replace(
        _OTB,
        name="pysot",
        first_frame="as_is",
        invalid_prediction="fail",
        use_polygons=True,
        eao_interval_one_based=True,
    ),
    # LaSOT MATLAB toolkit: absent frames removed, invalid predictions replaced by the previous one.
    "lasot": replace(_OTB, name="lasot", invalid_ground_truth="skip"),
    # vot-toolkit 0.9 supervised (baseline) and realtime experiments; VOT2017/2018 interval.
    "vot": replace(_OTB, name="vot", overlap="raster", use_polygons=True, invalid_prediction="fail"),
}
for _year, _interval in EAO_INTERVALS.items():
    PRESETS[_year] = replace(PRESETS["vot"], name=_year, eao_interval=_interval)


def get_protocol(name: str | Protocol) -> Protocol:
    """The preset called ``name`` (a :class:`Protocol` is returned unchanged)."""
    if isinstance(name, Protocol):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; presets: {sorted(PRESETS)}") from None
