"""The readers on the real sequences of ../shared/data (read in place; skipped where absent).

Ground truth is checked against the files parsed independently here (numpy's own text reader), so a
reader bug cannot hide behind the shared parser.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import shared_path
from siamtrack.data import READERS, load_dataset, read_video_sequence, shared_split
from siamtrack.data import sequence as sequence_module
from siamtrack.data.uav123 import UAV123_10FPS_RANGES

DEV_EVAL = [
    "DragonBaby",
    "Jogging.1",
    "ball1",
    "building5",
    "car16_1",
    "horse",
    "OTB-Basketball",
    "VOT-bolt1",
    "UAV123_10fps-car16_2",
    "TinyTLP-Bike",
]


def _raw(path, delimiter=","):
    return np.loadtxt(path, delimiter=delimiter, ndmin=2)


@pytest.fixture(scope="module")
def dev_eval():
    shared_path("data", "index.json")
    return {sequence.name: sequence for sequence in shared_split(shared_path(), "dev-eval")}


def test_dev_eval_split_names_lengths_and_datasets(dev_eval):
    assert list(dev_eval) == DEV_EVAL
    lengths = {name: len(sequence) for name, sequence in dev_eval.items()}
    assert lengths == {
        "DragonBaby": 113,
        "Jogging.1": 307,
        "ball1": 105,
        "building5": 161,
        "car16_1": 139,
        "horse": 348,
        "OTB-Basketball": 725,
        "VOT-bolt1": 350,
        "UAV123_10fps-car16_2": 527,
        "TinyTLP-Bike": 600,
    }
    assert {name: s.dataset for name, s in dev_eval.items() if "-" not in name} == {
        "DragonBaby": "OTB",
        "Jogging.1": "OTB",
        "ball1": "VOT",
        "building5": "UAV123_10fps",
        "car16_1": "UAV123_10fps",
        "horse": "VOT-TIR",
    }
    assert all(len(s.frames) == len(s.ground_truth) == len(s.absent) for s in dev_eval.values())


def test_train_split_matches_index_and_never_overlaps_dev_eval():
    index = json.loads(shared_path("data", "index.json").read_text())
    train = shared_split(shared_path(), "train")
    expected = [entry for entry in index["videos"] if entry["split"] == "train"]
    assert [s.name for s in train] == [entry["name"] for entry in expected]
    assert [len(s) for s in train] == [entry["frames"] for entry in expected]
    assert len(train) == 37 and sum(len(s) for s in train) == 13807  # README: 37 videos, 13.8k frames
    assert all(s.metadata["fps"] == entry["fps"] for s, entry in zip(train, expected))
    dev = {s.name for s in shared_split(shared_path(), "dev-eval", all_targets=True)}
    assert len(dev) == 11 and not dev & {s.name for s in train}  # README: 11 dev-eval sequences


def test_first_boxes_equal_the_files(dev_eval):
    bench = shared_path("data", "benchmarks")
    one_based = {
        "DragonBaby": bench / "OTB/DragonBaby/groundtruth_rect.txt",
        "Jogging.1": bench / "OTB/Jogging/groundtruth_rect.1.txt",
        "building5": bench / "UAV123_10fps/building5/building5.txt",
        "car16_1": bench / "UAV123_10fps/car16_1/car16_1.txt",
    }
    for name, path in one_based.items():
        raw = _raw(path)
        np.testing.assert_array_equal(dev_eval[name].ground_truth, raw - [1, 1, 0, 0], err_msg=name)
    np.testing.assert_array_equal(dev_eval["DragonBaby"].init_box, [159, 82, 56, 65])
    videos = shared_path("data", "videos")
    for name in ("OTB-Basketball", "VOT-bolt1", "UAV123_10fps-car16_2", "TinyTLP-Bike"):  # 0-based files
        np.testing.assert_array_equal(dev_eval[name].ground_truth, _raw(videos / f"{name}.txt"), err_msg=name)


def test_vot_polygons_kept_and_boxed_by_min_max(dev_eval):
    bench = shared_path("data", "benchmarks")
    for name, path in (
        ("ball1", bench / "VOT/ball1/groundtruth.txt"),
        ("horse", bench / "VOT-TIR/horse/groundtruth.txt"),
    ):
        polygons = _raw(path)
        sequence = dev_eval[name]
        np.testing.assert_array_equal(sequence.polygons, polygons)
        xs, ys = polygons[:, 0::2], polygons[:, 1::2]
        expected = np.stack([xs.min(1), ys.min(1), xs.max(1) - xs.min(1), ys.max(1) - ys.min(1)], axis=1)
        np.testing.assert_allclose(sequence.ground_truth, expected)
    np.testing.assert_allclose(dev_eval["ball1"].init_box, [496, 419, 40, 42])  # 496,419,536,419,536,461,...


def test_vot_tags_values_and_alternative_ground_truth(dev_eval):
    ball1 = dev_eval["ball1"]
    folder = shared_path("data", "benchmarks", "VOT", "ball1")
    assert set(ball1.tags) == {"camera_motion", "illum_change", "motion_change", "size_change"}
    for tag, flags in ball1.tags.items():
        np.testing.assert_array_equal(flags, _raw(folder / f"{tag}.tag")[:, 0].astype(bool), err_msg=tag)
    assert ball1.tags["motion_change"][0] and not ball1.tags["camera_motion"][0]
    np.testing.assert_allclose(ball1.metadata["values"]["practical"], _raw(folder / "practical.value")[:, 0])
    assert ball1.metadata["fps"] == 30.0 and ball1.metadata["name"] == "ball1"
    assert ball1.metadata["other_ground_truth"] == [str(folder / "groundtruth_vot2015.txt")]
    assert Path(ball1.frames.describe(0)).relative_to(folder) == Path("color/00000001.jpg")
    horse = dev_eval["horse"]
    assert set(horse.tags) == {"camera_motion", "dynamics_change", "motion_change", "occlusion", "size_change"}
    assert horse.tags["camera_motion"][0]


def test_tir_grayscale_png_comes_back_as_rgb(dev_eval):
    path = dev_eval["horse"].frames.describe(0)
    assert cv2.imread(path, cv2.IMREAD_UNCHANGED).ndim == 2  # grayscale on disk
    image = dev_eval["horse"].frames[0]
    assert image.shape == (256, 324, 3) and image.dtype == np.uint8
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()


def test_jogging_two_targets_share_frames():
    sequences = {s.name: s for s in load_dataset("otb-folder", shared_path("data", "benchmarks", "OTB"))}
    assert sorted(sequences) == ["DragonBaby", "Jogging.1", "Jogging.2"]
    one, two = sequences["Jogging.1"], sequences["Jogging.2"]
    assert one.frames.paths == two.frames.paths and len(one) == 307
    np.testing.assert_array_equal(two.ground_truth[-1], [142, 92, 36, 147])  # last line 143,93,36,147
    assert not np.array_equal(one.ground_truth, two.ground_truth)
    assert one.attributes == ("OCC", "DEF", "OPR")
    assert sequences["DragonBaby"].attributes == ("SV", "OCC", "MB", "FM", "IPR", "OPR", "OV")


def test_uav_sub_sequence_keeps_its_frame_numbers(dev_eval):
    car16_1 = dev_eval["car16_1"]
    assert car16_1.start_frame == 1 and UAV123_10FPS_RANGES["car16_1"] == ("car16", 1, 139)
    assert Path(car16_1.frames.describe(0)).name == "000001.jpg"
    assert Path(car16_1.frames.describe(-1)).name == "000139.jpg"
    # the 10 fps range table reproduces the shared sub-sequence videos' lengths
    index = json.loads(shared_path("data", "index.json").read_text())
    for entry in index["videos"]:
        name = entry["name"].removeprefix("UAV123_10fps-")
        if entry["name"].startswith("UAV123_10fps-"):
            _, first, last = UAV123_10FPS_RANGES[name]
            assert last - first + 1 == entry["frames"], name


def test_uav_nan_rows_are_absent():
    group3_2 = read_video_sequence(shared_path("data", "videos", "UAV123_10fps-group3_2.mp4"))
    assert group3_2.absent.sum() == 47 and np.isnan(group3_2.ground_truth[group3_2.absent]).all()


def test_video_first_and_last_frame_decode():
    sequence = read_video_sequence(shared_path("data", "videos", "DTB70-MountainBike6.mp4"))
    assert len(sequence) == 81 and sequence.name == "DTB70-MountainBike6"
    np.testing.assert_array_equal(sequence.init_box, [617, 328, 53, 46])
    first, last = sequence.frames[0], sequence.frames[-1]
    assert first.shape == last.shape and first.ndim == 3 and first.dtype == np.uint8
    capture = cv2.VideoCapture(str(sequence.frames.path))  # independent sequential decode
    ok, reference_first = capture.read()
    for _ in range(80):
        ok, reference_last = capture.read()
    capture.release()
    np.testing.assert_array_equal(first, reference_first[:, :, ::-1])
    np.testing.assert_array_equal(last, reference_last[:, :, ::-1])


def test_frames_are_read_lazily(monkeypatch):
    calls = []
    original = sequence_module.read_image
    monkeypatch.setattr(sequence_module, "read_image", lambda path: calls.append(path) or original(path))
    sequences = shared_split(shared_path(), "dev-eval")
    assert calls == []  # building every sequence decodes nothing
    image = sequences[0].frames[5]
    assert calls == [sequences[0].frames.describe(5)] and image.shape == (360, 640, 3)


def test_registry_reads_the_shared_benchmark_layouts():
    bench = shared_path("data", "benchmarks")
    assert [s.name for s in READERS["vot"](bench / "VOT")] == ["ball1"]
    assert [(s.name, len(s)) for s in load_dataset("uav123_10fps", bench / "UAV123_10fps")] == [
        ("building5", 161),
        ("car16_1", 139),
    ]
    assert [s.name for s in load_dataset("shared", shared_path(), split="dev-eval")] == DEV_EVAL
