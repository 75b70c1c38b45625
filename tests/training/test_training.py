"""The training loop on a tiny model and synthetic data: outputs, schedules, checkpoints, bit-for-bit resume
(in process and after a real SIGKILL of the CLI), and DDP with two gloo processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from training_support import TinySiamese, synthetic_sequence, tiny_config_dict

from siamtrack.training.config import ConfigError, config_from_dict
from siamtrack.training.checkpoint import load_checkpoint, rng_state, save_atomically, set_rng_state
from siamtrack.training.curation import CropSettings, curate
from siamtrack.training.loop import train
from siamtrack.training.plots import plot_losses, read_log
from siamtrack.models import read_weights

TESTS = Path(__file__).resolve().parents[1]  # tests/, holding the *_support helpers
REPO = TESTS.parent


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    sequences = [synthetic_sequence(f"s{i}", 14, seed=i, absent=(5,) if i == 1 else ()) for i in range(3)]
    return str(
        curate(sequences, CropSettings(context_size=31, crop_size=79), tmp_path_factory.mktemp("cache"), progress=False)
    )


def _config(curated, **sections):
    return config_from_dict(tiny_config_dict(curated, **sections))


def test_training_writes_its_outputs(curated, tmp_path):
    config = _config(curated, train={"epochs": 3})
    model_path = train(config, tmp_path)
    assert model_path == tmp_path / "model.pth"
    weights = read_weights(model_path)  # the state dict with the model's registry name and config
    assert weights.model_name == config.model.name and weights.model_config == dict(config.model.args)
    state = weights.state_dict
    TinySiamese().load_state_dict(state)
    checkpoint = torch.load(tmp_path / "checkpoint.pth", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 3 and checkpoint["iteration"] == 0
    for key, value in state.items():
        assert torch.equal(checkpoint["model"][key], value)
    log = read_log(tmp_path / "log.csv")
    assert log["step"].tolist() == list(range(9)) and log["epoch"].tolist() == [0] * 3 + [1] * 3 + [2] * 3
    np.testing.assert_allclose(log["loss"], checkpoint["history"]["loss"].numpy())
    np.testing.assert_allclose(np.unique(log["lr"])[::-1], np.logspace(-2, -3, 3))  # lr_start -> lr_end
    assert 0.5 < log["loss"][0] < 0.9  # balanced logistic loss of a near-zero score map: log(2)
    saved = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert config_from_dict(saved) == config
    assert (tmp_path / "losses.png").stat().st_size > 1000
    assert (tmp_path / "epochs.csv").read_text().count("\n") == 4


def _forward_passes(calls: Path) -> int:
    """Training-mode forward passes recorded by TinySiamese(calls=...) so far."""
    return len(calls.read_text().splitlines()) if calls.exists() else 0


@pytest.mark.parametrize("stop_after", [3, 4])
def test_resume_continues_bit_for_bit(curated, tmp_path, stop_after):
    """A resumed run starts from the checkpoint: it does only the iterations the checkpoint had not done yet, its
    numbers come from the checkpoint's state (a perturbed checkpoint gives other weights), and it ends where a run
    without interruption ends. (Training is seeded, so retraining from scratch would reach the same weights too:
    only the work counted and the perturbed checkpoint tell a resume from a restart.)"""
    calls = tmp_path / "calls.txt"
    config = _config(curated, model={"args": {"calls": str(calls)}})  # 2 epochs of 3 iterations, checkpoint
    train(config, tmp_path / "straight")  # every 2 iterations and at epoch ends
    assert _forward_passes(calls) == 6
    assert train(config, tmp_path / "killed", stop_after=stop_after) is None
    assert _forward_passes(calls) == 6 + stop_after
    assert not (tmp_path / "killed" / "model.pth").exists()
    checkpoint = load_checkpoint(tmp_path / "killed" / "checkpoint.pth")
    saved = len(checkpoint["history"]["loss"])  # iterations the checkpoint holds: 2 (stop after 3), 3 (after 4)
    assert saved == {3: 2, 4: 3}[stop_after]
    shutil.copytree(tmp_path / "killed", tmp_path / "perturbed")
    train(config, tmp_path / "killed", resume=True)
    assert _forward_passes(calls) == 6 + stop_after + (6 - saved)  # only the iterations after the checkpoint
    straight = read_weights(tmp_path / "straight" / "model.pth").state_dict
    resumed = read_weights(tmp_path / "killed" / "model.pth").state_dict
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    assert (tmp_path / "straight" / "log.csv").read_text() == (tmp_path / "killed" / "log.csv").read_text()
    # the checkpoint's weights are the ones training continues from: move its bias and the result moves with it
    checkpoint["model"]["bias"] = checkpoint["model"]["bias"] + 0.5
    save_atomically(checkpoint, tmp_path / "perturbed" / "checkpoint.pth")
    train(config, tmp_path / "perturbed", resume=True)
    perturbed = read_weights(tmp_path / "perturbed" / "model.pth").state_dict
    assert perturbed["bias"].item() == pytest.approx(straight["bias"].item() + 0.5, abs=0.1)
    log = read_log(tmp_path / "perturbed" / "log.csv")["loss"]
    np.testing.assert_array_equal(log[:saved], read_log(tmp_path / "straight" / "log.csv")["loss"][:saved])
    assert not np.any(log[saved:] == read_log(tmp_path / "straight" / "log.csv")["loss"][saved:])


def test_run_directory_guards(curated, tmp_path):
    config = _config(curated, train={"epochs": 1})
    train(config, tmp_path)
    with pytest.raises(FileExistsError, match="--resume"):
        train(config, tmp_path)
    with pytest.raises(ConfigError, match="optim.lr_start"):
        train(_config(curated, train={"epochs": 1}, optim={"lr_start": 0.1}), tmp_path, resume=True)
    with pytest.raises(ConfigError, match="needs ±1 labels"):
        train(_config(curated, labels={"kind": "gaussian"}), tmp_path / "other")


def test_other_losses_and_adam_train(curated, tmp_path):
    gaussian = _config(
        curated,
        labels={"kind": "gaussian", "sigma_factor": 0.1},
        loss={"name": "l2", "balanced": False},
        optim={"name": "adam", "lr_start": 1e-3, "lr_end": 1e-4},
        train={"epochs": 1, "channels_last": True},
    )
    train(gaussian, tmp_path / "l2")
    temporal = _config(curated, loss={"name": "bce", "balanced": True, "temporal_sigma": 100.0}, train={"epochs": 1})
    train(temporal, tmp_path / "bce")
    for run in ("l2", "bce"):
        assert np.all(np.isfinite(read_log(tmp_path / run / "log.csv")["loss"]))


def test_model_with_the_wrong_score_map_is_reported(curated, tmp_path):
    config = _config(curated, data={"instance_size": 47}, train={"epochs": 1})  # 47 -> 5x5 maps, fine
    train(config, tmp_path / "ok")
    with pytest.raises(ValueError, match="B, 1, S, S"):
        train(_config(curated, model={"name": "training_support:TwoOutputs"}), tmp_path / "bad")


def test_checkpoint_helpers(tmp_path):
    path = tmp_path / "state.pth"
    save_atomically({"a": torch.arange(3), "b": [1, "x", None]}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pth"]
    assert load_checkpoint(path)["b"] == [1, "x", None]
    import random

    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    state = rng_state()
    save_atomically(state, path)
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    set_rng_state(load_checkpoint(path))
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert [random.random() for _ in range(3)] == expected[2]
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pth"):
        load_checkpoint(tmp_path / "bad.pth")


def test_plot_losses_and_log_errors(curated, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("step,epoch,iteration,loss,lr\n0,0,0,0.7,0.01\n1,0,1,0.6,0.01\n2,1,0,0.5,0.001\n")
    png = plot_losses([log, log], tmp_path / "curves.png", labels=["a", "b"], smooth=2)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log.write_text("step,epoch,iteration,loss,lr\n0,0,0,0.7,0.01\n1,0,1,oops,0.01\n")
    with pytest.raises(ValueError, match="log.csv:3"):
        read_log(log)


# ------------------------------------------------------------------------------------ a real kill of the CLI


def test_cli_resumes_bit_for_bit_after_sigkill(curated, tmp_path):
    sections = dict(data={"pairs_per_epoch": 16}, train={"epochs": 2, "checkpoint_every": 1})
    calls = tmp_path / "calls.txt"
    killed_config = tiny_config_dict(
        curated, model={"name": "training_support:TinySiamese", "args": {"delay": 0.2, "calls": str(calls)}}, **sections
    )
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(yaml.safe_dump(killed_config))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    command = [
        sys.executable,
        "-m",
        "siamtrack.cli",
        "train",
        "--config",
        str(config_path),
        "--run-dir",
        str(tmp_path / "run"),
    ]
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    checkpoint = tmp_path / "run" / "checkpoint.pth"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists() and len(load_checkpoint(checkpoint)["history"]["loss"]) >= 3:
            break  # killed with 5 of its 8 iterations to go (0.2 s each)
        time.sleep(0.02)
    assert process.poll() is None, process.stdout.read().decode()
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "run" / "model.pth").exists()
    saved = len(load_checkpoint(checkpoint)["history"]["loss"])  # iterations the checkpoint holds
    assert 3 <= saved < 8
    before = len(calls.read_text().splitlines())
    done = subprocess.run(command + ["--resume"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # the resumed process did only the 8 - saved iterations after the checkpoint (a restart would do all 8)
    assert len(calls.read_text().splitlines()) - before == 8 - saved
    straight_config = config_from_dict(tiny_config_dict(curated, **sections))  # same numbers, no delay
    train(straight_config, tmp_path / "straight")
    straight = read_weights(tmp_path / "straight" / "model.pth").state_dict
    resumed = read_weights(tmp_path / "run" / "model.pth").state_dict
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    np.testing.assert_array_equal(
        read_log(tmp_path / "run" / "log.csv")["loss"], read_log(tmp_path / "straight" / "log.csv")["loss"]
    )


# ----------------------------------------------------------------------------------------------- DDP


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ddp_worker(rank: int, world_size: int, port: int, config_dict: dict, run_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size)
    )
    torch.set_num_threads(1)
    try:
        train(config_from_dict(config_dict), run_dir)
    finally:
        torch.distributed.destroy_process_group()


def test_two_gloo_processes_follow_the_single_process_trajectory(curated, tmp_path):
    # a learning rate large enough for the loss to move (by ~4e-3 over the 6 steps; at 1e-2 it moves by 1e-5, and
    # any trajectory would be within a loose tolerance of log 2): each process's loss after step 0 depends on
    # weights that the synced gradients produced, so a DDP without gradient sync leaves the single-process
    # losses by 4e-5 .. 8e-4 from step 1 on, while with sync they agree to ~1e-7 (float summation order)
    config_dict = tiny_config_dict(
        curated,
        model={"name": "training_support:TinySiamese", "args": {"dropout": 0.0}},
        optim={"lr_start": 1.0, "lr_end": 0.3},
    )
    train(config_from_dict(config_dict), tmp_path / "single")
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), config_dict, str(tmp_path / "ddp")), nprocs=2)
    single, ddp = read_log(tmp_path / "single" / "log.csv"), read_log(tmp_path / "ddp" / "log.csv")
    assert len(ddp["loss"]) == len(single["loss"]) == 6
    assert np.ptp(single["loss"]) > 2e-3  # the trajectory moves far more than the tolerance below
    np.testing.assert_allclose(ddp["loss"], single["loss"], rtol=0, atol=1e-6)
    single_state = read_weights(tmp_path / "single" / "model.pth").state_dict
    ddp_state = read_weights(tmp_path / "ddp" / "model.pth").state_dict
    for key in single_state:
        torch.testing.assert_close(ddp_state[key], single_state[key], rtol=1e-5, atol=1e-6)
