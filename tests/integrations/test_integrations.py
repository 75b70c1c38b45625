"""Integrations: the got10k adapter driven by got10k's own ``Tracker.track``, and the TraX server driven by
the vot-toolkit's TraX runtime on real VOT frames (rectangle and polygon regions)."""

from __future__ import annotations

import configparser
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import shared_path
from siamtrack.geometry import polygon_to_box
from siamtrack.integrations.got10k import GOT10kTracker, pil_to_rgb_array
from siamtrack.models import build_model
from siamtrack.trackers import TRACKERS
from siamtrack.trackers.identity import IdentityTracker
from siamtrack.trackers.siamfc import SiamFCTracker

INTEGRATIONS = Path(__file__).resolve().parents[2] / "src" / "siamtrack" / "integrations"


class RecordingTracker(IdentityTracker):
    """The reference tracker, recording what it is given and moving the box by +1 pixel per frame."""

    name = "recording"

    def init(self, image, box):
        super().init(image, box)
        self.images, self.boxes = [image], [self.box]

    def update(self, image):
        self.images.append(image)
        return super().update(image) + np.array([len(self.images) - 1, 0, 0, 0])


def ball1_paths(count: int) -> list[str]:
    root = shared_path("data", "benchmarks", "VOT", "ball1")
    return [str(p) for p in sorted((root / "color").glob("*.jpg"))[:count]]


def test_got10k_track_hands_rgb_arrays_and_boxes_through():
    paths = ball1_paths(4)
    inner = RecordingTracker()
    boxes, times = GOT10kTracker(inner).track(paths, [496.0, 419.0, 40.0, 42.0])
    assert boxes.shape == (4, 4) and times.shape == (4,)
    np.testing.assert_array_equal(boxes[:, 0], [496, 497, 498, 499])
    np.testing.assert_array_equal(inner.boxes[0], [496, 419, 40, 42])
    for path, image in zip(paths, inner.images):
        assert image.dtype == np.uint8 and image.shape[2] == 3
        np.testing.assert_array_equal(image, np.asarray(Image.open(path).convert("RGB")))


def test_got10k_adapter_converts_one_based_boxes():
    inner = RecordingTracker()
    adapter = GOT10kTracker(inner, name="rec1", one_based=True)
    image = Image.new("L", (30, 40), color=7)  # grayscale PIL image -> RGB
    adapter.init(image, [11.0, 21.0, 5.0, 6.0])
    np.testing.assert_array_equal(inner.boxes[0], [10, 20, 5, 6])
    np.testing.assert_array_equal(adapter.update(image), [12, 21, 5, 6])
    assert adapter.name == "rec1" and inner.images[0].shape == (40, 30, 3)
    with pytest.raises(ValueError, match="RGB uint8"):
        pil_to_rgb_array(np.zeros((4, 4, 3), np.float32))


def test_got10k_runs_a_siamese_tracker():
    torch.manual_seed(0)
    tracker = GOT10kTracker(SiamFCTracker(build_model("siamfc", width=0.25), device="cpu"))
    assert tracker.name == "siamfc"
    boxes, _ = tracker.track(ball1_paths(6), [496.0, 419.0, 40.0, 42.0])
    np.testing.assert_array_equal(boxes[0], [496, 419, 40, 42])
    assert np.all(np.isfinite(boxes))


# ------------------------------------------------------- the adapters track exactly as the in-process tracker

BALL1_FRAMES = 30  # ball1's first 30 frames: the ball goes up and down; the tracker's centre moves ~50 px
BALL1_BOX = [496.0, 419.0, 40.0, 42.0]


@pytest.fixture(scope="module")
def in_process_dcfnet():
    """Boxes of the in-process DCFNet tracker (bundled weights) on ball1's first frames, decoded by siamtrack's
    reader (OpenCV; PIL decodes these JPEGs to the same pixels, checked below)."""
    from siamtrack.imaging import read_image
    from siamtrack.trackers import build_tracker

    frames = [read_image(path) for path in ball1_paths(BALL1_FRAMES)]
    boxes, _ = build_tracker("dcfnet", device="cpu").track(frames, BALL1_BOX)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    assert np.hypot(*(centres - centres[0]).T).max() > 40  # the tracker moves: an echoed first box is far off
    return boxes


def test_got10k_adapter_tracks_as_the_in_process_tracker(in_process_dcfnet):
    from siamtrack.imaging import read_image
    from siamtrack.trackers import build_tracker

    paths = ball1_paths(BALL1_FRAMES)
    assert all(np.array_equal(np.asarray(Image.open(p).convert("RGB")), read_image(p)) for p in paths[:3])
    boxes, _ = GOT10kTracker(build_tracker("dcfnet", device="cpu")).track(paths, BALL1_BOX)
    np.testing.assert_allclose(boxes, in_process_dcfnet, rtol=0, atol=1e-9)
    one_based, _ = GOT10kTracker(build_tracker("dcfnet", device="cpu"), one_based=True).track(
        paths[:5], np.add(BALL1_BOX, [1, 1, 0, 0])
    )
    np.testing.assert_allclose(one_based - [1, 1, 0, 0], in_process_dcfnet[:5], rtol=0, atol=1e-9)


def test_trax_server_tracks_as_the_in_process_tracker(tmp_path, in_process_dcfnet):
    """The TraX server (bundled DCFNet) driven by the vot-toolkit's runtime gives the in-process boxes, up to the
    precision TraX writes numbers with."""
    from vot.region import Rectangle
    from vot.tracker import Registry

    (tmp_path / "trackers.ini").write_text(
        "[siamtrack_dcfnet]\nlabel = siamtrack dcfnet\nprotocol = trax\ntimeout = 60\n"
        f"command = {sys.executable} -m siamtrack.integrations.trax_server --tracker dcfnet --param device='cpu'\n"
    )
    tracker = Registry([str(tmp_path)])["siamtrack_dcfnet"]
    _, states = run_vot_session(tracker, Rectangle(*BALL1_BOX), frames=BALL1_FRAMES)
    boxes = np.array([rectangle_of(s) for s in states])
    np.testing.assert_allclose(boxes, in_process_dcfnet, rtol=0, atol=1e-3)


def test_example_trackers_ini_names_registered_trackers():
    config = configparser.ConfigParser()
    assert config.read(INTEGRATIONS / "trackers.ini")
    assert config.sections()
    for section in config.sections():
        assert config[section]["protocol"] == "trax"
        command = shlex.split(config[section]["command"])
        assert command[1:3] == ["-m", "siamtrack.integrations.trax_server"]
        assert command[command.index("--tracker") + 1] in TRACKERS


@pytest.fixture(scope="module")
def vot_tracker(tmp_path_factory):
    """A vot-toolkit registry entry (trackers.ini) that runs the TraX server on a small random SiamFC."""
    from vot.tracker import Registry

    folder = tmp_path_factory.mktemp("vot-workspace")
    torch.manual_seed(1)
    weights = folder / "siamfc-quarter.pth"
    torch.save(
        {
            "state_dict": build_model("siamfc", width=0.25).state_dict(),
            "model_name": "siamfc",
            "model_config": {"width": 0.25},
        },
        weights,
    )
    (folder / "trackers.ini").write_text(
        "[siamtrack_test]\nlabel = siamtrack test\nprotocol = trax\ntimeout = 60\n"
        f"command = {sys.executable} -m siamtrack.integrations.trax_server --tracker siamfc "
        f"--weights {weights} --param device='cpu'\n"
    )
    return Registry([str(folder)])["siamtrack_test"]


def run_vot_session(tracker, initial_region, frames: int = 4):
    from vot.dataset import load_sequence

    sequence = load_sequence(str(shared_path("data", "benchmarks", "VOT", "ball1")))
    with tracker.runtime(log=False) as runtime:
        first, _ = runtime.initialize(sequence.frame(0), [initial_region])
        states = [first[0]]
        for index in range(1, frames):
            objects, _ = runtime.update(sequence.frame(index), [])
            states.append(objects[0])
    return sequence, states


def rectangle_of(state) -> np.ndarray:
    region = state[0]
    return np.array([region.x, region.y, region.width, region.height])


def test_trax_server_with_a_rectangle_through_the_vot_toolkit(vot_tracker):
    from vot.region import Rectangle

    _, states = run_vot_session(vot_tracker, Rectangle(490.0, 415.0, 50.0, 48.0))
    np.testing.assert_allclose(rectangle_of(states[0]), [490, 415, 50, 48])
    boxes = np.array([rectangle_of(s) for s in states])
    assert boxes.shape == (4, 4) and np.all(np.isfinite(boxes))
    assert all("confidence" in s[1] for s in states[1:])


def test_trax_server_with_a_polygon_through_the_vot_toolkit(vot_tracker):
    from vot.dataset import load_sequence
    from vot.region import Polygon

    sequence = load_sequence(str(shared_path("data", "benchmarks", "VOT", "ball1")))
    polygon = sequence.groundtruth(0)
    assert isinstance(polygon, Polygon)
    _, states = run_vot_session(vot_tracker, polygon, frames=3)
    points = np.array([polygon[i] for i in range(polygon.size)]).reshape(-1)
    np.testing.assert_allclose(rectangle_of(states[0]), polygon_to_box(points), atol=1e-3)
    assert np.all(np.isfinite([rectangle_of(s) for s in states]))


@pytest.mark.slow
def test_vot_evaluate_runs_the_example_registry_on_a_local_workspace(tmp_path):
    """The example trackers.ini, pointed at this interpreter, run by ``vot evaluate`` on a VOT-layout
    workspace whose only sequence links to shared/ (read in place)."""
    import subprocess

    ball1 = shared_path("data", "benchmarks", "VOT", "ball1")
    (tmp_path / "sequences").mkdir()
    (tmp_path / "sequences" / "ball1").symlink_to(ball1, target_is_directory=True)
    (tmp_path / "sequences" / "list.txt").write_text("ball1\n")
    (tmp_path / "config.yaml").write_text("registry:\n  - ./trackers.ini\nstack: ./stack.yaml\n")
    (tmp_path / "stack.yaml").write_text(
        "title: siamtrack local check\nexperiments:\n  baseline:\n    type: unsupervised\n    repetitions: 1\n"
    )
    weights = tmp_path / "siamfc-quarter.pth"
    torch.save(
        {
            "state_dict": build_model("siamfc", width=0.25).state_dict(),
            "model_name": "siamfc",
            "model_config": {"width": 0.25},
        },
        weights,
    )
    config = configparser.ConfigParser()
    config.read(INTEGRATIONS / "trackers.ini")
    command = config["siamtrack_siamfc"]["command"]
    assert command.startswith("python ")
    config["siamtrack_siamfc"]["command"] = f"{sys.executable} {command[len('python ') :]} --weights {weights}"
    with open(tmp_path / "trackers.ini", "w") as handle:
        config.write(handle)
    vot = Path(sys.executable).with_name("vot")
    done = subprocess.run(
        [str(vot), "evaluate", "--workspace", str(tmp_path), "siamtrack_siamfc"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = tmp_path / "results" / "siamtrack_siamfc" / "baseline" / "ball1"
    confidences = (results / "ball1_001_confidence.value").read_text().splitlines()
    assert len(confidences) == len(list((ball1 / "color").glob("*.jpg")))
    assert (results / "ball1_001.bin").stat().st_size > 0
