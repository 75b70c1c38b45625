"""Training configs: YAML loading (base chains, overrides, errors naming file and line) and the bundled
``siamtrack/configs/`` files (the ``bundled/<name>`` configs), whose models must build and whose crops must fit them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from siamtrack.training.config import Config, ConfigError, config_from_dict, config_to_dict, dump_config, load_config
from siamtrack.training.loop import build_model, lr_gamma, probe_score_size

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "siamtrack" / "configs"
OURS = ["siamfc", "siamfc-width0.5", "cfnet-conv2", "dcfnet"]


def test_defaults_and_numbers_written_without_a_dot(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr_end: 1e-5\ntrain:\n  batch_size: 4\n")
    config = load_config(path)
    assert config.optim.lr_end == 1e-5 and config.train.batch_size == 4
    assert config.data == Config().data


def test_unknown_keys_and_bad_values_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  name: siamfc\noptim:\n  lr_start: 0.01\n  lr: 3\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:5: unknown key 'optim\.lr'"):
        load_config(path)
    path.write_text("train:\n  batch_size: eight\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:2: 'train\.batch_size' must be an integer, got 'eight'"):
        load_config(path)
    path.write_text("optim:\n  name: rmsprop\n")
    with pytest.raises(ConfigError, match="sgd"):
        load_config(path)
    path.write_text("- not a mapping\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_augment_and_curation_sections_are_the_runtime_settings_classes(tmp_path):
    """One definition each: a branch of ``augment`` is a BranchAugmentation, ``data.curation`` a CropSettings (plus
    where to store the crops); a YAML key that is not one of their fields, or a value their checks refuse, fails
    when the file is read, naming the file and line."""
    import dataclasses

    from siamtrack.training.config import AugmentConfig, CurationConfig
    from siamtrack.training.augment import BranchAugmentation
    from siamtrack.training.curation import CropSettings

    hints = {f.name: f.type for f in dataclasses.fields(AugmentConfig)}
    assert hints["exemplar"] in (BranchAugmentation, "BranchAugmentation") and hints["instance"] == hints["exemplar"]
    assert issubclass(CurationConfig, CropSettings)
    crop_fields = [f.name for f in dataclasses.fields(CropSettings)]
    assert [f.name for f in dataclasses.fields(CurationConfig)] == crop_fields + ["cache_dir", "directory", "workers"]
    config = load_config("bundled/dcfnet")
    assert config.data.curation.crop_settings() == CropSettings(
        mode="stretched", context=2.0, context_size=125, crop_size=141, jpeg_quality=90
    )
    assert type(config.augment.exemplar) is BranchAugmentation

    path = tmp_path / "bad.yaml"
    for text, line, key in (
        ("augment:\n  exemplar:\n    shift: 4\n    strech: 0.1\n", 4, "augment.exemplar.strech"),
        ("data:\n  curation:\n    jpeg_quality: 90\n    jpeg: 90\n", 4, "data.curation.jpeg"),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError, match=rf"^{path}:{line}: unknown key '{key}'"):
            load_config(path)
    path.write_text("augment:\n  instance:\n    stretch: 1.5\n")  # BranchAugmentation's own check, at load time
    with pytest.raises(ConfigError, match=rf"^{path}:2: section 'augment.instance': augmentation stretch must be < 1"):
        load_config(path)
    path.write_text("data:\n  curation:\n    mode: round\n")  # CropSettings' own check
    with pytest.raises(ConfigError, match=rf"^{path}:2: section 'data.curation': crop mode must be 'square'"):
        load_config(path)


def test_base_chain_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("model:\n  name: siamfc\n  args: {width: 1.0}\ntrain:\n  epochs: 7\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\nmodel:\n  args: {width: 0.5}\n")
    config = load_config(
        tmp_path / "child.yaml", ["train.batch_size=16", "data.max_gap=null", "augment.instance.shift=8"]
    )
    assert config.model.args == {"width": 0.5} and config.train.epochs == 7
    assert config.train.batch_size == 16 and config.data.max_gap is None and config.augment.instance.shift == 8.0
    with pytest.raises(ConfigError, match="override 'train.batchsize=3'"):
        load_config(tmp_path / "child.yaml", ["train.batchsize=3"])
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="circular"):
        load_config(tmp_path / "loop.yaml")


def test_dump_round_trip():
    config = config_from_dict({"data": {"input_mean": [1, 2, 3], "max_gap": None}, "loss": {"temporal_sigma": 100}})
    assert config_from_dict(yaml.safe_load(dump_config(config))) == config
    assert config_to_dict(config)["data"]["input_mean"] == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("name", OURS)
def test_bundled_configs_build_their_model_and_labels(name):
    config = load_config(CONFIGS / f"{name}.yaml")
    torch.manual_seed(0)
    model = build_model(config.model.name, dict(config.model.args))
    size = probe_score_size(model, config, torch.device("cpu"))
    expected = {"siamfc": 17, "siamfc-width0.5": 17, "cfnet-conv2": 33, "dcfnet": 125}[name]
    assert size == expected
    curation = config.data.curation
    assert curation.crop_size >= max(config.data.exemplar_size, config.data.instance_size)
    if config.loss.name == "logistic":
        assert config.labels.radius / config.labels.total_stride == 2  # SiamFC and CFNet: 2 cells


def test_learning_rates_follow_the_papers():
    siamfc = load_config(CONFIGS / "siamfc.yaml")  # logspace(-2, -5, 50)
    rates = siamfc.optim.lr_start * lr_gamma(siamfc) ** np.arange(siamfc.train.epochs)
    np.testing.assert_allclose(rates, np.logspace(-2, -5, 50), rtol=1e-9)
    cfnet = load_config(CONFIGS / "cfnet-conv2.yaml")  # logspace_len(-2, -4, 50, 100)
    rates = cfnet.optim.lr_start * lr_gamma(cfnet) ** np.arange(cfnet.train.epochs)
    np.testing.assert_allclose(rates, 1e-2 * (1e-2 ** (1 / 49)) ** np.arange(100), rtol=2e-3)


def test_dcfnet_config_feeds_what_the_dcfnet_tracker_feeds():
    dcfnet = pytest.importorskip("siamtrack.models.dcfnet")
    config = load_config(CONFIGS / "dcfnet.yaml")
    features = dcfnet.DCFNetFeatures()
    assert features.channel_order == "RGB" and config.data.input_mean == features.mean
    net = build_model(config.model.name, dict(config.model.args))
    sigma = config.labels.sigma_factor * config.data.curation.context_size / (1 + config.data.curation.context)
    np.testing.assert_allclose(net.label.numpy(), dcfnet.gaussian_label(125, sigma).numpy())
