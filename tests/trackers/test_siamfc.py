"""SiamFC: network shapes and keys, width multiplier, initialisation, BN folding, and the tracker on a real
sequence with random weights (including a first box that sticks out of the image)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from conftest import shared_path
from tracking_support import TRANSLATED_BOX, centre_errors, translated_frames
from siamtrack.data import ImageFiles
from siamtrack.geometry import one_based_to_zero_based
from siamtrack.models import build_model
from siamtrack.models.backbones import build_backbone, fuse_batchnorm, scaled_channels
from siamtrack.trackers.siamfc import SiamFCParams, SiamFCTracker


def test_siamfc_shapes_at_127_and_255():
    torch.manual_seed(0)
    net = build_model("siamfc").eval()
    exemplar, instance = torch.rand(2, 3, 127, 127) * 255, torch.rand(6, 3, 255, 255) * 255
    with torch.no_grad():
        assert net.template(exemplar).shape == (2, 256, 6, 6)
        assert net.embed(instance).shape == (6, 256, 22, 22)
        assert net(exemplar, instance).shape == (6, 1, 17, 17)
    assert net.total_stride == 8
    assert net.backbone.output_size(127) == 6 and net.backbone.output_size(255) == 22


def test_backbone_keys_are_torchvision_like_and_channels_follow_width():
    backbone = build_backbone("siamfc", width=0.5)
    keys = list(backbone.state_dict())
    assert keys[:2] == ["features.0.weight", "features.0.bias"]
    assert "features.1.running_mean" in keys  # BN right after conv1
    convs = [m for m in backbone.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [48, 128, 192, 192, 128]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    assert [c.kernel_size[0] for c in convs] == [11, 5, 3, 3, 3]
    assert [scaled_channels(96, w) for w in (1.0, 0.5, 0.25)] == [96, 48, 24]
    assert isinstance(backbone.features[-1], nn.Conv2d)  # conv5 is linear: no BN/ReLU after it
    net = build_model("siamfc", width=0.25)
    assert next(iter(net.state_dict())) == "backbone.features.0.weight"
    with pytest.raises(ValueError, match="width"):
        build_backbone("siamfc", width=0)


def test_kaiming_initialisation():
    torch.manual_seed(1)
    conv = build_backbone("siamfc").features[8]  # conv3: 256 -> 384, 3x3
    fan_out = 384 * 3 * 3
    assert conv.weight.std().item() == pytest.approx(np.sqrt(2.0 / fan_out), rel=0.05)
    assert torch.count_nonzero(conv.bias) == 0


def test_fused_batchnorm_computes_the_same_function():
    torch.manual_seed(2)
    backbone = build_backbone("siamfc", width=0.25)
    for module in backbone.modules():  # non-trivial running statistics and affine parameters
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    backbone.eval()
    fused = fuse_batchnorm(backbone)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in backbone.modules())  # original untouched
    images = torch.rand(2, 3, 127, 127) * 255
    with torch.no_grad():
        torch.testing.assert_close(fused(images), backbone(images), rtol=1e-4, atol=1e-3)


def test_default_hyper_parameters_are_the_papers():
    params = SiamFCParams()
    assert (params.num_scales, params.scale_step, params.scale_penalty) == (3, 1.0375, 0.9745)
    assert (params.window_influence, params.scale_lr, params.response_up) == (0.176, 0.59, 16)
    assert (params.exemplar_size, params.instance_size, params.context) == (127, 255, 0.5)
    assert build_model("siamfc").score_scale == 0.001


def dragon_baby(count: int):
    root = shared_path("data", "benchmarks", "OTB", "DragonBaby")
    paths = sorted((root / "img").glob("*.jpg"))[:count]
    first = one_based_to_zero_based(np.loadtxt(root / "groundtruth_rect.txt", delimiter=",")[0])
    return ImageFiles(paths), first


@pytest.mark.parametrize("box_kind", ["ground truth", "sticking out of the image"])
def test_random_weight_tracker_runs_on_a_real_sequence(box_kind):
    torch.manual_seed(3)
    frames, first = dragon_baby(20)
    if box_kind != "ground truth":
        first = np.array([-30.0, -20.0, 70.0, 60.0])
    tracker = SiamFCTracker(build_model("siamfc", width=0.25), device="cpu")
    boxes, times = tracker.track(frames, first)
    assert boxes.shape == (20, 4) and times.shape == (20,)
    np.testing.assert_array_equal(boxes[0], first)
    assert np.all(np.isfinite(boxes)) and np.isfinite(tracker.confidence)
    height, width = frames[0].shape[:2]
    centres = boxes[1:, :2] + boxes[1:, 2:] / 2
    assert np.all((centres >= 0) & (centres <= [width, height]))
    scale = boxes[1:, 2] / first[2]
    np.testing.assert_allclose(boxes[1:, 3] / first[3], scale)  # aspect ratio is kept
    assert np.all((scale >= 0.2 - 1e-9) & (scale <= 5 + 1e-9))


def test_bundled_siamfc_follows_a_translated_real_image():
    """The bundled SiamFC on a real image translated by (3, 2) px per frame (~32 px in 10 frames) stays within 3 px
    of the content's closed-form position (measured: at most 1.7 px)."""
    from siamtrack.trackers import build_tracker

    boxes, _ = build_tracker("siamfc", device="cpu").track(translated_frames(), TRANSLATED_BOX)
    errors = centre_errors(boxes)
    assert errors.max() < 3.0, np.round(errors, 1)
