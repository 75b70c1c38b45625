"""Tracker-parameter presets (siamtrack.presets): one schema, loadable by ``track`` / ``eval`` (``--preset``, with
``--param`` over it), recorded in ``run.json`` and in a trained ``model.pth``, from which a run folder rebuilds its
tracker exactly (identical boxes)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import REPO_ROOT
from tracking_support import moving_square
from siamtrack.training.config import ConfigError, load_config
from siamtrack.models import read_weights
from siamtrack.presets import PresetError, bundled_presets, load_preset, resolve_params, tracker_from_run
from siamtrack.trackers import build_tracker, recorded_for, tracker_class

SCRIPT = Path(sys.executable).with_name("siamtrack")  # the installed console script of this venv
PRESETS = REPO_ROOT / "src" / "siamtrack" / "configs" / "presets"
PRESET = {"num_scales": 5, "window_influence": 0.3}  # a SiamFC preset that differs from the defaults
OVERRIDE = "scale_lr=0.4"


def run(*args: str, cwd: Path = REPO_ROOT, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def write_preset(path: Path, text: str | None = None) -> Path:
    path.write_text(
        text
        if text is not None
        else "# a SiamFC preset\ntracker: siamfc\nname: siamfc-wide\ndescription: five scales\nparams:\n"
        + "".join(f"  {key}: {value}\n" for key, value in PRESET.items())
    )
    return path


def tiny_otb(root: Path, frames: int = 5) -> Path:
    """An ``otb-folder`` dataset of one 96x128 sequence ``Seq``: a textured square moving right and down."""
    images, boxes = moving_square(frames)
    (root / "Seq" / "img").mkdir(parents=True)
    for index, image in enumerate(images):
        cv2.imwrite(str(root / "Seq" / "img" / f"{index + 1:04d}.jpg"), image)
    (root / "Seq" / "groundtruth_rect.txt").write_text("".join(f"{x + 1:g},{y + 1:g},24,20\n" for x, y, _, _ in boxes))
    return root


def frames_of(root: Path) -> list[np.ndarray]:
    return [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in sorted((root / "Seq" / "img").iterdir())]


def tracked(tracker, frames, box) -> np.ndarray:
    torch.set_num_threads(1)
    return tracker.track(frames, box)[0]


# --- one schema, every bundled preset --------------------------------------------------------------------------


def test_every_bundled_preset_is_one_schema_and_fits_its_trackers_params():
    names = bundled_presets()
    assert len(names) == 15 and {"bundled/presets/dslt", "bundled/presets/tadt"} <= set(names)
    assert sorted(path.stem for path in PRESETS.glob("*.yaml")) == sorted(name.split("/")[-1] for name in names)
    for name in names:
        preset = load_preset(name)
        assert preset.tracker in ("dslt", "tadt") and preset.params and preset.source == name
        tracker_class(preset.tracker).Params(**preset.params)  # the values are valid, not only the names
    assert load_preset("bundled/presets/dslt-ablation-l2").name == "DSLT-l2"  # the results folder of the ablation
    assert load_preset("bundled/presets/tadt-ablation-conv41-rand").description == "Rand / -"  # Table 5's label
    assert load_preset("bundled/presets/tadt").name == "tadt"  # no name: the file's stem
    # no tracker-parameter file is left among the training configs (each is a training config)
    for path in (REPO_ROOT / "src" / "siamtrack" / "configs").glob("*.yaml"):
        load_config(path)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("tracker: siamfc\nrow: x\n", 2, "unknown key 'row' in a preset"),
        (
            "tracker: siamfc\nparams:\n  num_scales: 3\n  window_influense: 0.2\n",
            4,
            "unknown parameter 'window_influense' for tracker 'siamfc'",
        ),
        ("tracker: siamfc\nparams:\n  num_scales: 2.5\n", 3, "num_scales=2.5 must be an integer"),
        (
            "tracker: dcfnet\nparams:\n  template_lr: 0.01\n  interp_factr: 0.01\n",
            4,
            "unknown parameter 'interp_factr' for tracker 'dcfnet'",
        ),
        ("tracker: siamfcc\n", 1, "unknown tracker 'siamfcc'"),
        ("params: {num_scales: 3}\n", None, "a preset names its tracker"),
        ("tracker: siamfc\nparams: [1, 2]\n", 2, "'params' must be a mapping"),
    ],
)
def test_a_preset_error_names_the_file_line_and_key(tmp_path, text, line, message):
    path = write_preset(tmp_path / "bad.yaml", text)
    with pytest.raises(PresetError) as error:
        load_preset(path)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(error.value).startswith(where) and message in str(error.value), str(error.value)


def test_unknown_bundled_preset_lists_the_bundled_ones():
    with pytest.raises(PresetError, match="bundled/presets/nothing: no such bundled preset.*bundled/presets/dslt"):
        load_preset("bundled/presets/nothing")


def test_param_overrides_go_over_the_preset():
    preset = load_preset("bundled/presets/dslt")
    assert resolve_params(preset, {"shrinkage_a": 6.0, "init_iterations": 10}) == {
        "loss": "shrinkage",
        "shrinkage_a": 6.0,
        "shrinkage_c": 0.2,
        "importance": True,
        "init_iterations": 10,
    }
    assert resolve_params(None, {"x": 1}) == {"x": 1}


# --- track and eval take --preset ------------------------------------------------------------------------------


def test_track_takes_a_preset_and_param_over_it(tmp_path):
    root, preset = tiny_otb(tmp_path / "otb"), write_preset(tmp_path / "wide.yaml")
    box = "30,30,24,20"
    result = run(
        "track",
        "--preset",
        str(preset),
        "--param",
        OVERRIDE,
        "--frames",
        str(root / "Seq" / "img"),
        "--box",
        box,
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    boxes = np.loadtxt(tmp_path / "out" / "boxes.txt", delimiter=",", ndmin=2)
    tracker = build_tracker("siamfc", **PRESET, scale_lr=0.4)  # the preset's tracker, its params, --param over them
    expected = tracked(tracker, frames_of(root), [30, 30, 24, 20])
    np.testing.assert_allclose(boxes, expected, atol=1e-3)  # boxes.txt keeps 3 decimals
    assert not np.allclose(expected, tracked(build_tracker("siamfc"), frames_of(root), [30, 30, 24, 20]))

    bad = write_preset(tmp_path / "bad.yaml", "tracker: siamfc\nparams:\n  window_influense: 0.2\n")
    result = run(
        "track",
        "--preset",
        str(bad),
        "--frames",
        str(root / "Seq" / "img"),
        "--box",
        box,
        "--out",
        str(tmp_path / "out-bad"),
        "--quiet",
    )
    error = result.stderr.strip()
    assert result.returncode == 2 and len(error.splitlines()) == 1, result.stderr
    assert error.startswith(f"error: {bad}:3: unknown parameter 'window_influense'"), error


def test_eval_records_the_resolved_params_and_the_results_folder_rebuilds_its_tracker(tmp_path):
    root, preset = tiny_otb(tmp_path / "otb"), write_preset(tmp_path / "wide.yaml")
    results = tmp_path / "results"
    dataset = ("--dataset", "otb-folder", "--root", str(root), "--results", str(results), "--quiet")
    result = run("eval", "--preset", str(preset), "--param", OVERRIDE, *dataset)
    assert result.returncode == 0, result.stderr
    folder = results / "siamfc-wide"  # the preset's name
    record = json.loads((folder / "run.json").read_text())
    assert record["tracker"] == "siamfc" and record["preset"] == str(preset)
    assert record["params"] == {**PRESET, "scale_lr": 0.4}  # the preset's, then --param over them
    boxes = np.loadtxt(folder / "Seq.txt", delimiter=",", ndmin=2)

    rebuilt = tracker_from_run(folder)
    assert rebuilt.name == "siamfc" and rebuilt.params.num_scales == 5 and rebuilt.params.scale_lr == 0.4
    np.testing.assert_allclose(tracked(rebuilt, frames_of(root), boxes[0]), boxes, atol=1e-3)

    # the same run again reuses its results; another preset value is another run
    assert run("eval", "--preset", str(preset), "--param", OVERRIDE, *dataset).returncode == 0
    other = run("eval", "--preset", str(preset), *dataset)
    assert other.returncode == 2 and "holds results of another run" in other.stderr, other.stderr


# --- a trained model.pth records its tracker and parameters ----------------------------------------------------


def test_a_training_run_records_its_preset_in_model_pth_and_the_run_folder_rebuilds_its_tracker(tmp_path):
    from siamtrack.training.loop import train, tracker_record

    from test_packaging import tiny_folder_dataset

    tiny_folder_dataset(tmp_path / "data")
    preset = write_preset(tmp_path / "wide.yaml")
    overrides = [
        f"data.sources=[{{dataset: folder, root: {tmp_path / 'data'}}}]",
        f"data.curation.cache_dir={tmp_path / 'cache'}",
        "data.pairs_per_epoch=2",
        "train.batch_size=2",
        "train.epochs=1",
        "train.progress=false",
        "train.device=cpu",
        "model.args.width=0.25",
        f"tracker.preset={preset}",
        "tracker.params={scale_lr: 0.4}",
    ]
    config = load_config("bundled/siamfc", overrides)
    torch.set_num_threads(1)
    model_path = train(config, tmp_path / "run")
    weights = read_weights(model_path)
    assert weights.model_config == {"width": 0.25}
    assert weights.tracker_name == "siamfc" and weights.tracker_params == {**PRESET, "scale_lr": 0.4}

    frames, box = frames_of(tiny_otb(tmp_path / "otb")), [30, 30, 24, 20]
    rebuilt = tracker_from_run(tmp_path / "run")
    assert rebuilt.params.num_scales == 5 and rebuilt.params.window_influence == 0.3
    unrecorded = dataclasses.replace(weights, tracker_name=None, tracker_params={})
    explicit = build_tracker("siamfc", weights=unrecorded, **PRESET, scale_lr=0.4)
    np.testing.assert_array_equal(tracked(rebuilt, frames, box), tracked(explicit, frames, box))
    assert build_tracker("siamfc", weights=unrecorded).params.num_scales == 3  # the recorded ones made the change
    # explicit hyper-parameters go over the recorded ones; another tracker reading the file does not take them
    assert build_tracker("siamfc", weights=model_path, num_scales=3).params.num_scales == 3
    assert build_tracker("siamfc_sl", weights=model_path).params.num_scales == 5
    assert recorded_for(weights, "siamfc_sl") and not recorded_for(weights, "dslt")

    # a bad preset parameter stops training before it starts, naming the key
    bad = load_config("bundled/siamfc", overrides[:-1] + ["tracker.params={window_influense: 0.2}"])
    with pytest.raises(ConfigError, match="tracker.params.window_influense: unknown parameter 'window_influense'"):
        tracker_record(bad)
    with pytest.raises(ConfigError, match="tracker.params.window_influense"):
        train(bad, tmp_path / "run-bad")
    assert not (tmp_path / "run-bad").exists()
