"""Benchmark evaluation: run trackers into result files, score result files under a named protocol, report.

Result files are the contract (:mod:`.results`); :class:`Protocol` presets (``otb``, ``got10k``,
``got10k_benchmark``, ``pysot``, ``lasot``, ``vot``, ``vot2015``..``vot2018``) hold every convention the
reference toolkits disagree on.
"""

from siamtrack.evaluation.evaluate import evaluate_one_pass, evaluate_supervised
from siamtrack.evaluation.metrics import FrameScores, OPEScores, average_scores, frame_scores, scores_from_frames
from siamtrack.evaluation.overlap import overlaps, raster_overlaps
from siamtrack.evaluation.protocol import EAO_INTERVALS, PRESETS, Protocol, get_protocol
from siamtrack.evaluation.report import build_report, markdown, write_report
from siamtrack.evaluation.results import ResultFileError
from siamtrack.evaluation.runner import TrackerFactory, run_one_pass, run_supervised, supervised_run
from siamtrack.evaluation.supervised import FrameState, RealtimeClock, SupervisedRun, eao_curve, eao_score
from siamtrack.evaluation.tre_sre import SRE_SHIFTS, sre_initial_boxes, tre_start_frames

__all__ = [
    "EAO_INTERVALS",
    "FrameScores",
    "FrameState",
    "OPEScores",
    "PRESETS",
    "Protocol",
    "RealtimeClock",
    "ResultFileError",
    "SRE_SHIFTS",
    "SupervisedRun",
    "TrackerFactory",
    "average_scores",
    "build_report",
    "eao_curve",
    "eao_score",
    "evaluate_one_pass",
    "evaluate_supervised",
    "frame_scores",
    "get_protocol",
    "markdown",
    "overlaps",
    "raster_overlaps",
    "run_one_pass",
    "run_supervised",
    "scores_from_frames",
    "sre_initial_boxes",
    "supervised_run",
    "tre_start_frames",
    "write_report",
]
