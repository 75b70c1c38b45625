"""The ``got10k`` preset reproduces the got10k toolkit's ``ExperimentOTB.report`` on the same files.

Result files are produced by siamtrack's own runner (deterministic oracle trackers on real ground truth,
one sequence of which has NaN rows), then scored twice: by ``evaluate_one_pass(..., "got10k")`` and by
``got10k.experiments.ExperimentOTB.report`` reading the same folder.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

from siamtrack.evaluation import evaluate_one_pass, get_protocol
from siamtrack.evaluation.runner import run_one_pass
from test_eval_support import OracleTracker, real_oracle_sequences

os.environ.setdefault("MPLBACKEND", "Agg")
got10k_otb = pytest.importorskip("got10k.experiments.otb")


class _Dataset:
    """The two things ``ExperimentOTB.report`` uses of its dataset: ``seq_names`` and ``(frames, anno)``."""

    def __init__(self, sequences):
        self.seq_names = [s.name for s in sequences]
        self._annos = [s.ground_truth.copy() for s in sequences]

    def __len__(self):
        return len(self._annos)

    def __getitem__(self, index):
        return [], self._annos[index].copy()

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class _Experiment(got10k_otb.ExperimentOTB):
    def __init__(self, sequences, result_dir, report_dir):  # no download: the dataset is given
        self.dataset = _Dataset(sequences)
        self.result_dir, self.report_dir = str(result_dir), str(report_dir)
        self.nbins_iou, self.nbins_ce = 21, 51


def _trackers(sequences):
    """name -> per-sequence factories (the oracle needs each sequence's ground truth)."""
    return {
        "drift": lambda s: functools.partial(OracleTracker, s.ground_truth, drift=(0.7, -0.3, 0.05, 0.02)),
        "noisy": lambda s: functools.partial(OracleTracker, s.ground_truth, noise=4.0, seed=7),
        "constant": lambda s: functools.partial(OracleTracker, s.ground_truth, constant=True),
        "nan_gaps": lambda s: functools.partial(OracleTracker, s.ground_truth, noise=1.5, seed=3, nan_every=9),
    }


@pytest.fixture(scope="module")
def otb_results(tmp_path_factory):
    sequences = real_oracle_sequences("otb")
    root = tmp_path_factory.mktemp("results")
    for name, make in _trackers(sequences).items():
        for sequence in sequences:
            run_one_pass(make(sequence), [sequence], root, name, progress=False)
    return sequences, root


def test_got10k_preset_equals_experiment_otb_report(otb_results, tmp_path):
    sequences, root = otb_results
    assert any(np.isnan(s.ground_truth).any() for s in sequences), "one sequence must have NaN ground truth"
    names = list(_trackers(sequences))
    performance = _Experiment(sequences, root, tmp_path / "reports").report(names)
    protocol = get_protocol("got10k")
    for name in names:
        ours = evaluate_one_pass(root, name, sequences, protocol)
        theirs = performance[name]
        assert ours["overall"]["auc"] == pytest.approx(theirs["overall"]["success_score"], abs=1e-9)
        assert ours["overall"]["precision"] == pytest.approx(theirs["overall"]["precision_score"], abs=1e-9)
        assert ours["overall"]["sr50"] == pytest.approx(theirs["overall"]["success_rate"], abs=1e-9)
        assert ours["overall"]["fps"] == pytest.approx(theirs["overall"]["speed_fps"], rel=1e-9)
        np.testing.assert_allclose(ours["overall"]["success_curve"], theirs["overall"]["success_curve"], atol=1e-9)
        np.testing.assert_allclose(ours["overall"]["precision_curve"], theirs["overall"]["precision_curve"], atol=1e-9)
        for sequence in sequences:
            mine, reference = ours["per_sequence"][sequence.name], theirs["seq_wise"][sequence.name]
            assert mine["auc"] == pytest.approx(reference["success_score"], abs=1e-9)
            assert mine["precision"] == pytest.approx(reference["precision_score"], abs=1e-9)
            assert mine["sr50"] == pytest.approx(reference["success_rate"], abs=1e-9)
            assert mine["fps"] == pytest.approx(reference["speed_fps"], rel=1e-9)


def test_presets_differ_where_the_toolkits_do(otb_results):
    """On the same files: ``otb`` replaces NaN predictions by the previous box (got10k scores them 0),
    ``pysot`` scores the file's first row instead of forcing the ground truth."""
    sequences, root = otb_results
    got10k = evaluate_one_pass(root, "nan_gaps", sequences, "got10k")["overall"]
    otb = evaluate_one_pass(root, "nan_gaps", sequences, "otb")["overall"]
    assert otb["auc"] > got10k["auc"] + 0.01
    same = evaluate_one_pass(root, "noisy", sequences, "otb")["overall"]
    assert same["auc"] == pytest.approx(
        evaluate_one_pass(root, "noisy", sequences, "got10k")["overall"]["auc"], abs=1e-12
    )


def test_got10k_benchmark_preset_equals_experiment_got10k(otb_results):
    """AO / SR0.5 / 101-point success curve / speed of ``ExperimentGOT10k``: frame 0 dropped, boxes clipped
    to the image (``rect_iou(..., bound=resolution)``), absent frames (``cover == 0``) dropped, all frames
    of all sequences pooled. (A NaN prediction gives got10k a NaN AO; the tracker with NaN gaps is left out.)"""
    from got10k.experiments.got10k import ExperimentGOT10k
    from got10k.utils.metrics import rect_iou
    from siamtrack.evaluation.results import ope_paths, read_times

    sequences, root = otb_results
    experiment = ExperimentGOT10k.__new__(ExperimentGOT10k)  # only its _evaluate is used: no dataset needed
    protocol = get_protocol("got10k_benchmark")
    for name in ("drift", "noisy", "constant"):
        ious, times = [], []
        for sequence in sequences:
            boxes_path, times_path = ope_paths(root, name, sequence.name)
            boxes = np.loadtxt(boxes_path, delimiter=",")
            bound = sequence.metadata["image_size"]
            seq_ious = rect_iou(boxes[1:].copy(), sequence.ground_truth[1:].copy(), bound=bound)
            ious.append(seq_ious[~sequence.absent[1:]])
            times.append(read_times(times_path))
        ao, sr, speed, curve = experiment._evaluate(np.concatenate(ious), np.concatenate(times))
        ours = evaluate_one_pass(root, name, sequences, protocol)["overall"]
        assert ours["ao"] == pytest.approx(ao, abs=1e-9)
        assert ours["sr50"] == pytest.approx(sr, abs=1e-9)
        assert ours["fps"] == pytest.approx(speed, rel=1e-9)
        np.testing.assert_allclose(ours["success_curve"], curve, atol=1e-9)
        assert ours["num_frames"] == sum(int((~s.absent[1:]).sum()) for s in sequences)
