"""CFNet: variant shapes, end-to-end trainability through the CF layer, template rolling average, and the
tracker following a synthetic target through the correlation filter (known embedding) and running on a real
sequence with random weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import shared_path
from tracking_support import TRANSLATED_BOX, centre_errors, translated_frames
from siamtrack.data import ImageFiles
from siamtrack.models import build_model
from siamtrack.models.siamese import CFNetNet
from siamtrack.trackers.cfnet import CFNetConv1Tracker, CFNetParams, CFNetTracker


@pytest.mark.parametrize("variant, features, template", [("conv1", 62, 30), ("conv2", 57, 25), ("conv5", 49, 17)])
def test_variant_shapes(variant, features, template):
    torch.manual_seed(0)
    net = build_model(f"cfnet-{variant}", width=0.25).eval()
    images = torch.rand(2, 3, 255, 255) * 255
    with torch.no_grad():
        assert net.embed(images).shape[-2:] == (features, features)
        assert net.template(images).shape[-2:] == (template, template)
        assert net(images, images).shape == (2, 1, 33, 33)
    assert net.total_stride == 4


def test_full_width_conv2_channels_and_learnable_adjust():
    net = build_model("cfnet-conv2")
    convs = [m for m in net.backbone.features if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0], c.groups) for c in convs] == [(96, 11, 2, 1), (32, 5, 1, 2)]
    assert isinstance(net.gain, nn.Parameter) and isinstance(net.bias, nn.Parameter)
    assert (net.gain.item(), net.bias.item()) == (1.0, -0.5)
    assert net.filter.lam == 10.0 and net.filter.margin == 16
    with pytest.raises(ValueError, match="variant"):
        CFNetNet(variant="conv3")


def test_trainable_end_to_end_through_the_correlation_filter():
    torch.manual_seed(1)
    net = build_model("cfnet-conv2", width=0.25).train()
    exemplar, instance = torch.rand(2, 3, 255, 255) * 255, torch.rand(2, 3, 255, 255) * 255
    labels = -torch.ones(2, 1, 33, 33)
    labels[..., 14:19, 14:19] = 1.0
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = F.soft_margin_loss(net(exemplar, instance), labels)
        loss.backward()
        losses.append(loss.item())
        optimizer.step()
    first_conv = net.backbone.features[0]
    assert first_conv.weight.grad is not None and torch.isfinite(first_conv.weight.grad).all()
    assert first_conv.weight.grad.abs().sum() > 0
    assert net.gain.grad is not None and net.bias.grad is not None
    assert losses[-1] < losses[0]


def test_tracker_hyper_parameters_per_variant():
    conv2 = CFNetParams()
    assert (conv2.scale_step, conv2.scale_penalty, conv2.scale_lr) == (1.0575, 0.9780, 0.52)
    assert (conv2.window_influence, conv2.template_lr, conv2.response_up) == (0.2625, 0.005, 8)
    assert (conv2.exemplar_size, conv2.instance_size) == (255, 255)
    conv1 = CFNetConv1Tracker.Params()
    assert (conv1.scale_step, conv1.scale_penalty, conv1.scale_lr, conv1.window_influence, conv1.template_lr) == (
        1.0355,
        0.9825,
        0.7,
        0.2375,
        0.0058,
    )


class BrightnessCFNet(CFNetNet):
    """CFNet whose embedding is known: mean brightness (minus 0.5) over 4x4 cells at stride 4."""

    def __init__(self):
        super().__init__(variant="conv1", width=0.25, lam=0.1, sigma=1.0, margin=16)
        pool = nn.Conv2d(3, 1, kernel_size=4, stride=4)
        nn.init.constant_(pool.weight, 1.0 / (4 * 4 * 3 * 255))
        nn.init.constant_(pool.bias, -0.5)
        self.backbone = nn.Sequential(pool)
        self.backbone.total_stride = 4


def test_template_rolling_average():
    tracker = CFNetTracker(BrightnessCFNet(), device="cpu", template_lr=0.25)
    image = np.zeros((120, 160, 3), np.uint8)
    image[50:70, 70:90] = 200
    tracker.init(image, [70, 50, 20, 20])
    old = tracker.template.clone()
    exemplar = tracker.crop_inputs(image, [100.0], 255)
    with torch.inference_mode():
        new = tracker.build_template(exemplar)
        torch.testing.assert_close(tracker.update_template(old, exemplar), 0.75 * old + 0.25 * new)


def test_tracker_follows_a_synthetic_target_through_the_filter():
    shape, size = (200, 260), 20
    frames, centres = [], []
    for index in range(10):
        cx, cy = 80 + 5 * index, 90 + 2 * index
        frame = np.full(shape + (3,), 30, np.uint8)
        frame[cy - size // 2 : cy + size // 2, cx - size // 2 : cx + size // 2] = 220
        frames.append(frame)
        centres.append((cx, cy))
    tracker = CFNetTracker(BrightnessCFNet(), device="cpu")
    boxes, _ = tracker.track(frames, [70.0, 80.0, 20.0, 20.0])
    errors = np.hypot(*(boxes[:, :2] + boxes[:, 2:] / 2 - np.array(centres)).T)
    assert errors.max() < 4.0, errors


def test_random_weight_cfnet_runs_on_a_real_sequence():
    root = shared_path("data", "benchmarks", "VOT", "ball1")
    frames = ImageFiles(sorted((root / "color").glob("*.jpg"))[:20])
    torch.manual_seed(4)
    tracker = CFNetTracker(build_model("cfnet-conv2", width=0.25), device="cpu")
    boxes, _ = tracker.track(frames, [496.0, 419.0, 40.0, 42.0])
    assert boxes.shape == (20, 4) and np.all(np.isfinite(boxes))
    assert np.isfinite(tracker.confidence)
    # the correlation filter locks on to whatever it is given, even through random features: on a real image
    # translated by (3, 2) px per frame it stays within 2 px of the content (measured: 0.7 px)
    torch.manual_seed(4)
    boxes, _ = CFNetTracker(build_model("cfnet-conv2", width=0.25), device="cpu").track(
        translated_frames(), TRANSLATED_BOX
    )
    errors = centre_errors(boxes)
    assert errors.max() < 2.0, np.round(errors, 1)
