"""SiamRPN (DSLT's SiamRPN / _fl / _sl): anchors, box coding, target assignment, the objective of Eq. 16 (closed
form from the network's outputs), the up-channel correlation, the tracking step and the training loop hook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from siamtrack import losses
from siamtrack.training.config import config_from_dict, load_config
from siamtrack.models import build_model
from siamtrack.models.siamrpn import (
    SiamRPNNet,
    anchor_shapes,
    assign_targets,
    center_box_iou,
    decode_boxes,
    encode_boxes,
    generate_anchors,
)
from siamtrack.trackers import build_tracker
from siamtrack.trackers.siamrpn import SiamRPNTracker
from siamtrack.training.curation import CropSettings, curate
from siamtrack.training.loop import check_loss_and_labels, objective_function, train
from siamtrack.training.objectives import rpn_objective
from tracking_support import TRANSLATED_BOX, centre_errors, translated_frames
from training_support import synthetic_sequence

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "siamtrack" / "configs"


def test_anchor_shapes_are_siamrpns():
    np.testing.assert_array_equal(anchor_shapes(), [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]])
    anchors = generate_anchors(17, 255)
    assert anchors.shape == (5, 17, 17, 4)
    torch.testing.assert_close(anchors[2, 8, 8], torch.tensor([127.5, 127.5, 64.0, 64.0]))  # centre = crop centre
    torch.testing.assert_close(anchors[0, 0, 16, :2], torch.tensor([127.5 + 64, 127.5 - 64]))  # (x, y) of row 0, col 16


def test_box_coding_round_trip_and_iou():
    anchors = torch.tensor([[100.0, 100.0, 64.0, 32.0], [50.0, 60.0, 20.0, 40.0]])
    boxes = torch.tensor([[110.0, 95.0, 80.0, 30.0], [50.0, 60.0, 20.0, 40.0]])
    deltas = encode_boxes(boxes, anchors)
    torch.testing.assert_close(deltas[0], torch.tensor([10 / 64, -5 / 32, np.log(80 / 64), np.log(30 / 32)]).float())
    torch.testing.assert_close(decode_boxes(deltas, anchors), boxes)
    iou = center_box_iou(torch.tensor([[100.0, 100.0, 64.0, 32.0]]), anchors)
    assert iou[0, 0].item() == pytest.approx(1.0)
    assert iou[0, 1].item() == 0.0
    half = center_box_iou(torch.tensor([[116.0, 100.0, 64.0, 32.0]]), anchors[:1])  # shifted by w/4: 3/5
    assert half.item() == pytest.approx(48 * 32 / (2 * 64 * 32 - 48 * 32))


def test_assign_targets_thresholds_sampling_and_determinism():
    anchors = generate_anchors(17, 255).reshape(-1, 4)
    gt = torch.tensor([[127.5 - 32, 127.5 - 32, 64.0, 64.0], [100.0, 90.0, 40.0, 90.0]])  # xywh
    labels, offsets = assign_targets(gt, anchors, max_samples=None)
    iou = center_box_iou(torch.cat([gt[:, :2] + gt[:, 2:] / 2, gt[:, 2:]], 1), anchors)
    assert torch.equal(labels > 0, iou > 0.6) and torch.equal(labels < 0, iou < 0.3)
    centre_anchor = 2 * 289 + 8 * 17 + 8
    assert labels[0, centre_anchor] == 1 and torch.allclose(offsets[0, centre_anchor], torch.zeros(4), atol=1e-6)
    sampled, _ = assign_targets(gt, anchors)
    for pair in range(2):
        assert (sampled[pair] > 0).sum() <= 16 and (sampled[pair] != 0).sum() == 64
        assert torch.all(labels[pair][sampled[pair] != 0] == sampled[pair][sampled[pair] != 0])
    again, _ = assign_targets(gt.flip(0), anchors)  # the same pair gives the same sample, wherever it sits
    assert torch.equal(again.flip(0), sampled)
    with pytest.raises(ValueError, match="neg_iou"):
        assign_targets(gt, anchors, pos_iou=0.2, neg_iou=0.3)


@pytest.fixture(scope="module")
def tiny_rpn() -> SiamRPNNet:
    torch.manual_seed(0)
    return build_model("siamrpn", width=0.125)


def test_up_channel_correlation_matches_a_loop_over_pairs(tiny_rpn):
    exemplar, instance = torch.rand(2, 3, 127, 127) * 255, torch.rand(2, 3, 255, 255) * 255
    out = tiny_rpn(exemplar, instance)
    assert out["cls"].shape == (2, 10, 17, 17) and out["reg"].shape == (2, 20, 17, 17)
    assert out["scores"].shape == (2, 1, 17, 17)
    z, x = tiny_rpn.embed(exemplar), tiny_rpn.embed(instance)
    channels = z.shape[1]
    for pair in range(2):
        kernels = tiny_rpn.template_cls(z[pair : pair + 1]).reshape(10, channels, 4, 4)
        expected = F.conv2d(tiny_rpn.search_cls(x[pair : pair + 1]), kernels) / kernels[0].numel()
        torch.testing.assert_close(out["cls"][pair : pair + 1], expected, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(out["scores"][:, 0], (out["cls"][:, 5:] - out["cls"][:, :5]).amax(dim=1))


@pytest.mark.parametrize(
    "classification, args, function",
    [
        ("bce", {}, losses.bce_with_logits_loss),
        ("focal_bce", {"gamma": 2.0}, losses.focal_bce_loss),
        ("shrinkage_bce", {"a": 10.0, "c": 0.6}, losses.shrinkage_bce_loss),
    ],
)
def test_objective_is_eq16_from_the_outputs(tiny_rpn, classification, args, function):
    torch.manual_seed(2)
    batch = {
        "exemplar": torch.rand(2, 3, 127, 127) * 255,
        "instance": torch.rand(2, 3, 255, 255) * 255,
        "instance_box": torch.tensor([[100.0, 100.0, 60.0, 50.0], [90.0, 110.0, 70.0, 40.0]]),
    }
    value = rpn_objective(tiny_rpn, batch, classification=classification, classification_args=args, eta=0.5)
    out = tiny_rpn(batch["exemplar"], batch["instance"])
    labels, targets = assign_targets(batch["instance_box"], tiny_rpn.anchors(17, 255))
    logits = (out["cls"][:, 5:] - out["cls"][:, :5]).reshape(2, -1)
    cls = function(logits, (labels > 0).float(), losses.balanced_weights(labels), reduction="none", **args)
    deltas = out["reg"].reshape(2, 4, -1).transpose(1, 2)
    positive = labels > 0
    reg = torch.stack(
        [
            F.smooth_l1_loss(deltas[p][positive[p]], targets[p][positive[p]], beta=1 / 9, reduction="sum")
            / positive[p].sum()
            for p in range(2)
        ]
    )
    assert value.item() == pytest.approx((cls + 0.5 * reg).mean().item(), rel=1e-5)
    value.backward()
    assert tiny_rpn.template_reg.weight.grad is not None and tiny_rpn.template_cls.weight.grad.abs().sum() > 0
    tiny_rpn.zero_grad()


def test_per_positive_class_weights_weigh_every_labelled_anchor_by_one_over_the_positives(tiny_rpn):
    """RetinaNet's normalisation (``class_weights="per_positive"``): a negative weighs what a positive weighs."""
    torch.manual_seed(3)
    batch = {
        "exemplar": torch.rand(2, 3, 127, 127) * 255,
        "instance": torch.rand(2, 3, 255, 255) * 255,
        "instance_box": torch.tensor([[100.0, 100.0, 60.0, 50.0], [90.0, 110.0, 70.0, 40.0]]),
    }
    with torch.no_grad():
        value = rpn_objective(
            tiny_rpn, batch, classification="bce", eta=0.0, max_samples=None, class_weights="per_positive"
        )
        out = tiny_rpn(batch["exemplar"], batch["instance"])
    labels, _ = assign_targets(batch["instance_box"], tiny_rpn.anchors(17, 255), max_samples=None)
    logits = (out["cls"][:, 5:] - out["cls"][:, :5]).reshape(2, -1)
    per_anchor = F.binary_cross_entropy_with_logits(logits, (labels > 0).float(), reduction="none")
    expected = [per_anchor[p][labels[p] != 0].sum() / (labels[p] > 0).sum() for p in range(2)]
    assert all((labels[p] > 0).sum() > 0 for p in range(2))
    assert value.item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)
    with pytest.raises(ValueError, match="class_weights must be 'balanced' or 'per_positive', got 'retina'"):
        rpn_objective(tiny_rpn, batch, class_weights="retina")


def test_the_objectives_arguments_are_checked_before_training():
    from siamtrack.training.config import ConfigError

    config = config_from_dict(
        {
            "model": {"name": "siamrpn"},
            "loss": {"name": "siamtrack.training.objectives:rpn_objective", "args": {"class_weight": "balanced"}},
        }
    )
    with pytest.raises(ConfigError, match="do not fit the objective .*class_weight"):
        check_loss_and_labels(config)
    good = config_from_dict(
        {
            "model": {"name": "siamrpn"},
            "loss": {"name": "siamtrack.training.objectives:rpn_objective", "args": {"class_weights": "per_positive"}},
        }
    )
    check_loss_and_labels(good)


class FixedOutputs(torch.nn.Module):
    """Stands in for the fused network inside the tracker: returns chosen maps."""

    def __init__(self, net: SiamRPNNet, cls: torch.Tensor, reg: torch.Tensor):
        super().__init__()
        self.net, self.cls, self.reg = net, cls, reg
        self.anchor_count = net.anchor_count

    def template(self, exemplar):
        return None

    def embed(self, images):
        return images

    def match(self, template, features):
        return {"cls": self.cls, "reg": self.reg}

    def target_logits(self, cls):
        return self.net.target_logits(cls)

    def offsets(self, reg):
        return self.net.offsets(reg)


def test_tracking_step_moves_to_the_best_anchor_box(tiny_rpn):
    tracker = SiamRPNTracker(tiny_rpn, device="cpu", window_influence=0.0, penalty_k=0.0, lr=1.0)
    image = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    box = np.array([150.0, 120.0, 64.0, 64.0])
    tracker.init(image, box)
    # context square of 64x64: 128 px -> scale 127/128; make anchor (ratio 1, row 6, col 11) the only confident one
    cls = torch.full((1, 10, 17, 17), -5.0)
    cls[0, 5 + 2, 6, 11] = 5.0
    reg = torch.zeros(1, 20, 17, 17)
    reg[0, 2 * 5 + 2, 6, 11] = np.log(1.25)  # dw: 25% wider
    tracker.model = FixedOutputs(tiny_rpn, cls, reg)
    result = tracker.update(image)
    scale = 127 / 128
    expected_centre = box[:2] + box[2:] / 2 + np.array([(11 - 8) * 8, (6 - 8) * 8]) / scale
    np.testing.assert_allclose(result[:2] + result[2:] / 2, expected_centre, atol=1e-6)
    p = 1 / (1 + np.exp(-10.0))
    np.testing.assert_allclose(result[2:], (1 - p) * box[2:] + p * np.array([80.0, 64.0]) / scale, rtol=1e-6)
    assert tracker.confidence == pytest.approx(p)


def test_configs_resolve_to_the_objective_hook():
    for name, classification in [("siamrpn", "bce"), ("siamrpn_fl", "focal_bce"), ("siamrpn_sl", "shrinkage_bce")]:
        config = load_config(CONFIGS / f"{name}-width0.5.yaml")
        assert config.loss.name == "siamtrack.training.objectives:rpn_objective"
        assert objective_function(config) is rpn_objective
        assert config.loss.args["classification"] == classification and config.model.args["width"] == 0.5
        check_loss_and_labels(config)
    assert load_config(CONFIGS / "siamrpn_sl-allproposals.yaml").loss.args["max_samples"] is None
    # the objective's name before it moved out of models/siamrpn.py still names it
    former = config_from_dict(
        {"model": {"name": "siamrpn"}, "loss": {"name": "siamtrack.models.siamrpn:rpn_objective"}}
    )
    assert former.loss.name == "siamtrack.training.objectives:rpn_objective"  # mapped when read, for every reader
    assert objective_function(former) is rpn_objective
    for name, loss in [("siamfc_sl", "shrinkage_bce"), ("siamfc_fl", "focal_bce")]:
        config = load_config(CONFIGS / f"{name}.yaml")
        baseline = load_config(CONFIGS / "siamfc.yaml")
        assert config.loss.name == loss and config.data == baseline.data and config.optim == baseline.optim
        check_loss_and_labels(config)


def test_training_loop_runs_siamrpn_sl_and_siamfc_sl(tmp_path):
    sequences = [synthetic_sequence(f"s{i}", 6, seed=i, size=(160, 200)) for i in range(2)]
    curated = curate(sequences, CropSettings(crop_size=287), tmp_path / "cache", progress=False)
    common = {
        "data": {"curation": {"directory": str(curated)}, "max_gap": 5, "pairs_per_epoch": 4},
        "train": {"epochs": 1, "batch_size": 2, "progress": False, "device": "cpu"},
    }
    rpn = config_from_dict(
        {
            **common,
            "model": {"name": "siamrpn", "args": {"width": 0.125}},
            "loss": {
                "name": "siamtrack.training.objectives:rpn_objective",
                "args": {"classification": "shrinkage_bce", "classification_args": {"a": 10.0, "c": 0.6}},
            },
        }
    )
    path = train(rpn, tmp_path / "rpn")
    saved = torch.load(path, weights_only=True)
    assert saved["model_name"] == "siamrpn" and "template_reg.weight" in saved["state_dict"]
    assert isinstance(build_tracker("siamrpn_sl", weights=path, device="cpu"), SiamRPNTracker)
    lines = (tmp_path / "rpn" / "log.csv").read_text().splitlines()
    assert len(lines) == 3 and all(np.isfinite(float(line.split(",")[3])) for line in lines[1:])
    siamfc = config_from_dict(
        {
            **common,
            "model": {"name": "siamfc", "args": {"width": 0.125}},
            "loss": {"name": "shrinkage_bce", "args": {"a": 10.0, "c": 0.6}},
        }
    )
    assert train(siamfc, tmp_path / "sl").is_file()


def test_registered_trackers_build(tiny_rpn):
    weights = {"state_dict": tiny_rpn.state_dict(), "model_name": "siamrpn", "model_config": {"width": 0.125}}
    for name in ("siamrpn", "siamrpn_sl", "siamrpn_fl"):
        assert isinstance(build_tracker(name, weights=weights, device="cpu"), SiamRPNTracker)
    with pytest.raises(ValueError, match="does not fit model 'siamrpn'"):
        build_tracker("siamrpn_sl", weights=tiny_rpn.state_dict(), device="cpu")  # width 1 model, 0.125 weights


@pytest.fixture(scope="module")
def lite_rpn():
    torch.manual_seed(0)
    return build_model("siamrpn", backbone="efficientnet-lite0", channels=16).eval()


def test_depthwise_head_on_the_pretrained_trunk_matches_a_loop(lite_rpn):
    """SiamRPN++'s depthwise correlation: channel c of a pair's map is its kernel's channel c correlated with the
    search's channel c, the mean product over the 5x5 kernel; 257-px crops give 27x27 maps of 2k / 4k channels."""
    exemplar, instance = torch.rand(2, 3, 257, 257) * 255, torch.rand(2, 3, 257, 257) * 255
    with torch.no_grad():
        out = lite_rpn(exemplar, instance)
        assert out["cls"].shape == (2, 10, 27, 27) and out["reg"].shape == (2, 20, 27, 27)
        z = lite_rpn.embed(exemplar)[..., 13:20, 13:20]  # the centre 7x7 of the 33x33 exemplar map
        x = lite_rpn.embed(instance)
        branch = lite_rpn.cls_branch
        kernel, search = branch.kernel(z), branch.search(x)
        for pair in range(2):
            correlated = (
                torch.stack(
                    [
                        F.conv2d(search[pair : pair + 1, c : c + 1], kernel[pair : pair + 1, c : c + 1])[0, 0]
                        for c in range(16)
                    ]
                )[None]
                / 25
            )
            torch.testing.assert_close(out["cls"][pair : pair + 1], branch.head(correlated), rtol=1e-4, atol=1e-5)
    assert lite_rpn.tracking_params == {"exemplar_size": 257, "instance_size": 257}
    assert all(key.startswith("backbone.trunk.") for key in lite_rpn.pretrained_keys())


def test_lite_tracking_step_maps_crop_cells_through_the_127_px_context(lite_rpn):
    """siamrpn_sl-lite: 257-px crops on which the context square s_z spans 127 px; a confident anchor 2 cells right
    and 7 up of the centre cell (13, 13) moves the box by (16, -56) crop px = (16, -56) · s_z / 127 image px."""
    tracker = SiamRPNTracker(lite_rpn, device="cpu", window_influence=0.0, penalty_k=0.0, lr=1.0)
    assert (tracker.params.exemplar_size, tracker.params.instance_size, tracker.context_size) == (257, 257, 127)
    image = np.random.default_rng(0).integers(0, 255, (400, 500, 3), dtype=np.uint8)
    box = np.array([200.0, 160.0, 64.0, 64.0])
    tracker.init(image, box)
    cls = torch.full((1, 10, 27, 27), -5.0)
    cls[0, 5 + 2, 6, 15] = 5.0
    tracker.model = FixedOutputs(lite_rpn, cls, torch.zeros(1, 20, 27, 27))
    result = tracker.update(image)
    scale = 127 / 128  # s_z = sqrt((64 + 64) * (64 + 64)) = 128 image px onto 127 crop px
    expected_centre = box[:2] + box[2:] / 2 + np.array([(15 - 13) * 8, (6 - 13) * 8]) / scale
    np.testing.assert_allclose(result[:2] + result[2:] / 2, expected_centre, atol=1e-6)


def test_bundled_siamfc_sl_follows_a_translated_real_image():
    """The bundled siamfc_sl (SiamFC trained with the shrinkage loss) on a real image translated by (3, 2) px per
    frame: every box within 2 px of the content's closed-form position (measured: at most 0.8 px)."""
    boxes, _ = build_tracker("siamfc_sl", device="cpu").track(translated_frames(), TRANSLATED_BOX)
    errors = centre_errors(boxes)
    assert errors.max() < 2.0, np.round(errors, 1)
