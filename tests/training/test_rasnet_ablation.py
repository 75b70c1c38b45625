"""RASNet ablation tooling: the loop's per-epoch snapshots (``train.epoch_snapshots``), validation and epoch
logs in ``log.csv`` format (drawn by the training package's ``plot_losses``), and the general-attention plot."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from training_support import TinySiamese, synthetic_sequence, tiny_config_dict

from siamtrack.training.config import config_from_dict, dump_config, load_config
from siamtrack.models import build_model
from siamtrack.training.curation import CropSettings, curate, load_curated
from siamtrack.training.loop import batch_loss, pair_settings, train
from siamtrack.training.pairs import PairDataset
from siamtrack.training.plots import plot_losses, read_log
from siamtrack.models import read_weights
from rasnet_curves import epoch_log, general_attention, plot_general_attention, snapshots, validation_log


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 3-epoch run of the tests' tiny Siamese model with ``epoch_snapshots``, and validation batches."""
    sequences = [synthetic_sequence(f"s{i}", 14, seed=i) for i in range(2)]
    curated = str(
        curate(sequences, CropSettings(context_size=31, crop_size=79), tmp_path_factory.mktemp("cache"), progress=False)
    )
    config = config_from_dict(
        tiny_config_dict(curated, train={"epochs": 3, "epoch_snapshots": True}, loss={"temporal_sigma": 100.0})
    )
    run_dir = tmp_path_factory.mktemp("run")
    train(config, run_dir)
    dataset = PairDataset(load_curated(curated)[1], pair_settings(config, 9), config.data.max_gap, seed=11)
    items = [dataset[(0, k)] for k in range(6)]
    batches = [
        {key: torch.stack([item[key] for item in items[k : k + 4]]) for key in ("exemplar", "instance", "label", "gap")}
        for k in (0, 4)
    ]
    return config, run_dir, batches


def test_epoch_snapshots_are_the_model_after_each_epoch(tiny_run):
    _, run_dir, _ = tiny_run
    found = snapshots(run_dir)
    assert [epoch for epoch, _ in found] == [1, 2, 3]
    last = torch.load(found[-1][1], weights_only=True)
    final = read_weights(run_dir / "model.pth").state_dict
    assert all(torch.equal(last[key], final[key]) for key in final)
    first = torch.load(found[0][1], weights_only=True)
    assert not all(torch.equal(first[key], final[key]) for key in final)  # training moved on


def test_validation_log_scores_every_snapshot_with_the_runs_objective(tiny_run):
    config, run_dir, batches = tiny_run
    path = validation_log(run_dir, batches)
    log = read_log(path)
    assert log["epoch"].tolist() == [0, 1, 2] and log["step"].tolist() == [2, 5, 8]  # 3 iterations per epoch
    model = TinySiamese()
    model.load_state_dict(read_weights(run_dir / "model.pth").state_dict)
    model.eval()
    with torch.no_grad():  # Ω-weighted objective, pair-weighted mean over the two batches (4 + 2 pairs)
        expected = (
            sum(float(batch_loss(model(b["exemplar"], b["instance"]), b, config)) * len(b["gap"]) for b in batches) / 6
        )
    assert log["loss"][-1] == pytest.approx(expected, rel=1e-6)
    train_log = read_log(epoch_log(run_dir))
    with open(run_dir / "epochs.csv", newline="") as handle:
        means = [float(row["mean_loss"]) for row in csv.DictReader(handle)]
    np.testing.assert_allclose(train_log["loss"], means)
    assert train_log["step"].tolist() == [2, 5, 8]
    png = plot_losses(
        [run_dir / "train-epochs.csv", path],
        run_dir / "curves.png",
        labels=["train", "val"],
        smooth=1,
        ylabel="objective",
    )
    assert png.stat().st_size > 1000


def test_validation_log_needs_snapshots(tmp_path):
    (tmp_path / "config.yaml").write_text(dump_config(load_config("bundled/rasnet-ablation")))
    with pytest.raises(FileNotFoundError, match="epoch_snapshots"):
        validation_log(tmp_path, batches=[])


def test_general_attention_plot_reads_the_learned_map(tmp_path):
    joint = build_model("rasnet", width=1 / 32, residual=False, channel=False)
    full = build_model("rasnet", width=1 / 32, channel=False, form="full")
    runs = {}
    for label, model in (("GenAtt", joint), ("RASNet-full", full)):
        (tmp_path / label / "epochs").mkdir(parents=True)
        for epoch in range(1, 6):
            with torch.no_grad():
                model.general_attention.weight.fill_(1.0).mul_(epoch)
            torch.save(model.state_dict(), tmp_path / label / "epochs" / f"model-{epoch:03d}.pth")
        runs[label] = tmp_path / label
    state = torch.load(tmp_path / "RASNet-full" / "epochs" / "model-005.pth", weights_only=True)
    assert state["general_attention.weight"].shape == (8, 6, 6)
    np.testing.assert_allclose(general_attention(state), np.full((6, 6), 5.0))
    assert general_attention(build_model("rasnet", width=1 / 32, general=False).state_dict()) is None
    png = plot_general_attention(runs, tmp_path / "attention.png")
    assert png.stat().st_size > 1000
    with pytest.raises(ValueError, match="no snapshot of epoch 9"):
        plot_general_attention(runs, tmp_path / "attention.png", epochs=[9])
