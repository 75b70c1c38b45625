"""The per-frame output of every tracker: :class:`~siamtrack.trackers.base.FrameOutput` from ``Tracker.run``
(box, confidence, seconds, the tracker's per-frame ``extras``), consistent with ``init``/``update`` and ``track``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from siamtrack.trackers import FrameOutput, build_tracker


def moving_square(count: int = 4) -> list[np.ndarray]:
    frames = []
    for index in range(count):
        frame = np.full((120, 160, 3), 60, np.uint8)
        frame[40 + 2 * index : 72 + 2 * index, 60 + 3 * index : 92 + 3 * index] = (220, 140, 40)
        frames.append(frame)
    return frames


BOX = [60.0, 40.0, 32.0, 32.0]
NO_WEIGHTS = ("cacf", "opencv-kcf")  # trackers without learned weights


def make(name: str):
    torch.manual_seed(0)  # the same random network each time
    return build_tracker(name) if name in NO_WEIGHTS else build_tracker(name, weights="random", device="cpu")


@pytest.mark.parametrize("name", ["siamfc", "siamrpn", "dcfnet", "cacf", "opencv-kcf"])
def test_run_yields_one_output_per_frame_as_init_and_update_give(name):
    frames = moving_square()
    outputs = list(make(name).run(frames, BOX))
    assert len(outputs) == len(frames) and all(isinstance(output, FrameOutput) for output in outputs)
    # the same tracker driven by hand: the same boxes and confidences, frame by frame
    tracker = make(name)
    with torch.no_grad():
        tracker.init(frames[0], BOX)
        # every tracker's first frame has no score: NaN (DCFNet and the OpenCV trackers said 1.0 before 0.1.0)
        assert math.isnan(tracker.confidence) and math.isnan(outputs[0].confidence)
        np.testing.assert_array_equal(outputs[0].box, BOX)
        for frame, output in zip(frames[1:], outputs[1:]):
            box = tracker.update(frame)
            np.testing.assert_array_equal(output.box, box)
            assert output.box.dtype == np.float64 and output.confidence == tracker.confidence
            assert math.isfinite(output.confidence)
    assert all(output.seconds > 0 for output in outputs)
    assert all(output.extras == {} for output in outputs)  # these trackers report no extras
    boxes, seconds = make(name).track(frames, BOX)
    np.testing.assert_array_equal(boxes, np.stack([output.box for output in outputs]))
    assert seconds.shape == (len(frames),)


def test_run_leaves_the_callers_grad_mode_alone_between_frames():
    """``run`` is a generator: autograd is off inside each init/update, not in the caller's code between frames."""
    outputs = build_tracker("siamfc", weights="random", device="cpu").run(moving_square(2), BOX)
    next(outputs)
    assert torch.is_grad_enabled()
    next(outputs)
    assert torch.is_grad_enabled()


def test_extras_are_a_new_dict_per_frame():
    """A tracker with extras (AdaCFNet's SE weights) reports each frame's own: an output kept from an earlier
    frame is not changed by later frames."""
    outputs = list(build_tracker("adacfnet", weights="random", device="cpu").run(moving_square(3), BOX))
    weights = [output.extras["channel_weights"] for output in outputs]
    assert weights[0]["search"] == {} and weights[1]["search"] and weights[2]["search"]
    assert weights[1] is not weights[2]
    assert np.abs(weights[1]["search"]["se1"] - weights[2]["search"]["se1"]).max() > 0


@pytest.mark.parametrize("name", ["siamfc", "siamrpn", "cacf"])
def test_the_search_base_refuses_an_update_before_init(name):
    """SearchTracker's update set-up, shared by the Siamese trackers, SiamRPN, DSLT and TADT."""
    tracker = make(name)
    with pytest.raises(RuntimeError, match=rf"^{name}: update\(\) called before init\(\)$"):
        tracker.update(moving_square(1)[0])
