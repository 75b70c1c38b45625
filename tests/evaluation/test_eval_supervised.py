"""VOT reset-based evaluation: reset logic, accuracy burn-in, EAO closed forms, the realtime clock."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from siamtrack.evaluation import FrameState, Protocol, RealtimeClock, eao_curve, eao_score, supervised_run
from siamtrack.evaluation.results import read_supervised, supervised_paths, write_supervised
from siamtrack.evaluation.supervised import accuracy, eao_segments
from test_eval_support import OracleTracker, oracle_sequence

I, F, S, T = FrameState.INITIALIZED, FrameState.FAILED, FrameState.SKIPPED, FrameState.TRACKED


def _constant_target(count=30):
    return oracle_sequence("still", np.tile([10.0, 10.0, 20.0, 20.0], (count, 1)), 100, 100)


def test_resets_five_frames_after_each_failure():
    """A tracker drifting 3 px/frame off a 20 px target loses all overlap 7 frames after each start."""
    sequence = _constant_target(30)
    run = supervised_run(functools.partial(OracleTracker, sequence.ground_truth, drift=(3, 0, 0, 0)), sequence, "vot")
    expected = [I] + [T] * 6 + [F] + [S] * 4 + [I] + [T] * 6 + [F] + [S] * 4 + [I] + [T] * 5
    assert run.states.tolist() == expected
    assert run.failures == 2
    np.testing.assert_allclose(run.boxes[13], [13, 10, 20, 20])  # one frame after the re-initialisation
    assert np.isnan(run.boxes[[0, 7, 8, 12]]).all()


def test_failure_needs_zero_overlap_in_raster_pixels():
    """Rounded to pixels, x = 29.4 still shares column 29 with the target (columns 10..29): no failure;
    x = 29.6 rounds to 30: failure."""
    sequence = _constant_target(3)
    for x, state in ((29.4, T), (29.6, F)):
        tracker = functools.partial(OracleTracker, np.tile([x, 10.0, 20.0, 20.0], (3, 1)))
        run = supervised_run(tracker, sequence, "vot")
        assert run.states[1] == state, x


def test_trajectory_file_round_trip(tmp_path):
    sequence = _constant_target(30)
    run = supervised_run(functools.partial(OracleTracker, sequence.ground_truth, drift=(3, 0, 0, 0)), sequence, "vot")
    path, times = supervised_paths(tmp_path, "drift", "baseline", "still")
    write_supervised(path, times, run)
    assert path == tmp_path / "drift" / "baseline" / "still" / "still_001.txt"
    lines = path.read_text().splitlines()
    assert lines[0] == "1" and lines[7] == "2" and lines[8] == "0" and lines[1] == "13.0000,10.0000,20.0000,20.0000"
    back = read_supervised(path, expected_length=30)
    assert back.states.tolist() == run.states.tolist()
    np.testing.assert_array_equal(np.isnan(back.boxes), np.isnan(run.boxes))
    np.testing.assert_allclose(back.boxes[~np.isnan(back.boxes)], run.boxes[~np.isnan(run.boxes)])
    path.write_text("1\n3\n")
    with pytest.raises(ValueError, match=r"still_001.txt:2: unknown special code '3'"):
        read_supervised(path)


def test_accuracy_skips_burn_in_failures_and_skipped_frames():
    states = np.array([I, T, T, T, F, S, S, S, S, I, T, T, T, T], dtype=np.int8)
    overlaps = np.array([0, 0.1, 0.2, 0.3, 0, 0, 0, 0, 0, 0, 0.5, 0.6, 0.7, 0.8])
    assert accuracy(overlaps, states, burnin=2) == (pytest.approx(np.mean([0.2, 0.3, 0.6, 0.7, 0.8])), 5)
    assert accuracy(overlaps, states, burnin=0) == (pytest.approx(np.mean([0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8])), 7)
    assert accuracy(overlaps, states, burnin=20) == (0.0, 0)


def test_eao_segments_and_curve_closed_form():
    states = np.array([I, T, T, F, S, S, S, S, I, T, T, T], dtype=np.int8)
    overlaps = np.array([0, 0.4, 0.8, 0, 0, 0, 0, 0, 0, 0.6, 0.6, 0.6])
    segments = eao_segments(overlaps, states)
    assert [(len(o), failed) for o, failed in segments] == [(3, True), (4, False)]
    curve = eao_curve(segments)
    # L=1: (0.4 + 0.6) / 2; L=2: ((0.4 + 0.8) / 2 + 0.6) / 2; L=3: the failed segment counts 0 after its
    # end, (0.4 + 0.8 + 0) / 3 = 0.4, and the unfailed one (4 frames) still reaches it: (0.4 + 0.6) / 2
    np.testing.assert_allclose(curve, [0, 0.5, 0.6, 0.5])
    no_failure = eao_curve(eao_segments(np.r_[0, np.full(9, 0.7)], np.array([I] + [T] * 9)))
    np.testing.assert_allclose(no_failure[1:], 0.7)
    assert eao_score(curve, Protocol("window", eao_interval=(1, 2))) == pytest.approx(0.55)  # curve[1:3]
    one_based = Protocol("window", eao_interval=(1, 2), eao_interval_one_based=True)
    assert eao_score(curve, one_based) == pytest.approx(0.25)  # curve[0:2]
    assert np.isnan(eao_score(curve, Protocol("window", eao_interval=(5, 9))))


def test_realtime_clock_zero_order_hold():
    """16 fps (exact binary interval), every call takes 1.5 intervals: the tracker sees frames 1, 3, 4, 6,
    7, 9 ... and each frame reports the newest output finished before the next frame arrives."""
    count = 13
    truth = np.tile([100.0, 100.0, 50.0, 50.0], (count, 1))
    sequence = oracle_sequence("rt", truth, 400, 400)
    tracker = functools.partial(OracleTracker, truth, drift=(0.01, 0, 0, 0))  # x encodes the frame seen
    run = supervised_run(tracker, sequence, "vot", clock=RealtimeClock(fps=16, frame_time=1.5 / 16))
    assert (run.states[1:] == T).all()
    source = np.round((run.boxes[1:, 0] - 100) / 0.01).astype(int)  # frame whose output is reported
    assert source.tolist() == [0, 1, 1, 3, 4, 4, 6, 7, 7, 9, 10, 10]
    assert np.flatnonzero(run.times > 0).tolist() == [0, 1, 3, 4, 6, 7, 9, 10, 12]
    # instantaneous tracking reproduces the baseline run; a grace call is forgiven
    fast = supervised_run(tracker, sequence, "vot", clock=RealtimeClock(fps=16, frame_time=0.0))
    baseline = supervised_run(tracker, sequence, "vot")
    np.testing.assert_allclose(fast.boxes, baseline.boxes)
    graced = supervised_run(tracker, sequence, "vot", clock=RealtimeClock(fps=16, frame_time=1.5 / 16, grace=1))
    assert np.round((graced.boxes[1:4, 0] - 100) / 0.01).astype(int).tolist() == [0, 1, 2]  # not [0, 1, 1]


def test_realtime_failure_on_a_held_box():
    """A slow tracker keeps reporting its stale box while the target moves away: it fails on a frame it
    never saw, and restarts five frames later."""
    count = 20
    truth = np.array([[10.0 + 4 * k, 10.0, 20.0, 20.0] for k in range(count)])
    sequence = oracle_sequence("moving", truth, 200, 100)
    tracker = functools.partial(OracleTracker, truth, constant=True)
    run = supervised_run(tracker, sequence, "vot", clock=RealtimeClock(fps=20, frame_time=10.0))
    # the held initial box (columns 10..29) last overlaps the target at x = 26 (frame 4)
    assert run.states.tolist()[:11] == [I, T, T, T, T, F, S, S, S, S, I]
