"""Augmentation: each transform checked on images whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from siamtrack.imaging import crop_window, window_box
from siamtrack.training.augment import (
    IMAGENET_EIGENVALUES,
    IMAGENET_EIGENVECTORS,
    BranchAugmentation,
    apply_branch,
    color_offset,
    gaussian_blur,
    sample_branch,
    shift_colors,
    stretch_and_shift,
    to_grayscale,
)


def _rectangle_image(height=101, width=121, box=(40, 30, 30, 20), value=255):
    image = np.zeros((height, width, 3), dtype=np.uint8)
    x, y, w, h = box
    image[y : y + h, x : x + w] = value
    return image


def _bright_box(image):
    """Box (x, y, w, h) of a bright rectangle: first rows/columns above half the peak, sizes from the mass."""
    mask = image[..., 0].astype(np.float64) / 255.0
    columns, rows = mask.sum(axis=0), mask.sum(axis=1)
    xs, ys = np.flatnonzero(columns > 0.5 * columns.max()), np.flatnonzero(rows > 0.5 * rows.max())
    return np.array([xs[0], ys[0], columns.sum() / columns.max(), rows.sum() / rows.max()])


def test_crop_window_identity_and_integer_shift():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    np.testing.assert_array_equal(crop_window(image, (25.0, 20.0), (50, 40), (50, 40)), image)
    crop = crop_window(image, (20.0, 15.0), (10, 10), 10)  # window [15, 25) x [10, 20)
    np.testing.assert_array_equal(crop, image[10:20, 15:25])


def test_crop_window_pads_with_the_mean_colour():
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    image[:, :5] = (200, 100, 50)
    crop = crop_window(image, (-20.0, -20.0), (4, 4), 4)  # entirely outside
    np.testing.assert_array_equal(crop, np.full((4, 4, 3), (100, 50, 25), dtype=np.uint8))
    with pytest.raises(ValueError, match="positive"):
        crop_window(image, (5, 5), (0, 4), 4)


def test_window_box_matches_the_resampled_content():
    image = _rectangle_image()
    box = np.array([40, 30, 30, 20], dtype=np.float64)
    center, window, out = (55.0, 40.0), (80.0, 60.0), 64
    crop = crop_window(image, center, window, out)
    expected = window_box(box, center, window, out)
    np.testing.assert_allclose(expected, [(40 - 15) * 0.8, (30 - 10) * 64 / 60, 24, 20 * 64 / 60])
    np.testing.assert_allclose(_bright_box(crop), expected, atol=0.6)


def test_stretch_and_shift_moves_and_scales_the_target():
    image = _rectangle_image(100, 100, box=(35, 40, 30, 20))  # target centred at (50, 50) = image centre
    crop, box = stretch_and_shift(image, [35, 40, 30, 20], 81, stretch=(1.2, 0.9), shift=(3.0, -5.0))
    center = box[:2] + box[2:] / 2
    np.testing.assert_allclose(center, [81 / 2 + 3, 81 / 2 - 5])
    np.testing.assert_allclose(box[2:], [36.0, 18.0])
    np.testing.assert_allclose(_bright_box(crop), box, atol=0.6)
    plain, plain_box = stretch_and_shift(image, [35, 40, 30, 20], 100)
    np.testing.assert_array_equal(plain, image)
    np.testing.assert_allclose(plain_box, [35, 40, 30, 20])


def test_color_offset_is_alexnet_pca_lighting():
    np.testing.assert_array_equal(color_offset([0, 0, 0]), np.zeros(3))
    np.testing.assert_allclose(color_offset([1.0, 0, 0]), 255 * IMAGENET_EIGENVALUES[0] * IMAGENET_EIGENVECTORS[:, 0])
    np.testing.assert_allclose(IMAGENET_EIGENVECTORS.T @ IMAGENET_EIGENVECTORS, np.eye(3), atol=1e-3)
    image = np.full((2, 2, 3), 250, dtype=np.uint8)
    shifted = shift_colors(image, (10.0, -10.0, 0.5))
    assert shifted.dtype == np.float32
    np.testing.assert_allclose(shifted[0, 0], [255.0, 240.0, 250.5])


def test_gaussian_blur_against_scipy_and_invariants():
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, size=(48, 48, 3)).astype(np.float32)
    blurred = gaussian_blur(image, 1.5)
    reference = np.stack(
        [ndimage.gaussian_filter(image[..., c], 1.5, mode="mirror", truncate=3.0) for c in range(3)], axis=-1
    )
    np.testing.assert_allclose(blurred[8:-8, 8:-8], reference[8:-8, 8:-8], atol=0.5)
    assert blurred.std() < 0.5 * image.std()
    assert gaussian_blur(image, 0.0) is image
    constant = np.full((20, 20, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(gaussian_blur(constant, 2.0), constant)


def test_grayscale_is_the_bt601_luma_on_every_channel():
    image = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    gray = to_grayscale(image)
    assert gray.shape == image.shape
    np.testing.assert_allclose(
        gray[..., 0], [[0.2989 * 255, 0.5870 * 255, 0.1140 * 255, 0.2989 * 10 + 0.5870 * 20 + 0.1140 * 30]], rtol=1e-6
    )
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    stretch=st.floats(0, 0.5),
    shift=st.floats(0, 10),
    color=st.floats(0, 1),
    blur=st.floats(0, 1),
)
def test_sample_branch_respects_its_ranges_and_is_deterministic(seed, stretch, shift, color, blur):
    settings_ = BranchAugmentation(
        stretch=stretch, shift=shift, color=color, blur_probability=blur, blur_sigma_min=0.5, blur_sigma_max=2.0
    )
    draw = sample_branch(np.random.default_rng(seed), settings_)
    assert draw == sample_branch(np.random.default_rng(seed), settings_)
    assert all(1 - stretch <= s <= 1 + stretch for s in draw.stretch)
    assert all(abs(d) <= shift for d in draw.shift)
    assert draw.blur_sigma == 0.0 or 0.5 <= draw.blur_sigma <= 2.0
    if blur == 0:
        assert draw.blur_sigma == 0.0
    if color == 0:
        assert not any(draw.alphas)


def test_off_switches_leave_the_other_draws_unchanged():
    full = BranchAugmentation(stretch=0.1, shift=4, color=0.1, blur_probability=0.5)
    no_color = BranchAugmentation(stretch=0.1, shift=4, color=0.0, blur_probability=0.5)
    a, b = sample_branch(np.random.default_rng(7), full), sample_branch(np.random.default_rng(7), no_color)
    assert a.stretch == b.stretch and a.shift == b.shift and a.blur_sigma == b.blur_sigma


def test_apply_branch_without_augmentation_is_a_centre_crop():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, size=(21, 21, 3), dtype=np.uint8)
    draw = sample_branch(rng, BranchAugmentation())
    crop, box = apply_branch(image, [8, 8, 5, 5], 11, draw)
    np.testing.assert_array_equal(crop, image[5:16, 5:16].astype(np.float32))
    np.testing.assert_allclose(box, [3, 3, 5, 5])


@pytest.mark.parametrize("field, value", [("stretch", 1.0), ("shift", -1), ("blur_probability", 1.5), ("color", -0.1)])
def test_invalid_augmentation_settings(field, value):
    with pytest.raises(ValueError, match=field):
        BranchAugmentation(**{field: value})
