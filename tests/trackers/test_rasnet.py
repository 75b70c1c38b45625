"""RASNet: attention shapes and initial values, the weighted cross-correlation (Eq. 6 and 8) against a direct
triple sum, gradients, the ablation switches, the temporal pair weighting (Eq. 12-13) as the training loop
applies it, and the tracker: first-frame template folding equals the training-time weighted correlation, the
attention nets never run after the first frame, real frames, weights files and the command line."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from conftest import REPO_ROOT, shared_path
from siamtrack.training.config import config_from_dict, load_config
from siamtrack.losses import logistic_loss
from siamtrack.models import Weights, build_model
from siamtrack.models.attention import GeneralAttention, ResidualAttention, SqueezeExcitation
from siamtrack.models.correlation import xcorr
from siamtrack.trackers import build_tracker
from siamtrack.trackers.rasnet import RASNetParams, RASNetTracker
from siamtrack.trackers.search import context_side, crop_pyramid
from siamtrack.training.loop import batch_loss

WIDTH = 0.125  # 32 output channels: fast on 2 CPU cores, same structure as the paper's network


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every attention parameter and BN statistic a non-trivial value (the initial ρ̄ = 1, ρ̃ = 0 would
    hide mistakes), in place; returns the model in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if not name.startswith("backbone"):
                parameter.copy_(
                    torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * 0.5
                    + (1.0 if name == "general_attention.weight" else 0.0)
                )
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1, generator=generator)
                module.running_var.uniform_(0.5, 2, generator=generator)
    return model.eval()


def direct_weighted_correlation(
    weights: torch.Tensor, exemplar: torch.Tensor, instance: torch.Tensor, bias: float
) -> torch.Tensor:
    """RASNet Eq. 6 for one pair, literally: ``f[p', q'] = Σ_i Σ_j Σ_c γ_ijc φ_ijc(z) φ_(p'+i)(q'+j)c(x) + b``
    with ``weights`` ``γ`` ``(d, m, n)``, ``exemplar`` ``(d, m, n)``, ``instance`` ``(d, p, q)``."""
    d, m, n = exemplar.shape
    _, p, q = instance.shape
    out = torch.empty(p - m + 1, q - n + 1, dtype=exemplar.dtype)
    for row in range(p - m + 1):
        for col in range(q - n + 1):
            total = 0.0
            for i in range(m):
                for j in range(n):
                    total = total + (weights[:, i, j] * exemplar[:, i, j] * instance[:, row + i, col + j]).sum()
            out[row, col] = total + bias
    return out


# ------------------------------------------------------------------------------------------- attention


def test_attention_shapes_in_the_joint_and_full_forms():
    torch.manual_seed(0)
    exemplar = torch.rand(3, 3, 127, 127) * 255
    joint = build_model("rasnet", width=WIDTH).eval()
    with torch.no_grad():
        features = joint.embed(exemplar)
        maps = joint.attention_maps(features)
        assert features.shape == (3, 32, 6, 6)
        assert maps["general"].shape == (1, 1, 6, 6)  # ρ̄: one 6x6 map for every target (m·n values)
        assert maps["residual"].shape == (3, 1, 6, 6)  # ρ̃: per target
        assert maps["dual"].shape == (3, 1, 6, 6)
        assert maps["channel"].shape == (3, 32, 1, 1)  # β: d values per target
        assert joint.attention(features).shape == (3, 32, 6, 6)
        assert joint.template(exemplar).shape == (3, 32, 6, 6)
        assert joint(exemplar[:1], torch.rand(2, 3, 255, 255) * 255).shape == (2, 1, 17, 17)
    full = build_model("rasnet", width=WIDTH, form="full", channel=False).eval()
    with torch.no_grad():
        maps = full.attention_maps(full.embed(exemplar))
    assert maps["general"].shape == (1, 32, 6, 6) and maps["residual"].shape == (3, 32, 6, 6)  # m·n·d
    assert full.general_attention_map().shape == (6, 6)
    assert build_model("rasnet").channel_attention.reduce.out_features == 64  # d = 256, r = 4


def test_initial_attention_is_siamfc_uniform_weighting():
    """ρ̄ starts as a matrix of ones (Sec. 3.3) and the residual hourglass's last layer at zero, so ρ = 1."""
    torch.manual_seed(1)
    model = build_model("rasnet", width=WIDTH).eval()
    torch.testing.assert_close(model.general_attention_map(), torch.ones(6, 6))
    with torch.no_grad():
        maps = model.attention_maps(model.embed(torch.rand(2, 3, 127, 127) * 255))
    torch.testing.assert_close(maps["dual"], torch.ones(2, 1, 6, 6))
    assert model.bias.item() == 0.0 and model.score_scale == 1e-3


def test_channel_attention_is_the_shared_se_block_eq10():
    """β = sigmoid(W2 relu(W1 mean(z))) with d -> d/4 -> d (r = 4), computed from the exemplar features."""
    model = randomise(build_model("rasnet", width=WIDTH, general=False, residual=False))
    assert isinstance(model.channel_attention, SqueezeExcitation) and model.channel_attention.reduction == 4
    features = torch.randn(2, 32, 6, 6)
    se = model.channel_attention
    expected = torch.sigmoid(se.expand(torch.relu(se.reduce(features.mean(dim=(2, 3))))))
    with torch.no_grad():
        torch.testing.assert_close(model.attention(features) * features, expected[:, :, None, None] * features)


def test_residual_hourglass_keeps_the_map_size_and_sees_the_whole_map():
    torch.manual_seed(2)
    hourglass = ResidualAttention(16, out_channels=1)
    nn.init.normal_(hourglass.head.weight)
    for size in (6, 5, 7):
        assert hourglass(torch.randn(2, 16, size, size)).shape == (2, 1, size, size)
    features = torch.randn(1, 16, 6, 6, requires_grad=True)
    hourglass(features)[0, 0, 0, 0].backward()  # the corner's attention depends on the far corner
    assert features.grad[0, :, 5, 5].abs().sum() > 0
    with pytest.raises(ValueError, match=r"ResidualAttention\(16\) expects"):
        hourglass(torch.randn(2, 8, 6, 6))


def test_general_attention_rejects_features_of_another_size():
    attention = GeneralAttention(6, 6)
    with pytest.raises(ValueError, match="exemplar crop size"):
        attention(torch.randn(1, 4, 7, 7))


# ------------------------------------------------------------------------------- weighted correlation


@pytest.mark.parametrize("form", ["joint", "full"])
def test_weighted_correlation_equals_the_direct_triple_sum(form):
    """Eq. 8 (joint: γ_ijc = ρ_ij β_c) and Eq. 6 (full: γ_ijc) against the literal sum, on random features."""
    torch.manual_seed(3)
    model = randomise(build_model("rasnet", width=WIDTH, form=form, channel=form == "joint"), seed=3).double()
    exemplar = torch.randn(2, 32, 6, 6, dtype=torch.float64)
    instance = torch.randn(2, 32, 9, 8, dtype=torch.float64)
    with torch.no_grad():
        maps = model.attention_maps(exemplar)
        scores = model.match(model.attention(exemplar) * exemplar, instance)
    assert scores.shape == (2, 1, 4, 3)
    for k in range(2):
        if form == "joint":  # ρ_ij β_c, with ρ = ρ̄ + ρ̃ (Eq. 9)
            rho = maps["general"][0, 0] + maps["residual"][k, 0]
            gamma = rho[None] * maps["channel"][k, :, 0, 0][:, None, None]
        else:
            gamma = maps["general"][0] + maps["residual"][k]
        expected = model.score_scale * direct_weighted_correlation(gamma, exemplar[k], instance[k], 0.0)
        torch.testing.assert_close(scores[k, 0], expected + model.bias.item(), rtol=1e-10, atol=1e-12)


def test_forward_is_the_weighted_correlation_of_the_embeddings():
    model = randomise(build_model("rasnet", width=WIDTH), seed=4).double()
    exemplar, instance = (
        torch.rand(1, 3, 127, 127, dtype=torch.float64) * 255,
        torch.rand(1, 3, 255, 255, dtype=torch.float64) * 255,
    )
    with torch.no_grad():
        z, x = model.embed(exemplar), model.embed(instance)
        expected = xcorr(model.attention(z) * z, x) * model.score_scale + model.bias
        torch.testing.assert_close(model(exemplar, instance), expected, rtol=1e-12, atol=1e-12)


def test_gradients_of_the_weighted_correlation():
    """Autograd through the attention nets and the correlation agrees with finite differences (gradcheck),
    and ∂Σf/∂ρ̄_ij has the closed form s Σ_{p',q'} Σ_c β_c φ_ijc(z) φ_(p'+i)(q'+j)c(x)."""
    torch.manual_seed(5)
    model = randomise(build_model("rasnet", width=1 / 32), seed=5).double()  # d = 8
    exemplar = torch.randn(1, 8, 6, 6, dtype=torch.float64, requires_grad=True)
    instance = torch.randn(1, 8, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda z, x: model.match(model.attention(z) * z, x), (exemplar, instance), fast_mode=True
    )

    model.zero_grad()
    model.match(model.attention(exemplar) * exemplar, instance).sum().backward()
    with torch.no_grad():
        beta = model.attention_maps(exemplar)["channel"][0, :, 0, 0]
        z, x = exemplar[0], instance[0]
        expected = torch.zeros(6, 6, dtype=torch.float64)
        for i in range(6):
            for j in range(6):
                windows = x[:, i : i + 3, j : j + 3].sum(dim=(1, 2))  # Σ over the 3x3 response positions
                expected[i, j] = model.score_scale * (beta * z[:, i, j] * windows).sum()
    torch.testing.assert_close(model.general_attention.weight.grad[0], expected, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------- ablation switches


def test_ablation_switches():
    torch.manual_seed(6)
    siamfc = randomise(build_model("rasnet", width=WIDTH, general=False, residual=False, channel=False), seed=6)
    assert [name for name, _ in siamfc.named_parameters() if not name.startswith("backbone")] == ["bias"]
    exemplar, instance = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 255, 255) * 255
    with torch.no_grad():  # no attention: RASNet Eq. 4, SiamFC with a bias
        plain = xcorr(siamfc.embed(exemplar), siamfc.embed(instance)) * 1e-3 + siamfc.bias
        torch.testing.assert_close(siamfc(exemplar, instance), plain)
    genatt = build_model("rasnet", width=WIDTH, residual=False, channel=False)
    assert [(n, p.numel()) for n, p in genatt.named_parameters() if not n.startswith("backbone")] == [
        ("bias", 1),
        ("general_attention.weight", 36),
    ]  # "only adds ... 36 floating point parameters"
    assert build_model("rasnet", width=WIDTH, general=False).general_attention_map() is None
    with pytest.raises(ValueError, match="full attention"):
        build_model("rasnet", form="full")
    with pytest.raises(ValueError, match="form"):
        build_model("rasnet", form="diagonal")


# ------------------------------------------------------------------------- temporal weighting (Eq. 12-13)


def test_training_loss_weights_each_pair_by_omega():
    """The loop's batch loss with ``loss.temporal_sigma: 100`` is Σ_pairs L(Z^i, X^j) Ω(i, j) / B (Eq. 11-13),
    Ω(i, j) = exp(-|i - j| / 100), and its gradient is the logistic gradient scaled by Ω."""
    config = load_config("bundled/rasnet")
    assert config.loss.temporal_sigma == 100 and not config.loss.balanced
    torch.manual_seed(7)
    scores = torch.randn(3, 1, 17, 17, dtype=torch.float64, requires_grad=True)
    labels = torch.where(torch.rand(3, 1, 17, 17) > 0.9, 1.0, -1.0).double()
    gaps = torch.tensor([0, 50, 100])
    loss = batch_loss(scores, {"label": labels, "gap": gaps}, config)
    omega = torch.tensor([1.0, math.exp(-0.5), math.exp(-1.0)], dtype=torch.float64)
    per_pair = logistic_loss(scores, labels, reduction="none")
    assert loss.item() == pytest.approx((per_pair * omega).sum().item() / 3, rel=1e-6)  # Ω in float32
    loss.backward()
    expected = -labels * torch.sigmoid(-labels * scores.detach()) / 289 * omega[:, None, None, None] / 3
    torch.testing.assert_close(scores.grad, expected, rtol=1e-6, atol=0)
    unweighted = config_from_dict({"loss": {"balanced": False}})
    assert batch_loss(scores, {"label": labels, "gap": gaps}, unweighted).item() == pytest.approx(
        per_pair.mean().item(), rel=1e-12
    )


def test_configs_follow_the_paper_and_ablation_rows_differ_only_in_attention():
    config = load_config("bundled/rasnet")
    optim = config.optim
    assert (optim.name, optim.momentum, optim.weight_decay, optim.lr_start, optim.lr_end) == (
        "sgd",
        0.9,
        5e-4,
        1e-2,
        1e-5,
    )
    assert (config.train.epochs, config.train.batch_size, config.data.max_gap) == (50, 32, 100)
    assert config.data.pairs_per_epoch * config.train.epochs == 3_000_000
    assert config.model.args == {
        "width": 1.0,
        "general": True,
        "residual": True,
        "channel": True,
        "form": "joint",
        "reduction": 4,
    }
    base = load_config("bundled/rasnet-ablation")
    rows = {
        name: load_config(f"bundled/rasnet-ablation-{name}")
        for name in ("siamfc", "genatt", "dualatt", "chanatt", "full")
    }
    switches = {
        name: tuple(row.model.args[k] for k in ("general", "residual", "channel", "form")) for name, row in rows.items()
    }
    assert switches == {
        "siamfc": (False, False, False, "joint"),
        "genatt": (True, False, False, "joint"),
        "dualatt": (True, True, False, "joint"),
        "chanatt": (False, False, True, "joint"),
        "full": (True, True, False, "full"),
    }
    for row in rows.values():
        assert row.model.args["width"] == base.model.args["width"]
        assert (row.data, row.loss, row.optim, row.train) == (base.data, base.loss, base.optim, base.train)
        build_model(row.model.name, **row.model.args)  # every row builds


# -------------------------------------------------------------------------------------------- tracker


def test_tracker_hyper_parameters_are_the_papers():
    params = RASNetParams()
    assert (params.num_scales, params.scale_step, params.scale_lr) == (3, 1.03, 0.56)
    np.testing.assert_allclose(params.scale_factors, [1 / 1.03, 1.0, 1.03])


def test_first_frame_folding_equals_training_time_weighted_correlation():
    """The tracker folds ρ and β into the template once; scoring a search crop with that template gives what
    the training forward pass (attention recomputed, BN not folded) gives on the same crops."""
    model = randomise(build_model("rasnet", width=WIDTH), seed=8)
    tracker = RASNetTracker(model, device="cpu")
    rng = np.random.default_rng(8)
    image = rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    box = np.array([120.0, 90.0, 48.0, 36.0])
    tracker.init(image, box)
    center, fill = box[:2] + box[2:] / 2, image.reshape(-1, 3).mean(axis=0)
    side = context_side(48.0, 36.0, 0.5)
    exemplar = crop_pyramid(image, center, [side], 127, fill).float()
    instances = crop_pyramid(image, center + 5, side * 255 / 127 * np.array([0.97, 1.0, 1.03]), 255, fill).float()
    with torch.no_grad():  # float32 with BN folded into the convolutions: agreement to ~1e-4 of the scale
        template = model.template(exemplar)
        scale = template.abs().max().item()
        torch.testing.assert_close(tracker.template, template, rtol=1e-3, atol=1e-4 * scale)
        folded = tracker.score(tracker.template, instances.contiguous(memory_format=torch.channels_last))
        expected = model(exemplar, instances)
        torch.testing.assert_close(folded, expected, rtol=1e-3, atol=1e-4 * expected.abs().max().item())


def test_attention_nets_run_only_on_the_first_frame():
    model = build_model("rasnet", width=WIDTH)
    tracker = build_tracker("rasnet", weights=Weights(model.state_dict(), "rasnet", {"width": WIDTH}), device="cpu")
    calls = []
    for module in (tracker.model.residual_attention, tracker.model.channel_attention.reduce):
        module.register_forward_hook(lambda *args: calls.append(1))
    image = np.random.default_rng(9).integers(0, 256, size=(200, 200, 3), dtype=np.uint8)
    tracker.init(image, [80, 80, 30, 40])
    assert len(calls) == 2
    for _ in range(3):
        box = tracker.update(image)
    assert len(calls) == 2 and np.all(np.isfinite(box))


def test_tracker_on_a_real_sequence_with_random_weights():
    from siamtrack.data import shared_split

    sequence = shared_split(shared_path("data"), "dev-eval")[0]
    weights = Weights(build_model("rasnet", width=0.25).state_dict(), "rasnet", {"width": 0.25})
    tracker = build_tracker("rasnet", weights=weights, device="cpu")
    tracker.init(sequence.frames[0], sequence.init_box)
    height, width = sequence.frames[0].shape[:2]
    for k in range(1, 6):
        box = tracker.update(sequence.frames[k])
        assert box.shape == (4,) and np.all(np.isfinite(box)) and np.all(box[2:] > 0)
        assert 0 <= box[0] + box[2] / 2 <= width and 0 <= box[1] + box[3] / 2 <= height


def test_weights_carry_the_ablation_variant():
    genatt = build_model("rasnet", width=WIDTH, residual=False, channel=False)
    config = {"width": WIDTH, "residual": False, "channel": False}
    tracker = build_tracker("rasnet", weights=Weights(genatt.state_dict(), "rasnet", config), device="cpu")
    assert tracker.model.residual_attention is None and tracker.model.general_attention is not None
    with pytest.raises(ValueError, match="does not fit model 'rasnet'"):
        build_tracker("rasnet", weights=Weights(genatt.state_dict(), "rasnet", {"width": WIDTH}), device="cpu")
    with pytest.raises(ValueError, match="needs model 'rasnet'"):
        build_tracker("rasnet", weights=Weights(genatt.state_dict(), "siamfc", {}), device="cpu")


def test_command_line_tracks_the_demo_video_with_random_weights(tmp_path, capsys):
    from siamtrack.cli import main

    video = REPO_ROOT / "src" / "siamtrack" / "assets" / "demo.mp4"
    code = main(
        [
            "track",
            "--tracker",
            "rasnet",
            "--weights",
            "random",
            "--video",
            str(video),
            "--box",
            "135.06,129.42,50.88,38.16",
            "--out",
            str(tmp_path),
            "--max-frames",
            "4",
        ]
    )
    assert code == 0, capsys.readouterr().err
    boxes = np.loadtxt(tmp_path / "boxes.txt", delimiter=",")
    assert boxes.shape == (4, 4) and np.all(np.isfinite(boxes))
    np.testing.assert_allclose(boxes[0], [135.06, 129.42, 50.88, 38.16])
