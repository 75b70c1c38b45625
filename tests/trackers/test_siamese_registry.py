"""Model and tracker registries: building by name, weights files (bare and with model config), and the errors
for unknown names, missing weights, foreign weights and unknown hyper-parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import siamtrack.trackers as trackers
from siamtrack.models import MODELS, Weights, build_model, read_weights
from siamtrack.models.siamese import CFNetNet, SiamFCNet
from siamtrack.trackers import (
    available_trackers,
    build_tracker,
    parse_hyperparameters,
    tracker_class,
)
from siamtrack.trackers.cfnet import CFNetTracker
from siamtrack.trackers.siamfc import SiamFCTracker


def test_build_model_by_name_and_config():
    assert isinstance(build_model("siamfc", width=0.5), SiamFCNet)
    net = build_model("cfnet-conv5", width=0.25, lam=3.0)
    assert isinstance(net, CFNetNet) and net.variant == "conv5" and net.filter.lam == 3.0
    assert {"siamfc", "cfnet-conv1", "cfnet-conv2", "cfnet-conv5", "dcfnet"} <= set(MODELS)
    with pytest.raises(KeyError, match="unknown model 'alexnet'.*siamfc"):
        build_model("alexnet")
    with pytest.raises(TypeError, match="variant"):
        build_model("cfnet-conv2", variant="conv1")


def test_tracker_registry_names_and_errors():
    assert {"siamfc", "cfnet-conv1", "cfnet-conv2", "cfnet-conv5", "dcfnet"} <= set(available_trackers())
    assert tracker_class("siamfc") is SiamFCTracker and tracker_class("cfnet-conv2") is CFNetTracker
    with pytest.raises(KeyError, match="unknown tracker 'siamfcc'; known trackers: .*siamfc"):
        build_tracker("siamfcc", weights="random")


def test_registry_reports_unimportable_entries(monkeypatch):
    monkeypatch.setitem(trackers.TRACKERS, "ghost", "siamtrack.trackers.no_such_module:Ghost")
    with pytest.raises(ImportError, match="'ghost' is registered as siamtrack.trackers.no_such_module:Ghost"):
        tracker_class("ghost")


def test_missing_bundled_weights_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(trackers, "BUNDLED_WEIGHTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="no weights for tracker 'siamfc'.*weights='random'"):
        build_tracker("siamfc")


def test_bundled_default_is_used_when_present(monkeypatch, tmp_path):
    monkeypatch.setattr(trackers, "BUNDLED_WEIGHTS", tmp_path)
    torch.manual_seed(0)
    net = build_model("siamfc", width=0.25)
    torch.save(
        {"state_dict": net.state_dict(), "model_name": "siamfc", "model_config": {"width": 0.25}},
        tmp_path / "siamfc.pth",
    )
    tracker = build_tracker("siamfc", device="cpu")
    torch.testing.assert_close(tracker.model.backbone.features[-1].weight, net.backbone.features[-1].weight)


def test_checkpoint_round_trip_rebuilds_the_width(tmp_path):
    torch.manual_seed(1)
    net = build_model("cfnet-conv2", width=0.5)
    path = tmp_path / "cfnet.pth"
    torch.save({"model": net.state_dict(), "model_name": "cfnet-conv2", "model_config": {"width": 0.5}}, path)
    tracker = build_tracker("cfnet-conv2", weights=path, device="cpu", window_influence=0.3)
    assert tracker.params.window_influence == 0.3
    assert tracker.model.backbone.features[0].out_channels == 48
    image = np.random.default_rng(0).integers(0, 256, (200, 240, 3), dtype=np.uint8)
    tracker.init(image, [100, 80, 30, 40])
    assert np.all(np.isfinite(tracker.update(image)))
    # a bare state dict of a full-width model loads too
    bare = tmp_path / "bare.pth"
    torch.save(build_model("siamfc").state_dict(), bare)
    assert read_weights(bare).model_name is None
    assert isinstance(build_tracker("siamfc", weights=bare, device="cpu"), SiamFCTracker)


def test_weights_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pth: weights file does not exist"):
        build_tracker("siamfc", weights=tmp_path / "nothing.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="junk.pth: not a readable weights file"):
        build_tracker("siamfc", weights=junk)
    foreign = tmp_path / "foreign.pth"
    torch.save(
        {"state_dict": build_model("cfnet-conv1", width=0.25).state_dict(), "model_name": "cfnet-conv1"}, foreign
    )
    with pytest.raises(ValueError, match="foreign.pth: weights are for model 'cfnet-conv1'.*'siamfc'"):
        build_tracker("siamfc", weights=foreign)
    wrong_width = tmp_path / "wrong_width.pth"
    torch.save(build_model("siamfc", width=0.25).state_dict(), wrong_width)
    with pytest.raises(ValueError, match="wrong_width.pth: state dict does not fit.*size mismatch"):
        build_tracker("siamfc", weights=wrong_width)
    with pytest.raises(ValueError, match="missing"):
        build_tracker("siamfc", weights=Weights({"backbone.features.0.weight": torch.zeros(96, 3, 11, 11)}))
    with pytest.raises(ValueError, match="not a state dict"):
        read_weights({"state": "nonsense"})


def test_unknown_hyper_parameter_is_rejected():
    with pytest.raises(TypeError, match="unknown hyper-parameter.*'scale_steps'"):
        build_tracker("siamfc", weights="random", device="cpu", scale_steps=1.1)
    with pytest.raises(ValueError, match="window_influence out of range"):
        build_tracker("siamfc", weights="random", device="cpu", window_influence=2.0)


def test_parse_hyperparameters():
    assert parse_hyperparameters(["window_influence=0.2", "num_scales=5", "device=cpu"]) == {
        "window_influence": 0.2,
        "num_scales": 5,
        "device": "cpu",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_hyperparameters(["window_influence"])
