"""Label maps: SiamFC's ±1 disc, Gaussian responses, and the map <-> crop geometry."""

from __future__ import annotations

import numpy as np
import pytest

from siamtrack.labels import gaussian_labels, logistic_labels, map_center


def test_map_center_of_a_centred_and_a_displaced_target():
    np.testing.assert_allclose(map_center(17), [8.0, 8.0])
    np.testing.assert_allclose(map_center(17, (16.0, -8.0), stride=8), [10.0, 7.0])
    np.testing.assert_allclose(map_center((9, 11), (0, 0)), [5.0, 4.0])  # (x, y) of a 9 high, 11 wide map
    with pytest.raises(ValueError, match="stride"):
        map_center(17, stride=0)


def test_siamfc_logistic_labels_have_13_positives_in_a_radius_two_disc():
    labels = logistic_labels(17, map_center(17), radius=16, stride=8)
    assert labels.shape == (17, 17) and labels.dtype == np.float32
    assert set(np.unique(labels)) == {-1.0, 1.0}
    positives = np.argwhere(labels > 0)
    assert len(positives) == 13  # integer points with dx^2 + dy^2 <= 4
    assert np.all(((positives - 8) ** 2).sum(axis=1) <= 4)
    assert labels[8, 10] == 1 and labels[9, 10] == -1  # distance 2 is inside, sqrt(5) is outside


def test_logistic_labels_follow_a_displaced_target():
    labels = logistic_labels(17, map_center(17, (8.0, 0.0), stride=8), radius=0, stride=8)
    assert np.argwhere(labels > 0).tolist() == [[8, 9]]  # one cell to the right


def test_gaussian_labels_values():
    labels = gaussian_labels(15, (7.0, 7.0), sigma=2.0)
    assert labels[7, 7] == pytest.approx(1.0)
    assert labels[7, 9] == pytest.approx(np.exp(-0.5), rel=1e-6)  # one sigma away
    assert labels[5, 5] == pytest.approx(np.exp(-1.0), rel=1e-6)  # sqrt(8) = sqrt(2) sigma away
    with pytest.raises(ValueError, match="sigma"):
        gaussian_labels(15, (7, 7), sigma=0)


def test_wrapped_gaussian_equals_dcfnet_label():
    dcfnet = pytest.importorskip("siamtrack.models.dcfnet")
    size, sigma = 125, 125 / (1 + 2.0) * 0.1
    ours = gaussian_labels(size, (0.0, 0.0), sigma, wrap=True)
    np.testing.assert_allclose(ours, dcfnet.gaussian_label(size, sigma).numpy(), rtol=1e-6, atol=1e-7)


def test_wrapped_gaussian_is_periodic():
    shifted = gaussian_labels(20, (3.0, 17.0), sigma=2.5, wrap=True)
    origin = gaussian_labels(20, (0.0, 0.0), sigma=2.5, wrap=True)
    np.testing.assert_allclose(shifted, np.roll(origin, (17, 3), axis=(0, 1)), rtol=1e-6)
