"""CFNet-conv2, AdaCFNet and RASNet on the pretrained EfficientNet-Lite0 embedding: what trains, what is saved and
rebuilt, where the scores peak, the feature-cache trainer with each paper's loss, the ``-lite`` trackers, and the
AlexNet path left as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from siamtrack.training.config import config_to_dict, load_config
from siamtrack.models import Weights, build_model, model_from_weights, pretrained_keys, read_weights, trained_state_dict
from siamtrack.models.correlation import CorrelationFilter
from siamtrack.models.pretrained import center_cells
from siamtrack.trackers import BUNDLED_WEIGHTS, build_tracker
from siamtrack.training.curation import CropSettings, curate
from siamtrack.training.loop import train
from training_support import synthetic_sequence

REPO = Path(__file__).resolve().parents[2]
PRETRAINED_CONFIGS = REPO / "src" / "siamtrack" / "configs" / "pretrained"
LITE = {"backbone": "efficientnet-lite0"}
HEADS = ["cfnet-conv2", "adacfnet", "rasnet"]
ADJUST = {"backbone.adjust.0.weight", "backbone.adjust.1.weight", "backbone.adjust.1.bias"}
TRAINED = {  # every parameter that trains on the pretrained path (nothing of the trunk)
    "cfnet-conv2": ADJUST | {"gain", "bias"},
    "adacfnet": ADJUST
    | {
        "gain",
        "bias",
        "backbone.attention.0.reduce.weight",
        "backbone.attention.0.reduce.bias",
        "backbone.attention.0.expand.weight",
        "backbone.attention.0.expand.bias",
    },
    "rasnet": ADJUST
    | {
        "bias",
        "general_attention.weight",
        "channel_attention.reduce.weight",
        "channel_attention.reduce.bias",
        "channel_attention.expand.weight",
        "channel_attention.expand.bias",
        "residual_attention.stem.0.weight",
        "residual_attention.stem.0.bias",
        "residual_attention.head.weight",
        "residual_attention.head.bias",
    }
    | {
        f"residual_attention.{part}.{level}.0.{kind}"
        for part in ("encoder", "decoder")
        for level in (0, 1)
        for kind in ("weight", "bias")
    },
}


@pytest.fixture(scope="module")
def heads():
    torch.set_num_threads(1)
    models = {}
    for name in HEADS:
        torch.manual_seed(0)
        models[name] = build_model(name, **LITE).eval()
    return models


@pytest.fixture(scope="module")
def texture():
    """A smooth random texture larger than a 257-px crop (crops of it at 8-px offsets are shifted targets)."""
    rng = np.random.default_rng(0)
    small = torch.from_numpy(rng.uniform(0, 255, (1, 3, 41, 41)).astype(np.float32))
    return torch.nn.functional.interpolate(small, size=(321, 321), mode="bilinear", align_corners=False)


@pytest.mark.parametrize("name", HEADS)
def test_only_the_head_trains_and_the_trunk_keeps_imagenet_bn(heads, name):
    model = heads[name]
    assert {n for n, p in model.named_parameters() if p.requires_grad} == TRAINED[name]
    model.train()
    try:
        assert not any(m.training for m in model.backbone.trunk.modules())  # ImageNet BN statistics, always
        assert model.backbone.adjust.training
        images = torch.rand(2, 3, 257, 257) * 255
        model(images[:1], images).square().mean().backward()
        assert all(p.grad is not None for n, p in model.named_parameters() if n in TRAINED[name])
        assert all(p.grad is None for n, p in model.named_parameters() if n.startswith("backbone.trunk."))
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()
    assert model.tracking_params == {"exemplar_size": 257, "instance_size": 257}


@pytest.mark.parametrize("name", HEADS)
def test_trained_file_holds_the_head_and_rebuilds_the_same_network(heads, name, tmp_path):
    torch.manual_seed(1)
    model = build_model(name, **LITE)
    with torch.no_grad():  # move every trained value (and the adjust BN statistics) away from any initialisation
        for key in TRAINED[name]:
            parameter = model.get_parameter(key)
            parameter.add_(torch.randn_like(parameter) * 0.1)
        model.backbone.adjust[1].running_mean.uniform_(-1, 1)
        model.backbone.adjust[1].running_var.uniform_(0.5, 2)
    saved = trained_state_dict(model)
    assert not any(key.startswith("backbone.trunk.") for key in saved)
    assert set(saved) | set(pretrained_keys(model)) == set(model.state_dict())
    path = tmp_path / "model.pth"
    torch.save({"state_dict": saved, "model_name": name, "model_config": dict(LITE)}, path)
    torch.manual_seed(2)  # the rebuilt network's random head differs until the file is loaded
    rebuilt = model_from_weights(name, read_weights(path), f"{name}-lite").eval()
    model.eval()
    images = torch.rand(2, 3, 257, 257) * 255
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(images[:1], images), model(images[:1], images))
    missing = {key: value for key, value in saved.items() if key not in ("bias",)}
    with pytest.raises(ValueError, match="missing"):
        model_from_weights(name, Weights(missing, name, dict(LITE), "x.pth"), "t")


@pytest.mark.parametrize("name", HEADS)
def test_template_from_cached_trunk_maps_is_the_template(heads, name):
    """What the feature-cache trainer computes from stage-5 (and, with a fine-tuned stage, stage-4) maps is what
    tracking computes from the image."""
    model = heads[name]
    images = torch.rand(2, 3, 257, 257) * 255
    with torch.no_grad():
        maps = model.backbone.trunk.features(images, [4, 5])
        expected = model.template(images)
        torch.testing.assert_close(model.template_from_features(maps[5], 5), expected)
        torch.testing.assert_close(model.template_from_features(maps[4], 4), expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model.backbone.forward_from(maps[5], 5), model.embed(images))


@pytest.mark.parametrize("name", HEADS)
def test_scores_peak_where_the_exemplar_is_in_the_search_crop(heads, name, texture):
    """A 257-px crop matched against itself peaks at the centre of the score map; the same texture cropped d px
    further (d a multiple of the stride 8) moves the peak by -d/8 cells. Closed form: a template made of the
    exemplar's own features (SiamFC and RASNet: its centre cells, re-weighted by positive attentions; CFNet: the
    filter solved to answer the exemplar with a Gaussian peaked at zero shift) correlates best at zero shift, and
    the embedding is shift-equivariant at stride 8 away from the borders. A mis-centred template crop or filter
    crop moves every peak."""
    model = heads[name]
    exemplar = texture[..., 32:289, 32:289]
    size = {"cfnet-conv2": 21, "adacfnet": 21, "rasnet": 27}[name]  # 33 - 13 + 1 and 33 - 7 + 1
    for dy, dx in ((0, 0), (16, -8), (-24, 16), (8, 32)):
        search = texture[..., 32 + dy : 289 + dy, 32 + dx : 289 + dx]
        with torch.no_grad():
            scores = model(exemplar, search)[0, 0]
        assert scores.shape == (size, size)
        row, column = np.unravel_index(int(scores.argmax()), scores.shape)
        assert (row - size // 2, column - size // 2) == (-dy // 8, -dx // 8), (name, dy, dx)


@pytest.mark.parametrize("name", ["cfnet-conv2", "adacfnet"])
def test_cf_template_is_the_centre_13x13_of_the_filter_learned_on_the_whole_map(heads, name):
    model = heads[name]
    image = torch.rand(1, 3, 257, 257) * 255
    with torch.no_grad():
        features = model.embed(image)
        full = CorrelationFilter(lam=model.filter.lam, sigma=model.filter.sigma, margin=0)(features)
        template = model.template(image)
    assert model.filter.margin == 10 and full.shape[-2:] == (33, 33)  # CFNet-conv2's filter extent (CFNetNet)
    torch.testing.assert_close(template, center_cells(full, 13))


def test_adacfnet_se_rescales_the_embedding_and_without_it_is_cfnet(heads):
    """The SE block's weights multiply the adjust layer's channels; ``attention=False`` is CFNet-conv2's network."""
    adacfnet, cfnet = heads["adacfnet"], heads["cfnet-conv2"]
    images = torch.rand(2, 3, 257, 257) * 255
    with torch.no_grad():
        features, weights = adacfnet.embed_with_weights(images)
        plain = adacfnet.backbone.adjust(adacfnet.backbone.trunk.features(images, [5])[5])
        assert set(weights) == {"se1"} and weights["se1"].shape == (2, 128)
        assert not torch.allclose(weights["se1"][0], weights["se1"][1])  # input-conditioned
        torch.testing.assert_close(features, plain * weights["se1"][:, :, None, None])
        torch.manual_seed(3)
        ablated = build_model("adacfnet", attention=False, **LITE).eval()
        assert set(ablated.state_dict()) == set(cfnet.state_dict())
        ablated.load_state_dict(cfnet.state_dict())
        torch.testing.assert_close(ablated(images[:1], images), cfnet(images[:1], images))


def test_rasnet_template_is_the_attention_weighted_centre(heads):
    """At initialisation ρ̃ = 0 and ρ̄ = 1 (Eq. 9), so γ ⊙ φ(z) = β ⊙ centre cells (Eq. 7-8, 10)."""
    model = heads["rasnet"]
    image = torch.rand(1, 3, 257, 257) * 255
    with torch.no_grad():
        centre = center_cells(model.embed(image), 7)
        beta = model.channel_attention.channel_weights(centre)[:, :, None, None]
        torch.testing.assert_close(model.template(image), beta * centre)
    assert model.general_attention.weight.shape == (1, 7, 7)


def test_pretrained_path_arguments_are_checked():
    with pytest.raises(ValueError, match="width"):
        build_model("cfnet-conv2", width=0.5, **LITE)
    with pytest.raises(ValueError, match="conv2"):
        build_model("cfnet-conv1", **LITE)
    with pytest.raises(ValueError, match="width"):
        build_model("rasnet", width=0.5, **LITE)


# ------------------------------------------------------------------------------------------------ trackers


@pytest.mark.parametrize(
    "name, model_name, response_up",
    [("cfnet-lite", "cfnet-conv2", 16), ("adacfnet-lite", "adacfnet", 16), ("rasnet-lite", "rasnet", 16)],
)
def test_lite_trackers_use_the_networks_crops_and_refuse_alexnet_weights(name, model_name, response_up):
    torch.set_num_threads(1)
    tracker = build_tracker(name, weights="random", device="cpu")
    assert tracker.model.pretrained_backbone
    assert (tracker.params.exemplar_size, tracker.params.instance_size) == (257, 257)  # not the Params' 255
    assert tracker.params.response_up == response_up
    assert build_tracker(name, weights="random", device="cpu", instance_size=225).params.instance_size == 225
    with pytest.raises(ValueError, match="AlexNet"):
        build_tracker(name, weights=BUNDLED_WEIGHTS / f"{model_name}.pth", device="cpu")
    frames = [np.full((160, 200, 3), 40, np.uint8) for _ in range(2)]
    for offset, frame in enumerate(frames):
        frame[60 + 3 * offset : 92 + 3 * offset, 80:112] = (200, 120, 60)
    tracker.init(frames[0], [80, 60, 32, 32])
    box = tracker.update(frames[1])
    assert box.shape == (4,) and np.isfinite(box).all()
    if name == "adacfnet-lite":
        assert tracker.extras["channel_weights"]["exemplar"]["se1"].shape == (1, 128)


# ------------------------------------------------------------------------------------- feature-cache training


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    sequences = [synthetic_sequence(f"s{i}", 10, seed=i) for i in range(2)]
    return curate(
        sequences, CropSettings(context_size=63, crop_size=193), tmp_path_factory.mktemp("curated"), progress=False
    )


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")  # one feature cache for the three models (same trunk and stage)


CONFIGS = {
    "cfnet-conv2": "cfnet-lite0-cached.yaml",
    "adacfnet": "adacfnet-lite0-cached.yaml",
    "rasnet": "rasnet-lite0-cached.yaml",
}


def cached_config(name: str, curated, cache_root):
    """The repository's config for ``name`` on the tiny synthetic curated data: 129-px windows (17x17 cells, so
    the CF crop margin is 4: 9x9 filters), 16 channels, 2 iterations of batch 4."""
    overrides = [
        f"data.curation.directory={curated}",
        f"data.curation.cache_dir={cache_root / 'curated'}",
        "data.sources=[]",
        "data.exemplar_size=129",
        "data.instance_size=129",
        "data.max_gap=4",
        "data.pairs_per_epoch=8",
        "model.args.channels=16",
        "train.batch_size=4",
        "train.epochs=1",
        "train.progress=false",
        "train.feature_shift=4",
        "train.feature_precision=float32",
    ]
    if name != "rasnet":
        overrides.append("model.args.margin=4")
    return load_config(PRETRAINED_CONFIGS / CONFIGS[name], overrides)


@pytest.mark.parametrize("name", HEADS)
def test_feature_cache_trains_each_head_with_its_papers_loss(name, curated, cache_root, tmp_path):
    from siamtrack.training.run_folder import seed_everything

    config = cached_config(name, curated, cache_root)
    assert config.model.name == name and config.train.feature_cache
    path = train(config, tmp_path / "run")
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert len(log) == 1 + 2 and all(np.isfinite(float(row.split(",")[3])) for row in log[1:])
    weights = read_weights(path)
    assert weights.model_name == name and weights.model_config == dict(config.model.args)
    seed_everything(config.train.seed)  # the network the run started from
    initial = build_model(name, **config.model.args)
    assert set(weights.state_dict) == set(trained_state_dict(initial))
    assert not torch.equal(
        weights.state_dict["backbone.adjust.0.weight"], initial.state_dict()["backbone.adjust.0.weight"]
    )  # two steps moved the head
    rebuilt = model_from_weights(name, weights, name).eval()
    with torch.no_grad():
        scores = rebuilt(torch.rand(1, 3, 129, 129) * 255, torch.rand(2, 3, 129, 129) * 255)
    assert scores.shape == ((2, 1, 9, 9) if name != "rasnet" else (2, 1, 11, 11))


def test_lite_configs_share_the_siamfc_lite_data_and_schedule():
    """Same data, crops, labels, optimiser and schedule as siamfc-lite0-cached.yaml; only model and loss differ,
    each the paper's (CFNet: balanced logistic; AdaCFNet: focal logistic, plain mean; RASNet: bundled RASNet's)."""
    reference = config_to_dict(load_config("bundled/pretrained/siamfc-lite0-cached"))
    losses = {
        "cfnet-conv2": ("logistic", True, None),
        "adacfnet": ("focal_logistic", False, None),
        "rasnet": ("logistic", True, 100.0),
    }
    for name, file in CONFIGS.items():
        config = config_to_dict(load_config(PRETRAINED_CONFIGS / file))
        for section in ("data", "augment", "labels", "optim", "train"):
            assert config[section] == reference[section], (file, section)
        assert config["model"]["name"] == name and config["model"]["args"]["backbone"] == "efficientnet-lite0"
        loss = config["loss"]
        assert (loss["name"], loss["balanced"], loss["temporal_sigma"]) == losses[name] and loss["args"] == {}


# --------------------------------------------------------------------------------------- AlexNet path unchanged


@pytest.mark.parametrize("name", HEADS)
def test_alexnet_path_keys_and_outputs_are_unchanged(name):
    """The bundled file's keys are the model's and load strictly; a seeded half-width model gives the outputs
    recorded before the pretrained path was added (tests/fixtures/alexnet_heads_reference.pt: same init order,
    same functions)."""
    weights = read_weights(BUNDLED_WEIGHTS / f"{name}.pth")
    assert set(build_model(name, width=0.5).state_dict()) == set(weights.state_dict)
    model = build_model(name, **weights.model_config)
    model.load_state_dict(weights.state_dict)  # strict
    assert not model.pretrained_backbone and model.pretrained_keys() == [] and model.tracking_params == {}
    reference = torch.load(REPO / "tests" / "fixtures" / "alexnet_heads_reference.pt", weights_only=True)[name]
    images = torch.rand(3, 3, 255, 255, generator=torch.Generator().manual_seed(123)) * 255
    exemplar = images[:1, :, 64:191, 64:191] if name == "rasnet" else images[:1]
    torch.manual_seed(0)
    seeded = build_model(name, width=0.5).eval()
    with torch.no_grad():
        scores = seeded(exemplar, images[1:])
    scale = float(reference.abs().max())
    torch.testing.assert_close(scores, reference, rtol=1e-4, atol=1e-5 * scale)
