"""One-pass metrics and the Protocol presets: closed forms, edge cases, convention switches."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siamtrack.evaluation import PRESETS, Protocol, average_scores, frame_scores, get_protocol, scores_from_frames
from siamtrack.evaluation.metrics import overall_fps, sequence_fps
from siamtrack.evaluation.overlap import clip_boxes_to_image, overlaps


def _scores(predictions, truth, protocol, **kwargs):
    protocol = get_protocol(protocol)
    return scores_from_frames(frame_scores(predictions, truth, protocol, **kwargs), protocol)


def _track(count=40, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 200, (count, 2))
    wh = rng.uniform(10, 60, (count, 2))
    return np.hstack([xy, wh])


def test_ground_truth_against_itself_scores_20_of_21_under_otb():
    truth = np.round(_track())  # whole pixels: the IoU of a box with itself is exactly 1
    scores = _scores(truth, truth, "otb")
    assert scores.auc == pytest.approx(20 / 21, abs=1e-15)  # threshold 1.0: IoU 1 is not > 1
    assert scores.success_curve[-1] == 0 and np.all(scores.success_curve[:-1] == 1)
    assert scores.precision == 1 and scores.normalized_precision == 1 and scores.ao == pytest.approx(1, abs=1e-12)
    non_strict = _scores(truth, truth, replace(get_protocol("otb"), success_strict=False))
    assert non_strict.auc == 1.0
    trapezoid = _scores(truth, truth, replace(get_protocol("otb"), auc="trapezoid"))
    assert trapezoid.auc == pytest.approx(1 - 0.05 / 2, abs=1e-12)  # the last trapezoid is half


def test_half_overlap_is_a_success_only_at_and_below_its_threshold():
    truth = np.tile([0.0, 0.0, 10.0, 10.0], (4, 1))
    predictions = np.tile([0.0, 0.0, 10.0, 5.0], (4, 1))  # IoU exactly 0.5
    protocol = replace(get_protocol("otb"), first_frame="as_is")
    strict = _scores(predictions, truth, protocol)
    assert strict.sr50 == 0.0 and strict.success_curve[9] == 1.0 and strict.success_curve[10] == 0.0
    assert strict.auc == pytest.approx(10 / 21)
    loose = _scores(predictions, truth, replace(protocol, success_strict=False))
    assert loose.sr50 == 1.0 and loose.auc == pytest.approx(11 / 21)
    assert strict.ao == 0.5


def test_precision_counts_centre_errors_up_to_and_including_the_threshold():
    truth = np.tile([50.0, 50.0, 20.0, 40.0], (5, 1))
    shifts = np.array([0, 12, 20, 20.5, 45])  # centre errors: 0, 12, 20, 20.5, 45
    predictions = truth + np.outer(shifts, [1, 0, 0, 0])
    scores = _scores(predictions, truth, replace(get_protocol("otb"), first_frame="as_is"))
    assert scores.precision == pytest.approx(3 / 5)
    assert scores.precision_curve[11] == pytest.approx(1 / 5) and scores.precision_curve[12] == pytest.approx(2 / 5)
    assert scores.precision_curve[50] == 1.0
    # normalised by the ground-truth width 20: 0, 0.6, 1.0, 1.025, 2.25 -> only the perfect frame is <= 0.2
    assert scores.normalized_precision == pytest.approx(1 / 5)


def test_first_frame_conventions():
    truth = _track(10)
    predictions = truth.copy()
    predictions[0] += [100, 100, 0, 0]  # a wrong box on the initial frame
    otb = _scores(predictions, truth, "otb")
    assert otb.num_frames == 10 and otb.ao == pytest.approx(1.0)  # forced to the ground truth
    pysot = _scores(predictions, truth, "pysot")
    assert pysot.num_frames == 10 and pysot.ao == pytest.approx(0.9)  # scored as written
    got10k = _scores(predictions, truth, "got10k_benchmark", image_size=(1000, 1000))
    assert got10k.num_frames == 9 and got10k.ao == pytest.approx(1.0)  # excluded


def test_invalid_ground_truth_is_skipped_or_counted_as_a_miss():
    truth = _track(10)
    truth[3] = np.nan
    truth[5, 2] = 0.0  # zero width
    absent = np.zeros(10, dtype=bool)
    absent[7] = True
    fail = _scores(truth, truth, "got10k", absent=absent)
    assert fail.num_frames == 10
    assert fail.ao == pytest.approx(8 / 10)  # NaN and zero-width rows give IoU 0; the absent row has a box
    assert fail.precision == pytest.approx(9 / 10)  # only the NaN row has no centre error
    skip = _scores(truth, truth, "lasot", absent=absent)
    assert skip.num_frames == 7 and skip.ao == pytest.approx(1.0) and skip.precision == 1.0


def test_invalid_predictions_fail_or_take_the_previous_box():
    truth = np.tile([10.0, 10.0, 20.0, 20.0], (6, 1))
    predictions = truth.copy()
    predictions[2] = np.nan
    predictions[3] = [10, 10, -5, 20]  # negative width
    got10k = _scores(predictions, truth, "got10k")
    assert got10k.ao == pytest.approx(4 / 6) and got10k.precision == pytest.approx(5 / 6)
    otb = _scores(predictions, truth, "otb")
    assert otb.ao == pytest.approx(1.0) and otb.precision == 1.0  # both replaced by frame 1's (perfect) box
    # the replacement chains: frame 3 takes frame 2's box after frame 2 took frame 1's
    shifted = truth + [[0, 0, 0, 0], [5, 0, 0, 0], [np.nan] * 4, [np.nan] * 4, [0, 0, 0, 0], [0, 0, 0, 0]]
    chained = frame_scores(shifted, truth, "otb")
    np.testing.assert_allclose(chained.center_errors, [0, 5, 5, 5, 0, 0])


def test_clip_to_image_matches_got10k_bounds():
    boxes = np.array([[-10.0, 5.0, 30.0, 20.0], [90.0, 90.0, 30.0, 30.0]])
    np.testing.assert_allclose(clip_boxes_to_image(boxes, (100, 100)), [[0, 5, 30, 20], [90, 90, 10, 10]])
    # a box crossing the right border loses its outside part before the IoU
    crossing, inside = np.array([[90.0, 0.0, 30.0, 10.0]]), np.array([[80.0, 0.0, 20.0, 10.0]])
    assert overlaps(crossing, inside, "continuous")[0] == pytest.approx(100 / 400)
    assert overlaps(crossing, inside, "continuous", image_size=(100, 100), clip_to_image=True)[0] == pytest.approx(0.5)


def test_plus_one_iou():
    a, b = np.array([[0.0, 0.0, 9.0, 9.0]]), np.array([[5.0, 0.0, 9.0, 9.0]])
    assert overlaps(a, b, "plus_one")[0] == pytest.approx(50 / 150)  # 5x10 pixels of 10x10 + 10x10 - 50
    assert overlaps(a, b, "continuous")[0] == pytest.approx(36 / 126)


def test_average_over_sequences_or_frames():
    truth_a, truth_b = _track(10, 1), _track(30, 2)
    perfect, wrong = truth_a.copy(), truth_b + [500, 500, 0, 0]
    sequences = get_protocol("got10k")
    frames = replace(sequences, average_over="frames", first_frame="as_is")
    per_seq = [frame_scores(perfect, truth_a, sequences), frame_scores(wrong, truth_b, sequences)]
    by_sequence = average_scores([scores_from_frames(f, sequences) for f in per_seq], sequences)
    assert by_sequence.ao == pytest.approx((1 + 1 / 30) / 2)  # frame 0 of the wrong run is forced correct
    pooled_frames = [frame_scores(perfect, truth_a, frames), frame_scores(wrong, truth_b, frames)]
    pooled = average_scores([scores_from_frames(f, frames) for f in pooled_frames], frames, pooled_frames)
    assert pooled.ao == pytest.approx(10 / 40) and pooled.num_sequences == 2 and pooled.num_frames == 40


def test_speed_conventions():
    times = np.array([0.5, 0.1, 0.1, 0.0, np.nan, 0.3])
    assert sequence_fps(times, "got10k") == pytest.approx(np.mean([2, 10, 10, 1 / 0.3]))
    assert sequence_fps(times, "otb") == pytest.approx(4 / 1.0)
    assert np.isnan(sequence_fps([0.0, 0.0], "otb"))
    assert overall_fps([np.array([0.1, 0.1]), np.array([]), np.array([0.5])], "got10k") == pytest.approx(6.0)
    assert overall_fps([np.array([0.1, 0.1]), np.array([]), np.array([0.5])], "otb") == pytest.approx(3 / 0.7)


def test_presets_are_frozen_and_validated():
    assert {"otb", "got10k", "pysot", "lasot", "vot", "got10k_benchmark"} <= set(PRESETS)
    assert get_protocol("vot2015").eao_interval == (108, 371)
    assert get_protocol("vot2017").eao_interval == (100, 356)
    with pytest.raises(FrozenInstanceError):
        get_protocol("otb").success_strict = False  # frozen
    with pytest.raises(ValueError, match="unknown protocol 'vott'"):
        get_protocol("vott")
    with pytest.raises(ValueError, match="first_frame='second'"):
        Protocol("bad", first_frame="second")
    with pytest.raises(ValueError, match="precision_at=60"):
        Protocol("bad", precision_at=60)
    described = get_protocol("lasot").describe()
    assert described["invalid_ground_truth"] == "skip" and Protocol(**described) == get_protocol("lasot")


def test_length_mismatch_names_the_source():
    with pytest.raises(ValueError, match="results/x.txt: 3 predicted boxes for 4 ground-truth frames"):
        frame_scores(_track(3), _track(4), "otb", source="results/x.txt")
    with pytest.raises(ValueError, match="no frame to evaluate"):
        _scores(_track(1), _track(1), "got10k_benchmark", image_size=(500, 500))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 50), st.floats(0, 50), st.floats(1, 40), st.floats(1, 40)), min_size=2, max_size=30
    ),
    st.floats(-30, 30),
    st.floats(0.5, 2.0),
)
def test_curves_are_monotone_and_auc_bounded(rows, shift, scale):
    truth = np.array(rows)
    predictions = truth * [1, 1, scale, scale] + [shift, -shift, 0, 0]
    for name in ("otb", "got10k", "pysot", "lasot"):
        scores = _scores(predictions, truth, name)
        assert np.all(np.diff(scores.success_curve) <= 0) and np.all(np.diff(scores.precision_curve) >= 0)
        assert 0 <= scores.auc <= 20 / 21 + 1e-12
        # AUC (mean of 21 points) brackets AO: the thresholds are a Riemann sum of the IoU distribution
        assert scores.auc - 1 / 21 - 1e-12 <= scores.ao <= scores.auc + 1 / 21 + 1e-12
