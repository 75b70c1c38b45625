"""Reliability of long and damaged runs: freed memory handed back (no growth from frame to frame), no autograd
state in trackers, natural frame order, truncated frames, initial boxes outside the image, and ``siamtrack track``
keeping what it computed when a frame fails."""
from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import REPO_ROOT, shared_path
from siamtrack.data.otb import read_otb_sequence
from siamtrack.imaging import FrameReadError, read_image
from siamtrack.integrations.video import folder_frames, track_to_folder
from siamtrack.trackers import build_tracker
from siamtrack.trackers.base import Tracker, check_initial_box, freed_heap_bytes, keep_freed_memory

SIAMTRACK = Path(sys.executable).parent / "siamtrack"  # the installed console script


@pytest.fixture(scope="module")
def dragon_baby():
    """The first 6 frames (640x360) and boxes of OTB DragonBaby."""
    sequence = read_otb_sequence(shared_path("data", "benchmarks", "OTB", "DragonBaby"))
    return [sequence.frames[i] for i in range(6)], sequence.ground_truth[:6], sequence.frames.paths[:6]


@pytest.fixture(scope="module")
def dcfnet():
    return build_tracker("dcfnet", weights=shared_path("weights", "dcfnet", "param.pth"), device="cpu")


class StillTracker(Tracker):
    """Test double: reports the initial box on every frame."""

    name = "still"

    def init(self, image, box):
        self.box = np.asarray(box, dtype=np.float64)

    def update(self, image):
        return self.box.copy()


def resident_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


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
    keep_freed_memory()  # as every CPU tracker does: 8 MB blocks come from the heap, not from mmap
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
            StillTracker().track(frames, [10, 10, 20, 20])
        else:
            track_to_folder(StillTracker(), frames, [10, 10, 20, 20], folder)
        after = resident_mb()
    assert after < before - 300, f"resident memory {before:.0f} MB -> {after:.0f} MB with 64 freed 8 MB maps"


@pytest.mark.skipif(freed_heap_bytes() is None, reason="glibc's mallinfo2/malloc_trim only")
@pytest.mark.parametrize("loop", ["Tracker.track", "track_to_folder"])
def test_tracking_loops_hand_freed_memory_back(loop, tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    code = f"import test_reliability as t; t.hands_freed_memory_back({loop!r}, {str(tmp_path)!r})"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


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
    command = [str(SIAMTRACK), "track", "--tracker", "dcfnet", "--weights", str(weights), "--frames",
               str(frames_dir), "--box", box, "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


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
    assert result.stderr.strip() == ("error: dcfnet: the initial box x, y, w, h = [900.0, 10.0, 40.0, 40.0] does not "
                                     "overlap the 640x360 image")
    assert not (out / "boxes.txt").exists() and not (out / "track.mp4").exists()


def test_track_to_folder_closes_its_files_on_ctrl_c(tmp_path, dragon_baby):
    frames = dragon_baby[0]

    def interrupted():
        yield from frames[:3]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match="interrupted after 3 frames"):
        track_to_folder(StillTracker(), interrupted(), [10, 10, 20, 20], tmp_path)
    assert np.loadtxt(tmp_path / "boxes.txt", delimiter=",").shape == (3, 4)
    capture = cv2.VideoCapture(str(tmp_path / "track.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    capture.release()
