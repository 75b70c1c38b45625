"""The practitioner's path, part two: progress and summaries of the long commands, every registered tracker either
building with defaults or saying why it needs weights, and one command-line vocabulary (counts ``--max-*``, names
``--sequences``, folders ``--frames``; one KEY=VALUE grammar). CLI behaviour is checked through the installed
console script."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO_ROOT, shared_path

SCRIPT = Path(sys.executable).with_name("siamtrack")  # the installed console script of this venv
TESTS = Path(__file__).resolve().parents[1]  # tests/, holding the *_support helpers
SUMMARY = re.compile(
    r"^siamtrack (\w+): (?:(\d+) sequences, )?(\d+) (frames|iterations), ([\d.]+) s, ([\d.]+|-) "
    r"(fps|it/s)$"
)


def run(*args: str, timeout: int = 120, env: dict | None = None, cwd=REPO_ROOT) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=environment
    )


def summary(stdout: str) -> tuple:
    """(command, sequences or None, count, seconds, rate) of the one summary line of ``stdout``."""
    lines = [m for m in map(SUMMARY.match, stdout.splitlines()) if m]
    assert len(lines) == 1, stdout
    command, sequences, count, _, seconds, rate, _ = lines[0].groups()
    return (
        command,
        None if sequences is None else int(sequences),
        int(count),
        float(seconds),
        (None if rate == "-" else float(rate)),
    )


def progress_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{label}: ")]


@pytest.fixture(scope="module")
def dragon_baby_frames(tmp_path_factory):
    """A 12-frame real sequence: links to the first 12 JPEGs of OTB DragonBaby (read in place) and its first box."""
    source = shared_path("data", "benchmarks", "OTB", "DragonBaby")
    folder = tmp_path_factory.mktemp("dragonbaby") / "img"
    folder.mkdir()
    for path in sorted((source / "img").iterdir())[:12]:
        (folder / path.name).symlink_to(path)
    box = (source / "groundtruth_rect.txt").read_text().splitlines()[0].replace("\t", ",")
    return folder, box


# --- A. progress, ETA and the summary line --------------------------------------------------------------------


def test_track_prints_progress_and_a_summary_and_quiet_silences_the_progress(tmp_path, dragon_baby_frames):
    folder, box = dragon_baby_frames
    command = ["track", "--tracker", "dcfnet", "--frames", folder, "--box", box, "--out", tmp_path / "out"]
    result = run(SCRIPT, *command, env={"SIAMTRACK_PROGRESS_INTERVAL": "0"})  # stderr a pipe: plain lines
    assert result.returncode == 0, result.stderr
    name, _, frames, seconds, fps = summary(result.stdout)
    assert name == "track" and frames == 12 == len(list(folder.iterdir())) and seconds > 0 and fps > 0
    # both numbers are printed to one decimal: the rate must lie within what the rounded seconds allow
    assert frames / (seconds + 0.05) - 0.05 <= fps <= frames / max(seconds - 0.05, 1e-9) + 0.05, (fps, seconds)
    assert len(np.loadtxt(tmp_path / "out" / "boxes.txt", delimiter=",", ndmin=2)) == 12
    lines = progress_lines(result.stderr, "track")
    assert "\r" not in result.stderr and lines, result.stderr  # whole lines in a log, no terminal redraws
    counts = [int(re.match(r"track: (\d+)/12 ", line).group(1)) for line in lines]
    assert counts == sorted(counts) and counts[-1] == 12 and len(set(counts)) > 6, lines  # frame by frame
    assert "frame/s" in lines[-1] and "ETA" in lines[-1]

    quiet = run(SCRIPT, *command, "--quiet", env={"SIAMTRACK_PROGRESS_INTERVAL": "0"})
    assert quiet.returncode == 0, quiet.stderr
    assert progress_lines(quiet.stderr, "track") == [] and "frame/s" not in quiet.stderr, quiet.stderr
    assert summary(quiet.stdout)[2] == 12  # the summary stays


def test_track_max_frames_counts_in_the_summary(tmp_path, dragon_baby_frames):
    folder, box = dragon_baby_frames
    result = run(
        SCRIPT,
        "track",
        "--tracker",
        "opencv-kcf",
        "--frames",
        folder,
        "--box",
        box,
        "--out",
        tmp_path,
        "--max-frames",
        "5",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)[2] == 5 and len((tmp_path / "boxes.txt").read_text().splitlines()) == 5


def test_demo_quiet_prints_only_the_results_and_the_summary(tmp_path):
    from siamtrack.data.sequence import VideoFile
    from siamtrack.demo import DEMO_VIDEO

    result = run(SCRIPT, "demo", "--out", tmp_path, "--quiet")
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)[2] == len(VideoFile(str(DEMO_VIDEO))) == 150
    assert "demo:" not in result.stderr and "frame/s" not in result.stderr, result.stderr


def test_eval_progress_is_per_frame_and_the_summary_counts_sequences_and_frames(tmp_path):
    root = shared_path("data", "benchmarks", "OTB")
    arguments = [
        "eval",
        "--tracker",
        "opencv-kcf",
        "--weights",
        "random",
        "--dataset",
        "otb-folder",
        "--root",
        root,
        "--sequences",
        "DragonBaby",
        "--protocol",
        "got10k",
        "--results",
        tmp_path / "results",
    ]
    result = run(SCRIPT, *arguments, env={"SIAMTRACK_PROGRESS_INTERVAL": "0"})
    assert result.returncode == 0, result.stderr
    name, sequences, frames, seconds, fps = summary(result.stdout)
    assert (name, sequences, frames) == ("eval", 1, 113) and seconds > 0 and fps > 0
    lines = progress_lines(result.stderr, "opencv-kcf ope")
    counts = [int(re.match(r"opencv-kcf ope: (\d+)/113 ", line).group(1)) for line in lines]
    assert counts[-1] == 113 and len(set(counts)) > 50, lines  # per frame, not once per sequence
    again = run(SCRIPT, *arguments, "--quiet")  # the results exist: nothing tracked, nothing shown
    assert again.returncode == 0 and not re.search(r"opencv-kcf ope: \d+/", again.stderr), again.stderr
    assert summary(again.stdout)[1:3] == (1, 0) and summary(again.stdout)[4] is None


def test_train_progress_quiet_and_iteration_summary(tmp_path):
    from training_support import synthetic_sequence, tiny_config_dict

    from siamtrack.training.curation import CropSettings, curate

    sequences = [synthetic_sequence(f"s{i}", 10, seed=i) for i in range(2)]
    curated = curate(sequences, CropSettings(context_size=31, crop_size=79), tmp_path / "cache", progress=False)
    config = tiny_config_dict(str(curated), train={"epochs": 2, "progress": True, "checkpoint_every": 100})
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    env = {
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "SIAMTRACK_PROGRESS_INTERVAL": "0",
    }
    result = run(SCRIPT, "train", "--config", tmp_path / "tiny.yaml", "--run-dir", tmp_path / "run", env=env)
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)[0] == "train" and summary(result.stdout)[2] == 6  # 12 pairs / 4 x 2 epochs
    assert progress_lines(result.stderr, "epoch 2/2")[-1].startswith("epoch 2/2: 3/3 (100%)"), result.stderr
    quiet = run(
        SCRIPT, "train", "--config", tmp_path / "tiny.yaml", "--run-dir", tmp_path / "quiet", "--quiet", env=env
    )
    assert quiet.returncode == 0 and "epoch 1/2" not in quiet.stderr, quiet.stderr
    assert summary(quiet.stdout)[2] == 6


def test_progress_bar_writes_whole_lines_to_a_file_and_counted_stops_at_the_limit(monkeypatch):
    from siamtrack.progress import counted, progress_bar, summary_line

    monkeypatch.setenv("SIAMTRACK_PROGRESS_INTERVAL", "0")
    stream = io.StringIO()
    bar = progress_bar(total=4, desc="demo", unit="frame", file=stream)
    taken = list(counted(iter(range(10)), bar, limit=4))
    bar.close()
    assert taken == [0, 1, 2, 3] and bar.n == 4
    lines = stream.getvalue().splitlines()
    assert (
        "\r" not in stream.getvalue()
        and lines[0].startswith("demo: 0/4 (0%)")
        and lines[-1].startswith("demo: 4/4 (100%)")
        and "ETA" in lines[-1]
    )
    silent = io.StringIO()
    bar = progress_bar(total=3, desc="demo", file=silent, disable=True)
    assert list(counted(range(3), bar)) == [0, 1, 2] and silent.getvalue() == ""
    assert summary_line("eval", 2.0, 50, sequences=3) == "siamtrack eval: 3 sequences, 50 frames, 2.0 s, 25.0 fps"
    assert summary_line("track", 0.0, 0) == "siamtrack track: 0 frames, 0.0 s, - fps"


# --- B. every registered tracker builds with defaults or says why it needs weights --------------------------


def test_every_registered_tracker_builds_or_raises_the_reason_siamtrack_trackers_shows():
    from siamtrack.trackers import WeightsRequired, available_trackers, build_tracker
    from siamtrack.trackers.catalogue import CATALOGUE, NEEDS, entry
    from siamtrack.trackers.opencv import CONTRIB_HINT, opencv_tracker_factories

    listing = run(SCRIPT, "trackers")
    assert listing.returncode == 0, listing.stderr
    rows = {
        line.split("|")[1].strip().removesuffix(" (default)"): line
        for line in listing.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| tracker ")
    }
    assert sorted(rows) == available_trackers() == sorted(CATALOGUE)
    built, needing = [], []
    for name in available_trackers():
        item = entry(name)
        try:
            tracker = build_tracker(name)
        except WeightsRequired as error:
            needing.append(name)
            message = str(error)
            assert item.weights == NEEDS and item.detail and item.detail in message, (name, message)
            assert f"tracker {name!r}" in message and "--weights PATH" in message and "weights=PATH" in message
            assert "\n" not in message
            assert f"needs --weights ({item.detail})" in rows[name], rows[name]  # the same reason, listed
        except RuntimeError as error:  # OpenCV's trackers where this cv2 lacks the contrib build
            assert name.startswith("opencv-") and opencv_tracker_factories()[name] is None, name
            assert CONTRIB_HINT in str(error) and item.detail in str(error) and item.detail in rows[name]
        else:
            built.append(name)
            assert item.weights != NEEDS, f"{name} builds without weights but the catalogue says it needs some"
            assert tracker.name == name  # siamfc_sl is a SiamFC tracker named siamfc_sl
            assert "needs --weights" not in rows[name]
    assert "cacf" in built and {"siamfc_sl", "siamrpn_sl", "tadt-lite"} <= set(built)
    assert {"siamrpn", "siamfc_fl", "edsiam", "cfnet-conv1"} <= set(needing)


def test_track_with_a_tracker_that_needs_weights_says_why_in_one_line(tmp_path):
    from siamtrack.trackers import bundled_weights, weights_required_message
    from siamtrack.trackers.catalogue import entry

    result = run(
        SCRIPT, "track", "--tracker", "siamrpn", "--frames", tmp_path, "--box", "1,2,3,4", "--out", tmp_path / "out"
    )
    assert result.returncode == 2
    reason = f"{entry('siamrpn').detail} ({bundled_weights('siamrpn')} does not exist)"
    assert result.stderr.strip() == f"error: {weights_required_message('siamrpn', reason)}"


# --- C. one vocabulary: counts --max-*, names --sequences, folders --frames; one KEY=VALUE grammar ------------


def _bench_table(stdout: str) -> tuple[str, list[str]]:
    header = next(line for line in stdout.splitlines() if line.startswith("| tracker "))
    return stdout.splitlines()[0], [cell.strip() for cell in header.split("|")[2:-3]]


def test_bench_counts_are_max_options_and_sequences_takes_names():
    shared = shared_path()
    common = ["bench", "--shared", shared, "--trackers", "opencv-kcf", "--no-opencv", "--runs", "1"]
    new = run(SCRIPT, *common, "--max-sequences", "2", "--max-frames", "4")
    assert new.returncode == 0 and "deprecated" not in new.stderr, new.stderr
    title, columns = _bench_table(new.stdout)
    assert "4 frames" in title and columns == ["DragonBaby", "Jogging.1"]
    named = run(SCRIPT, *common, "--sequences", "ball1,DragonBaby", "--max-frames", "3")
    assert named.returncode == 0, named.stderr
    assert _bench_table(named.stdout)[1] == ["ball1", "DragonBaby"]
    old = run(SCRIPT, *common, "--sequences", "2", "--frames", "4")  # the old count spellings, for one release
    assert old.returncode == 0, old.stderr
    warnings = [line for line in old.stderr.splitlines() if "deprecated" in line]
    assert warnings == [
        "siamtrack bench: warning: --frames 4 (a count) is deprecated and will be removed after siamtrack 0.1; "
        "use --max-frames 4",
        "siamtrack bench: warning: --sequences 2 (a count) is deprecated and will be removed after siamtrack 0.1; "
        "use --max-sequences 2",
    ]
    assert _bench_table(old.stdout) == (title, columns)  # the same run as the new spelling
    unknown = run(SCRIPT, *common, "--sequences", "nope")
    assert unknown.returncode == 2 and unknown.stderr.strip().endswith(
        "unknown sequence(s) ['nope'] in split 'dev-eval'"
    ), unknown.stderr


def test_datasets_summary_takes_dataset_and_root_and_the_positional_form_is_deprecated():
    root = shared_path("data", "benchmarks", "OTB")
    new = run(SCRIPT, "datasets", "summary", "--dataset", "otb-folder", "--root", root)
    assert new.returncode == 0 and new.stderr == "", new.stderr
    assert new.stdout.splitlines()[0].startswith("DragonBaby\tOTB\t113 frames from 1")
    old = run(SCRIPT, "datasets", "summary", "otb-folder", root)
    assert old.returncode == 0 and old.stdout == new.stdout
    assert old.stderr.strip() == (
        "siamtrack datasets: warning: 'datasets summary NAME ROOT' is deprecated and will "
        "be removed after siamtrack 0.1; use 'datasets summary --dataset NAME --root ROOT'"
    )
    missing = run(SCRIPT, "datasets", "summary", "--dataset", "otb-folder")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: datasets summary needs --dataset NAME and --root DIR"


def test_one_key_value_grammar_for_param_option_and_set():
    from siamtrack.training.config import ConfigError, load_config, resolve_config
    from siamtrack.keyvalue import KeyValueError, parse_items
    from siamtrack.trackers import parse_hyperparameters

    items = [
        "a=0.2",
        "b=1e-3",
        "c=true",
        "d=False",
        "e=null",
        "f='cpu'",
        "g=dev-eval",
        "h=(1, 2)",
        "i=[a, b]",
        "j={gamma: 2}",
        "k=16",
        "l=/data/otb",
        "m=x=y",
    ]
    expected = {
        "a": 0.2,
        "b": 1e-3,
        "c": True,
        "d": False,
        "e": None,
        "f": "cpu",
        "g": "dev-eval",
        "h": (1, 2),
        "i": ["a", "b"],
        "j": {"gamma": 2},
        "k": 16,
        "l": "/data/otb",
        "m": "x=y",
    }
    assert parse_items(items, "--option") == expected == parse_hyperparameters(items)
    with pytest.raises(
        KeyValueError,
        match=r"^--param 'window': expected KEY=VALUE, e.g. --param "
        r"window_influence=0.2$",
    ):
        parse_hyperparameters(["window"])
    with pytest.raises(
        ConfigError,
        match=r"^--set 'train.epochs': expected SECTION.KEY=VALUE, e.g. --set "
        r"train.batch_size=16$",
    ):
        load_config(resolve_config("bundled/siamfc"), ["train.epochs"])
    config = load_config(
        resolve_config("bundled/siamfc"),
        ["optim.lr_start=1e-3", "train.progress=false", "model.args.a=1e-3", "model.args.b=yes", "model.args.c=[a, b]"],
    )
    assert config.optim.lr_start == 1e-3 and config.train.progress is False
    # model.args is free-form, so the values are the grammar's own: 1e-3 a number (YAML: a string), yes a string
    # (YAML: True), the same as --param and --option read them
    assert (
        {key: config.model.args[key] for key in "abc"}
        == parse_items(["a=1e-3", "b=yes", "c=[a, b]"], "--set")
        == {"a": 1e-3, "b": "yes", "c": ["a", "b"]}
    )


@pytest.mark.parametrize(
    "command, item, message",
    [
        (
            ["track", "--tracker", "opencv-kcf", "--frames", "{tmp}", "--box", "1,2,3,4", "--out", "{tmp}/out"],
            ["--param", "window"],
            "error: --param 'window': expected KEY=VALUE, e.g. --param window_influence=0.2",
        ),
        (
            [
                "eval",
                "--tracker",
                "opencv-kcf",
                "--weights",
                "random",
                "--dataset",
                "otb-folder",
                "--root",
                "{tmp}",
                "--results",
                "{tmp}/results",
            ],
            ["--option", "split"],
            "error: --option 'split': expected KEY=VALUE, e.g. --option split=dev-eval",
        ),
        (
            ["train", "--config", "bundled/siamfc", "--run-dir", "{tmp}/run"],
            ["--set", "train.epochs"],
            "error: --set 'train.epochs': expected SECTION.KEY=VALUE, e.g. --set train.batch_size=16",
        ),
    ],
)
def test_key_value_errors_have_one_format_on_the_command_line(tmp_path, command, item, message):
    result = run(SCRIPT, *[part.replace("{tmp}", str(tmp_path)) for part in command], *item)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == message
