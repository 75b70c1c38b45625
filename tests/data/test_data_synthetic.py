"""Readers on small synthetic layouts written to tmp_path: benchmark quirks absent from ../shared and the
error cases. Frame files are empty unless a test decodes them (frames are checked by listing, not decoding).
"""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from siamtrack import cli
from siamtrack.data import (
    DatasetError,
    load_dataset,
    read_folder_sequence,
    read_got10k,
    read_lasot,
    read_otb,
    read_otb_sequence,
    read_tc128,
    read_uav123,
    read_vid,
    read_video_sequence,
    read_vot,
    read_vot_sequence,
)
from siamtrack.data.otb import OTB2013_TARGETS, OTB2015_TARGETS
from siamtrack.evaluation import tre_start_frames
from siamtrack.evaluation.runner import one_pass_jobs


def _frames(directory: Path, numbers, pattern: str = "%04d.jpg") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        (directory / (pattern % number)).write_bytes(b"")


def _boxes(count: int, start: int = 1, delimiter: str = ",") -> str:
    return "".join(delimiter.join(str(v) for v in (start + i, 10 + i, 20, 30)) + "\n" for i in range(count))


# ---------------------------------------------------------------------------------------------- OTB ----


def _otb_video(
    root: Path,
    video: str,
    rows: int,
    images=None,
    digits: int = 4,
    targets=(None,),
    delimiter: str = ",",
    start: int = 1,
) -> None:
    numbers = images if images is not None else range(start, start + rows)
    _frames(root / video / "img", numbers, f"%0{digits}d.jpg")
    for target in targets:
        name = "groundtruth_rect.txt" if target is None else f"groundtruth_rect.{target}.txt"
        (root / video / name).write_text(_boxes(rows, delimiter=delimiter))


def _otb_root(root: Path) -> Path:
    quirks = {
        "David": dict(rows=471, images=range(1, 771)),
        "Football1": dict(rows=74, images=range(1, 81)),
        "Freeman3": dict(rows=460, images=range(1, 471)),
        "Freeman4": dict(rows=283, images=range(1, 291)),
        "Diving": dict(rows=215, images=range(1, 232)),
        "BlurCar1": dict(rows=4, start=247),
        "BlurCar3": dict(rows=4, start=3),
        "BlurCar4": dict(rows=4, start=18),
        "Board": dict(rows=3, digits=5),
        "Jogging": dict(rows=3, targets=(1, 2)),
        "Skating2": dict(rows=3, targets=(1, 2)),
        "Human4": dict(rows=3, targets=(2,)),
    }
    videos = {name.split(".")[0] for name in OTB2015_TARGETS}
    for video in sorted(videos):
        _otb_video(root, video, **quirks.get(video, dict(rows=3)))
    (root / "Human4" / "groundtruth_rect.1.txt").write_text("")  # empty in the official zip
    return root


def test_otb2013_and_otb2015_target_lists(tmp_path):
    root = _otb_root(tmp_path)
    otb2013, otb2015 = read_otb(root, "otb2013"), read_otb(root, "otb2015")
    assert len(otb2013) == 51 and len(otb2015) == 100
    assert [s.name for s in otb2015] == OTB2015_TARGETS and [s.name for s in otb2013] == OTB2013_TARGETS
    assert {"Jogging.1", "Jogging.2", "Skating2.1", "Skating2.2", "Human4.2"} <= {s.name for s in otb2015}
    assert "Human4.1" not in {s.name for s in otb2015}
    assert otb2015[0].dataset == "OTB-2015" and otb2013[0].dataset == "OTB-2013"
    assert all(s.attributes for s in otb2015)  # every one of the 100 targets has its attributes
    assert {a for s in otb2015 for a in s.attributes} == {
        "IV",
        "SV",
        "OCC",
        "DEF",
        "MB",
        "FM",
        "IPR",
        "OPR",
        "OV",
        "BC",
        "LR",
    }
    folder = read_otb(root, "folder")
    assert [s.name for s in folder] == sorted(OTB2015_TARGETS)


def test_otb_frame_range_quirks(tmp_path):
    root = _otb_root(tmp_path)
    by_name = {s.name: s for s in read_otb(root, "otb2015")}
    expectations = {
        "David": (300, 471, "0300.jpg", "0770.jpg"),
        "Football1": (1, 74, "0001.jpg", "0074.jpg"),
        "Freeman3": (1, 460, "0001.jpg", "0460.jpg"),
        "Freeman4": (1, 283, "0001.jpg", "0283.jpg"),
        "Diving": (1, 215, "0001.jpg", "0215.jpg"),
        "BlurCar1": (247, 4, "0247.jpg", "0250.jpg"),
        "BlurCar3": (3, 4, "0003.jpg", "0006.jpg"),
        "BlurCar4": (18, 4, "0018.jpg", "0021.jpg"),
        "Board": (1, 3, "00001.jpg", "00003.jpg"),
    }
    for name, (start, length, first, last) in expectations.items():
        sequence = by_name[name]
        assert (sequence.start_frame, len(sequence)) == (start, length), name
        assert Path(sequence.frames.describe(0)).name == first and Path(sequence.frames.describe(-1)).name == last


def test_otb_delimiters_and_one_based_boxes(tmp_path):
    for video, delimiter in (("Comma", ","), ("Tab", "\t"), ("Space", " ")):
        _otb_video(tmp_path, video, rows=2, delimiter=delimiter)
        sequence = read_otb_sequence(tmp_path / video)
        np.testing.assert_array_equal(sequence.ground_truth, [[0, 9, 20, 30], [1, 10, 20, 30]])
        assert sequence.attributes == ()  # not an OTB target


def test_otb_tiger1_init_omit_is_opt_in(tmp_path):
    _otb_video(tmp_path, "Tiger1", rows=12)
    default = read_otb_sequence(tmp_path / "Tiger1")
    omitted = read_otb_sequence(tmp_path / "Tiger1", tiger1_init_omit=True)
    assert (len(default), default.start_frame) == (12, 1)
    assert (len(omitted), omitted.start_frame, omitted.metadata["init_omit"]) == (7, 6, 5)
    np.testing.assert_array_equal(omitted.init_box, default.ground_truth[5])
    assert Path(omitted.frames.describe(0)).name == "0006.jpg"


def _init_omit(root: Path, files: dict[str, str]) -> None:
    (root / "initOmit").mkdir(exist_ok=True)
    for name, text in files.items():
        (root / "initOmit" / name).write_text(text)


def test_otb_init_omit_files_fill_tre_omit(tmp_path):
    _otb_video(tmp_path, "Walking", rows=10)
    _otb_video(tmp_path, "Plain", rows=5)
    _otb_video(tmp_path, "BlurCar4", rows=30, start=18)  # images 0018..0047
    _otb_video(tmp_path, "Tiger1", rows=12)
    _otb_video(tmp_path, "Jogging", rows=8, targets=(1, 2))
    _init_omit(
        tmp_path,
        {
            "walking.txt": "3 4\n7,10\n",
            "BLURCAR4.TXT": "20 25\n1\t19\n45 60",
            "tiger1.txt": "1 5\n8 9\n",
            "jogging.txt": "2 3\n",
            "Jogging-2.txt": "5 6\n",
            "empty.txt": "\n",
        },
    )
    # 1-based inclusive image numbers -> 0-based inclusive indices from the sequence's first frame
    assert read_otb_sequence(tmp_path / "Walking").metadata["tre_omit"] == [(2, 3), (6, 9)]
    assert "tre_omit" not in read_otb_sequence(tmp_path / "Plain").metadata  # no file: nothing omitted
    # BlurCar4 starts at image 18: numbers shift by 18, ranges are clipped to the sequence's 30 frames
    blurcar4 = read_otb_sequence(tmp_path / "BlurCar4")
    assert blurcar4.metadata["tre_omit"] == [(2, 7), (0, 1), (27, 29)]
    # Tiger1 started at frame 6 (tiger1_init_omit): the range before it is dropped, the other shifted
    assert read_otb_sequence(tmp_path / "Tiger1").metadata["tre_omit"] == [(0, 4), (7, 8)]
    assert read_otb_sequence(tmp_path / "Tiger1", tiger1_init_omit=True).metadata["tre_omit"] == [(2, 3)]
    # two targets: the toolkit's <video>-<target>.txt where present, else <video>.txt
    assert read_otb_sequence(tmp_path / "Jogging", 1).metadata["tre_omit"] == [(1, 2)]
    assert read_otb_sequence(tmp_path / "Jogging", 2).metadata["tre_omit"] == [(4, 5)]
    # read_otb reads the same files (the folder version does not take initOmit/ for a video)
    by_name = {s.name: s for s in read_otb(tmp_path, "folder")}
    assert by_name["Walking"].metadata["tre_omit"] == [(2, 3), (6, 9)] and "Jogging.2" in by_name
    _otb_video(tmp_path, "Empty", rows=3)
    assert read_otb_sequence(tmp_path / "Empty").metadata["tre_omit"] == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("3 4\n5 x\n", r"initOmit/walking\.txt:2: cannot read 'x' as a number \(line '5 x'\)"),
        ("3 4\n9 7\n", r"initOmit/walking\.txt:2: expected two frame numbers 1 <= first <= last \(line '9 7'\)"),
        ("0 3\n", r"initOmit/walking\.txt:1: expected two frame numbers .* \(line '0 3'\)"),
        ("2.5 4\n", r"initOmit/walking\.txt:1: expected two frame numbers .* \(line '2.5 4'\)"),
        ("1 2\n3 4 5\n", r"initOmit/walking\.txt:2: expected 2 values, found 3 \(line '3 4 5'\)"),
    ],
)
def test_otb_malformed_init_omit_names_file_line_and_text(tmp_path, text, message):
    _otb_video(tmp_path, "Walking", rows=10)
    _init_omit(tmp_path, {"walking.txt": text})
    with pytest.raises(DatasetError, match=message):
        read_otb_sequence(tmp_path / "Walking")


def test_otb_init_omit_files_differing_in_case_are_an_error(tmp_path):
    _otb_video(tmp_path, "Walking", rows=10)
    _init_omit(tmp_path, {"walking.txt": "1 2\n", "Walking.txt": "3 4\n"})
    if len(list((tmp_path / "initOmit").iterdir())) < 2:
        pytest.skip("case-insensitive file system")
    with pytest.raises(DatasetError, match=r"Walking\.txt and walking\.txt are both the initOmit file of Walking"):
        read_otb_sequence(tmp_path / "Walking")


def test_otb_tre_start_frames_skip_the_init_omit_range(tmp_path):
    _otb_video(tmp_path, "Walking", rows=60)
    plain = read_otb_sequence(tmp_path / "Walking")
    _init_omit(tmp_path, {"walking.txt": "11 30\n"})  # 0-based frames 10..29
    sequence = read_otb_sequence(tmp_path / "Walking")
    starts = tre_start_frames(sequence.ground_truth, sequence.absent, omit=sequence.metadata["tre_omit"])
    before = tre_start_frames(plain.ground_truth, plain.absent, omit=plain.metadata.get("tre_omit", ()))
    assert any(10 <= start <= 29 for start in before)
    assert not any(10 <= start <= 29 for start in starts)
    # candidates 0..9 and 30..40 (at least 20 frames left): E = 21, positions floor(1 + 21k/19) and E
    candidates = list(range(10)) + list(range(30, 41))
    positions = [1 + (k * 21) // 19 for k in range(19)] + [21]
    assert starts == [candidates[p - 1] for p in positions]
    # the runner takes the same start frames from the sequence's metadata
    jobs = one_pass_jobs([sequence], tmp_path / "results", "tracker", "tre")
    assert [job.start for job in jobs] == starts


def test_otb_errors_name_the_fault(tmp_path):
    _otb_video(tmp_path, "Extra", rows=3, images=range(1, 5))
    with pytest.raises(DatasetError, match=r"Extra/groundtruth_rect\.txt: 3 ground-truth rows but .* holds 4 images"):
        read_otb_sequence(tmp_path / "Extra")
    _otb_video(tmp_path, "Gap", rows=4, images=[1, 2, 4])
    with pytest.raises(DatasetError, match=r"Gap/img/0003\.jpg: frame file missing"):
        read_otb_sequence(tmp_path / "Gap")
    _otb_video(tmp_path, "David", rows=470, images=range(1, 771))
    with pytest.raises(
        DatasetError, match=r"470 rows from frame 300 end at frame 769, but OTB's David ends at frame 770"
    ):
        read_otb_sequence(tmp_path / "David")
    _otb_video(tmp_path, "Negative", rows=2)
    (tmp_path / "Negative" / "groundtruth_rect.txt").write_text("1,2,3,4\n1,2,-3,4\n")
    with pytest.raises(DatasetError, match=r"Negative/groundtruth_rect\.txt:2: non-positive box size in 1, 2, -3, 4"):
        read_otb_sequence(tmp_path / "Negative")
    _otb_video(tmp_path, "Malformed", rows=2)
    (tmp_path / "Malformed" / "groundtruth_rect.txt").write_text("1,2,3,4\n1;2;3;4\n")
    with pytest.raises(DatasetError, match=r"Malformed/groundtruth_rect\.txt:2: cannot read '1;2;3;4'"):
        read_otb_sequence(tmp_path / "Malformed")
    with pytest.raises(DatasetError, match=r"Basketball: otb2013 video folder missing"):
        read_otb(tmp_path, "otb2013")


# -------------------------------------------------------------------------------------------- TC128 ----


def test_tc128_frame_range_file(tmp_path):
    sequence_dir = tmp_path / "Ball_ce1"
    _frames(sequence_dir / "img", range(1, 11))
    (sequence_dir / "Ball_ce1_frames.txt").write_text("3,7\n")
    (sequence_dir / "Ball_ce1_gt.txt").write_text(_boxes(5))
    (sequence,) = read_tc128(tmp_path)
    assert (sequence.name, sequence.start_frame, len(sequence), sequence.dataset) == ("Ball_ce1", 3, 5, "TC128")
    assert Path(sequence.frames.describe(0)).name == "0003.jpg"
    np.testing.assert_array_equal(sequence.init_box, [0, 9, 20, 30])
    (sequence_dir / "Ball_ce1_gt.txt").write_text(_boxes(4))
    with pytest.raises(DatasetError, match=r"Ball_ce1_gt\.txt: 4 ground-truth rows for frames 3-7"):
        read_tc128(tmp_path)
    (sequence_dir / "Ball_ce1_frames.txt").write_text("7,3\n")
    with pytest.raises(DatasetError, match=r"Ball_ce1_frames\.txt:1: invalid frame range 7,3"):
        read_tc128(tmp_path)


# -------------------------------------------------------------------------------------------- LaSOT ----


def _lasot_sequence(root: Path, name: str, boxes: str, occlusion: str, out_of_view: str) -> Path:
    sequence_dir = root / name.rsplit("-", 1)[0] / name
    rows = boxes.count("\n")
    _frames(sequence_dir / "img", range(1, rows + 1), "%08d.jpg")
    (sequence_dir / "groundtruth.txt").write_text(boxes)
    (sequence_dir / "full_occlusion.txt").write_text(occlusion)
    (sequence_dir / "out_of_view.txt").write_text(out_of_view)
    (sequence_dir / "nlp.txt").write_text("white airplane flying\n")
    return sequence_dir


def test_lasot_occlusion_and_out_of_view_make_absent(tmp_path):
    _lasot_sequence(tmp_path, "airplane-1", "5,6,7,8\n0,0,0,0\n5,6,7,8\n5,6,7,8\n", "0,0,1,0", "0,1,0,0")
    _lasot_sequence(tmp_path, "bear-12", "1,1,2,2\n1,1,2,2\n", "0,0", "0,0")
    airplane, bear = read_lasot(tmp_path)
    assert (airplane.name, bear.name, airplane.dataset) == ("airplane-1", "bear-12", "LaSOT")
    np.testing.assert_array_equal(airplane.absent, [False, True, True, False])
    np.testing.assert_array_equal(airplane.tags["out_of_view"], [False, True, False, False])
    np.testing.assert_array_equal(airplane.init_box, [4, 5, 7, 8])
    assert airplane.metadata == {"class": "airplane", "nlp": "white airplane flying"}
    split = tmp_path / "testing_set.txt"
    split.write_text("bear-12\n")
    assert [s.name for s in read_lasot(tmp_path, split_file=split)] == ["bear-12"]


def test_lasot_errors(tmp_path):
    sequence_dir = _lasot_sequence(tmp_path, "cat-1", "5,6,7,8\n0,0,0,0\n", "0,0", "0,0")
    with pytest.raises(DatasetError, match=r"cat-1/groundtruth\.txt:2: zero-size box on a frame where the target is"):
        read_lasot(tmp_path)
    (sequence_dir / "out_of_view.txt").write_text("0,1,0")
    with pytest.raises(DatasetError, match=r"out_of_view\.txt: 3 flags for 2 frames"):
        read_lasot(tmp_path)


# ------------------------------------------------------------------------------------------ GOT-10k ----


def _got10k_sequence(subset_dir: Path, name: str, rows: str, frames: int, labels: dict) -> None:
    _frames(subset_dir / name, range(1, frames + 1), "%08d.jpg")
    (subset_dir / name / "groundtruth.txt").write_text(rows)
    for label, content in labels.items():
        (subset_dir / name / label).write_text(content)


def test_got10k_val_labels_meta_and_test_first_box(tmp_path):
    val = tmp_path / "val"
    _got10k_sequence(
        val,
        "GOT-10k_Val_000001",
        "1,2,3,4\n0,0,0,0\n2,3,4,5\n",
        3,
        {
            "absence.label": "0\n1\n0\n",
            "cover.label": "8\n0\n5\n",
            "cut_by_image.label": "0\n0\n1\n",
            "meta_info.ini": "[METAINFO]\nobject_class: ursine\nmotion_class: walking\nresolution: (1920, 1080)\n",
        },
    )
    (val / "list.txt").write_text("GOT-10k_Val_000001\n")
    (sequence,) = read_got10k(tmp_path, "val")
    np.testing.assert_array_equal(sequence.ground_truth[0], [1, 2, 3, 4])  # 0-based as given
    np.testing.assert_array_equal(sequence.absent, [False, True, False])
    np.testing.assert_array_equal(sequence.metadata["cover"], [8, 0, 5])
    np.testing.assert_array_equal(sequence.tags["cut_by_image"], [False, False, True])
    assert sequence.metadata["object_class"] == "ursine" and sequence.metadata["resolution"] == "(1920, 1080)"

    test = tmp_path / "test"
    _got10k_sequence(test, "GOT-10k_Test_000001", "10,20,30,40\n", 4, {})
    (test / "list.txt").write_text("GOT-10k_Test_000001\n")
    (first_only,) = read_got10k(tmp_path, "test")
    assert len(first_only) == 4 and first_only.metadata["first_box_only"]
    np.testing.assert_array_equal(first_only.init_box, [10, 20, 30, 40])
    assert np.isnan(first_only.ground_truth[1:]).all() and not first_only.absent.any()


def test_got10k_errors(tmp_path):
    val = tmp_path / "val"
    _got10k_sequence(val, "a", "1,2,3,4\n1,2,3,4\n", 3, {})
    (val / "list.txt").write_text("a\nmissing\n")
    with pytest.raises(DatasetError, match=r"a/groundtruth\.txt: 2 ground-truth rows for 3 frames"):
        read_got10k(tmp_path, "val")
    _got10k_sequence(val, "a", "1,2,3,4\n1,2,3,4\n1,2,3,4\n", 3, {"cover.label": "8\n9\n8\n"})
    with pytest.raises(DatasetError, match=r"cover\.label:2: cover 9 is not an integer in 0\.\.8"):
        read_got10k(tmp_path, "val")
    (val / "a" / "cover.label").unlink()
    with pytest.raises(DatasetError, match=r"list\.txt:2: sequence folder 'missing' not found"):
        read_got10k(tmp_path, "val")


# ---------------------------------------------------------------------------------------------- VID ----

_VID_XML = """<annotation><folder>ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000</folder>
<filename>{number:06d}</filename><size><width>64</width><height>48</height></size>{objects}</annotation>"""
_VID_OBJECT = """<object><trackid>{track}</trackid><name>n01503061</name><bndbox><xmax>{x2}</xmax><xmin>{x1}</xmin>
<ymax>{y2}</ymax><ymin>{y1}</ymin></bndbox><occluded>{occluded}</occluded><generated>0</generated></object>"""


def _vid_snippet(root: Path, objects_per_frame: list[list[dict]]) -> Path:
    relative = Path("train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000")
    annotation_dir = root / "Annotations" / "VID" / relative
    annotation_dir.mkdir(parents=True)
    _frames(root / "Data" / "VID" / relative, range(len(objects_per_frame)), "%06d.JPEG")
    for number, objects in enumerate(objects_per_frame):
        body = "".join(_VID_OBJECT.format(**obj) for obj in objects)
        (annotation_dir / f"{number:06d}.xml").write_text(_VID_XML.format(number=number, objects=body))
    return annotation_dir


def test_vid_one_sequence_per_track(tmp_path):
    a = dict(track=0, x1=10, y1=5, x2=19, y2=24, occluded=0)
    b = dict(track=1, x1=0, y1=0, x2=4, y2=4, occluded=1)
    _vid_snippet(tmp_path, [[a], [a, b], [b], [a, b]])
    track0, track1 = read_vid(tmp_path, "train")
    assert (track0.name, track1.name) == ("ILSVRC2015_train_00000000.0", "ILSVRC2015_train_00000000.1")
    assert (len(track0), track0.start_frame, len(track1), track1.start_frame) == (4, 0, 3, 1)
    np.testing.assert_array_equal(track0.init_box, [10, 5, 10, 20])  # inclusive corners: 10..19 is 10 wide
    np.testing.assert_array_equal(track0.absent, [False, False, True, False])
    assert np.isnan(track0.ground_truth[2]).all()
    assert track1.tags["occluded"].all() and track0.metadata["class"] == "n01503061"
    assert Path(track1.frames.describe(0)).name == "000001.JPEG"


def test_vid_errors(tmp_path):
    annotation_dir = _vid_snippet(tmp_path, [[dict(track=0, x1=10, y1=5, x2=8, y2=24, occluded=0)]] * 2)
    with pytest.raises(DatasetError, match=r"000000\.xml: box xmin=10 ymin=5 xmax=8 ymax=24 has negative size"):
        read_vid(tmp_path)
    (annotation_dir / "000000.xml").write_text("<annotation><object>")
    with pytest.raises(DatasetError, match=r"000000\.xml: cannot parse VID annotation"):
        read_vid(tmp_path)


# ---------------------------------------------------------------------------------------------- VOT ----


def test_vot_legacy_flat_layout_with_rectangles_and_labels(tmp_path):
    sequence_dir = tmp_path / "bag"
    _frames(sequence_dir, range(1, 4), "%08d.jpg")
    (sequence_dir / "groundtruth.txt").write_text("1,2,3,4\nnan,nan,nan,nan\n2,3,4,5\n")
    (sequence_dir / "occlusion.label").write_text("0\n1\n")  # shorter: padded with 0
    (tmp_path / "list.txt").write_text("bag\n")
    (sequence,) = read_vot(tmp_path)
    assert sequence.polygons is None and sequence.name == "bag"
    np.testing.assert_array_equal(sequence.ground_truth[0], [1, 2, 3, 4])  # coordinates kept as given
    np.testing.assert_array_equal(sequence.absent, [False, True, False])
    np.testing.assert_array_equal(sequence.tags["occlusion"], [False, True, False])


def test_vot_toolkit_layout_channel_pattern(tmp_path):
    sequence_dir = tmp_path / "bolt"
    _frames(sequence_dir / "ir", range(1, 3), "%08d.png")
    _frames(sequence_dir / "color", range(1, 3), "%08d.jpg")
    (sequence_dir / "sequence").write_text("channels.color=color/%08d.jpg\nchannels.ir=ir/%08d.png\nfps=25\n")
    (sequence_dir / "groundtruth.txt").write_text("0,0,4,0,4,4,0,4\n1,1,5,1,5,6,1,6\n")
    color = read_vot_sequence(sequence_dir)
    infrared = read_vot_sequence(sequence_dir, channel="ir")
    assert Path(color.frames.describe(0)).parent.name == "color" and infrared.frames.describe(1).endswith("2.png")
    np.testing.assert_array_equal(color.ground_truth, [[0, 0, 4, 4], [1, 1, 4, 5]])
    assert color.polygons.shape == (2, 8) and color.metadata["fps"] == 25.0
    with pytest.raises(DatasetError, match=r"sequence: no 'channels\.depth' entry"):
        read_vot_sequence(sequence_dir, channel="depth")


def test_vot_errors(tmp_path):
    sequence_dir = tmp_path / "s"
    _frames(sequence_dir, range(1, 4), "%08d.jpg")
    ground_truth = sequence_dir / "groundtruth.txt"
    ground_truth.write_text("1,2,3,4\n1,2,3,4\n")
    with pytest.raises(DatasetError, match=r"groundtruth\.txt: 2 ground-truth rows for 3 frames"):
        read_vot_sequence(sequence_dir)
    ground_truth.write_text("1,2,3,4,5\n" * 3)
    with pytest.raises(DatasetError, match=r"groundtruth\.txt:1: a VOT region has 4 .* found 5"):
        read_vot_sequence(sequence_dir)
    ground_truth.write_text("m10,10,2,2,0,4\n" * 3)
    with pytest.raises(DatasetError, match=r"groundtruth\.txt:1: segmentation-mask regions"):
        read_vot_sequence(sequence_dir)
    ground_truth.write_text("1,2,3,4\n" * 3)
    (sequence_dir / "x.tag").write_text("0\n0\n0\n1\n")
    with pytest.raises(DatasetError, match=r"x\.tag: 4 flags for 3 frames"):
        read_vot_sequence(sequence_dir)
    (sequence_dir / "sequence").write_text("channels.color color/%08d.jpg\n")
    with pytest.raises(DatasetError, match=r"sequence:1: expected 'key=value'"):
        read_vot_sequence(sequence_dir)


# ------------------------------------------------------------------------------------------- UAV123 ----


def test_uav123_official_layout_sub_range_and_attributes(tmp_path):
    _frames(tmp_path / "data_seq" / "UAV123_10fps" / "car16", range(1, 700), "%06d.jpg")
    annotations = tmp_path / "anno" / "UAV123_10fps"
    (annotations / "att").mkdir(parents=True)
    rows = _boxes(527).splitlines()
    rows[3] = "NaN,NaN,NaN,NaN"
    (annotations / "car16_2.txt").write_text("\n".join(rows) + "\n")
    (annotations / "att" / "car16_2.txt").write_text("1,0,1,0,0,0,1,0,0,0,0,1\n")
    (sequence,) = read_uav123(tmp_path, "uav123_10fps", names=["car16_2"])
    assert (sequence.start_frame, len(sequence)) == (139, 527)
    assert Path(sequence.frames.describe(0)).name == "000139.jpg"
    assert Path(sequence.frames.describe(-1)).name == "000665.jpg"
    assert sequence.attributes == ("SV", "LR", "OV", "SOB") and sequence.absent.tolist().count(True) == 1
    np.testing.assert_array_equal(sequence.init_box, [0, 9, 20, 30])
    (annotations / "car16_2.txt").write_text(_boxes(526))
    with pytest.raises(DatasetError, match=r"car16_2\.txt: 526 rows but car16_2 is frames 139-665"):
        read_uav123(tmp_path, "uav123_10fps", names=["car16_2"])
    (annotations / "car16_2.txt").write_text("1,2,nan,4\n")
    with pytest.raises(DatasetError, match=r"car16_2\.txt:1: a row mixes NaN and numbers"):
        read_uav123(tmp_path, "uav123_10fps", names=["car16_2"])


def test_uav123_per_sequence_layout_checks_the_range(tmp_path):
    _frames(tmp_path / "car16_2" / "img", range(140, 667), "%06d.jpg")  # shifted by one
    (tmp_path / "car16_2" / "car16_2.txt").write_text(_boxes(527))
    with pytest.raises(DatasetError, match=r"frames 140-666, but UAV123_10fps's car16_2 is frames 139-665"):
        read_uav123(tmp_path, "uav123_10fps")


# -------------------------------------------------------------------------------- folder and video ----


def test_folder_of_frames_and_ground_truth(tmp_path):
    (tmp_path / "frames").mkdir()
    for number in range(1, 4):  # grayscale PNGs
        cv2.imwrite(str(tmp_path / "frames" / f"img{number:05d}.png"), np.full((6, 8), number * 50, np.uint8))
    (tmp_path / "gt.txt").write_text("1 1 2 2\n2 2 2 2\n3 3 2 2\n")
    sequence = read_folder_sequence(tmp_path / "frames", tmp_path / "gt.txt")
    np.testing.assert_array_equal(sequence.init_box, [0, 0, 2, 2])
    assert sequence.frames[2].shape == (6, 8, 3) and sequence.frames[2][0, 0, 0] == 150
    (tmp_path / "gt.txt").write_text("1 1 2 2\n")
    with pytest.raises(DatasetError, match=r"gt\.txt: 1 ground-truth rows for 3 frames"):
        read_folder_sequence(tmp_path / "frames", tmp_path / "gt.txt")


def test_palette_frames_come_back_as_rgb(tmp_path):
    from PIL import Image

    (tmp_path / "frames").mkdir()
    palette_image = Image.new("P", (5, 4))
    palette_image.putpalette([0, 0, 0, 200, 30, 10] + [0] * 762)
    palette_image.putpixel((1, 2), 1)
    palette_image.save(tmp_path / "frames" / "0001.png")
    (tmp_path / "gt.txt").write_text("1,1,2,2\n")
    image = read_folder_sequence(tmp_path / "frames", tmp_path / "gt.txt").frames[0]
    assert image.shape == (4, 5, 3) and image[2, 1].tolist() == [200, 30, 10] and image[0, 0].tolist() == [0, 0, 0]


def test_video_file_with_zero_based_ground_truth(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for value in (0, 120, 240):
        writer.write(np.full((24, 32, 3), value, np.uint8))
    writer.release()
    (tmp_path / "clip.txt").write_text("0,0,4,4\nnan,nan,nan,nan\n2,2,4,4\n")
    sequence = read_video_sequence(path)
    assert (sequence.name, len(sequence), sequence.metadata["fps"]) == ("clip", 3, 10.0)
    np.testing.assert_array_equal(sequence.init_box, [0, 0, 4, 4])  # 0-based: unchanged
    np.testing.assert_array_equal(sequence.absent, [False, True, False])
    assert abs(int(sequence.frames[-1].mean()) - 240) <= 3 and sequence.frames[0].shape == (24, 32, 3)
    one_based = read_video_sequence(path, one_based=True)
    np.testing.assert_array_equal(one_based.ground_truth[2], [1, 1, 4, 4])
    (tmp_path / "clip.txt").write_text("0,0,4,4\n")
    with pytest.raises(DatasetError, match=r"clip\.txt: 1 ground-truth rows for 3 frames"):
        read_video_sequence(path)
    (tmp_path / "clip.txt").unlink()
    with pytest.raises(DatasetError, match=r"clip\.txt: ground-truth file for clip\.avi not found"):
        load_dataset("videos", tmp_path)


def test_video_file_releases_its_decoder_after_the_last_frame_and_reopens(tmp_path):
    """Read in order, every frame comes back right and the decoder is closed after the last one (a finished video of
    a dataset keeps no FFmpeg state); asking again reopens it and gives the same frames."""
    from siamtrack.data.sequence import VideoFile

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for value in (0, 80, 160, 240):
        writer.write(np.full((24, 32, 3), value, np.uint8))
    writer.release()
    video = VideoFile(str(path))
    means = []
    for index in range(len(video)):
        means.append(int(video[index].mean()))
        assert (video._capture is None) == (index == len(video) - 1), index
    assert all(abs(m - v) <= 3 for m, v in zip(means, (0, 80, 160, 240))), means
    assert abs(int(video[1].mean()) - 80) <= 3 and video._capture is not None  # reopened, seeks
    assert abs(int(video[3].mean()) - 240) <= 3 and video._capture is None
    part = VideoFile(str(path), first=1, count=2)  # a sub-range ends at its own last frame
    assert abs(int(part[0].mean()) - 80) <= 3 and abs(int(part[1].mean()) - 160) <= 3 and part._capture is None


# -------------------------------------------------------------------------------- registry and CLI ----


def test_registry_errors_and_cli(tmp_path, capsys):
    with pytest.raises(DatasetError, match=r"unknown dataset 'otb2020'; known: folder, got10k"):
        load_dataset("otb2020", tmp_path)
    with pytest.raises(DatasetError, match="unknown GOT-10k subset 'dev'"):
        load_dataset("got10k", tmp_path, subset="dev")
    output = subprocess.run(
        [sys.executable, "-m", "siamtrack.cli", "datasets", "list"], check=True, capture_output=True, text=True
    ).stdout.split()
    assert {
        "otb2013",
        "otb2015",
        "uav123",
        "uav123_10fps",
        "uav20l",
        "tc128",
        "vot",
        "lasot",
        "got10k",
        "ilsvrc-vid",
        "folder",
        "videos",
        "shared",
    } <= set(output)

    sequence_dir = tmp_path / "otb" / "Walker"
    _otb_video(tmp_path / "otb", "Walker", rows=2)
    assert (
        cli.main(
            [
                "datasets",
                "summary",
                "--dataset",
                "otb-folder",
                "--root",
                str(tmp_path / "otb"),
                "--option",
                "all_targets=false",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["Walker\tOTB\t2 frames from 1\t0 absent\tfirst box 0,9,20,30", "1 sequences, 2 frames"]
    (sequence_dir / "groundtruth_rect.txt").write_text("1,2,3\n")
    assert cli.main(["datasets", "summary", "--dataset", "otb-folder", "--root", str(tmp_path / "otb")]) == 1
    assert "groundtruth_rect.txt:1: expected 4 values, found 3" in capsys.readouterr().err
