"""DSLT* (Lu et al., TPAMI 2020): the two-layer features, the regression network of Fig. 2 / 5(c), and the
tracker on a real sequence (random quarter-width SiamFC backbone, so it runs in seconds on 2 CPU cores)."""

from __future__ import annotations


import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from siamtrack import losses, trackers
from siamtrack.models import build_model
from siamtrack.models.dslt import DSLTRegression
from siamtrack.models.two_layer_features import TwoLayerFeatures, alexnet_stages, align_deep
from siamtrack.models.vgg import VGG16
from siamtrack.trackers import build_tracker
from siamtrack.trackers.dslt import DSLTParams, DSLTTracker, odd_kernel, regression_loss


def test_alexnet_stages_of_siamfc():
    stages = alexnet_stages(build_model("siamfc").backbone)
    assert stages["conv1"] == (2, 96, 2)
    assert stages["conv2"] == (6, 256, 4)
    assert stages["conv4"] == (13, 384, 8)
    assert stages["conv5"] == (14, 256, 8)  # linear last layer: the convolution itself


def test_siamfc_taps_equal_slices_of_the_backbone(siamfc_quarter):
    model = build_model("siamfc", width=0.25)
    model.load_state_dict(siamfc_quarter.state_dict)
    backbone = model.backbone.eval()
    features = TwoLayerFeatures.from_backbone("siamfc", backbone)
    images = torch.rand(1, 3, 255, 255) * 255
    shallow, deep = features(images)
    with torch.no_grad():
        torch.testing.assert_close(shallow, backbone.features[:14](images), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(deep, backbone(images), rtol=1e-4, atol=1e-4)
    assert shallow.shape == (1, 96, 24, 24) and deep.shape == (1, 64, 22, 22)
    assert features.channels == (96, 64) and features.strides == (8, 8)
    assert not any(p.requires_grad for p in features.parameters())


def test_vgg_taps_and_imagenet_normalisation():
    network = VGG16().eval()
    features = TwoLayerFeatures.from_backbone("vgg16", network)
    images = torch.rand(1, 3, 32, 32) * 255
    shallow, deep = features(images)
    assert features.channels == (512, 512) and features.strides == (8, 16)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(deep, network.features[:30]((images / 255 - mean) / std))
    assert shallow.shape == (1, 512, 4, 4) and deep.shape == (1, 512, 2, 2)


def test_align_deep_upsampling_keeps_cell_centres():
    """A deep cell j (stride 16, centre 16 j + 8) lands on shallow cells 2j, 2j+1 (centres 8 i + 4)."""
    deep = torch.zeros(1, 1, 4, 4)
    deep[0, 0, 1, 2] = 1.0
    shallow = torch.zeros(1, 1, 8, 8)
    _, up = align_deep(shallow, deep, 2)
    row, col = divmod(int(up[0, 0].argmax()), 8)
    assert (row, col) in {(2, 4), (2, 5), (3, 4), (3, 5)}
    torch.testing.assert_close(up[0, 0, 2:4, 4:6], torch.full((2, 2), 0.5625))  # bilinear weights 0.75²
    with pytest.raises(ValueError, match="multiple of the deep stride"):
        align_deep(torch.zeros(1, 1, 9, 9), deep, 2)
    s, d = align_deep(torch.arange(36.0).view(1, 1, 6, 6), torch.zeros(1, 1, 4, 4), 1)  # equal strides: centre crop
    torch.testing.assert_close(s[0, 0], torch.arange(36.0).view(6, 6)[1:5, 1:5])
    with pytest.raises(ValueError, match="centre-aligned"):
        align_deep(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 4, 4), 1)


def test_regression_network_is_the_residual_fusion_of_fig2():
    torch.manual_seed(1)
    net = DSLTRegression((6, 10), stride_ratio=2, kernel_size=(3, 5), reduced_channels=4)
    shallow, deep = torch.randn(2, 6, 8, 8), torch.randn(2, 10, 4, 4)
    assert torch.count_nonzero(net(shallow, deep)) == 0  # regression kernels start at zero
    for conv in (net.regress_fused, net.regress_deep):
        torch.nn.init.normal_(conv.weight)
    assert net.regress_fused.bias is None and net.regress_deep.bias is None  # Eq. 1: no bias
    s = net.reduce_shallow(shallow)
    d = F.interpolate(net.reduce_deep(deep), scale_factor=2, mode="bilinear", align_corners=False)
    expected = F.conv2d(s + d, net.regress_fused.weight, padding=(1, 2)) + F.conv2d(
        d, net.regress_deep.weight, padding=(1, 2)
    )
    torch.testing.assert_close(net(shallow, deep), expected)
    grouped = [p for layers in net.branches().values() for layer in layers for p in layer.parameters()]
    assert len(grouped) == len(list(net.parameters())) and {id(p) for p in grouped} == {id(p) for p in net.parameters()}
    with pytest.raises(ValueError, match="odd"):
        DSLTRegression((6, 10), 2, (4, 5))


def test_regression_loss_dispatch_and_kernel_sizes():
    responses, labels = torch.rand(2, 1, 5, 5), torch.rand(2, 1, 5, 5)
    cases = {
        "shrinkage": losses.shrinkage_loss(responses, labels, a=6.0, c=0.6, importance=False),
        "l2": losses.l2_loss(responses, labels),
        "l3": losses.l3_loss(responses, labels),
        "ohnm": losses.ohnm_l2_loss(responses, labels, threshold=0.05),
    }
    for name, expected in cases.items():
        params = DSLTParams(loss=name, shrinkage_a=6.0, shrinkage_c=0.6, importance=False, ohnm_threshold=0.05)
        torch.testing.assert_close(regression_loss(params, responses, labels), expected)
    assert [odd_kernel(c, 1.0, 13) for c in (0.2, 2.0, 4.6, 7.0, 30.0)] == [1, 3, 5, 7, 13]
    assert odd_kernel(30.0, 1.0, 12) == 11


def test_params_are_validated():
    with pytest.raises(ValueError, match="backbone"):
        DSLTParams(backbone="alexnet")
    with pytest.raises(ValueError, match="loss"):
        DSLTParams(loss="l1")
    with pytest.raises(ValueError, match="num_scales"):
        DSLTParams(num_scales=2)
    with pytest.raises(ValueError, match="seed"):
        DSLTParams(seed=0.5)
    with pytest.raises(TypeError, match="unknown hyper-parameter"):
        build_tracker("dslt", weights="random", learning_rate=1.0)


def make_tracker(weights, **overrides) -> DSLTTracker:
    settings = dict(device="cpu", init_iterations=20, reduced_channels=32, update_iterations=1)
    settings.update(overrides)
    return build_tracker("dslt", weights=weights, **settings)


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REFLECT)


def test_tracker_follows_a_translated_real_frame(siamfc_quarter, frame_and_box):
    """First-frame training fits the label (loss falls), and a frame moved by (dx, dy) moves the box by (dx, dy):
    crop -> features -> response -> displacement geometry end to end."""
    image, box = frame_and_box
    tracker = make_tracker(siamfc_quarter)
    tracker.init(image, box)
    untrained = make_tracker(siamfc_quarter, init_iterations=0, num_scales=1)
    untrained.init(image, box)
    first_loss = untrained.train_steps(untrained.optimizer(online=False), 1)[0]  # before any step
    assert tracker.extras["init_loss"] < 0.5 * first_loss
    assert set(tracker.extras["stage_seconds"]) == {"crop", "features", "init_training"}
    centre = box[:2] + box[2:] / 2
    result = tracker.update(shifted(image, -10.0, 8.0))
    np.testing.assert_allclose(result[:2] + result[2:] / 2 - centre, [-10.0, 8.0], atol=2.5)
    assert np.all(result[2:] > 0.9 * box[2:]) and np.all(result[2:] < 1.1 * box[2:])
    assert set(tracker.extras["stage_seconds"]) == {"crop", "features", "regression", "locate", "update"}
    assert "init_loss" not in tracker.extras  # a new dict per frame


def test_reductions_start_from_the_seed_whatever_ran_before(siamfc_quarter, frame_and_box):
    """Each init draws the 1x1 reductions from ``seed`` (nn.Conv2d's default distribution), so a sequence's
    result does not depend on which sequences (or other random draws) came before it in the process."""
    image, box = frame_and_box
    results = []
    for global_seed in (0, 1):
        torch.manual_seed(global_seed)
        tracker = make_tracker(siamfc_quarter, init_iterations=2, num_scales=1)
        tracker.init(image, box)
        results.append((tracker.update(shifted(image, 3, 0)), tracker.network.state_dict()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for key, value in results[0][1].items():
        assert torch.equal(value, results[1][1][key]), key
    other = make_tracker(siamfc_quarter, init_iterations=0, num_scales=1, seed=1)
    other.init(image, box)
    reference = make_tracker(siamfc_quarter, init_iterations=0, num_scales=1)
    reference.init(image, box)
    weight = reference.network.reduce_deep.weight
    assert not torch.equal(other.network.reduce_deep.weight, weight)
    bound = 1.0 / np.sqrt(weight.shape[1])  # kaiming_uniform(a=sqrt(5)) of a 1x1 conv: U(-1/sqrt(fan_in), +)
    assert weight.abs().max() <= bound and weight.abs().max() > 0.9 * bound
    assert reference.network.reduce_deep.bias.abs().max() <= bound


def test_online_update_keeps_the_last_T_frames(siamfc_quarter, frame_and_box):
    image, box = frame_and_box
    tracker = make_tracker(siamfc_quarter, init_iterations=2, memory=3, num_scales=1)
    tracker.init(image, box)
    before = tracker.network.regress_deep.weight.detach().clone()
    for step in range(4):
        tracker.update(shifted(image, step, 0))
    assert len(tracker._memory) == 3
    assert not torch.equal(before, tracker.network.regress_deep.weight)
    sparse = make_tracker(siamfc_quarter, init_iterations=2, update_interval=2, num_scales=1)
    sparse.init(image, box)
    sparse.update(image)
    assert len(sparse._memory) == 1  # frame 1: no update yet
    sparse.update(image)
    assert len(sparse._memory) == 2


def test_tracker_errors(siamfc_quarter, frame_and_box, tmp_path, monkeypatch):
    image, box = frame_and_box
    tracker = make_tracker(siamfc_quarter)
    with pytest.raises(RuntimeError, match="before init"):
        tracker.update(image)
    with pytest.raises(ValueError, match="initial box"):
        tracker.init(image, [0, 0, 0, 5])
    vgg_state = {f"features.{i}.weight": torch.zeros(1) for i in (0, 2)} | {"classifier.0.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match="pass backbone=vgg16 or resnet50"):
        build_tracker("dslt", weights=vgg_state)
    with pytest.raises(ValueError, match="missing keys"):
        build_tracker("dslt", weights={"features.0.weight": torch.zeros(1)}, backbone="vgg16")
    monkeypatch.setattr(trackers, "BUNDLED_WEIGHTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="siamfc.pth does not exist"):
        build_tracker("dslt")  # default weights: the bundled SiamFC embedding


@pytest.mark.slow
@pytest.mark.parametrize("backbone, size", [("vgg16", 256), ("resnet50", 256)])
def test_torchvision_backbones_track_a_translated_frame(backbone, size, frame_and_box):
    image, box = frame_and_box
    tracker = build_tracker(
        "dslt",
        weights="random",
        backbone=backbone,
        instance_size=size,
        context_size=size / 2,
        device="cpu",
        init_iterations=30,
    )
    tracker.init(image, box)
    result = tracker.update(shifted(image, 8.0, -6.0))
    centre = box[:2] + box[2:] / 2
    np.testing.assert_allclose(result[:2] + result[2:] / 2 - centre, [8.0, -6.0], atol=4.0)


def test_dslt_presets_are_valid_tracker_parameters():
    from siamtrack.presets import bundled_presets, load_preset

    presets = [load_preset(name) for name in bundled_presets() if name.startswith("bundled/presets/dslt")]
    assert len(presets) >= 9
    for preset in presets:
        assert preset.tracker == "dslt", preset.source
        DSLTParams(**preset.params)
    assert len({preset.name for preset in presets}) == len(presets)  # one results folder per row


def test_siamfc_sl_and_fl_are_siamfc_trackers_with_their_own_default_weights(tmp_path, monkeypatch):
    from siamtrack.trackers.siamfc import SiamFCTracker

    model = build_model("siamfc", width=0.25)
    weights = {"state_dict": model.state_dict(), "model_name": "siamfc", "model_config": {"width": 0.25}}
    for name in ("siamfc_sl", "siamfc_fl"):
        assert type(build_tracker(name, weights=weights, device="cpu")) is SiamFCTracker
        monkeypatch.setattr(trackers, "BUNDLED_WEIGHTS", tmp_path)
        with pytest.raises(FileNotFoundError, match=f"{name}.pth does not exist"):
            build_tracker(name)
