"""The bundled default models (``siamtrack/weights/bundled/*.pth``): each one is what its documented config trains,
loads with ``weights_only`` through the tracker registry, and tracks the bundled demo clip.

Every bundled file must have a config ``bundled/weights/<name>`` (``siamtrack/configs/weights/<name>.yaml``) whose
model (registry name and arguments) is the file's: that is the provenance the RESULTS.md tables rely on.
"""

import numpy as np
import pytest
import torch

from siamtrack.training.config import bundled_config_root, load_config
from siamtrack.data.sequence import VideoFile
from siamtrack.demo import DEMO_GROUND_TRUTH, DEMO_VIDEO
from siamtrack.evaluation import frame_scores, scores_from_frames
from siamtrack.models import read_weights
from siamtrack.trackers import BUNDLED_WEIGHTS, build_tracker

CONFIGS = bundled_config_root() / "weights"
BUNDLED = sorted(path.stem for path in BUNDLED_WEIGHTS.glob("*.pth"))


def test_the_expected_models_are_bundled():
    expected = {
        "siamfc",
        "cfnet-conv2",
        "dcfnet",
        "adacfnet",
        "rasnet",
        "edcf",
        "siamfc_sl",
        "siamrpn_sl",
        "siamfc-lite",
        "rasnet-lite",
        "cfnet-lite",
        "adacfnet-lite",
    }
    assert expected <= set(BUNDLED), f"missing bundled weights: {sorted(expected - set(BUNDLED))}"


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_file_is_what_its_config_trains(name):
    config_path = CONFIGS / f"{name}.yaml"
    assert config_path.is_file(), f"{name}.pth is bundled without a config bundled/weights/{name}"
    config = load_config(f"bundled/weights/{name}")
    weights = read_weights(BUNDLED_WEIGHTS / f"{name}.pth")  # torch.load(..., weights_only=True)
    assert weights.model_name == config.model.name  # siamtrack train writes both fields into model.pth
    assert weights.model_config == dict(config.model.args)
    assert all(
        torch.isfinite(value).all()
        for value in weights.state_dict.values()
        if torch.is_tensor(value) and value.is_floating_point()
    )
    assert (BUNDLED_WEIGHTS / f"{name}.pth").stat().st_size < 8_000_000  # "a few MB at most"


@pytest.mark.parametrize("tracker_name", BUNDLED)  # (DSLT and TADT, built on the bundled SiamFC: their own tests)
def test_bundled_default_tracks_the_demo_clip(tracker_name):
    tracker = build_tracker(tracker_name, device="cpu")  # no weights given: the bundled default
    frames = VideoFile(str(DEMO_VIDEO))
    ground_truth = np.loadtxt(DEMO_GROUND_TRUTH, delimiter=",", ndmin=2)
    count = 60
    boxes, _ = tracker.track([frames[k] for k in range(count)], ground_truth[0])
    scores = scores_from_frames(frame_scores(boxes, ground_truth[:count], "got10k"), "got10k")
    # the clip is easy (a distinctive target, exact ground truth): every bundled model keeps its centre on the
    # target; how well the box's size follows varies with the model (SiamRPN_sl's small-data regression: AUC ~0.5)
    assert scores.precision > 0.9, f"{tracker_name}: precision@20px {scores.precision:.3f} on the demo clip"
    assert scores.auc > 0.4, f"{tracker_name}: AUC {scores.auc:.3f} on the demo clip's first {count} frames"
