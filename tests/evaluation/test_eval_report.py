"""Reports from result files (JSON, Markdown, PNG) and the ``eval`` / ``report`` commands."""

from __future__ import annotations

import functools
import json
import re

import numpy as np
import pytest

import siamtrack.trackers
from conftest import shared_path
from siamtrack.cli import main
from siamtrack.evaluation import build_report, evaluate_one_pass, evaluate_supervised, markdown, write_report
from siamtrack.evaluation.results import ope_paths, write_one_pass
from siamtrack.evaluation.runner import run_one_pass, run_supervised
from siamtrack.trackers.identity import IdentityTracker
from test_eval_support import OracleTracker, oracle_sequence

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sequences():
    out = []
    for index, attributes in enumerate((("IV", "OCC"), ("OCC",), ("SV",))):
        rng = np.random.default_rng(index)
        centre = 150 + np.cumsum(rng.normal(0, 3, (80, 2)), axis=0)
        truth = np.hstack([centre - 20, np.full((80, 2), 40.0)])
        tags = {"occlusion": np.arange(80) % 4 == 0}
        out.append(oracle_sequence(f"s{index}", truth, 320, 320, attributes=attributes, tags=tags))
    return out


@pytest.fixture(scope="module")
def two_trackers(tmp_path_factory):
    sequences = _sequences()
    root = tmp_path_factory.mktemp("report_results")
    for name, kwargs in (("good", {"noise": 2.0}), ("poor", {"drift": (1.5, 0, 0, 0), "noise": 4.0})):
        for sequence in sequences:
            factory = functools.partial(OracleTracker, sequence.ground_truth, **kwargs)
            run_one_pass(factory, [sequence], root, name, progress=False)
            run_supervised(factory, [sequence], root, name, "vot", progress=False)
    return sequences, root


def test_report_json_markdown_and_plots(two_trackers, tmp_path):
    sequences, root = two_trackers
    report = build_report(root, ["good", "poor"], sequences, "vot", ("ope", "baseline"), dataset="synthetic")
    files = write_report(report, tmp_path)
    names = {f.name for f in files}
    assert {
        "report.json",
        "report.md",
        "ope_success.png",
        "ope_precision.png",
        "ope_norm_precision.png",
        "ope_attributes.png",
        "baseline_eao.png",
        "baseline_tags.png",
    } == names
    for path in files:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["protocol"]["name"] == "vot" and saved["sequences"] == ["s0", "s1", "s2"]
    direct = evaluate_one_pass(root, "good", sequences, "vot")
    assert saved["results"]["ope"]["good"]["overall"]["auc"] == pytest.approx(direct["overall"]["auc"], abs=1e-12)
    assert set(saved["results"]["ope"]["good"]["per_sequence"]) == {"s0", "s1", "s2"}
    # per attribute: OCC is the mean over s0 and s1
    occ = saved["results"]["ope"]["poor"]["per_attribute"]["OCC"]
    per_sequence = saved["results"]["ope"]["poor"]["per_sequence"]
    assert occ["auc"] == pytest.approx((per_sequence["s0"]["auc"] + per_sequence["s1"]["auc"]) / 2, abs=1e-12)
    assert occ["num_sequences"] == 2
    supervised = evaluate_supervised(root, "poor", sequences, "vot")
    assert saved["results"]["baseline"]["poor"]["overall"]["total_failures"] == supervised["overall"]["total_failures"]
    assert supervised["overall"]["total_failures"] > 0
    assert saved["results"]["baseline"]["poor"]["per_tag"]["occlusion"]["num_frames"] > 0
    good, poor = (saved["results"]["ope"][t]["overall"]["auc"] for t in ("good", "poor"))
    assert good > poor
    text = (tmp_path / "report.md").read_text()
    assert text == markdown(report) + "\n"
    assert f"| good | {good:.3f} |" in text and "### ope: auc per attribute" in text
    assert "| tracker | IV | OCC | SV |" in text


def test_report_titles_per_sequence_table_colours_and_counts(two_trackers, tmp_path, monkeypatch):
    """The practitioner's report: dataset and sequence count in every title, the per-sequence table in report.md,
    one colour per tracker across plots whose rankings differ, and the counts on the attribute / tag groups."""
    from matplotlib.colors import to_rgb

    from siamtrack.evaluation import plots

    sequences, root = two_trackers
    figures = {}

    def keep(plt, fig, path):  # read each figure back before it is closed
        ax = fig.axes[0]
        figures[path.name] = {
            "title": ax.get_title(),
            "lines": {line.get_label().split(" [")[0]: line.get_color() for line in ax.get_lines()},
            "bars": {
                container.get_label(): tuple(container.patches[0].get_facecolor()[:3]) for container in ax.containers
            },
            "ticks": [tick.get_text() for tick in ax.get_xticklabels()],
        }
        plt.close(fig)
        return path

    monkeypatch.setattr(plots, "_save_and_close", keep)
    report = build_report(root, ["poor", "good"], sequences, "vot", ("ope", "baseline"), dataset="synthetic")
    write_report(report, tmp_path)
    assert figures["ope_success.png"]["title"] == "Success plots of OPE - synthetic, 3 sequences"
    assert all(f["title"].endswith("synthetic, 3 sequences") for f in figures.values())
    # "good" ranks first in the success plot: the colours follow the names, not the ranks
    assert list(figures["ope_success.png"]["lines"])[:2] == ["good", "poor"]
    colours = [
        figures["ope_success.png"]["lines"],
        figures["ope_precision.png"]["lines"],
        figures["baseline_eao.png"]["lines"],
    ]
    for name in ("good", "poor"):
        assert len({tuple(np.round(to_rgb(c[name]), 6)) for c in colours}) == 1
        bar = figures["ope_attributes.png"]["bars"][name]
        assert np.allclose(bar, to_rgb(colours[0][name]))
    assert figures["ope_attributes.png"]["ticks"] == ["IV (1)", "OCC (2)", "SV (1)"]  # s0: IV, OCC; s1: OCC; s2: SV
    tagged = sum(int(s.tags["occlusion"].sum()) for s in sequences)
    assert figures["baseline_tags.png"]["ticks"][0].startswith("occlusion (") and tagged > 0
    # per-sequence table: the sequences' own AUCs, in the report's tracker order
    text = markdown(report)
    assert "### ope: auc per sequence" in text and "| sequence | poor | good |" in text
    for sequence in sequences:
        poor = report["results"]["ope"]["poor"]["per_sequence"][sequence.name]["auc"]
        good = report["results"]["ope"]["good"]["per_sequence"][sequence.name]["auc"]
        assert f"| {sequence.name} | {poor:.3f} | {good:.3f} |" in text
    assert "### baseline: accuracy / failures per sequence" in text


def test_per_tag_one_pass_scores_use_only_tagged_frames(two_trackers):
    sequences, root = two_trackers
    result = evaluate_one_pass(root, "good", sequences, "otb")
    assert result["per_tag"]["occlusion"]["num_frames"] == sum(int(s.tags["occlusion"].sum()) for s in sequences)


def test_report_command_on_the_shared_split(tmp_path, shared):
    from siamtrack.data import shared_split

    names = ["DragonBaby", "ball1", "car16_1"]
    sequences = [s for s in shared_split(shared, "dev-eval") if s.name in names]
    assert len(sequences) == 3
    for tracker, offset in (("gt", 0.0), ("shifted", 6.0)):
        for sequence in sequences:
            boxes = sequence.ground_truth + [offset, offset, 0, 0]
            write_one_pass(*ope_paths(tmp_path / "results", tracker, sequence.name), boxes, np.full(len(boxes), 0.01))
    code = main(
        [
            "report",
            "--trackers",
            "gt,shifted",
            "--dataset",
            "shared",
            "--root",
            str(shared),
            "--option",
            "split=dev-eval",
            "--sequences",
            ",".join(names),
            "--results",
            str(tmp_path / "results"),
            "--protocol",
            "otb",
            "--out",
            str(tmp_path / "report"),
        ]
    )
    assert code == 0
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    gt = saved["results"]["ope"]["gt"]["overall"]
    assert gt["auc"] == pytest.approx(20 / 21, abs=1e-9) and gt["fps"] == pytest.approx(100.0)
    assert saved["results"]["ope"]["shifted"]["overall"]["auc"] < gt["auc"]
    bad = main(
        [
            "report",
            "--trackers",
            "gt",
            "--dataset",
            "shared",
            "--root",
            str(shared),
            "--option",
            "split=dev-eval",
            "--sequences",
            "nope",
            "--results",
            str(tmp_path / "results"),
            "--out",
            str(tmp_path),
        ]
    )
    assert bad == 1


class _HoldStill(IdentityTracker):
    """The reference tracker (reports its initial box forever) as a registered tracker for the ``eval`` command,
    checking the frames it is given."""

    def init(self, image, box):
        assert image.shape == (720, 1280, 3)
        super().init(image, box)


def _held_box_scores_on_ball1() -> dict:
    """What the ``vot`` protocol gives a tracker that reports its initial box on ball1, computed here from the
    ground-truth polygons with the vot-toolkit's own overlap (``calculate_overlap``, bounded by the 1280x720 image)
    and supervised analysis functions, not with siamtrack's metrics: OPE success AUC (mean over the 21 thresholds
    0, 0.05 .. 1 of the fraction of frames with overlap ``> t``), AO, precision at 20 px (centres of the polygons'
    min/max boxes), and the reset run (re-initialised on the ground truth 5 frames after a frame with no overlap)
    scored by ``count_failures`` and ``compute_accuracy`` (burn-in 10). ball1 (105 frames) is shorter than the EAO
    interval [100, 356]'s segments need, so the EAO is NaN."""
    from vot.analysis.supervised import compute_accuracy, count_failures
    from vot.region import Special, calculate_overlap
    from vot.region.io import read_trajectory
    from vot.region.shapes import Rectangle

    polygons = read_trajectory(str(shared_path("data", "benchmarks", "VOT", "ball1", "groundtruth.txt")))
    size = (1280, 720)
    points = [np.array([polygon[i] for i in range(polygon.size)]) for polygon in polygons]
    boxes = np.array([[p[:, 0].min(), p[:, 1].min(), np.ptp(p[:, 0]), np.ptp(p[:, 1])] for p in points])
    held = Rectangle(*boxes[0])
    overlaps = np.array([calculate_overlap(held, polygon, size) for polygon in polygons])
    errors = np.hypot(*((boxes[:, :2] + boxes[:, 2:] / 2) - (boxes[0, :2] + boxes[0, 2:] / 2)).T)
    trajectory, frame = [Special(0)] * len(polygons), 0
    while frame < len(polygons):
        held, trajectory[frame] = Rectangle(*boxes[frame]), Special(1)
        frame += 1
        while frame < len(polygons):
            if calculate_overlap(held, polygons[frame], size) <= 0:
                trajectory[frame] = Special(2)
                frame += 5
                break
            trajectory[frame] = held
            frame += 1

    class Ball1:
        def groundtruth(self):
            return polygons

        def __len__(self):
            return len(polygons)

    Ball1.size = size
    return {
        "auc": float(np.mean([(overlaps > t).mean() for t in np.linspace(0, 1, 21)])),
        "ao": float(overlaps.mean()),
        "precision": float((errors <= 20).mean()),
        "eao": float("nan"),
        "accuracy": float(compute_accuracy(trajectory, Ball1(), burnin=10)[0]),
        "total_failures": float(count_failures(trajectory)[0]),
    }


def test_eval_command_runs_and_scores(tmp_path, monkeypatch, capsys):
    shared_path("data", "benchmarks", "VOT", "ball1")
    calls = []

    def fake_build_tracker(name, weights=None, **hyperparameters):
        calls.append((name, weights, hyperparameters))
        return _HoldStill()

    monkeypatch.setattr(siamtrack.trackers, "build_tracker", fake_build_tracker)
    arguments = [
        "eval",
        "--tracker",
        "still",
        "--weights",
        "random",
        "--param",
        "scale=3",
        "--dataset",
        "shared",
        "--root",
        str(shared_path()),
        "--option",
        "split=dev-eval",
        "--sequences",
        "ball1",
        "--protocol",
        "vot",
        "--experiment",
        "ope",
        "--experiment",
        "baseline",
        "--results",
        str(tmp_path / "results"),
        "--report",
        str(tmp_path / "report"),
        "--quiet",
    ]
    assert main(arguments) == 0
    assert calls[0] == ("still", "random", {"scale": 3})
    assert (tmp_path / "results" / "still" / "ball1.txt").is_file()
    assert (tmp_path / "results" / "still" / "baseline" / "ball1" / "ball1_001.txt").read_text().count("\n2\n") >= 1
    out = capsys.readouterr().out
    ope = re.search(r"still ope: auc ([\d.]+), precision ([\d.]+), ao ([\d.]+), fps ([\d.]+)", out)
    baseline = re.search(r"still baseline: eao (\S+), accuracy ([\d.]+), total_failures ([\d.]+), fps", out)
    assert ope and baseline, out
    expected = _held_box_scores_on_ball1()
    printed = {
        "auc": ope[1],
        "precision": ope[2],
        "ao": ope[3],
        "eao": baseline[1],
        "accuracy": baseline[2],
        "total_failures": baseline[3],
    }
    for key, value in printed.items():  # printed with 3 decimals
        assert float(value) == pytest.approx(expected[key], abs=5e-4 + 1e-9, nan_ok=True), (key, value, expected)
    assert expected["total_failures"] >= 5 and 0 < expected["auc"] < 0.2  # the held box is lost again and again
    times = np.loadtxt(tmp_path / "results" / "still" / "times" / "ball1_time.txt")
    assert float(ope[4]) == pytest.approx(len(times) / times.sum(), rel=1e-3)  # "total_time": frames / seconds
    assert (tmp_path / "report" / "report.md").is_file()
    before = len(calls)
    assert main(arguments) == 0  # everything is done: nothing is recomputed
    assert len(calls) == before
