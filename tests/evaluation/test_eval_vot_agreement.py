"""The ``vot`` preset reproduces the vot-toolkit's supervised analyses on the same result files.

siamtrack's reset-based runner tracks real VOT ground truth (polygons of ball1 and VOT-TIR horse, boxes of
three VOT videos) with deterministic oracle trackers that drift off and fail; the vot-toolkit then reads
the written trajectories with ``vot.region.io.read_trajectory`` and scores them with
``vot.analysis.supervised`` (``AccuracyRobustness``/``compute_accuracy``/``count_failures``,
``AverageAccuracyRobustness``, ``EAOCurve``/``compute_eao_curve``, ``EAOScore``'s interval).
"""

from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import shared_path
from siamtrack.evaluation import evaluate_supervised, get_protocol, raster_overlaps
from siamtrack.evaluation.results import supervised_repetitions
from siamtrack.evaluation.runner import run_supervised
from test_eval_support import OracleTracker, real_oracle_sequences

supervised = pytest.importorskip("vot.analysis.supervised")
from vot.region import Special, calculate_overlap  # noqa: E402
from vot.region.io import read_trajectory  # noqa: E402
from vot.region.shapes import Polygon, Rectangle  # noqa: E402

TRACKERS = {
    # (drift per frame since initialisation, noise std in pixels, seed)
    "drift": ((1.3, 0.4, 0.0, 0.0), 0.0, 0),
    "drift_noisy": ((-0.6, 0.9, 0.1, -0.1), 3.0, 1),
    "noisy": ((0.0, 0.0, 0.0, 0.0), 6.0, 2),
}


@pytest.fixture(scope="module")
def vot_results(tmp_path_factory):
    sequences = real_oracle_sequences("vot")
    root = tmp_path_factory.mktemp("vot_results")
    for name, (drift, noise, seed) in TRACKERS.items():
        for sequence in sequences:
            factory = functools.partial(OracleTracker, sequence.ground_truth, drift=drift, noise=noise, seed=seed)
            run_supervised(factory, [sequence], root, name, protocol="vot", progress=False)
    return sequences, root


def _toolkit_sequence(sequence):
    """What the vot-toolkit analyses use of a sequence: ``groundtruth()`` regions and ``size``."""
    if sequence.name in ("ball1", "horse"):
        folder = "VOT" if sequence.name == "ball1" else "VOT-TIR"
        regions = read_trajectory(str(shared_path("data", "benchmarks", folder, sequence.name, "groundtruth.txt")))
        assert all(isinstance(r, Polygon) for r in regions)
    else:
        regions = [Rectangle(*row) for row in sequence.ground_truth]
    return _Sized(
        name=sequence.name, groundtruth=lambda: regions, size=sequence.metadata["image_size"], length=len(regions)
    )


class _Trajectory:
    def __init__(self, regions):
        self._regions = regions

    def regions(self):
        return self._regions


class _Experiment:
    """``gather(tracker, sequence)``: the trajectories the toolkit reads from siamtrack's files."""

    def __init__(self, root):
        self.root = root

    def gather(self, tracker, sequence):
        return [
            _Trajectory(read_trajectory(str(path)))
            for path in supervised_repetitions(self.root, tracker, "baseline", sequence.name)
        ]


class _Sized(SimpleNamespace):
    def __len__(self):
        return self.length


def test_raster_overlap_equals_vot_toolkit_on_real_polygons():
    """Rectangles around ball1's polygons (shifted, scaled, partly outside the image) vs the toolkit."""
    regions = read_trajectory(str(shared_path("data", "benchmarks", "VOT", "ball1", "groundtruth.txt")))
    polygons = np.array([[c for point in r._points for c in point] for r in regions], dtype=np.float64)
    rng = np.random.default_rng(0)
    xs, ys = polygons[:, 0::2], polygons[:, 1::2]
    boxes = np.stack([xs.min(1), ys.min(1), xs.max(1) - xs.min(1), ys.max(1) - ys.min(1)], 1)
    boxes = boxes + rng.normal(0, 15, boxes.shape) * [1, 1, 0.5, 0.5]
    boxes[::7, 0] += 700  # some boxes partly or fully out of the 1280-wide image
    size = (1280, 720)
    ours = raster_overlaps(boxes, polygons, size)
    theirs = [calculate_overlap(Rectangle(*b), r, size) for b, r in zip(boxes, regions)]
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    assert 0 < np.mean(ours) < 1 and (ours == 0).any()


def test_vot_preset_equals_vot_toolkit(vot_results):
    sequences, root = vot_results
    protocol = get_protocol("vot")
    experiment = _Experiment(root)
    accuracy_analysis = supervised.AccuracyRobustness()
    eao_analysis = supervised.EAOCurve()
    total_failures = covered = 0
    for tracker in TRACKERS:
        ours = evaluate_supervised(root, tracker, sequences, protocol)
        toolkit_sequences, per_sequence = [], []
        for sequence in sequences:
            reference = _toolkit_sequence(sequence)
            toolkit_sequences.append(reference)
            trajectory = experiment.gather(tracker, reference)[0].regions()
            accuracy, _ = supervised.compute_accuracy(trajectory, reference, burnin=10)
            failures, _ = supervised.count_failures(trajectory)
            mine = ours["per_sequence"][sequence.name]
            assert mine["accuracy"] == pytest.approx(accuracy, abs=1e-6), (tracker, sequence.name)
            assert mine["failures"] == failures, (tracker, sequence.name)
            # the full per-sequence analysis (mean over repetitions) agrees too
            result = accuracy_analysis.subcompute(experiment, tracker, reference, [])
            assert mine["accuracy"] == pytest.approx(result[0], abs=1e-6)
            per_sequence.append(result)
            total_failures += failures
            assert all(not isinstance(r, Special) or r.code in (0, 1, 2) for r in trajectory)
        average = supervised.AverageAccuracyRobustness().aggregate(None, toolkit_sequences, per_sequence)
        assert ours["overall"]["accuracy"] == pytest.approx(average[0], abs=1e-6)
        assert ours["overall"]["failures"] == pytest.approx(average[1], abs=1e-6)
        assert ours["overall"]["robustness"] == pytest.approx(average[2][0], abs=1e-6)
        curve = np.asarray(eao_analysis.subcompute(experiment, tracker, toolkit_sequences, [])[0])
        assert len(ours["overall"]["eao_curve"]) == len(curve)
        np.testing.assert_allclose(ours["overall"]["eao_curve"], curve, atol=1e-6)
        low, high = protocol.eao_interval
        if len(curve) > high:  # EAOScore: mean(curve[low:high + 1])
            covered += 1
            assert ours["overall"]["eao"] == pytest.approx(float(np.mean(curve[low : high + 1])), abs=1e-6)
        else:  # no segment reaches the interval: the toolkit's slice is (partly) empty
            window = curve[low : high + 1]
            expected = float(np.mean(window)) if len(window) else float("nan")
            assert ours["overall"]["eao"] == pytest.approx(expected, abs=1e-6, nan_ok=True)
    assert covered >= 1  # car1 (742 frames) tracked without failure covers the whole interval
    assert total_failures > 20  # the oracles do fail, so resets, burn-in and segments are exercised


def test_pysot_interval_is_one_based(vot_results):
    sequences, root = vot_results
    vot = evaluate_supervised(root, "noisy", sequences, "vot2016")["overall"]
    pysot = evaluate_supervised(root, "noisy", sequences, get_protocol("pysot"))["overall"]
    curve = np.asarray(vot["eao_curve"])
    assert vot["eao"] == pytest.approx(np.mean(curve[108:372]), abs=1e-12)
    assert pysot["eao"] == pytest.approx(np.mean(curve[99:356]), abs=1e-12)  # pysot keeps VOT2018's [100, 356]


# ------------------------------------------------- the reset protocol itself, against the vot-toolkit's runner


def _vot_sequence_with_forced_failures(folder):
    """ball1's first 40 frames (linked in place) with its ground truth moved 400 px right on frames 10-19: any tracker
    fails on frame 10 (and again when the moved target is lost), so the re-initialisations are exercised."""
    ball1 = shared_path("data", "benchmarks", "VOT", "ball1")
    (folder / "color").mkdir(parents=True)
    rows = []
    for index, line in enumerate((ball1 / "groundtruth.txt").read_text().splitlines()[:40]):
        values = np.array([float(v) for v in line.split(",")])
        if 10 <= index < 20:
            values[0::2] += 400
        rows.append(",".join(f"{v:g}" for v in values))
        name = f"{index + 1:08d}.jpg"
        (folder / "color" / name).symlink_to(ball1 / "color" / name)
    (folder / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    (folder / "sequence").write_text("channels.color=color/%08d.jpg\nformat=default\nfps=30\nname=forced\n")
    return folder


def test_reset_protocol_equals_the_vot_toolkit_runner(tmp_path):
    """The toolkit's own ``SupervisedExperiment.execute`` (failure test, ``skip_initialize`` taken from its VOT2016
    stack file, trajectory codes) drives siamtrack's TraX server (bundled DCFNet) on a real sequence; siamtrack's
    ``supervised_run`` with the same tracker in process must give the same trajectory frame by frame. (The agreement
    test above only re-scores siamtrack's own trajectories, so it cannot see a wrong reset rule.)

    vot-toolkit 0.9.0's ``SupervisedExperiment.execute`` hands ``runtime.initialize`` one ``ObjectStatus`` and reads
    ``.region`` from ``runtime.update``'s result, while its TraX runtime takes and returns lists of objects (it raises
    "Tracker does not support multiple objects"); ``_SingleObjectRuntime`` below only wraps one object in a list and
    unwraps the reply. The loop, the failure test and the frame skipping are the toolkit's."""
    import sys

    import vot
    import yaml
    from vot.dataset import load_sequence
    from vot.experiment.multirun import SupervisedExperiment
    from vot.tracker import OnlineTrackerRuntime, Registry
    from vot.tracker.results import Trajectory
    from vot.workspace.storage import LocalStorage

    from siamtrack.data.vot import read_vot_sequence
    from siamtrack.evaluation.runner import supervised_run
    from siamtrack.evaluation.supervised import FrameState
    from siamtrack.trackers import build_tracker

    class _SingleObjectRuntime(OnlineTrackerRuntime):
        def __init__(self, runtime):
            super().__init__(runtime.tracker)
            self._runtime = runtime

        def stop(self):
            self._runtime.stop()

        def restart(self):
            self._runtime.restart()

        def initialize(self, frame, new=None):
            objects, elapsed = self._runtime.initialize(frame, [new])
            return objects[0], elapsed

        def update(self, frame, new=None):
            objects, elapsed = self._runtime.update(frame, [])
            return objects[0], elapsed

    class _Experiment(SupervisedExperiment):
        def _get_runtime(self, tracker, sequence, multiobject=False):
            return _SingleObjectRuntime(super()._get_runtime(tracker, sequence, multiobject))

    folder = _vot_sequence_with_forced_failures(tmp_path / "forced")
    stack = yaml.safe_load((Path(vot.__file__).parent / "stack" / "vot2016" / "rgb.yaml").read_text())
    skip_initialize = stack["experiments"]["baseline"]["skip_initialize"]
    assert skip_initialize == get_protocol("vot").skip_initialize == 5
    (tmp_path / "trackers.ini").write_text(
        "[siamtrack_dcfnet]\nlabel = siamtrack dcfnet\nprotocol = trax\ntimeout = 60\n"
        f"command = {sys.executable} -m siamtrack.integrations.trax_server --tracker dcfnet --param device='cpu'\n"
    )
    tracker = Registry([str(tmp_path)])["siamtrack_dcfnet"]
    experiment = _Experiment(
        "baseline", LocalStorage(str(tmp_path / "results")), skip_initialize=skip_initialize, repetitions=1
    )
    toolkit_sequence = load_sequence(str(folder))
    experiment.execute(tracker, toolkit_sequence, force=True)
    theirs = Trajectory.read(experiment.results(tracker, toolkit_sequence), "forced_001").regions()

    ours = supervised_run(lambda: build_tracker("dcfnet", device="cpu"), read_vot_sequence(folder), "vot")
    assert len(theirs) == len(ours.states) == 40
    codes = [int(r.code) if isinstance(r, Special) else int(FrameState.TRACKED) for r in theirs]
    assert codes == [int(s) for s in ours.states]
    assert codes.count(FrameState.FAILED) >= 2 and codes[10] == FrameState.FAILED
    assert codes[15] == FrameState.INITIALIZED  # 5 frames after the failure, as the VOT stacks say
    tracked = [k for k, code in enumerate(codes) if code == FrameState.TRACKED]
    assert len(tracked) > 20
    rectangles = np.array([[theirs[k].x, theirs[k].y, theirs[k].width, theirs[k].height] for k in tracked])
    np.testing.assert_allclose(rectangles, ours.boxes[tracked], rtol=0, atol=1e-3)  # TraX sends float32
