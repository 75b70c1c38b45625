"""The runner: got10k layout, atomic writes, resuming, worker processes, TRE/SRE runs, factories."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

from siamtrack.evaluation import evaluate_one_pass, sre_initial_boxes, tre_start_frames
from siamtrack.evaluation.results import ResultFileError, ope_paths, read_boxes, read_times
from siamtrack.evaluation.runner import TrackerFactory, as_factory, run_one_pass
from test_eval_support import OracleTracker, oracle_sequence


def _sequences(count=3, length=25):
    out = []
    for index in range(count):
        rng = np.random.default_rng(index)
        centre = 100 + np.cumsum(rng.normal(0, 2, (length, 2)), axis=0)
        truth = np.hstack([centre - 15, np.full((length, 2), 30.0)])
        out.append(oracle_sequence(f"seq{index}", truth, 320, 240, attributes=("IV",) if index else ("OCC",)))
    return out


class _GroundTruthTracker:
    """Picklable per-run factory: an oracle for whichever sequence it is initialised on (looked up by
    the init box), failing on purpose on the sequence named ``fail_on``."""

    def __init__(self, sequences, fail_on=None):
        self.truths = {s.name: s.ground_truth for s in sequences}
        self.fail_on = fail_on

    def __call__(self):
        return _Dispatch(self.truths, self.fail_on)


class _Dispatch:
    def __init__(self, truths, fail_on):
        self.truths, self.fail_on, self.tracker = truths, fail_on, None

    def init(self, image, box):
        for name, truth in self.truths.items():
            if np.allclose(truth[0], box):
                if name == self.fail_on:
                    raise RuntimeError(f"deliberate failure on {name}")
                self.tracker = OracleTracker(truth, drift=(0.5, 0, 0, 0))
        self.tracker.init(image, box)

    def update(self, image):
        return self.tracker.update(image)


def test_one_pass_writes_the_got10k_layout(tmp_path):
    sequences = _sequences()
    written = run_one_pass(_GroundTruthTracker(sequences), sequences, tmp_path, "oracle", progress=False)
    assert len(written) == 3
    for sequence in sequences:
        boxes_path, times_path = ope_paths(tmp_path, "oracle", sequence.name)
        assert boxes_path == tmp_path / "oracle" / f"{sequence.name}.txt"
        assert times_path == tmp_path / "oracle" / "times" / f"{sequence.name}_time.txt"
        boxes = read_boxes(boxes_path, expected_length=len(sequence))
        expected = sequence.ground_truth + np.outer(np.arange(len(sequence)), [0.5, 0, 0, 0])
        np.testing.assert_allclose(boxes, expected, atol=5e-5)  # written with 4 decimals
        times = read_times(times_path, expected_length=len(sequence))
        assert (times > 0).all()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_interrupted_run_resumes_without_recomputing(tmp_path):
    sequences = _sequences()
    with pytest.raises(RuntimeError, match=r"1 of 3 runs failed; first: .*seq1.txt: RuntimeError: deliberate"):
        run_one_pass(_GroundTruthTracker(sequences, fail_on="seq1"), sequences, tmp_path, "oracle", progress=False)
    done = {p.name for p in (tmp_path / "oracle").glob("*.txt")}
    assert done == {"seq0.txt", "seq2.txt"}  # the failed run left nothing, not even a partial file
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    before = {name: os.stat(tmp_path / "oracle" / name).st_mtime_ns for name in done}
    written = run_one_pass(_GroundTruthTracker(sequences), sequences, tmp_path, "oracle", progress=False)
    assert [os.path.basename(p) for p in written] == ["seq1.txt"]
    assert all(os.stat(tmp_path / "oracle" / name).st_mtime_ns == stamp for name, stamp in before.items())
    assert run_one_pass(_GroundTruthTracker(sequences), sequences, tmp_path, "oracle", progress=False) == []


def test_worker_processes_write_the_same_results(tmp_path):
    sequences = _sequences(count=4, length=15)
    run_one_pass(_GroundTruthTracker(sequences), sequences, tmp_path / "serial", "oracle", progress=False)
    written = run_one_pass(
        _GroundTruthTracker(sequences), sequences, tmp_path / "parallel", "oracle", workers=2, progress=False
    )
    assert len(written) == 4
    for sequence in sequences:
        serial = read_boxes(ope_paths(tmp_path / "serial", "oracle", sequence.name)[0])
        parallel = read_boxes(ope_paths(tmp_path / "parallel", "oracle", sequence.name)[0])
        np.testing.assert_array_equal(serial, parallel)


def test_tre_start_frames_follow_otb():
    truth = np.tile([5.0, 5.0, 10.0, 10.0], (100, 1))
    starts = tre_start_frames(truth)
    # 81 admissible frames (0..80 leave >= 20 frames): candidates floor(1 + 81 k / 19), k = 0..18, and 81
    assert starts == [(81 * k) // 19 for k in range(19)] + [80]
    assert len(starts) == 20 and starts[0] == 0
    truth[:3] = np.nan  # unusable first frames and an omitted range move the starts
    starts = tre_start_frames(truth, omit=[(40, 59)])
    assert starts[0] == 3 and not any(40 <= s <= 59 for s in starts) and starts[-1] == 80
    with pytest.raises(ValueError, match="no TRE start frame"):
        tre_start_frames(truth[:10])


def test_sre_boxes_follow_otb_shift_init_bb():
    boxes = sre_initial_boxes([10.0, 20.0, 40.0, 30.0], (200, 100))
    expected = {
        "left": [6, 20, 40, 30],
        "right": [14, 20, 40, 30],
        "up": [10, 17, 40, 30],
        "down": [10, 23, 40, 30],
        "topLeft": [6, 17, 44, 33],
        "topRight": [10, 17, 44, 33],
        "bottomLeft": [6, 20, 44, 33],
        "bottomRight": [10, 20, 44, 33],
        "scale_8": [14, 23, 32, 24],
        "scale_9": [12, 22, 36, 27],
        "scale_11": [8, 19, 44, 33],
        "scale_12": [6, 17, 48, 36],
    }
    for box, (name, values) in zip(boxes, expected.items()):
        np.testing.assert_allclose(box, values, err_msg=name)
    clamped = sre_initial_boxes([0.0, 0.0, 40.0, 30.0], (43, 32))
    np.testing.assert_allclose(clamped[0], [0, 0, 40, 30])  # "left" clamped to the first column
    np.testing.assert_allclose(clamped[7], [0, 0, 43, 32])  # "bottomRight" clamped to the image


def test_tre_and_sre_runs_are_scored_per_run(tmp_path):
    sequences = _sequences(count=2, length=60)
    for experiment in ("tre", "sre"):
        for sequence in sequences:  # an oracle reproducing the ground truth of the frames it is given
            run_one_pass(
                functools.partial(OracleTracker, sequence.ground_truth),
                [sequence],
                tmp_path,
                "gt",
                experiment=experiment,
                progress=False,
            )
    tre_files = sorted((tmp_path / "gt" / "tre").glob("seq0_*.txt"))
    assert len(tre_files) == 20 and len(read_boxes(tre_files[-1])) == 20
    assert len(list((tmp_path / "gt" / "sre").glob("seq1_*.txt"))) == 12
    for experiment in ("tre", "sre"):
        result = evaluate_one_pass(tmp_path, "gt", sequences, "otb", experiment)
        # the tracker reproduces the ground truth, and frame 0 of every run is forced to it
        assert result["overall"]["auc"] == pytest.approx(20 / 21)
        assert result["per_sequence"]["seq0"]["num_frames"] == (
            sum(60 - s for s in tre_start_frames(sequences[0].ground_truth)) if experiment == "tre" else 12 * 60
        )
        assert set(result["per_attribute"]) == {"IV", "OCC"}


def test_factories():
    truth = np.ones((3, 4))
    built = TrackerFactory("test_eval_support:OracleTracker", {"ground_truth": truth, "constant": True})()
    assert isinstance(built, OracleTracker) and built.constant
    assert isinstance(as_factory(("test_eval_support.OracleTracker", {"ground_truth": truth}))(), OracleTracker)
    assert as_factory(functools.partial(OracleTracker, truth))().truth.shape == (3, 4)
    with pytest.raises(ValueError, match="cannot import tracker target 'no_such_module:Thing'"):
        TrackerFactory("no_such_module:Thing")()
    with pytest.raises(ValueError, match="must be \\(dotted path, kwargs\\)"):
        as_factory(("a", "b", "c"))


def test_bad_result_files_name_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1,2,3,4\n1,2,x,4\n")
    with pytest.raises(ResultFileError, match=r"bad.txt:2: cannot read '1,2,x,4'"):
        read_boxes(path)
    path.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ResultFileError, match=r"bad.txt:2: expected 4 values"):
        read_boxes(path)
    path.write_text("1,2,3,4\n")
    with pytest.raises(ResultFileError, match=r"bad.txt: 1 boxes, expected 5"):
        read_boxes(path, expected_length=5)
    with pytest.raises(ResultFileError, match="result file not found"):
        read_boxes(tmp_path / "missing.txt")
