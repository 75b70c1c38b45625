"""AdaCFNet network and tracker: Table I shapes, SE placement (closed form), identity with CFNet-conv2 without
attention, end-to-end training through SE + CF layer with the focal logistic loss, input-conditioned channel
weights kept per frame, their bar plot, and tracking on a real sequence (tracker and ``siamtrack track``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from conftest import shared_path
from tracking_support import TRANSLATED_BOX, centre_errors, translated_frames
from siamtrack import losses
from siamtrack.cli import main as cli_main
from siamtrack.data import ImageFiles
from siamtrack.models import build_model
from siamtrack.models.adacfnet import AdaCFNetNet
from siamtrack.trackers import build_tracker
from siamtrack.trackers.adacfnet import AdaCFNetParams, AdaCFNetTracker, plot_channel_weights
from siamtrack.trackers.cfnet import CFNetTracker

BALL_BOX = [496.0, 419.0, 40.0, 42.0]  # VOT ball1, frame 1 (axis-aligned box of the polygon)


def ball_frames(count: int) -> ImageFiles:
    root = shared_path("data", "benchmarks", "VOT", "ball1")
    return ImageFiles(sorted((root / "color").glob("*.jpg"))[:count])


def calibrated_random_model(seed: int, frame: np.ndarray, **config) -> AdaCFNetNet:
    """A randomly initialised AdaCFNet whose BN statistics are those of crops of ``frame`` (as after training);
    uncalibrated, the raw 0..255 input saturates the SE sigmoids at exactly 0 or 1 in float32."""
    torch.manual_seed(seed)
    model = build_model("adacfnet", **config)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # cumulative average over the calibration batch
    crops = torch.from_numpy(
        np.stack(
            [cv2.resize(frame[y : y + 300, x : x + 300], (255, 255)) for x, y in [(300, 200), (400, 300), (500, 250)]]
        )
    )
    with torch.no_grad():
        model.train()(crops.permute(0, 3, 1, 2).float(), crops.permute(0, 3, 1, 2).float())
    return model.eval()


def test_table_one_shapes_at_full_width():
    torch.manual_seed(0)
    net = build_model("adacfnet").eval()
    shapes = {}
    for index, layer in enumerate(net.backbone.features):
        layer.register_forward_hook(lambda _m, _i, out, index=index: shapes.__setitem__(index, tuple(out.shape[1:])))
    with torch.no_grad():
        features, weights = net.embed_with_weights(torch.rand(1, 3, 255, 255) * 255)
    assert shapes[2] == (96, 123, 123)  # conv1 + BN + ReLU
    assert shapes[3] == (96, 61, 61)  # pool1
    assert shapes[6] == (32, 57, 57)  # conv2 + BN + ReLU
    assert features.shape == (1, 32, 57, 57)
    assert {name: tuple(value.shape) for name, value in weights.items()} == {"se1": (1, 96), "se2": (1, 32)}
    se1, se2 = net.backbone.attention
    assert (se1.reduce.out_features, se2.reduce.out_features) == (6, 2)  # FC 96->6->96, 32->2->32
    conv1, conv2 = [m for m in net.backbone.features if isinstance(m, nn.Conv2d)]
    assert (conv1.kernel_size, conv1.stride, conv1.out_channels) == ((11, 11), (2, 2), 96)
    assert (conv2.kernel_size, conv2.groups, conv2.out_channels) == ((5, 5), 2, 32)
    assert conv2.in_channels // conv2.groups == 48  # "32x48" in Table I
    assert net.total_stride == 4
    with torch.no_grad():
        exemplar = torch.rand(1, 3, 255, 255) * 255
        assert net.template(exemplar).shape == (1, 32, 25, 25)
        assert net(exemplar, exemplar).shape == (1, 1, 33, 33)


def test_se_blocks_sit_after_each_relu_and_before_the_pool():
    torch.manual_seed(1)
    net = build_model("adacfnet", width=0.25).eval()
    layers, (se1, se2) = net.backbone.features, net.backbone.attention
    images = torch.rand(2, 3, 255, 255) * 255
    with torch.no_grad():
        conv1 = layers[2](layers[1](layers[0](images)))
        weights1 = se1.channel_weights(conv1)
        conv2 = layers[6](layers[5](layers[4](layers[3](conv1 * weights1[:, :, None, None]))))
        weights2 = se2.channel_weights(conv2)
        features, weights = net.embed_with_weights(images)
    torch.testing.assert_close(weights["se1"], weights1)
    torch.testing.assert_close(weights["se2"], weights2)
    torch.testing.assert_close(features, conv2 * weights2[:, :, None, None])


def test_he_initialisation():
    torch.manual_seed(2)
    net = build_model("adacfnet")
    conv1 = net.backbone.features[0]
    fan_out = conv1.out_channels * 11 * 11
    assert conv1.weight.std().item() == pytest.approx((2.0 / fan_out) ** 0.5, rel=0.05)
    reduce = net.backbone.attention[0].reduce
    assert reduce.weight.std().item() == pytest.approx((2.0 / 96) ** 0.5, rel=0.25)
    assert torch.count_nonzero(reduce.bias) == 0


def test_without_attention_it_is_cfnet_conv2():
    torch.manual_seed(3)
    cfnet = build_model("cfnet-conv2", width=0.25).eval()
    torch.manual_seed(3)
    plain = build_model("adacfnet", width=0.25, attention=False).eval()
    assert cfnet.state_dict().keys() == plain.state_dict().keys()
    for key, value in cfnet.state_dict().items():
        torch.testing.assert_close(plain.state_dict()[key], value)
    images = torch.rand(2, 3, 255, 255) * 255
    with torch.no_grad():
        torch.testing.assert_close(plain(images, images), cfnet(images, images))
        assert plain.embed_with_weights(images)[1] == {}


def test_trains_end_to_end_with_the_focal_logistic_loss():
    torch.manual_seed(4)
    net = AdaCFNetNet(width=0.25, margin=4).train()  # small crops (fast): 127 -> 25x25 features -> 9x9 scores
    for block in net.backbone.attention:  # width 0.25 leaves one hidden SE unit: keep its ReLU active
        nn.init.constant_(block.reduce.bias, 1.0)
    exemplar, instance = torch.rand(2, 3, 127, 127) * 255, torch.rand(2, 3, 127, 127) * 255
    labels = -torch.ones(2, 1, 9, 9)
    labels[..., 3:6, 3:6] = 1.0
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    history = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = losses.focal_logistic_loss(net(exemplar, instance), labels)
        loss.backward()
        history.append(loss.item())
        optimizer.step()
    for block in net.backbone.attention:  # gradients reach the SE FC layers through the CF layer
        assert block.reduce.weight.grad.abs().sum() > 0 and torch.isfinite(block.expand.weight.grad).all()
    assert net.backbone.features[0].weight.grad.abs().sum() > 0
    assert history[-1] < history[0], history


def test_tracker_defaults_are_the_papers():
    params = AdaCFNetParams()
    np.testing.assert_allclose(params.scale_factors, 1.0575 ** np.array([-1.0, 0.0, 1.0]))
    assert params.scale_lr == 0.52 and params.template_lr == 0.005
    assert (params.exemplar_size, params.instance_size) == (255, 255)


def test_tracker_keeps_input_conditioned_channel_weights_and_plots_them(tmp_path):
    frames = ball_frames(4)
    tracker = AdaCFNetTracker(calibrated_random_model(5, frames[0], width=0.5), device="cpu")
    outputs = list(tracker.run(frames, BALL_BOX))  # one FrameOutput per frame, its extras that frame's
    exemplar = outputs[0].extras["channel_weights"]["exemplar"]
    assert {name: value.shape for name, value in exemplar.items()} == {"se1": (1, 48), "se2": (1, 16)}
    assert outputs[0].extras["channel_weights"]["search"] == {}
    searches = []
    for output in outputs[1:]:
        assert np.all(np.isfinite(output.box))
        search = output.extras["channel_weights"]["search"]
        assert {name: value.shape for name, value in search.items()} == {"se1": (3, 48), "se2": (3, 16)}
        assert all(((value > 0) & (value < 1)).all() for value in search.values())
        searches.append(search["se1"].copy())
    # recomputed from each crop: the three scales of one frame, and successive frames, differ
    assert np.abs(searches[0][0] - searches[0][2]).max() > 1e-6
    assert np.abs(searches[0] - searches[1]).max() > 1e-6
    # the template update re-ran the exemplar branch on the last frame
    last = tracker.extras["channel_weights"]
    assert last is outputs[-1].extras["channel_weights"]
    assert np.abs(last["exemplar"]["se1"] - exemplar["se1"]).max() > 1e-6

    path = tmp_path / "weights.png"
    panels = {"exemplar se1": last["exemplar"]["se1"], "search se2 (centre scale)": last["search"]["se2"][1]}
    drawn = plot_channel_weights(panels, path, title="ball1")
    assert [len(bars) for bars in drawn.values()] == [48, 16]
    np.testing.assert_allclose(drawn["exemplar se1"], panels["exemplar se1"][0], rtol=1e-6)
    np.testing.assert_allclose(drawn["search se2 (centre scale)"], panels["search se2 (centre scale)"], rtol=1e-6)
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
    with pytest.raises(ValueError, match="one value per channel"):
        plot_channel_weights({"bad": np.zeros((3, 4))}, tmp_path / "bad.png")


def test_tracking_without_attention_matches_the_cfnet_tracker():
    frames = ball_frames(6)
    torch.manual_seed(6)
    cfnet = build_model("cfnet-conv2", width=0.25)
    plain = build_model("adacfnet", width=0.25, attention=False)
    plain.load_state_dict(cfnet.state_dict())
    reference, _ = CFNetTracker(cfnet, device="cpu").track(frames, BALL_BOX)
    ours, _ = AdaCFNetTracker(plain, device="cpu").track(frames, BALL_BOX)
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-6)


def test_build_tracker_from_weights_with_model_config():
    torch.manual_seed(7)
    model = build_model("adacfnet", width=0.25)
    weights = {"state_dict": model.state_dict(), "model_name": "adacfnet", "model_config": {"width": 0.25}}
    tracker = build_tracker("adacfnet", weights=weights, device="cpu", template_lr=0.01)
    assert isinstance(tracker, AdaCFNetTracker) and tracker.params.template_lr == 0.01
    images = torch.rand(2, 3, 255, 255) * 255
    with torch.no_grad():  # the tracker's inference copy (BN folded into the convolutions) computes the same
        features, channel_weights = model.eval().embed_with_weights(images)
        fused_features, fused_channel_weights = tracker.model.embed_with_weights(images)
    torch.testing.assert_close(fused_features, features, rtol=1e-4, atol=1e-3)
    for name in ("se1", "se2"):
        torch.testing.assert_close(fused_channel_weights[name], channel_weights[name], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="cfnet-conv2"):
        build_tracker("adacfnet", weights={**weights, "model_name": "cfnet-conv2"})
    with pytest.raises(TypeError, match="embed_with_weights"):
        AdaCFNetTracker(build_model("cfnet-conv2", width=0.25), device="cpu")


def test_track_command_runs_with_random_weights(tmp_path):
    root = shared_path("data", "benchmarks", "VOT", "ball1", "color")
    out = tmp_path / "track"
    code = cli_main(
        [
            "track",
            "--tracker",
            "adacfnet",
            "--weights",
            "random",
            "--frames",
            str(root),
            "--box",
            ",".join(str(v) for v in BALL_BOX),
            "--out",
            str(out),
            "--max-frames",
            "4",
        ]
    )
    assert code == 0
    boxes = np.loadtxt(out / "boxes.txt", delimiter=",")
    assert boxes.shape == (4, 4) and np.all(np.isfinite(boxes))
    np.testing.assert_allclose(boxes[0], BALL_BOX)


def test_bundled_adacfnet_follows_a_translated_real_image(tmp_path):
    """``siamtrack track`` with the bundled AdaCFNet on a folder of frames of a real image translated by (3, 2) px per
    frame: every box within 2 px of the content's closed-form position (measured: at most 1.0 px)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in enumerate(translated_frames()):
        cv2.imwrite(str(folder / f"{index:04d}.png"), frame[:, :, ::-1])
    out = tmp_path / "track"
    code = cli_main(
        [
            "track",
            "--tracker",
            "adacfnet",
            "--frames",
            str(folder),
            "--box",
            ",".join(str(v) for v in TRANSLATED_BOX),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    boxes = np.loadtxt(out / "boxes.txt", delimiter=",")
    assert boxes.shape == (10, 4)
    errors = centre_errors(boxes)
    assert errors.max() < 2.0, np.round(errors, 1)
