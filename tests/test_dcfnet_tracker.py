"""DCFNet tracker: crop geometry, real-sequence tracking with the authors' weights, registry and errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import shared_path
from siamtrack.data.otb import read_otb_sequence
from siamtrack.geometry import box_iou
from siamtrack.models.dcfnet import DCFNetFeatures
from siamtrack.trackers import build_tracker
from siamtrack.trackers.dcfnet import DCFNetParams, DCFNetTracker, crop_window
from siamtrack.weights.dcfnet import load_dcfnet_features


@pytest.fixture(scope="module")
def dragon_baby():
    sequence = read_otb_sequence(shared_path("data", "benchmarks", "OTB", "DragonBaby"))
    return [sequence.frames[i] for i in range(30)], sequence.ground_truth[:30]


@pytest.fixture(scope="module")
def param_pth():
    return shared_path("weights", "dcfnet", "param.pth")


def test_crop_window_geometry():
    image = np.random.default_rng(0).integers(0, 256, size=(200, 180, 3), dtype=np.uint8)
    # a window of out_size - 1 pixels maps pixel to pixel: the crop is a plain copy
    crop = crop_window(image, np.array([10 + 62.0, 20 + 62.0]), np.array([124.0, 124.0]), 125)
    np.testing.assert_array_equal(crop, image[20:145, 10:135])
    # twice as large: every other pixel, and zeros where the window leaves the image
    crop = crop_window(image, np.array([0.0, 0.0]), np.array([248.0, 248.0]), 125)
    np.testing.assert_array_equal(crop[62:, 62:], image[0:125:2, 0:125:2])
    assert not crop[:62].any() and not crop[:, :62].any()


def test_tracks_a_real_sequence_with_the_authors_weights(dragon_baby, param_pth):
    frames, truth = dragon_baby
    tracker = DCFNetTracker(load_dcfnet_features(param_pth), device="cpu")
    boxes, seconds = tracker.track(frames, truth[0])
    iou = box_iou(boxes, truth)
    assert boxes.shape == (30, 4) and len(seconds) == 30
    assert (iou > 0.5).mean() >= 0.9 and iou.min() > 0.3, np.round(iou, 2)
    assert np.isfinite(tracker.confidence) and tracker.confidence > 0


def test_rgb_mat_and_bgr_pth_weights_track_identically(dragon_baby, param_pth):
    frames, truth = dragon_baby
    mat = load_dcfnet_features(shared_path("weights", "dcfnet", "DCFNet-net-7-125-2.mat"))
    pth = load_dcfnet_features(param_pth)
    boxes_mat, _ = DCFNetTracker(mat, device="cpu").track(frames[:6], truth[0])
    boxes_pth, _ = DCFNetTracker(pth, device="cpu").track(frames[:6], truth[0])
    np.testing.assert_allclose(boxes_mat, boxes_pth, atol=1e-3)


def test_bfloat16_path_stays_close(dragon_baby, param_pth):
    frames, truth = dragon_baby
    features = load_dcfnet_features(param_pth)
    exact, _ = DCFNetTracker(features, device="cpu").track(frames[:6], truth[0])
    fast_tracker = DCFNetTracker(features, device="cpu", precision="bfloat16")
    fast, _ = fast_tracker.track(frames[:6], truth[0])
    assert fast_tracker.net.feature.feature[0].weight.dtype == torch.bfloat16
    assert features.feature[0].weight.dtype == torch.float32  # the caller's module is left alone
    np.testing.assert_allclose(fast, exact, atol=2.0)


def test_registry_builds_the_tracker_from_param_pth(dragon_baby, param_pth):
    frames, truth = dragon_baby
    tracker = build_tracker("dcfnet", weights=param_pth, device="cpu", interp_factor=0.02)
    assert tracker.reverse_channels and tracker.params.interp_factor == 0.02
    reference = DCFNetTracker(load_dcfnet_features(param_pth), device="cpu", interp_factor=0.02)
    np.testing.assert_allclose(tracker.track(frames[:3], truth[0])[0], reference.track(frames[:3], truth[0])[0])
    random = build_tracker("dcfnet", weights="random", device="cpu")
    assert not random.reverse_channels
    assert np.isfinite(random.track(frames[:2], truth[0])[0]).all()


def test_bad_inputs_raise_clear_errors():
    features = DCFNetFeatures()
    with pytest.raises(TypeError, match=r"unknown hyper-parameter\(s\) \['crop'\]"):
        DCFNetTracker(features, crop=100)
    with pytest.raises(ValueError, match="precision must be 'float32' or 'bfloat16', got 'float16'"):
        DCFNetParams(precision="float16")
    tracker = DCFNetTracker(features, device="cpu")
    with pytest.raises(ValueError, match="RGB uint8 H x W x 3 frame, got ndarray float32"):
        tracker.init(np.zeros((50, 50, 3), np.float32), [10, 10, 5, 5])
    with pytest.raises(ValueError, match=r"w, h > 0, got \[10.0, 10.0, 0.0, 5.0\]"):
        tracker.init(np.zeros((50, 50, 3), np.uint8), [10, 10, 0, 5])
