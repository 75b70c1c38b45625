"""DCFNet tracker: crop geometry, real-sequence tracking with the authors' weights, registry and errors."""

from __future__ import annotations

import platform

import cv2
import numpy as np
import pytest
import torch

from conftest import shared_path
from siamtrack.data.otb import read_otb_sequence
from siamtrack.geometry import box_iou
from siamtrack.models import Weights
from siamtrack.models.dcfnet import DCFNet, DCFNetFeatures
from siamtrack.trackers import build_tracker
from siamtrack.trackers.base import keep_freed_memory
from siamtrack.trackers.dcfnet import DCFNetParams, DCFNetTracker, crop_chw
from siamtrack.weights.dcfnet import load_dcfnet_features


@pytest.fixture(scope="module")
def dragon_baby():
    sequence = read_otb_sequence(shared_path("data", "benchmarks", "OTB", "DragonBaby"))
    return [sequence.frames[i] for i in range(30)], sequence.ground_truth[:30]


@pytest.fixture(scope="module")
def param_pth():
    return shared_path("weights", "dcfnet", "param.pth")


@pytest.fixture(scope="module")
def tracked(dragon_baby, param_pth):
    """Boxes and per-frame seconds of the float32 tracker with param.pth on the 30 frames."""
    frames, truth = dragon_baby
    tracker = DCFNetTracker(load_dcfnet_features(param_pth), device="cpu")
    boxes, seconds = tracker.track(frames, truth[0])
    return boxes, seconds, tracker


def test_crop_chw_geometry():
    image = np.random.default_rng(0).integers(0, 256, size=(200, 180, 3), dtype=np.uint8)
    # a window of out_size - 1 pixels maps pixel to pixel: the crop is a plain copy
    crop = crop_chw(image, np.array([10 + 62.0, 20 + 62.0]), np.array([124.0, 124.0]), 125)
    np.testing.assert_array_equal(crop, image[20:145, 10:135])
    # twice as large: every other pixel, and zeros where the window leaves the image
    crop = crop_chw(image, np.array([0.0, 0.0]), np.array([248.0, 248.0]), 125)
    np.testing.assert_array_equal(crop[62:, 62:], image[0:125:2, 0:125:2])
    assert not crop[:62].any() and not crop[:, :62].any()


def test_tracks_a_real_sequence_with_the_authors_weights(dragon_baby, tracked):
    _, truth = dragon_baby
    boxes, seconds, tracker = tracked
    iou = box_iou(boxes, truth)
    assert boxes.shape == (30, 4) and len(seconds) == 30
    assert (iou > 0.5).mean() >= 0.9 and iou.min() > 0.3, np.round(iou, 2)
    assert np.isfinite(tracker.confidence) and tracker.confidence > 0


def _authors_tracker(state_dict, frames_bgr, init_rect_one_based):
    """A literal transcription of the authors' tracking loop (track/DCFNet.py + track/util.py of
    foolwood/DCFNet_pytorch, torch.rfft ported to torch.fft): unbatched crops, nn.LocalResponseNorm, the model
    update right after each frame. Returns their 1-based boxes."""
    crop_sz, padding, lambda0, interp = 125, 2.0, 1e-4, 0.01
    scale_factor = 1.0275 ** np.array([-1, 0, 1])
    scale_penalties = 0.9925 ** np.abs(np.array([-1, 0, 1]))
    half = np.floor(crop_sz / 2)
    grid_x, grid_y = np.meshgrid(np.arange(1, crop_sz + 1) - half, np.arange(1, crop_sz + 1) - half)
    y = np.exp(-0.5 / (crop_sz / (1 + padding) * 0.1) ** 2 * (grid_x**2 + grid_y**2))
    y = np.roll(np.roll(y, int(-half + 1), axis=0), int(-half + 1), axis=1)
    yf = torch.fft.rfft2(torch.Tensor(y).view(1, 1, crop_sz, crop_sz))
    cos_window = torch.Tensor(np.outer(np.hanning(crop_sz), np.hanning(crop_sz)))
    mean = np.array([104, 117, 123]).reshape(-1, 1, 1).astype(np.float32)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, padding=1),
        torch.nn.ReLU(inplace=True),
        torch.nn.Conv2d(32, 32, 3, padding=1),
        torch.nn.LocalResponseNorm(5, 0.0001, 0.75, 1),
    )
    net.load_state_dict({key[len("feature.") :]: value for key, value in state_dict.items()})

    def authors_crop_chw(image, bbox):
        a, b = (crop_sz - 1) / (bbox[2] - bbox[0]), (crop_sz - 1) / (bbox[3] - bbox[1])
        mapping = np.array([[a, 0, -a * bbox[0]], [0, b, -b * bbox[1]]]).astype(np.float64)
        crop = cv2.warpAffine(image, mapping, (crop_sz, crop_sz), borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        return np.transpose(crop, (2, 0, 1))

    def bbox(pos, sz):
        return np.array([pos[0] - sz[0] / 2, pos[1] - sz[1] / 2, pos[0] + sz[0] / 2, pos[1] + sz[1] / 2])

    def features_fft(patches):
        return torch.fft.rfft2(net(torch.Tensor(patches - mean)) * cos_window)

    def learn(zf):
        kzzf = (zf.real**2 + zf.imag**2).sum(dim=1, keepdim=True)
        return zf, yf / (kzzf + lambda0)

    rect = np.asarray(init_rect_one_based, dtype=np.float64)
    target_pos = np.array([rect[0] + rect[2] / 2 - 1, rect[1] + rect[3] / 2 - 1])
    target_sz = rect[2:].copy()
    min_sz = np.maximum(0.2 * target_sz, 4)
    max_sz = np.minimum(frames_bgr[0].shape[:2], 5 * target_sz)
    with torch.no_grad():
        first_crop = authors_crop_chw(frames_bgr[0], bbox(target_pos, target_sz * 3))
        model_zf, model_alphaf = learn(features_fft(first_crop[None]))
        boxes = [rect]
        for image in frames_bgr[1:]:
            patches = np.stack([authors_crop_chw(image, bbox(target_pos, target_sz * (s * 3))) for s in scale_factor])
            xf = features_fft(patches)
            response = torch.fft.irfft2((xf * model_zf.conj()).sum(dim=1, keepdim=True) * model_alphaf, s=(125, 125))
            peak, idx = torch.max(response.view(3, -1), 1)
            best = np.argmax(peak.numpy() * scale_penalties)
            r_max, c_max = np.unravel_index(int(idx[best]), (125, 125))
            r_max, c_max = (r_max - 125 if r_max > 62.5 else r_max), (c_max - 125 if c_max > 62.5 else c_max)
            window_sz = target_sz * (scale_factor[best] * 3)
            target_pos = target_pos + np.array([c_max, r_max]) * window_sz / 125
            target_sz = np.minimum(np.maximum(window_sz / 3, min_sz), max_sz)
            zf, alphaf = learn(features_fft(authors_crop_chw(image, bbox(target_pos, target_sz * 3))[None]))
            model_alphaf = (1 - interp) * model_alphaf + interp * alphaf
            model_zf = (1 - interp) * model_zf + interp * zf
            boxes.append(
                np.array(
                    [
                        target_pos[0] - target_sz[0] / 2 + 1,
                        target_pos[1] - target_sz[1] / 2 + 1,
                        target_sz[0],
                        target_sz[1],
                    ]
                )
            )
    return np.array(boxes)


def test_matches_a_literal_port_of_the_authors_loop(dragon_baby, param_pth, tracked):
    """Batching, the deferred model update, the fast LRN and RGB->BGR handling change nothing but rounding."""
    frames, truth = dragon_baby
    theirs = _authors_tracker(
        torch.load(param_pth, weights_only=True), [f[:, :, ::-1].copy() for f in frames[:8]], truth[0] + [1, 1, 0, 0]
    )
    np.testing.assert_allclose(tracked[0][:8], theirs - [1, 1, 0, 0], atol=1e-3)


def test_keep_freed_memory_applies_once_on_glibc():
    applied = keep_freed_memory()
    assert applied is keep_freed_memory()  # idempotent: set once per process
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert applied


def test_rgb_mat_weights_track_like_the_bgr_pth_weights(dragon_baby, tracked):
    frames, truth = dragon_baby
    mat = load_dcfnet_features(shared_path("weights", "dcfnet", "DCFNet-net-7-125-2.mat"))
    boxes_mat, _ = DCFNetTracker(mat, device="cpu").track(frames[:6], truth[0])
    np.testing.assert_allclose(boxes_mat, tracked[0][:6], atol=1e-3)


def test_bfloat16_path_stays_close(dragon_baby, param_pth, tracked):
    frames, truth = dragon_baby
    features = load_dcfnet_features(param_pth)
    fast_tracker = DCFNetTracker(features, device="cpu", precision="bfloat16")
    fast, _ = fast_tracker.track(frames[:6], truth[0])
    assert fast_tracker.net.feature.feature[0].weight.dtype == torch.bfloat16
    assert features.feature[0].weight.dtype == torch.float32  # the caller's module is left alone
    np.testing.assert_allclose(fast, tracked[0][:6], atol=2.0)


def test_registry_builds_the_tracker_from_param_pth(dragon_baby, param_pth, tracked):
    frames, truth = dragon_baby
    tracker = build_tracker("dcfnet", weights=param_pth, device="cpu", scale_penalty=0.9925)
    assert tracker.reverse_channels and tracker.params == tracked[2].params
    np.testing.assert_allclose(tracker.track(frames[:3], truth[0])[0], tracked[0][:3])
    random = build_tracker("dcfnet", weights="random", device="cpu")
    assert not random.reverse_channels
    assert np.isfinite(random.track(frames[:2], truth[0])[0]).all()


def test_siamtrack_checkpoints_bring_their_model_config():
    trained = DCFNet(size=65, padding=1.5)
    weights = Weights(trained.state_dict(), "dcfnet", {"size": 65, "padding": 1.5}, "run/model.pth")
    tracker = DCFNetTracker.from_weights(weights, device="cpu", template_lr=0.02)
    assert (tracker.params.crop_size, tracker.params.padding, tracker.params.template_lr) == (65, 1.5, 0.02)
    assert not tracker.reverse_channels and tracker.net.feature.mean == (123.0, 117.0, 104.0)
    torch.testing.assert_close(tracker.net.feature.feature[2].weight, trained.feature.feature[2].weight)
    with pytest.raises(ValueError, match="run/model.pth: weights are for model 'siamfc', not 'dcfnet'"):
        DCFNetTracker.from_weights(Weights(trained.state_dict(), "siamfc", {}, "run/model.pth"))


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


def test_the_authors_parameter_names_are_still_accepted_with_a_warning():
    """DCFNet's parameters carry the other trackers' names (template_lr, min_scale, max_scale, ridge_lambda); the
    authors' names still work as overrides, with one FutureWarning each, and a model_config's lambda_ (the DCFNet
    network's argument) sets ridge_lambda."""
    weights = Weights(DCFNet(size=65).state_dict(), "dcfnet", {"size": 65, "lambda_": 1e-3}, "run/model.pth")
    tracker = DCFNetTracker.from_weights(weights, device="cpu")
    assert tracker.params.ridge_lambda == 1e-3 and tracker.net.lambda_ == 1e-3
    with pytest.warns(FutureWarning) as caught:
        old = DCFNetTracker(
            DCFNetFeatures(), device="cpu", interp_factor=0.02, min_scale_factor=0.3, max_scale_factor=4.0, lambda_=1e-3
        )
    messages = sorted(str(warning.message) for warning in caught)
    assert messages == [
        f"DCFNetTracker: hyper-parameter {name!r} is deprecated, use {new!r}"
        for name, new in sorted(
            [
                ("interp_factor", "template_lr"),
                ("lambda_", "ridge_lambda"),
                ("max_scale_factor", "max_scale"),
                ("min_scale_factor", "min_scale"),
            ]
        )
    ]
    assert (old.params.template_lr, old.params.min_scale, old.params.max_scale, old.params.ridge_lambda) == (
        0.02,
        0.3,
        4.0,
        1e-3,
    )
    with pytest.raises(TypeError, match="interp_factor and template_lr are the same parameter"):
        DCFNetTracker(DCFNetFeatures(), device="cpu", interp_factor=0.02, template_lr=0.02)
