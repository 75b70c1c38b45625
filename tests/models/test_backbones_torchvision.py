"""VGG-16 and ResNet-50 definitions: torchvision's state-dict layout (keys built here from the architectures'
definitions), loading a torchvision-layout file written with random weights (weights_only), feature taps."""

from __future__ import annotations

import pytest
import torch

from siamtrack.models.resnet import ResNet50, resnet50
from siamtrack.models.vgg import VGG16, vgg16


def expected_vgg16_keys() -> set[str]:
    """torchvision's vgg16 (configuration D): 13 3x3 convolutions, each followed by ReLU, 5 max pools."""
    config = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    keys, index = set(), 0
    for entry in config:
        if entry == "M":
            index += 1
        else:
            keys |= {f"features.{index}.weight", f"features.{index}.bias"}
            index += 2
    return keys


def expected_resnet50_keys() -> set[str]:
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    keys = {"conv1.weight"} | {f"bn1.{name}" for name in bn}
    for layer, blocks in enumerate((3, 4, 6, 3), start=1):
        for block in range(blocks):
            prefix = f"layer{layer}.{block}"
            for k in (1, 2, 3):
                keys.add(f"{prefix}.conv{k}.weight")
                keys |= {f"{prefix}.bn{k}.{name}" for name in bn}
            if block == 0:
                keys.add(f"{prefix}.downsample.0.weight")
                keys |= {f"{prefix}.downsample.1.{name}" for name in bn}
    return keys


@pytest.fixture(scope="module")
def vgg() -> VGG16:
    return VGG16().eval()


@pytest.fixture(scope="module")
def resnet() -> ResNet50:
    return ResNet50().eval()


def test_vgg16_keys_and_size_match_torchvision(vgg):
    assert set(vgg.state_dict()) == expected_vgg16_keys()
    assert sum(p.numel() for p in vgg.parameters()) == 14_714_688  # torchvision vgg16().features
    assert vgg.layer_index["conv4_1"] == 17 and vgg.layer_index["conv4_3"] == 21
    assert vgg.layer_index["conv5_3"] == 28 and vgg.layer_names[-1] == "pool5"
    assert vgg.stride("relu4_3") == 8 and vgg.stride("conv5_3") == 16 and vgg.channels("conv5_3") == 512


def test_resnet50_keys_and_size_match_torchvision(resnet):
    assert set(resnet.state_dict()) == expected_resnet50_keys()
    assert len(resnet.state_dict()) == 318  # torchvision's 320 minus fc.weight, fc.bias
    assert sum(p.numel() for p in resnet.parameters()) == 23_508_032  # 25,557,032 minus the fc layer
    assert resnet.stride("res3d") == 8 and resnet.channels("res4f") == 1024


def torchvision_layout(model: torch.nn.Module, extra: dict[str, tuple[int, ...]]) -> dict:
    """A torchvision-layout state dict with random values: the (randomly initialised) model's entries, running
    statistics made non-trivial, plus the classifier entries that torchvision files carry."""
    generator = torch.Generator().manual_seed(0)
    state = {key: value.clone() for key, value in model.state_dict().items()}
    for key in state:
        if key.endswith(("running_mean", "running_var", "bias")):
            state[key] = torch.rand(state[key].shape, generator=generator) + 0.5
    for key, shape in extra.items():
        state[key] = torch.randn(shape, generator=generator)
    return state


def test_vgg16_loads_a_torchvision_layout_file(tmp_path, vgg):
    state = torchvision_layout(vgg, {"classifier.0.weight": (8, 4), "classifier.0.bias": (8,)})
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    model = vgg16(path).eval()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)
    images = torch.rand(1, 3, 64, 64)
    features = model(images, ["conv4_3", "relu4_3", "conv5_3"])
    assert features["conv4_3"].shape == (1, 512, 8, 8) and features["conv5_3"].shape == (1, 512, 4, 4)
    torch.testing.assert_close(features["relu4_3"], features["conv4_3"].clamp(min=0))  # conv output kept intact
    reference = model.features[:29](images)  # torchvision-style slicing gives the same conv5_3
    torch.testing.assert_close(features["conv5_3"], reference)


def test_resnet50_loads_a_torchvision_layout_file(tmp_path, resnet):
    state = torchvision_layout(resnet, {"fc.weight": (1000, 2048), "fc.bias": (1000,)})
    path = tmp_path / "resnet50.pth"
    torch.save({"state_dict": state}, path)
    model = resnet50(path).eval()
    torch.testing.assert_close(model.layer3[5].bn3.running_var, state["layer3.5.bn3.running_var"], rtol=0, atol=0)
    features = model(torch.rand(1, 3, 64, 64), ["res3d", "layer3"])
    assert features["res3d"].shape == (1, 512, 8, 8) and features["layer3"].shape == (1, 1024, 4, 4)


def test_loading_reports_missing_unexpected_and_misshaped_keys(vgg, resnet):
    from siamtrack.models.vgg import load_torchvision_state_dict

    state = dict(vgg.state_dict())
    del state["features.28.bias"]
    state["features.99.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"broken\.pth.*missing keys \['features\.28\.bias'\].*features\.99"):
        load_torchvision_state_dict(vgg, state, "broken.pth", ignore_prefixes=("classifier.",))
    state = dict(resnet.state_dict())
    state["conv1.weight"] = torch.zeros(64, 3, 3, 3)
    with pytest.raises(ValueError, match=r"conv1\.weight \(64, 3, 3, 3\) != \(64, 3, 7, 7\)"):
        load_torchvision_state_dict(resnet, state, "<memory>", ignore_prefixes=("fc.",))


def test_loading_refuses_pickled_objects(tmp_path):
    path = tmp_path / "pickle.pth"
    torch.save({"state_dict": {"features.0.weight": torch.zeros(1)}, "object": object()}, path)
    with pytest.raises(ValueError, match="pickle.pth: not a readable weights file"):
        vgg16(path)


def test_unknown_layer_names_are_rejected(vgg):
    with pytest.raises(KeyError, match="conv6_1"):
        vgg(torch.zeros(1, 3, 32, 32), ["conv6_1"])
    with pytest.raises(KeyError, match="res6a"):
        ResNet50.stage("res6a")
