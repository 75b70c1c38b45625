"""``siamtrack track`` and ``siamtrack bench`` on real videos and frame folders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from conftest import shared_path
from siamtrack.cli import main
from siamtrack.integrations.video import parse_box
from siamtrack.models import build_model


@pytest.fixture(scope="module")
def quarter_siamfc(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "siamfc-quarter.pth"
    torch.manual_seed(0)
    torch.save(
        {
            "state_dict": build_model("siamfc", width=0.25).state_dict(),
            "model_name": "siamfc",
            "model_config": {"width": 0.25},
        },
        path,
    )
    return path


def read_video(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_track_a_video_writes_boxes_and_an_annotated_mp4(tmp_path, quarter_siamfc, capsys):
    video = shared_path("data", "videos", "VOT-bolt1.mp4")
    first_box = np.loadtxt(str(video).replace(".mp4", ".txt"), delimiter=",")[0]
    out = tmp_path / "run"
    code = main(
        [
            "track",
            "--tracker",
            "siamfc",
            "--weights",
            str(quarter_siamfc),
            "--video",
            str(video),
            "--box",
            ",".join(f"{v:.2f}" for v in first_box),
            "--out",
            str(out),
            "--max-frames",
            "8",
        ]
    )
    assert code == 0, capsys.readouterr().err
    boxes = np.loadtxt(out / "boxes.txt", delimiter=",")
    assert boxes.shape == (8, 4) and np.all(np.isfinite(boxes))
    np.testing.assert_allclose(boxes[0], np.round(first_box, 2), atol=1e-4)
    frames = read_video(out / "track.mp4")
    original = read_video(video)[:1]
    assert len(frames) == 8 and frames[0].shape == original[0].shape
    # the first frame carries the drawn box: pixels on its top edge are the box colour (yellow in BGR)
    x, y = int(round(first_box[0])) + 5, int(round(first_box[1]))
    assert frames[0][y, x, 2] > 150 and frames[0][y, x, 1] > 150 and frames[0][y, x, 0] < 120


def test_track_a_frame_folder(tmp_path, quarter_siamfc):
    folder = shared_path("data", "benchmarks", "VOT", "ball1", "color")
    out = tmp_path / "folder-run"
    assert (
        main(
            [
                "track",
                "--tracker",
                "siamfc",
                "--weights",
                str(quarter_siamfc),
                "--frames",
                str(folder),
                "--box",
                "496,419,40,42",
                "--out",
                str(out),
                "--max-frames",
                "5",
                "--param",
                "window_influence=0.3",
            ]
        )
        == 0
    )
    assert np.loadtxt(out / "boxes.txt", delimiter=",").shape == (5, 4)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--box", "1,2,3"], "--box must be x,y,w,h"),
        (["--box", "1,2,0,4"], "--box must be x,y,w,h"),
        (["--box", "1,2,3,4", "--tracker", "nope"], "unknown tracker 'nope'"),
        (["--box", "1,2,3,4", "--frames", "/nonexistent-folder"], "frame folder does not exist"),
        (["--box", "1,2,3,4", "--param", "scale_steps=2"], "unknown hyper-parameter"),
    ],
)
def test_track_errors_are_clear(tmp_path, capsys, arguments, message):
    base = {"--tracker": "siamfc", "--weights": "random", "--video": "/nonexistent.mp4", "--out": str(tmp_path)}
    for key, value in zip(arguments[::2], arguments[1::2]):
        base[key] = value
    if "--frames" in base:
        del base["--video"]
    argv = ["track"] + [item for pair in base.items() for item in pair]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_parse_box():
    np.testing.assert_array_equal(parse_box("1.5, 2,3,4"), [1.5, 2, 3, 4])


def test_bench_prints_a_table_with_opencv_rows(capsys):
    shared = shared_path()
    assert (
        main(
            [
                "bench",
                "--shared",
                str(shared),
                "--trackers",
                "siamfc",
                "--max-sequences",
                "1",
                "--max-frames",
                "3",
                "--runs",
                "1",
            ]
        )
        == 0
    )
    output = capsys.readouterr().out
    lines = {line.split("|")[1].strip(): line for line in output.splitlines() if line.startswith("| ")}
    assert float(lines["siamfc"].split("|")[-3]) > 0
    for name in ("opencv-csrt", "opencv-kcf"):
        assert name in lines
        has_cv_tracker = hasattr(cv2, f"Tracker{name[7:].upper()}_create") or hasattr(
            getattr(cv2, "legacy", None), f"Tracker{name[7:].upper()}_create"
        )
        assert ("unavailable" in lines[name]) != has_cv_tracker
