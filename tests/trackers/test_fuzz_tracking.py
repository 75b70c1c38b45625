"""Fuzz test (hypothesis) of the tracking entry point ``Tracker.track(frames, box)``.

Over frame sizes (16x16 to 400x300) and initial boxes inside the first frame, on its border, partly outside,
fully outside, tiny (< 2 px), larger than the frame, of extreme size (1e-300 to 1e300 px a side) and invalid
(zero/negative size, NaN/inf) -- one hypothesis run per box kind -- for the trackers
``dcfnet``, ``siamfc`` (bundled weights), ``tadt-lite`` and ``siamfc-lite`` (ImageNet EfficientNet-Lite0 trunk from
its installed package), on 3 synthetic frames of random texture: ``track`` either raises the documented
``ValueError`` of :func:`siamtrack.trackers.base.check_initial_box` (exactly when that function rejects the box for
the first frame) or returns one finite box per frame with positive width and height -- never NaN, never a zero or
negative size, never another exception.

Reproducible (``derandomize=True``) and small: the whole file runs in well under a minute on one thread.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siamtrack.trackers import build_tracker
from siamtrack.trackers.base import check_initial_box

TRACKERS = ("dcfnet", "siamfc", "siamfc-lite", "tadt-lite")
# examples per tracker and box kind: tadt-lite's first frame (the channel selection's solvers) takes ~0.5 s, the
# others ~0.1-0.4 s per example; boxes that check_initial_box rejects (outside, invalid) cost nothing
MAX_EXAMPLES = {"dcfnet": 6, "siamfc": 6, "siamfc-lite": 4, "tadt-lite": 3}
NUM_FRAMES = 3
BOX_KINDS = ("inside", "border", "partial", "outside", "tiny", "larger", "extreme", "invalid")


@pytest.fixture(scope="module")
def trackers():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield {name: build_tracker(name, device="cpu") for name in TRACKERS}
    torch.set_num_threads(threads)


def texture_frames(seed: int, width: int, height: int, count: int = NUM_FRAMES) -> list[np.ndarray]:
    """``count`` RGB ``uint8`` ``height x width`` frames: smooth random texture plus noise, shifted a little from
    frame to frame (something to track, but no real target)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(height // 4, 2), max(width // 4, 2), 3), dtype=np.uint8)
    base = cv2.resize(coarse, (width + 8, height + 8), interpolation=cv2.INTER_LINEAR)
    frames = []
    for _ in range(count):
        dx, dy = rng.integers(0, 9, 2)
        frame = base[dy : dy + height, dx : dx + width].astype(np.int16) + rng.integers(-20, 21, (height, width, 3))
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


@st.composite
def boxes(draw, width: int, height: int, kind: str):
    """An initial ``x, y, w, h`` box of ``kind`` (one of :data:`BOX_KINDS`) for a ``width x height`` frame."""
    if kind == "tiny":
        size = st.floats(1e-4, 2.0, exclude_max=True)
    elif kind == "larger":
        size = st.floats(1.0, 4.0 * max(width, height))
    elif kind == "extreme":  # 1e-300 .. 1e300 px a side: w·h under- or overflows, sqrt(w)·sqrt(h) does not
        exponents = st.one_of(st.sampled_from([-300.0, 300.0, -160.0, 160.0]), st.floats(-300.0, 300.0))
        size = exponents.map(lambda exponent: 10.0**exponent)
    else:
        size = st.floats(1.0, float(max(width, height)))
    w, h = draw(size), draw(size)
    if kind == "larger":  # at least one side larger than the frame's
        w = max(w, width + draw(st.floats(0.0, 2.0 * width)))
    if kind in ("inside", "tiny"):
        x = draw(st.floats(0.0, max(width - w, 0.0)))
        y = draw(st.floats(0.0, max(height - h, 0.0)))
    elif kind == "border":  # an edge on the frame's border (touching it from inside or outside)
        x = draw(st.sampled_from([0.0, width - w, -w, float(width)]))
        y = draw(st.floats(-h, float(height)))
    elif kind == "partial":  # straddling an edge or a corner
        x = draw(st.floats(-w + 1e-3, width - 1e-3)) if w > 2e-3 else 0.0
        y = draw(st.floats(-h + 1e-3, height - 1e-3)) if h > 2e-3 else 0.0
        x = draw(st.sampled_from([x, -w / 2, width - w / 2]))
    elif kind == "outside":
        x = draw(st.sampled_from([-w - draw(st.floats(0.0, 100.0)), width + draw(st.floats(0.0, 100.0))]))
        y = draw(st.floats(-h - 100.0, height + 100.0))
    elif kind == "larger":
        x = draw(st.floats(-w, float(width)))
        y = draw(st.floats(-h, float(height)))
    elif kind == "extreme":  # centred on a point of the frame
        x = draw(st.floats(0.0, width - 1.0)) - w / 2
        y = draw(st.floats(0.0, height - 1.0)) - h / 2
    else:  # invalid: a zero/negative size or a non-finite number somewhere
        x = draw(st.floats(0.0, float(width)))
        y = draw(st.floats(0.0, float(height)))
        bad = draw(st.sampled_from([0.0, -1.0, -w, float("nan"), float("inf"), -float("inf")]))
        box = [x, y, w, h]
        box[draw(st.integers(2, 3) if np.isfinite(bad) else st.integers(0, 3))] = bad  # a size <= 0, or non-finite
        return box
    if kind not in ("extreme", "tiny") and draw(st.booleans()):
        x, y, w, h = (float(round(v)) for v in (x, y, w, h))  # integer boxes, as annotations mostly are
    return [x, y, w, h]


@st.composite
def cases(draw, kind: str):
    """``(width, height, box, seed)``: a frame size, an initial box of ``kind`` and the frames' seed."""
    width = draw(st.integers(16, 400))
    height = draw(st.integers(16, 300))
    box = draw(boxes(width, height, kind))
    seed = draw(st.integers(0, 2**16))
    return width, height, box, seed


def check_track(tracker, frames: list[np.ndarray], box) -> None:
    """The property: ``track`` raises check_initial_box's ValueError exactly when that rejects the box for the
    first frame; otherwise every box it returns is finite with positive width and height."""
    try:
        check_initial_box(box, tracker.name, frames[0])
    except ValueError as error:
        with pytest.raises(ValueError) as raised:
            tracker.track(frames, box)
        assert str(raised.value) == str(error)
        return
    result, seconds = tracker.track(frames, box)
    assert result.shape == (len(frames), 4) and seconds.shape == (len(frames),)
    assert np.all(np.isfinite(result)), result
    assert np.all(result[:, 2:] > 0), result
    np.testing.assert_array_equal(result[0], np.asarray(box, dtype=np.float64))


@pytest.mark.parametrize("kind", BOX_KINDS)
@pytest.mark.parametrize("name", TRACKERS)
def test_track_fuzz(trackers, name, kind):
    tracker = trackers[name]

    @settings(
        max_examples=MAX_EXAMPLES[name],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )
    @given(cases(kind))
    def run(case):
        width, height, box, seed = case
        check_track(tracker, texture_frames(seed, width, height), box)

    run()


# ---- regressions found by the fuzz --------------------------------------------------------------------------


@pytest.mark.parametrize("side", [1e-200, 2e200])
def test_context_side_of_extreme_boxes_is_finite_and_positive(side):
    """SiamFC's ``sqrt((w + p)(h + p))`` was 0 for a 1e-200 px box (the product underflowed) and inf for a
    2e200 px one (it overflowed); the crop then raised ``crop window must have a positive finite size``."""
    from siamtrack.trackers.search import context_side

    value = context_side(side, side)
    assert np.isfinite(value) and value > 0
    assert value == pytest.approx(2.0 * side)


@pytest.mark.parametrize("name", ["siamfc", "siamfc-lite", "tadt-lite"])
@pytest.mark.parametrize("box", [[0.0, 0.0, 1e-200, 1e-200], [-1e200, -1e200, 2e200, 2e200]])
def test_track_extreme_box_sizes(trackers, name, box):
    """Minimal failing examples of the fuzz (a 16x16 frame): siamfc/siamfc-lite raised the crop's ValueError
    ``crop window must have a positive finite size`` and tadt-lite a ZeroDivisionError (its zoom
    ``target_size / sqrt(w h)``), for boxes that :func:`check_initial_box` accepts."""
    check_track(trackers[name], texture_frames(0, 16, 16), box)
