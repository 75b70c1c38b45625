"""SiamFC on the pretrained EfficientNet-Lite0 embedding: what is trained, what is saved, how it is rebuilt."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from siamtrack.models import Weights, build_model, model_from_weights, pretrained_keys, trained_state_dict
from siamtrack.models.efficientnet_lite import pretrained_weights_path
from siamtrack.models.pretrained import center_cells
from siamtrack.trackers.siamfc import SiamFCLiteTracker


@pytest.fixture(scope="module")
def lite_model():
    torch.manual_seed(0)
    return build_model("siamfc", backbone="efficientnet-lite0")


def test_only_the_adjust_layer_and_score_are_trained_and_saved(lite_model):
    trained = {name for name, p in lite_model.named_parameters() if p.requires_grad}
    assert trained == {"gain", "bias", "backbone.adjust.0.weight", "backbone.adjust.1.weight", "backbone.adjust.1.bias"}
    saved = trained_state_dict(lite_model)
    assert not any(key.startswith("backbone.trunk.") for key in saved)
    assert set(saved) | set(pretrained_keys(lite_model)) == set(lite_model.state_dict())
    assert sum(v.numel() for v in saved.values()) < 20_000  # the package provides the other 2.9M weights


def test_finetuned_stage_is_trained_and_saved():
    model = build_model("siamfc", backbone="efficientnet-lite0", finetune_stages=1)
    trained = {name for name, p in model.named_parameters() if p.requires_grad}
    assert {"backbone.trunk._blocks.8._project_conv.weight", "backbone.trunk._blocks.10._bn2.weight"} <= trained
    assert "backbone.trunk._blocks.7._project_conv.weight" not in trained  # stage 4's last block stays frozen
    saved = trained_state_dict(model)
    assert "backbone.trunk._blocks.8._bn1.running_mean" in saved and "backbone.trunk._conv_stem.weight" not in saved


def test_trunk_batchnorm_stays_in_eval_mode(lite_model):
    fresh = build_model("siamfc", backbone="efficientnet-lite0", pretrained=False)
    assert not any(m.training for m in fresh.backbone.trunk.modules())  # from construction on
    lite_model.train()
    assert lite_model.backbone.adjust.training and not lite_model.backbone.trunk.training
    assert not any(m.training for m in lite_model.backbone.trunk.modules())
    lite_model.eval()


def test_trained_file_rebuilds_the_same_network(lite_model, tmp_path):
    with torch.no_grad():
        lite_model.backbone.adjust[1].running_mean.uniform_(-1, 1)
        lite_model.gain.fill_(3.0)
    path = tmp_path / "model.pth"
    torch.save(
        {
            "state_dict": trained_state_dict(lite_model),
            "model_name": "siamfc",
            "model_config": {"backbone": "efficientnet-lite0"},
        },
        path,
    )
    from siamtrack.models import read_weights

    rebuilt = model_from_weights("siamfc", read_weights(path), "siamfc-lite").eval()
    lite_model.eval()
    images = torch.rand(2, 3, 257, 257) * 255
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(images[:1], images), lite_model(images[:1], images))
    # the trunk in the rebuilt model is the package's file, bit for bit
    package = torch.load(pretrained_weights_path("lite0"), map_location="cpu", weights_only=True)
    assert torch.equal(
        rebuilt.backbone.trunk._blocks[10]._project_conv.weight, package["_blocks.10._project_conv.weight"]
    )


def test_a_file_missing_a_trained_key_is_refused(lite_model):
    state = trained_state_dict(lite_model)
    del state["backbone.adjust.0.weight"]
    with pytest.raises(ValueError, match="missing .*adjust.0.weight"):
        model_from_weights("siamfc", Weights(state, "siamfc", {"backbone": "efficientnet-lite0"}, "x.pth"), "t")


def test_template_is_the_centre_of_the_exemplar_map_and_scores_peak_on_the_target(lite_model):
    """A 257-px crop matched against itself: 27x27 scores, maximal at the centre (zero displacement)."""
    lite_model.eval()
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.uniform(0, 255, (1, 3, 257, 257)).astype(np.float32))
    with torch.no_grad():
        features = lite_model.embed(image)
        template = lite_model.template(image)
        scores = lite_model.match(template, features)
    assert features.shape == (1, 128, 33, 33) and template.shape == (1, 128, 7, 7)
    torch.testing.assert_close(template, features[..., 13:20, 13:20])
    assert scores.shape == (1, 1, 27, 27)
    assert np.unravel_index(int(scores.argmax()), (27, 27)) == (13, 13)
    with pytest.raises(ValueError, match="centred"):
        center_cells(features, 8)


def test_tracker_uses_the_networks_crop_sizes(lite_model):
    tracker = SiamFCLiteTracker(lite_model)
    assert (tracker.params.exemplar_size, tracker.params.instance_size) == (257, 257)
    assert SiamFCLiteTracker(lite_model, instance_size=225).params.instance_size == 225  # an override wins
