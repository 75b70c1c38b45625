"""Reliability of long and damaged runs: freed memory handed back (no growth from frame to frame), no autograd
state in trackers, natural frame order, truncated frames, initial boxes outside the image, ``siamtrack track``
keeping what it computed when a frame fails, ``siamtrack eval`` never reusing another run's results, frames of
another size, and clear one-line errors (exit status 2 for usage errors, 1 at run time) for bad parameters,
options, names and weights files."""

from __future__ import annotations

import collections
import contextlib
import ctypes
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, shared_path
from siamtrack.cli import main
from siamtrack.data.otb import read_otb_sequence
from siamtrack.imaging import FrameReadError, read_image
from siamtrack.integrations.video import folder_frames, track_to_folder
from siamtrack.models import read_weights
from siamtrack.trackers import build_tracker
from siamtrack.trackers.base import check_initial_box, freed_heap_bytes, keep_freed_memory, with_overrides
from siamtrack.trackers.dcfnet import DCFNetParams
from siamtrack.trackers.identity import IdentityTracker
from siamtrack.trackers.siamfc import SiamFCParams

SIAMTRACK = Path(sys.executable).parent / "siamtrack"  # the installed console script


@pytest.fixture(scope="module")
def dragon_baby():
    """The first 6 frames (640x360) and boxes of OTB DragonBaby."""
    sequence = read_otb_sequence(shared_path("data", "benchmarks", "OTB", "DragonBaby"))
    return [sequence.frames[i] for i in range(6)], sequence.ground_truth[:6], sequence.frames.paths[:6]


@pytest.fixture(scope="module")
def dcfnet():
    return build_tracker("dcfnet", weights=shared_path("weights", "dcfnet", "param.pth"), device="cpu")


def resident_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ---- 0. memory: nothing grows from frame to frame ------------------------------------------------------------


def state_tensors(value, seen=None) -> list[torch.Tensor]:
    """The tensors a tracker keeps between frames: in its attributes, their lists, tuples and dicts, and the
    attributes of its own helper objects (modules' parameters excluded: they are weights, not state)."""
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, (torch.nn.Module, type)):
        return []
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for item in value.values() for t in state_tensors(item, seen)]
    if isinstance(value, (list, tuple, collections.deque)):
        return [t for item in value for t in state_tensors(item, seen)]
    if type(value).__module__.startswith("siamtrack") and hasattr(value, "__dict__"):
        return state_tensors(vars(value), seen)
    return []


@pytest.mark.parametrize("name", ["dcfnet", "siamfc"])
def test_tracker_state_holds_no_autograd_graph(name, dragon_baby, dcfnet):
    """With autograd on (the default), tracking leaves no tensor that requires grad or carries a graph."""
    frames, truth, _ = dragon_baby
    tracker = dcfnet if name == "dcfnet" else build_tracker(name, weights="random", device="cpu")
    assert torch.is_grad_enabled()
    tracker.init(frames[0], truth[0])
    for frame in frames[1:4]:
        tracker.update(frame)
    state = state_tensors(vars(tracker))
    assert state
    assert not any(t.requires_grad or t.grad_fn is not None for t in state), [t.grad_fn for t in state]


M_TRIM_THRESHOLD = -1  # mallopt parameter, glibc <malloc.h>


@contextlib.contextmanager
def kept_freed_maps(count: int):
    """``count`` freed 8 MB tensors whose memory ``malloc`` keeps, resident: the state of a long ``siamtrack
    track`` run where each frame left one of DCFNet's feature maps behind (torch allocates with
    ``posix_memalign(64)``; glibc < 2.38 never reuses such a hole, pinned between small live blocks, for a tensor
    of the same size). Small blocks stay allocated between the maps, and glibc's own trimming of the heap top is
    off meanwhile, so that nothing but ``malloc_trim`` hands the memory back."""
    keep_freed_memory()  # as the tracking loops do: 8 MB blocks come from the heap, not from mmap
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.restype, libc.free.argtypes = None, [ctypes.c_void_p]
    maps, pins = [], []
    libc.mallopt(M_TRIM_THRESHOLD, 1 << 40)
    try:
        for _ in range(count):
            maps.append(torch.ones(2_000_000))  # every page touched: resident
            pins.append(libc.malloc(1 << 16))
        maps.clear()
        yield
    finally:
        for pin in pins:
            libc.free(pin)
        libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)  # keep_freed_memory's setting


def hands_freed_memory_back(loop: str, folder: str) -> None:
    """The check of :func:`test_tracking_loops_hand_freed_memory_back`, run in a fresh interpreter: how much freed
    memory malloc keeps depends on everything the process allocated before, so only a new process makes the set-up
    (64 freed, resident 8 MB maps) certain."""
    frames = [np.full((48, 64, 3), 100, np.uint8)] * 3
    with kept_freed_maps(64):
        assert freed_heap_bytes() >= 64 * 8_000_000  # the set-up: malloc keeps the maps' memory
        before = resident_mb()
        if loop == "Tracker.track":
            IdentityTracker().track(frames, [10, 10, 20, 20])
        else:
            track_to_folder(IdentityTracker(), frames, [10, 10, 20, 20], folder)
        after = resident_mb()
    assert after < before - 300, f"resident memory {before:.0f} MB -> {after:.0f} MB with 64 freed 8 MB maps"


@pytest.mark.skipif(freed_heap_bytes() is None, reason="glibc's mallinfo2/malloc_trim only")
@pytest.mark.parametrize("loop", ["Tracker.track", "track_to_folder"])
def test_tracking_loops_hand_freed_memory_back(loop, tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    code = f"import test_reliability as t; t.hands_freed_memory_back({loop!r}, {str(tmp_path)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_keep_freed_memory_is_a_step_the_tracking_loop_opts_into_not_a_side_effect(monkeypatch):
    """Picking the CPU or building a tracker leaves glibc's malloc alone; Tracker.track applies the setting."""
    import siamtrack.trackers.base as base

    calls = []
    monkeypatch.setattr(base, "keep_freed_memory", lambda: calls.append("applied") or True)
    assert base.pick_device("cpu") == torch.device("cpu")
    tracker = build_tracker("dcfnet", weights="random", device="cpu")
    assert calls == []
    tracker.track([np.full((120, 160, 3), 90, np.uint8)] * 2, [60, 40, 30, 30])
    assert calls == ["applied"]


# ---- 3. frame folders in natural order ----------------------------------------------------------------------


def test_frame_folders_are_read_in_natural_order(tmp_path):
    image = np.zeros((8, 8, 3), np.uint8)
    names = ["1.jpg", "2.jpg", "10.jpg", "11.jpg", "100.jpg"]
    for name in reversed(names):
        cv2.imwrite(str(tmp_path / name), image)
    assert [Path(path).name for path in folder_frames(tmp_path).paths] == names


# ---- 4. truncated frames ------------------------------------------------------------------------------------


def test_a_jpeg_cut_in_half_is_an_error_naming_the_file(tmp_path, dragon_baby):
    data = Path(dragon_baby[2][0]).read_bytes()
    cut = tmp_path / "0001.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FrameReadError, match="truncated JPEG") as error:
        read_image(cut)
    assert str(cut) in str(error.value) and "\n" not in str(error.value)
    padded = tmp_path / "padded.jpg"  # some writers pad after the end-of-image marker
    padded.write_bytes(data + b"\x00" * 13 + b"\n")
    np.testing.assert_array_equal(read_image(padded), dragon_baby[0][0])


def test_a_truncated_png_is_an_error_naming_the_file(tmp_path):
    data = shared_path("data", "benchmarks", "VOT-TIR", "horse", "00000001.png").read_bytes()
    cut = tmp_path / "00000001.png"
    cut.write_bytes(data[:-20])
    with pytest.raises(FrameReadError, match="truncated PNG") as error:
        read_image(cut)
    assert str(cut) in str(error.value)


# ---- 5. initial boxes and the image ------------------------------------------------------------------------


@pytest.mark.parametrize("box", [[700, 10, 50, 50], [10, 400, 50, 50], [-60, 10, 50, 50], [10, -60, 50, 60]])
def test_an_initial_box_outside_the_image_is_rejected(box, dragon_baby, dcfnet):
    frame = dragon_baby[0][0]
    for tracker in (dcfnet, build_tracker("siamfc", weights="random", device="cpu")):
        with pytest.raises(ValueError, match=r"does not overlap the 640x360 image") as error:
            tracker.init(frame, box)
        assert str([float(v) for v in box]) in str(error.value) and tracker.name in str(error.value)
    check_initial_box([639, 359, 5, 5], "test", frame)  # one pixel inside is enough


def test_dcfnet_keeps_a_box_larger_than_the_frame_within_the_frame(dragon_baby, dcfnet):
    """The size clamp bounds w by the width and h by the height (it used to bound w by the height)."""
    frames, _, _ = dragon_baby
    dcfnet.init(frames[0], [-40, -30, 720, 420])
    for frame in frames[1:4]:
        x, y, w, h = dcfnet.update(frame)
        assert 400 < w <= 640 and 250 < h <= 360, (w, h)


# ---- 7. siamtrack track keeps what it computed -------------------------------------------------------------


def run_track(frames_dir: Path, out: Path, box: str) -> subprocess.CompletedProcess:
    weights = shared_path("weights", "dcfnet", "param.pth")
    command = [
        str(SIAMTRACK),
        "track",
        "--tracker",
        "dcfnet",
        "--weights",
        str(weights),
        "--frames",
        str(frames_dir),
        "--box",
        box,
        "--out",
        str(out),
        "--quiet",
    ]  # stderr: the error alone
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )


def test_track_stops_on_a_truncated_frame_with_the_boxes_so_far(tmp_path, dragon_baby):
    _, truth, paths = dragon_baby
    frames_dir, out = tmp_path / "frames", tmp_path / "out"
    frames_dir.mkdir()
    for index, path in enumerate(paths, start=1):
        data = Path(path).read_bytes()
        (frames_dir / f"{index}.jpg").write_bytes(data[: len(data) // 2] if index == 4 else data)
    out.mkdir()
    (out / "boxes.txt").write_text("1,2,3,4\n" * 50)  # an older run's outputs
    (out / "track.mp4").write_bytes(b"old")
    box = ",".join(f"{v:g}" for v in truth[0])
    result = run_track(frames_dir, out, box)
    assert result.returncode != 0
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1, error
    assert str(frames_dir / "4.jpg") in error and "truncated JPEG" in error and "after 3 frames" in error, error
    boxes = np.loadtxt(out / "boxes.txt", delimiter=",", ndmin=2)
    assert boxes.shape == (3, 4)
    np.testing.assert_allclose(boxes[0], truth[0], atol=1e-4)
    capture = cv2.VideoCapture(str(out / "track.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    capture.release()


def test_track_rejects_a_box_outside_the_first_frame_and_leaves_no_old_outputs(tmp_path, dragon_baby):
    frames_dir, out = tmp_path / "frames", tmp_path / "out"
    frames_dir.mkdir()
    for index, path in enumerate(dragon_baby[2][:2], start=1):
        (frames_dir / f"{index:04d}.jpg").symlink_to(path)
    out.mkdir()
    (out / "boxes.txt").write_text("1,2,3,4\n")
    result = run_track(frames_dir, out, "900,10,40,40")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: dcfnet: the initial box x, y, w, h = [900.0, 10.0, 40.0, 40.0] does not overlap the 640x360 image"
    )
    assert not (out / "boxes.txt").exists() and not (out / "track.mp4").exists()


def test_track_to_folder_closes_its_files_on_ctrl_c(tmp_path, dragon_baby):
    frames = dragon_baby[0]

    def interrupted():
        yield from frames[:3]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match="interrupted after 3 frames"):
        track_to_folder(IdentityTracker(), interrupted(), [10, 10, 20, 20], tmp_path)
    assert np.loadtxt(tmp_path / "boxes.txt", delimiter=",").shape == (3, 4)
    capture = cv2.VideoCapture(str(tmp_path / "track.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    capture.release()


# ---- 1. eval never reuses another run's results ------------------------------------------------------------


def tiny_frames(folder: Path, sizes, extension: str = ".png", names=None) -> None:
    """Frames ``1.png, 2.png, ...`` (or ``names``) of the given ``(height, width)`` sizes: a bright 20x20 square
    moving right by a pixel a frame on a dark background."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (height, width) in enumerate(sizes, start=1):
        image = np.full((height, width, 3), 40, np.uint8)
        image[10:30, 20 + index : 40 + index] = 220
        name = names[index - 1] if names else f"{index}{extension}"
        cv2.imwrite(str(folder / name), image)


def tiny_otb(root: Path, frames: int = 4) -> Path:
    """An ``otb-folder`` dataset of one 64x48 sequence ``Seq`` with exact ground truth."""
    tiny_frames(root / "Seq" / "img", [(48, 64)] * frames, names=[f"{i:04d}.jpg" for i in range(1, frames + 1)])
    (root / "Seq" / "groundtruth_rect.txt").write_text("".join(f"{20 + i},10,20,20\n" for i in range(1, frames + 1)))
    return root


def run_eval(tmp_path: Path, *arguments: str) -> int:
    torch.set_num_threads(1)
    return main(
        [
            "eval",
            "--tracker",
            "dcfnet",
            "--dataset",
            "otb-folder",
            "--root",
            str(tmp_path / "otb"),
            "--results",
            str(tmp_path / "results"),
            "--quiet",
            *arguments,
        ]
    )


def test_eval_refuses_a_result_folder_of_another_run(tmp_path, capsys):
    tiny_otb(tmp_path / "otb")
    weights = shared_path("weights", "dcfnet", "param.pth")
    other_weights = tmp_path / "other.pth"  # the same network, other numbers
    torch.save({k: v * 1.01 for k, v in read_weights(weights).state_dict.items()}, other_weights)
    assert run_eval(tmp_path, "--weights", str(weights)) == 0
    folder = tmp_path / "results" / "dcfnet"
    record = json.loads((folder / "run.json").read_text())
    assert record["tracker"] == "dcfnet" and record["params"] == {} and record["siamtrack"]
    assert record["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    boxes = (folder / "Seq.txt").read_text()
    capsys.readouterr()
    assert run_eval(tmp_path, "--weights", str(weights)) == 0  # the same run: its results are reused
    assert "found 1 results, skipping them" in capsys.readouterr().err
    for arguments, differs in (
        (["--param", "template_lr=0.02"], "parameters {} there, {'template_lr': 0.02} now"),
        ([], "weights sha256"),  # --weights other.pth below
        (["--tracker", "siamfc", "--name", "dcfnet"], "tracker 'dcfnet' there, 'siamfc' now"),
    ):
        chosen = str(other_weights) if not arguments else str(weights)
        assert run_eval(tmp_path, "--weights", chosen, *arguments) == 2, arguments
        output = capsys.readouterr()
        error = output.err.strip()
        assert len(error.splitlines()) == 1 and differs in error, error
        assert str(folder) in error and "--name" in error and "delete" in error, error
        assert "auc" not in output.out  # no old score printed as if it were this run's
    assert (folder / "Seq.txt").read_text() == boxes and json.loads((folder / "run.json").read_text()) == record
    assert run_eval(tmp_path, "--weights", str(other_weights), "--name", "dcfnet-other") == 0
    assert (tmp_path / "results" / "dcfnet-other" / "run.json").is_file()


def test_eval_uses_an_older_result_folder_without_run_json_with_a_warning(tmp_path, capsys):
    tiny_otb(tmp_path / "otb")
    weights = str(shared_path("weights", "dcfnet", "param.pth"))
    assert run_eval(tmp_path, "--weights", weights) == 0
    (tmp_path / "results" / "dcfnet" / "run.json").unlink()  # as an older siamtrack left it
    capsys.readouterr()
    assert run_eval(tmp_path, "--weights", weights, "--param", "template_lr=0.02") == 0
    error = capsys.readouterr().err
    assert "warning:" in error and "no run.json" in error and "found 1 results, skipping them" in error, error
    assert not (tmp_path / "results" / "dcfnet" / "run.json").exists()  # nothing vouches for the old results


# ---- 2. frames of different sizes --------------------------------------------------------------------------


def test_track_stops_at_the_first_frame_of_another_size(tmp_path):
    frames_dir, out = tmp_path / "frames", tmp_path / "out"
    tiny_frames(frames_dir, [(48, 64), (48, 64), (50, 64), (48, 64)])
    result = run_track(frames_dir, out, "21,10,20,20")
    assert result.returncode == 1, result.stderr
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1, error
    assert error.startswith(f"error: {frames_dir / '3.png'}: frame is 64x50, not 64x48"), error
    assert "after 2 frames" in error, error
    assert np.loadtxt(out / "boxes.txt", delimiter=",", ndmin=2).shape == (2, 4)
    capture = cv2.VideoCapture(str(out / "track.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 2
    capture.release()


# ---- 6. parameter validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("params, owner", [(DCFNetParams(), "DCFNetTracker"), (SiamFCParams(), "SiamFCTracker")])
@pytest.mark.parametrize("value, got", [(2.5, "float"), ("abc", "str"), (True, "bool")])
def test_a_hyperparameter_of_the_wrong_type_is_refused(params, owner, value, got):
    with pytest.raises(TypeError) as error:
        with_overrides(params, {"num_scales": value}, owner)
    assert str(error.value) == f"{owner}: hyper-parameter num_scales={value!r} must be an integer (int), got {got}"
    with pytest.raises(TypeError, match=r"scale_step='big' must be a number \(float\), got str"):
        with_overrides(params, {"scale_step": "big"}, owner)
    assert with_overrides(params, {"scale_step": 2}, owner).scale_step == 2  # an int is a number
    with pytest.raises(TypeError, match=r"DCFNetParams: hyper-parameter num_scales=2.5 must be an integer"):
        DCFNetParams(num_scales=2.5)


def track_dcfnet_with(tmp_path, param: str) -> int:
    """``siamtrack track`` (in process) of two tiny frames with the authors' DCFNet and ``--param param``."""
    tiny_frames(tmp_path / "frames", [(48, 64)] * 2)
    return main(
        [
            "track",
            "--tracker",
            "dcfnet",
            "--weights",
            str(shared_path("weights", "dcfnet", "param.pth")),
            "--frames",
            str(tmp_path / "frames"),
            "--box",
            "21,10,20,20",
            "--out",
            str(tmp_path / "out"),
            "--param",
            param,
        ]
    )


def test_track_refuses_a_float_for_an_integer_parameter(tmp_path, capsys):
    code = track_dcfnet_with(tmp_path, "num_scales=2.5")
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: DCFNetTracker: hyper-parameter num_scales=2.5 must be an integer (int), got float"
    )
    assert not (tmp_path / "out" / "boxes.txt").exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("template_lr", 3.0, "DCFNetParams.template_lr must be in (0, 1], got 3.0"),
        ("num_scales", 0, "DCFNetParams.num_scales must be at least 1, got 0"),
        ("crop_size", 4, "DCFNetParams.crop_size must be at least 8, got 4"),
    ],
)
def test_dcfnet_range_errors_name_the_field_only(field, value, message):
    with pytest.raises(ValueError) as error:
        DCFNetParams(**{field: value})
    assert str(error.value) == message  # not the whole dataclass


def test_eval_refuses_a_result_name_that_is_a_path(tmp_path, capsys):
    tiny_otb(tmp_path / "otb")
    for name in ("../x", "a/b", "..", "."):
        assert run_eval(tmp_path, "--weights", "random", "--name", name) == 2
        error = capsys.readouterr().err.strip()
        assert error == f"error: --name {name!r} must be a plain folder name (no path separator, not '.' or '..')"
    assert not (tmp_path / "x").exists() and not (tmp_path / "results").exists()


def test_train_resume_without_a_checkpoint(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("not a training run")
    arguments = ["train", "--config", str(tmp_path / "absent.yaml"), "--resume", "--run-dir"]
    assert main(arguments + [str(run_dir)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and str(run_dir) in error and "no checkpoint.pth" in error, error
    assert "nothing to resume" in error and "drop --resume" in error, error
    assert sorted(p.name for p in run_dir.iterdir()) == ["notes.txt"]
    main(arguments + [str(tmp_path / "new")])  # a new run dir: a fresh start, said so (then the config error)
    assert "starting a fresh run" in capsys.readouterr().err


# ---- 9/10. one-line errors and exit statuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["eval", "--workers", "0"], "argument --workers: must be a positive integer (1 or more), got 0"),
        (["eval", "--workers", "-3"], "argument --workers: must be a positive integer (1 or more), got -3"),
        (["track", "--max-frames", "0"], "argument --max-frames: must be a positive integer (1 or more), got 0"),
        (
            ["eval", "--option", "nosuch=1"],
            "error: --option nosuch: dataset 'otb-folder' takes no option 'nosuch'; "
            "its options: tiger1_init_omit, all_targets",
        ),
    ],
)
def test_console_script_usage_errors_exit_2_in_one_line(tmp_path, arguments, message):
    tiny_otb(tmp_path / "otb")
    common = {
        "eval": [
            "--tracker",
            "dcfnet",
            "--weights",
            "random",
            "--dataset",
            "otb-folder",
            "--root",
            str(tmp_path / "otb"),
            "--results",
            str(tmp_path / "results"),
            "--quiet",
        ],
        "track": [
            "--tracker",
            "opencv-kcf",
            "--frames",
            str(tmp_path / "otb" / "Seq" / "img"),
            "--box",
            "21,10,20,20",
            "--out",
            str(tmp_path / "out"),
        ],
    }[arguments[0]]
    result = subprocess.run(
        [str(SIAMTRACK), *arguments, *common],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().splitlines()[-1].endswith(message), result.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "build",
    [
        lambda: DCFNetParams(crop_size=100000),
        lambda: SiamFCParams(instance_size=100000),
        lambda: build_tracker("siamfc", weights="random", device="cpu", exemplar_size=100000),
        lambda: build_tracker("siamfc", weights="random", device="cpu", response_up=100000),
    ],
)
def test_huge_crop_sizes_are_refused_before_allocating(build):
    with pytest.raises(ValueError, match=r"is too large") as error:
        build()
    assert "\n" not in str(error.value) and "100000" in str(error.value)
    assert DCFNetParams(crop_size=2048).crop_size == 2048  # the bound itself is accepted


def test_track_refuses_a_huge_crop_size(tmp_path, capsys):
    code = track_dcfnet_with(tmp_path, "crop_size=100000")
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: DCFNetParams.crop_size = 100000 is too large: crops are at most 2048 pixels wide"
    )


def test_empty_or_truncated_weights_files_are_named(tmp_path, capsys):
    legacy = shared_path("weights", "dcfnet", "param.pth").read_bytes()  # a legacy (non-zip) torch pickle
    (tmp_path / "empty.pth").write_bytes(b"")
    (tmp_path / "legacy-cut.pth").write_bytes(legacy[: len(legacy) // 2])
    (tmp_path / "legacy-head.pth").write_bytes(legacy[:100])
    torch.save({"w": torch.zeros(1000)}, tmp_path / "zip.pth")
    archive = (tmp_path / "zip.pth").read_bytes()
    (tmp_path / "zip-cut.pth").write_bytes(archive[: len(archive) // 2])
    with pytest.raises(ValueError) as error:
        read_weights(tmp_path / "empty.pth")
    assert str(error.value) == f"{tmp_path / 'empty.pth'}: weights file is empty (0 bytes)"
    for name in ("legacy-cut.pth", "legacy-head.pth", "zip-cut.pth"):
        with pytest.raises(ValueError) as error:
            read_weights(tmp_path / name)
        message = str(error.value)
        assert message.startswith(f"{tmp_path / name}: weights file is truncated ("), message
        assert "\n" not in message
    tiny_frames(tmp_path / "frames", [(48, 64)] * 2)
    for tracker in ("dcfnet", "siamfc"):
        code = main(
            [
                "track",
                "--tracker",
                tracker,
                "--weights",
                str(tmp_path / "empty.pth"),
                "--frames",
                str(tmp_path / "frames"),
                "--box",
                "21,10,20,20",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        assert code == 2
        assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'empty.pth'}: weights file is empty (0 bytes)"


# ---- Ctrl-C and base configs ------------------------------------------------------------------------------------


def test_ctrl_c_in_eval_is_one_line_and_exit_130(tmp_path):
    """SIGINT to a running `siamtrack eval`: exit 130, one line on stderr, no traceback."""
    import signal
    import time

    for name in ("a", "b"):
        frames = tmp_path / "data" / name / "img"
        frames.mkdir(parents=True)
        for index in range(300):
            cv2.imwrite(str(frames / f"{index:04d}.png"), np.full((48, 64, 3), index % 255, np.uint8))
        (frames.parent / "groundtruth.txt").write_text("\n".join("10,10,20,20" for _ in range(300)))
    process = subprocess.Popen(
        [
            str(SIAMTRACK),
            "eval",
            "--tracker",
            "dcfnet",
            "--dataset",
            "folder",
            "--root",
            str(tmp_path / "data"),
            "--results",
            str(tmp_path / "results"),
            "--quiet",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr


def test_a_missing_base_config_names_the_file_that_names_it(tmp_path):
    from siamtrack.training.config import ConfigError, load_config

    config = tmp_path / "child.yaml"
    config.write_text("base: nowhere.yaml\ntrain:\n  epochs: 2\n")
    with pytest.raises(ConfigError, match=r"child.yaml:1: base config .*nowhere.yaml .*does not exist"):
        load_config(config)
    (tmp_path / "broken.yaml").write_text("train: [unclosed\n")
    config.write_text("base: broken.yaml\n")
    with pytest.raises(ConfigError, match=r"(?s)broken.yaml.*read as the base of .*child.yaml:1"):
        load_config(config)
