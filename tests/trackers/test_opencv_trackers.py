"""OpenCV's CSRT/KCF behind the Tracker API (siamtrack.trackers.opencv): box and colour conversions and
failure handling against a fake cv2 tracker, the constructor lookup in OpenCV 4/5/legacy layouts, the
registry build without weights, and (where opencv-contrib is installed) a 20-frame run on a real sequence."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from conftest import SHARED, shared_path
from siamtrack.geometry import box_iou
from siamtrack.trackers import build_tracker
from siamtrack.trackers import opencv as opencv_trackers
from siamtrack.trackers.opencv import (
    OpenCVCSRTTracker,
    OpenCVKCFTracker,
    OpenCVTracker,
    opencv_box,
    opencv_tracker_factory,
)


class FakeCV2Tracker:
    """Stands in for a ``cv2.Tracker``: records its inputs, answers ``update`` from a script."""

    def __init__(self, script, init_result=None):
        self.script, self.init_result = list(script), init_result
        self.init_args, self.update_images = None, []

    def init(self, image, box):
        self.init_args = (image, box)
        return self.init_result

    def update(self, image):
        self.update_images.append(image)
        return self.script.pop(0)


def fake_tracker(script, init_result=None):
    fake = FakeCV2Tracker(script, init_result)
    return OpenCVTracker(factory=lambda: fake), fake


def test_init_gives_opencv_bgr_frames_and_rounded_int_boxes():
    tracker, fake = fake_tracker([])
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    tracker.init(image, [10.4, 20.6, 30.3, 40.2])
    bgr, box = fake.init_args
    np.testing.assert_array_equal(bgr, image[:, :, ::-1])
    assert bgr.flags["C_CONTIGUOUS"]
    assert box == (10, 21, 30, 40) and all(type(v) is int for v in box)
    assert opencv_box([257.53, 159.5, 55.78, 59.49]) == (258, 160, 56, 59)  # half up, not to even
    assert opencv_box([0.2, 0.2, 0.3, 0.3]) == (0, 0, 1, 1)  # never below one pixel
    with pytest.raises(ValueError, match="w, h > 0"):
        opencv_box([0, 0, 0, 5])


def test_update_returns_float_boxes_and_keeps_the_last_one_on_failure():
    tracker, fake = fake_tracker(
        [(True, (12, 22, 30, 40)), (False, (0, 0, 0, 0)), (False, None), (True, (14.5, 23.0, 31.0, 41.0))]
    )
    image = np.zeros((50, 70, 3), np.uint8)
    boxes, _ = tracker.track([image] * 5, [10.4, 20.6, 30.3, 40.2])
    np.testing.assert_array_equal(
        boxes, [[10.4, 20.6, 30.3, 40.2], [12, 22, 30, 40], [12, 22, 30, 40], [12, 22, 30, 40], [14.5, 23, 31, 41]]
    )
    assert boxes.dtype == np.float64 and len(fake.update_images) == 4


def test_confidence_is_zero_on_failure_and_returned_boxes_are_copies():
    tracker, _ = fake_tracker([(False, None), (True, (1, 2, 3, 4))])
    image = np.zeros((10, 10, 3), np.uint8)
    tracker.init(image, [1.5, 2.5, 3.0, 4.0])
    first = tracker.update(image)
    assert tracker.confidence == 0.0
    np.testing.assert_array_equal(first, [1.5, 2.5, 3.0, 4.0])  # the initial float box, not the rounded one
    first[:] = -1
    np.testing.assert_array_equal(tracker.update(image), [1, 2, 3, 4])
    assert tracker.confidence == 1.0


def test_misuse_is_reported():
    tracker, _ = fake_tracker([])
    with pytest.raises(RuntimeError, match="before init"):
        tracker.update(np.zeros((10, 10, 3), np.uint8))
    legacy, _ = fake_tracker([], init_result=False)  # the legacy API answers init with a bool
    with pytest.raises(RuntimeError, match="refused to start"):
        legacy.init(np.zeros((10, 10, 3), np.uint8), [1, 1, 4, 4])


def test_constructor_lookup_in_opencv_4_5_and_legacy_layouts():
    create = object()
    assert opencv_tracker_factory("CSRT", SimpleNamespace(TrackerCSRT_create=create)) is create  # 4.5.1+, 5.x
    assert opencv_tracker_factory("KCF", SimpleNamespace(TrackerKCF=SimpleNamespace(create=create))) is create
    legacy = SimpleNamespace(legacy=SimpleNamespace(TrackerCSRT_create=create))  # 3.x-4.5.0, cv2.legacy
    assert opencv_tracker_factory("CSRT", legacy) is create
    assert opencv_tracker_factory("CSRT", SimpleNamespace()) is None  # plain opencv-python: no contrib
    assert opencv_trackers.opencv_tracker_factories(legacy) == {"opencv-csrt": create, "opencv-kcf": None}


def test_registry_builds_them_without_weights(monkeypatch):
    fake = FakeCV2Tracker([])
    monkeypatch.setattr(opencv_trackers, "opencv_tracker_factory", lambda kind: lambda: fake)
    for weights in (None, "random"):  # None must not look for a bundled weights file
        tracker = build_tracker("opencv-csrt", weights=weights)
        assert isinstance(tracker, OpenCVCSRTTracker) and tracker.name == "opencv-csrt"
    assert isinstance(build_tracker("opencv-kcf"), OpenCVKCFTracker)
    with pytest.raises(ValueError, match="'opencv-csrt' is OpenCV's CSRT and takes no weights"):
        build_tracker("opencv-csrt", weights={"w": torch.zeros(1)})
    with pytest.raises(TypeError, match="TrackerCSRT_Params"):
        build_tracker("opencv-csrt", no_such_parameter=1)


def test_missing_contrib_names_the_package(monkeypatch):
    monkeypatch.setattr(opencv_trackers, "opencv_tracker_factory", lambda kind: None)
    with pytest.raises(RuntimeError, match="opencv-contrib-python-headless"):
        build_tracker("opencv-kcf")


CONTRIB = opencv_tracker_factory("CSRT") is not None and opencv_tracker_factory("KCF") is not None


@pytest.mark.skipif(
    not CONTRIB,
    reason="this cv2 has no CSRT/KCF trackers: another OpenCV wheel replaced "
    "opencv-contrib-python-headless (scripts/setup.sh repairs it)",
)
@pytest.mark.parametrize("name", ["opencv-csrt", "opencv-kcf"])
def test_real_opencv_trackers_follow_the_thermal_horse(name):
    from siamtrack.data import shared_split

    shared_path("data", "index.json")
    sequence = next(s for s in shared_split(SHARED, "dev-eval") if s.name == "horse")  # small, grayscale PNG
    frames = [sequence.frames[i] for i in range(20)]
    params = {"psr_threshold": 0.035} if name == "opencv-csrt" else {"detect_thresh": 0.5}
    boxes, times = build_tracker(name, **params).track(frames, sequence.init_box)
    assert boxes.shape == (20, 4) and np.all(np.isfinite(boxes)) and len(times) == 20
    np.testing.assert_array_equal(boxes[0], sequence.init_box)
    assert box_iou(boxes, sequence.ground_truth[:20]).mean() > 0.8  # both score 0.91 here
