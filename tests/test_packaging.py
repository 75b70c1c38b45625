"""Packaging: the training configs ship in the package and are found by name (``--config bundled/<name>``), the
environment holds one OpenCV distribution, and the wheel holds what an installed siamtrack needs (weights, demo
clip, configs, the pages of ``siamtrack serve``, ``py.typed``, the licence) and runs ``siamtrack demo`` from a clean
virtual environment."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from importlib.metadata import distributions
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from conftest import REPO_ROOT
from tracking_support import moving_square
from siamtrack.training.config import ConfigError, bundled_config_root, bundled_configs, load_config, resolve_config

SCRIPT = Path(sys.executable).with_name("siamtrack")  # the installed console script of this venv
PACKAGE = REPO_ROOT / "src" / "siamtrack"


def run(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


# --- configs shipped in the package, found by name ---------------------------------------------------------------


def test_bundled_names_are_every_yaml_of_the_package_folder_and_no_other_copy_exists():
    root = bundled_config_root()
    assert root == PACKAGE / "configs"  # the editable install reads the checkout's one copy
    files = sorted(root.rglob("*.yaml"))
    assert len(files) >= 60
    names = bundled_configs()
    assert names == sorted(f"bundled/{path.relative_to(root).with_suffix('').as_posix()}" for path in files)
    assert {
        "bundled/siamfc",
        "bundled/siamfc-width0.5",
        "bundled/pretrained/siamfc-lite0-cached",
        "bundled/weights/siamfc",
        "bundled/weights/siamfc-lite",
    } <= set(names)
    assert resolve_config("bundled/siamfc-width0.5") == root / "siamfc-width0.5.yaml"  # not with_suffix's ".5"
    pretrained = root / "pretrained" / "siamfc-lite0-cached.yaml"
    assert resolve_config("bundled/pretrained/siamfc-lite0-cached.yaml") == pretrained
    assert resolve_config("somewhere/siamfc.yaml") == Path("somewhere/siamfc.yaml")  # a path stays a path
    assert not (REPO_ROOT / "configs").exists()  # one copy: the package's


def tiny_folder_dataset(root: Path, frames: int = 6) -> None:
    """One sequence ``root/clip`` (96x128 PNGs of a textured square moving over noise, 1-based ground truth)."""
    images, boxes = moving_square(frames)
    (root / "clip" / "img").mkdir(parents=True)
    for index, image in enumerate(images):
        cv2.imwrite(str(root / "clip" / "img" / f"{index + 1:04d}.png"), image)
    (root / "clip" / "groundtruth.txt").write_text("".join(f"{x + 1:g},{y + 1:g},24,20\n" for x, y, _, _ in boxes))


def test_train_takes_a_bundled_config_by_name_outside_a_checkout(tmp_path):
    """``siamtrack train --config bundled/weights/siamfc`` from a folder that is not a checkout: one short real run
    (the data and cache pointed at a tiny folder dataset by --set) whose saved config is the bundled one."""
    tiny_folder_dataset(tmp_path / "data")
    work = tmp_path / "elsewhere"
    work.mkdir()
    overrides = [
        f"data.sources=[{{dataset: folder, root: {tmp_path / 'data'}}}]",
        f"data.curation.cache_dir={tmp_path / 'cache'}",
        "data.pairs_per_epoch=2",
        "train.batch_size=2",
        "train.epochs=1",
        "train.progress=false",
        "train.device=cpu",
        "train.checkpoint_every=1",
    ]
    result = run(
        "train",
        "--config",
        "bundled/weights/siamfc",
        "--run-dir",
        "run",
        *[item for value in overrides for item in ("--set", value)],
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    assert (work / "run" / "model.pth").is_file()
    saved = yaml.safe_load((work / "run" / "config.yaml").read_text())
    bundled = load_config(PACKAGE / "configs" / "weights" / "siamfc.yaml")
    assert (
        saved["model"]
        == {"name": "siamfc", "args": {"width": 0.5}}
        == {"name": bundled.model.name, "args": dict(bundled.model.args)}
    )
    assert saved["optim"]["lr_start"] == bundled.optim.lr_start and saved["train"]["epochs"] == 1

    # a plain path still works, and a file of one's own can start from a bundled config
    own = work / "mine.yaml"
    own.write_text("base: bundled/weights/siamfc\nmodel:\n  args: {width: 0.25}\n")
    result = run(
        "train",
        "--config",
        "mine.yaml",
        "--run-dir",
        "run-own",
        *[item for value in overrides for item in ("--set", value)],
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    saved = yaml.safe_load((work / "run-own" / "config.yaml").read_text())
    assert saved["model"]["args"] == {"width": 0.25} and saved["optim"]["lr_start"] == bundled.optim.lr_start


def test_an_unknown_bundled_name_lists_the_bundled_configs(tmp_path):
    result = run("train", "--config", "bundled/siamfcc", "--run-dir", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 2
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1, error
    assert error.startswith("error: bundled/siamfcc: no such bundled config"), error
    listed = error.split("the bundled configs are: ")[1].split(", ")
    assert listed == bundled_configs()
    assert not (tmp_path / "run").exists()
    for name in ("bundled/../config", "bundled/", "bundled//siamfc", "bundled/weights"):
        with pytest.raises(ConfigError, match=f"^{name}: no such bundled config"):
            resolve_config(name)


# --- one OpenCV distribution ---------------------------------------------------------------------------------------

OPENCV = {"opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"}


def requirement_name(text: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(text).name.lower().replace("_", "-")


def test_the_environment_holds_exactly_one_opencv_distribution():
    """All four OpenCV wheels install the same ``cv2`` package; two of them overwrite each other's files."""
    installed = sorted({(d.metadata["Name"] or "").lower() for d in distributions()} & OPENCV)
    assert installed == ["opencv-contrib-python-headless"], (
        f"OpenCV distributions installed: {installed}; run scripts/setup.sh (it leaves only "
        "opencv-contrib-python-headless)"
    )
    assert hasattr(cv2, "TrackerCSRT") and hasattr(cv2, "TrackerKCF")  # the contrib build's cv2, whole


def test_no_extra_asks_for_a_second_opencv_distribution():
    """The base and every extra name the same OpenCV distribution, so that no ``pip install siamtrack[...]``
    brings a second ``cv2``; the extras that pull one in through a dependency (the vot-toolkit) leave it out."""
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    named = {requirement_name(text) for text in project["dependencies"]}
    for requirements in project["optional-dependencies"].values():
        named |= {requirement_name(text) for text in requirements}
    assert named & OPENCV == {"opencv-contrib-python-headless"}
    assert "vot-toolkit" not in named  # installed with --no-deps (scripts/setup.sh): it requires opencv-python


def test_vot_toolkit_has_every_requirement_but_opencv_python():
    """The vot-toolkit is installed without its requirements; the ``eval`` extra lists them, less opencv-python."""
    from importlib.metadata import PackageNotFoundError, requires, version

    missing = []
    for text in requires("vot-toolkit"):
        if "extra ==" in text:
            continue
        name = requirement_name(text)
        if name == "opencv-python":
            continue
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(name)
    assert not missing, f"vot-toolkit requirements not installed: {missing}"
    import vot.region.raster  # noqa: F401  (what tests/evaluation/test_eval_vot_agreement.py uses; it imports cv2)


# --- the wheel ---------------------------------------------------------------------------------------------------


def build_wheel(tmp_path: Path) -> Path:
    """The wheel of this checkout, built offline (no build isolation, no index) from a copy of the sources, so the
    build's ``build/`` and ``*.egg-info`` never land in the checkout."""
    import shutil

    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO_ROOT / name, source / name)
    shutil.copytree(
        REPO_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = list((tmp_path / "dist").glob("siamtrack-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_holds_weights_demo_configs_types_and_licence(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    package_files = {
        f"siamtrack/{path.relative_to(PACKAGE).as_posix()}"
        for folder in ("weights/bundled", "assets", "configs", "serve/static")
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file()
    }
    assert len([n for n in package_files if n.startswith("siamtrack/configs/")]) >= 60
    assert {
        "siamtrack/weights/bundled/siamfc.pth",
        "siamtrack/assets/demo.mp4",
        "siamtrack/assets/demo.txt",
        "siamtrack/configs/siamfc.yaml",
        "siamtrack/configs/weights/siamfc.yaml",
        "siamtrack/configs/pretrained/siamfc-lite0-cached.yaml",
        "siamtrack/serve/static/index.html",
        "siamtrack/serve/static/reports.html",
    } <= package_files
    missing = package_files - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    for name in (
        "siamtrack/py.typed",
        "siamtrack/integrations/trackers.ini",
        "siamtrack/cli.py",
        "siamtrack/models/__init__.py",
    ):
        assert name in names, name
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names), names
    assert not any(n.startswith(("tests/", "benchmarks/", "configs/", "scripts/")) for n in names)
    requires = [line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist: ")]
    assert any(r.startswith("av") for r in requires) and any(
        r.startswith("opencv-contrib-python-headless") for r in requires
    )
    assert {"eval", "bench", "serve", "test"} <= {
        line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Provides-Extra: ")
    }
    # `siamtrack serve`'s framework is optional (the extra), and the test extra has it, so that CI runs its tests
    assert not any(r.startswith(("starlette", "uvicorn")) and "extra ==" not in r for r in requires), requires
    assert any(r.startswith("starlette") and 'extra == "serve"' in r for r in requires), requires
    assert any(r.startswith("siamtrack[") and "serve" in r and 'extra == "test"' in r for r in requires), requires


@pytest.mark.slow
def test_the_wheel_installs_into_a_clean_venv_and_runs_the_demo(tmp_path):
    """Build the wheel, install it into a new virtual environment (its requirements from the package index, torch
    first as scripts/setup.sh installs it), and run ``siamtrack demo`` and a bundled-config lookup there, outside
    the checkout. Minutes: it installs torch, OpenCV and PyAV."""
    import torch

    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    torch_version = torch.__version__.split("+")[0]
    if subprocess.run(pip + [f"torch=={torch_version}"], timeout=1200).returncode != 0:
        subprocess.run(
            pip + [f"torch=={torch_version}", "--index-url", "https://download.pytorch.org/whl/cpu"],
            check=True,
            timeout=1200,
        )
    subprocess.run(pip + [str(wheel)], check=True, timeout=1200)

    work = tmp_path / "work"
    work.mkdir()
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(venv / "bin" / "siamtrack"), "demo", "--out", "out"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=work,
        env=environment,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("tadt-lite: 150 frames"), result.stdout
    auc = float(result.stdout.split("success AUC ")[1].split(",")[0])
    assert auc > 0.7
    assert np.loadtxt(work / "out" / "boxes.txt", delimiter=",").shape == (150, 4)
    import av

    with av.open(str(work / "out" / "track.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in container.decode(video=0)) == 150

    code = (
        "import siamtrack, siamtrack.training.config as c; from importlib.metadata import distributions; "
        "p = c.resolve_config('bundled/weights/siamfc'); assert 'site-packages' in str(p), p; "
        "print(len(c.bundled_configs()), c.load_config('bundled/weights/siamfc').model.name, "
        "sorted({(d.metadata['Name'] or '').lower() for d in distributions()} & "
        f"set({sorted(OPENCV)!r})), siamtrack.__file__)"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    count, model, *rest = result.stdout.split(" ", 2)
    assert int(count) == len(bundled_configs()) and model == "siamfc"
    assert "['opencv-contrib-python-headless']" in result.stdout and str(venv) in result.stdout, result.stdout
