"""The package's reference tracker (siamtrack.trackers.identity.IdentityTracker, got10k's IdentityTracker): the
stand-in of the tests, and a floor for users; run here through the API, the evaluation runner (by import path) and
scored against the closed form of a constant box."""

from __future__ import annotations

import numpy as np
import pytest

from siamtrack.evaluation.results import read_boxes
from siamtrack.evaluation.runner import run_one_pass
from siamtrack.trackers.identity import IdentityTracker
from training_support import synthetic_sequence


def test_the_reference_tracker_keeps_the_first_box():
    frames = [np.zeros((48, 64, 3), np.uint8)] * 4
    tracker = IdentityTracker()
    boxes, seconds = tracker.track(frames, [10, 12, 20, 16])
    np.testing.assert_array_equal(boxes, [[10, 12, 20, 16]] * 4)
    assert seconds.shape == (4,) and np.isnan(tracker.confidence) and tracker.name == "identity"
    first = tracker.update(frames[0])
    first[0] = 99  # each box is a new array: a caller cannot move the tracker's state
    np.testing.assert_array_equal(tracker.update(frames[0]), [10, 12, 20, 16])
    with pytest.raises(ValueError, match="identity: the initial box .* does not overlap the 64x48 image"):
        tracker.init(frames[0], [70, 10, 5, 5])  # the checks every tracker makes
    with pytest.raises(TypeError, match="identity: takes no weights and no hyper-parameters"):
        IdentityTracker.from_weights(None, scale=2)
    assert isinstance(IdentityTracker.from_weights(None), IdentityTracker) and not IdentityTracker.needs_weights


def test_the_runner_takes_the_reference_tracker_by_import_path(tmp_path):
    sequences = [synthetic_sequence(f"s{i}", 6, seed=i) for i in range(2)]
    run_one_pass(("siamtrack.trackers.identity:IdentityTracker", {}), sequences, tmp_path, "identity", progress=False)
    for sequence in sequences:
        boxes = read_boxes(tmp_path / "identity" / f"{sequence.name}.txt")
        np.testing.assert_allclose(boxes, np.tile(sequence.init_box, (len(sequence), 1)), atol=1e-3)
