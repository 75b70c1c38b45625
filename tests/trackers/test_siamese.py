"""Shared Siamese machinery: crop geometry against closed forms, padding colour, pyramids, response maths,
and the generic tracker following a synthetic target with a hand-built (exactly known) embedding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import siamtrack.imaging as imaging
from siamtrack.imaging import crop_window
from siamtrack.models.siamese import SiamFCNet
from siamtrack.trackers.search import (
    apply_window,
    context_side,
    crop_pyramid,
    peak_displacement,
    penalized_peaks,
    upsample_responses,
)
from siamtrack.trackers.siamese import SiameseParams, SiameseTracker


def test_context_side_closed_form():
    # w=40, h=20: p = 30, sqrt(70 * 50)
    assert context_side(40, 20) == pytest.approx(np.sqrt(70 * 50))
    assert context_side(10, 10, context=0.0) == pytest.approx(10.0)


def test_scale_factors_are_symmetric_powers():
    np.testing.assert_allclose(SiameseParams().scale_factors, 1.0375 ** np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_allclose(SiameseParams(num_scales=5, scale_step=1.1).scale_factors, 1.1 ** np.arange(-2, 3))


@pytest.mark.parametrize(
    "field, value",
    [
        ("num_scales", 2),
        ("scale_penalty", 0.0),
        ("window_influence", 1.5),
        ("exemplar_size", 0),
        ("min_scale", 2.0),
        ("template_lr", -0.1),
    ],
)
def test_params_reject_out_of_range_values(field, value):
    with pytest.raises(ValueError, match=field):
        SiameseParams(**{field: value})


def test_crop_without_scaling_is_an_exact_shift():
    image = np.zeros((60, 80, 3), np.uint8)
    image[20, 30] = (255, 128, 7)  # row 20, column 30
    # side 11 centred on (33.5, 22.5): the crop starts at x = 28, y = 17 -> the pixel lands at (col 2, row 3)
    crop = crop_window(image, (33.5, 22.5), 11, 11, border_value=(0, 0, 0))
    assert crop.shape == (11, 11, 3) and crop.dtype == np.uint8
    expected = np.zeros_like(crop)
    expected[3, 2] = (255, 128, 7)
    np.testing.assert_array_equal(crop, expected)


@settings(max_examples=60, deadline=None)
@given(x0=st.integers(-40, 70), y0=st.integers(-40, 50), size=st.integers(1, 45))
def test_unscaled_crop_equals_a_padded_slice(x0, y0, size):
    """Property: an unscaled crop whose corner is integer is the image slice, padded with the fill colour."""
    rng = np.random.default_rng((x0 + 40) * 10000 + (y0 + 40) * 100 + size)
    image = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    fill = np.array([7.0, 99.0, 201.0])
    padded = np.empty((37 + 200, 53 + 200, 3), np.uint8)
    padded[:] = fill.astype(np.uint8)
    padded[100:137, 100:153] = image
    expected = padded[100 + y0 : 100 + y0 + size, 100 + x0 : 100 + x0 + size]
    crop = crop_window(image, (x0 + size / 2, y0 + size / 2), size, size, fill)
    np.testing.assert_array_equal(crop, expected)


def test_crop_with_scaling_samples_the_closed_form_positions():
    # A linear ramp is reproduced exactly by bilinear interpolation: value = 2·x_index + y_index.
    ys, xs = np.mgrid[0:100, 0:120]
    ramp = (xs * 1.0 + ys * 0.5).astype(np.float32)
    image = np.repeat(ramp[:, :, None], 3, axis=2)
    center, side, out = (60.0, 50.0), 40.0, 20  # 2 image pixels per crop pixel
    crop = crop_window(image, center, side, out, border_value=(0, 0, 0))
    u = np.arange(out)
    source = center[0] - side / 2 + (u + 0.5) * side / out - 0.5  # OpenCV pixel index sampled by column u
    expected = source[None, :] * 1.0 + (center[1] - side / 2 + (u[:, None] + 0.5) * side / out - 0.5) * 0.5
    np.testing.assert_allclose(crop[:, :, 0], expected, atol=1e-3)


def test_padding_colour_is_the_given_mean():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    mean = image.reshape(-1, 3).mean(axis=0)
    outside = crop_window(image, (-500.0, -500.0), 30, 15, border_value=mean)
    np.testing.assert_array_equal(outside, np.broadcast_to(np.round(mean).astype(np.uint8), outside.shape))
    # half outside on the left: the left columns are the fill colour, the right ones image pixels
    partial = crop_window(image, (0.0, 20.0), 20, 20, border_value=mean)
    np.testing.assert_array_equal(partial[:, :9], np.broadcast_to(np.round(mean).astype(np.uint8), (20, 9, 3)))
    np.testing.assert_array_equal(partial[:, 10:], image[10:30, 0:10])


def test_pyramid_is_one_warp_per_scale_and_channels_last(monkeypatch):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8)
    calls = []
    real_warp = imaging.cv2.warpAffine
    monkeypatch.setattr(imaging.cv2, "warpAffine", lambda *a, **k: calls.append(1) or real_warp(*a, **k))
    sides = [40.0, 50.0, 60.0]
    pyramid = crop_pyramid(image, (60.0, 45.0), sides, 31, fill=(1, 2, 3))
    assert len(calls) == 3
    assert pyramid.shape == (3, 3, 31, 31) and pyramid.dtype == torch.uint8
    assert pyramid.is_contiguous(memory_format=torch.channels_last)
    for index, side in enumerate(sides):
        np.testing.assert_array_equal(
            pyramid[index].permute(1, 2, 0).numpy(), crop_window(image, (60.0, 45.0), side, 31, (1, 2, 3))
        )


def test_upsampling_keeps_the_centre_and_scales_displacements():
    size, factor = 17, 16
    rows, cols = np.mgrid[0:size, 0:size]
    for peak in [(8, 8), (5, 11)]:
        blob = np.exp(-((rows - peak[0]) ** 2 + (cols - peak[1]) ** 2) / 4.0)
        up = upsample_responses(torch.tensor(blob[None], dtype=torch.float32), factor)[0].numpy()
        assert up.shape == (272, 272)
        expected = np.array([peak[1] - 8, peak[0] - 8]) * factor
        np.testing.assert_allclose(peak_displacement(up), expected, atol=0.5 + 1e-9)
    constant = upsample_responses(torch.full((2, 5, 5), 3.0), 4)
    torch.testing.assert_close(constant, torch.full((2, 20, 20), 3.0))


def test_peak_displacement_closed_form():
    response = np.zeros((5, 7))
    response[1, 6] = 1.0
    np.testing.assert_array_equal(peak_displacement(response), [3.0, -1.0])


def test_scale_penalty_applies_to_off_centre_scales_only():
    responses = np.stack([np.full((3, 3), 2.0), np.full((3, 3), 1.99), np.full((3, 3), 1.0)])
    peaks = penalized_peaks(responses, 0.9)
    np.testing.assert_allclose(peaks, [1.8, 1.99, 0.9])
    assert int(np.argmax(peaks)) == 1  # the larger raw peak at scale 0 loses to the unpenalised centre


def test_scale_penalty_lowers_negative_peaks_too():
    # logits of a network trained with an unbalanced logistic loss: every peak below zero
    responses = np.stack([np.full((3, 3), -0.50), np.full((3, 3), -0.52), np.full((3, 3), -2.0)])
    peaks = penalized_peaks(responses, 0.9)
    np.testing.assert_allclose(peaks, [-0.50 / 0.9, -0.52, -2.0 / 0.9])
    assert int(np.argmax(peaks)) == 1  # a plain product would give -0.45 > -0.52: the off-centre scale would win
    # per-scale factors above 1 (TADT's 1.005) raise a scale's merit whatever the sign
    bonus = penalized_peaks(np.stack([np.full((2, 2), v) for v in (-1.0, -1.0, 1.0)]), [0.99, 1.0, 1.005])
    np.testing.assert_allclose(bonus, [-1.0 / 0.99, -1.0, 1.005])
    # continuous and increasing in the peak for a fixed penalty
    values = np.linspace(-1, 1, 201)
    merits = [penalized_peaks(np.stack([np.full((1, 1), v)] * 3), 0.9)[0] for v in values]
    assert np.all(np.diff(merits) > 0)


def test_window_blend_closed_form():
    response = np.array([[1.0, 2.0], [3.0, 6.0]])
    window = np.full((2, 2), 0.25)
    normalised = (response - 1.0) / 8.0
    np.testing.assert_allclose(apply_window(response, window, 0.0), normalised)
    np.testing.assert_allclose(apply_window(response, window, 1.0), window)
    blended = apply_window(response, window, 0.3)
    np.testing.assert_allclose(blended, 0.7 * normalised + 0.3 * window)
    assert blended.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(apply_window(np.zeros((2, 2)), window, 0.5), np.full((2, 2), 0.25))


class BrightnessNet(SiamFCNet):
    """A SiamFC whose embedding is exactly known: mean brightness over 8x8 cells at stride 8."""

    def __init__(self):
        super().__init__(width=0.25, score_scale=1.0)
        pool = nn.Conv2d(3, 1, kernel_size=8, stride=8, bias=False)
        nn.init.constant_(pool.weight, 1.0 / (8 * 8 * 3 * 255))
        self.backbone = nn.Sequential(pool)
        self.backbone.total_stride = 8


def moving_square_frames(count: int, start=(60.0, 70.0), step=(6.0, -3.0), size=24, shape=(240, 320)):
    """Dark frames with a bright square (plus a dim distractor-free background); returns frames and centres."""
    frames, centres = [], []
    for index in range(count):
        cx, cy = start[0] + step[0] * index, start[1] + step[1] * index
        frame = np.full(shape + (3,), 20, np.uint8)
        x0, y0 = int(round(cx - size / 2)), int(round(cy - size / 2))
        frame[max(y0, 0) : max(y0 + size, 0), max(x0, 0) : max(x0 + size, 0)] = 230
        frames.append(frame)
        centres.append((x0 + size / 2, y0 + size / 2))
    return frames, np.array(centres)


def test_tracker_follows_a_synthetic_target_with_a_known_embedding():
    frames, centres = moving_square_frames(12)
    tracker = SiameseTracker(BrightnessNet(), params=SiameseParams(window_influence=0.1), device="cpu")
    first = np.array([centres[0][0] - 12, centres[0][1] - 12, 24, 24])
    boxes, _ = tracker.track(frames, first)
    errors = np.hypot(*(boxes[:, :2] + boxes[:, 2:] / 2 - centres).T)
    assert errors.max() < 4.0, errors
    assert np.isfinite(tracker.confidence)


def test_target_leaving_the_frame_raises_nothing_and_the_box_stays_usable():
    # the square walks out through the right border and is gone for the last frames
    frames, _ = moving_square_frames(16, start=(250.0, 120.0), step=(12.0, 0.0))
    tracker = SiameseTracker(BrightnessNet(), device="cpu")
    boxes, _ = tracker.track(frames, [238.0, 108.0, 24.0, 24.0])
    assert np.all(np.isfinite(boxes))
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    assert np.all(centres[:, 0] <= 320) and np.all(centres[:, 0] >= 0)
    assert np.all(boxes[:, 2:] >= 24 * 0.2 - 1e-9) and np.all(boxes[:, 2:] <= 24 * 5 + 1e-9)


def test_tracker_rejects_bad_input():
    tracker = SiameseTracker(BrightnessNet(), device="cpu")
    image = np.zeros((50, 60, 3), np.uint8)
    with pytest.raises(RuntimeError, match="before init"):
        tracker.update(image)
    with pytest.raises(ValueError, match="w, h > 0"):
        tracker.init(image, [1, 2, 0, 5])
    with pytest.raises(ValueError, match="w, h > 0"):
        tracker.init(image, [1, 2, float("nan"), 5])
    with pytest.raises(ValueError, match="RGB uint8"):
        tracker.init(np.zeros((50, 60), np.uint8), [1, 2, 3, 4])
    with pytest.raises(TypeError, match="unknown hyper-parameter"):
        SiameseTracker(BrightnessNet(), device="cpu", scale_steps=3)
