import numpy as np
import pytest

from siamtrack import geometry


def test_iou_closed_forms():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 5, 5]], float)
    np.testing.assert_allclose(geometry.box_iou(a, b), [1.0, 50 / 150, 0.0, 0.25])


def test_iou_plus_one_counts_inclusive_corners():
    # inclusive corners: 11x11 boxes overlapping in 6x11 pixels
    iou = geometry.box_iou([0, 0, 10, 10], [5, 0, 10, 10], plus_one=True)
    np.testing.assert_allclose(iou, [66 / (121 + 121 - 66)])


def test_iou_nan_rows_stay_nan_and_shapes_checked():
    iou = geometry.box_iou([[np.nan] * 4, [0, 0, 1, 1]], [[0, 0, 1, 1], [0, 0, 1, 1]])
    assert np.isnan(iou[0]) and iou[1] == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        geometry.box_iou(np.zeros((2, 4)), np.zeros((3, 4)))


def test_polygon_to_box_min_max():
    poly = [10, 20, 30, 15, 35, 40, 12, 44]
    np.testing.assert_allclose(geometry.polygon_to_box(poly), [10, 15, 25, 29])


def test_conversions_round_trip():
    box = np.array([3.5, 4.0, 10.0, 7.0])
    np.testing.assert_allclose(geometry.center_to_box(geometry.box_to_center(box)), box)
    np.testing.assert_allclose(geometry.xyxy_to_xywh(geometry.xywh_to_xyxy(box)), box)
    np.testing.assert_allclose(geometry.one_based_to_zero_based([1, 1, 5, 5]), [0, 0, 5, 5])
