"""TADT (Li et al., CVPR 2019): the ranking loss (Eq. 5-6), channel importance from the regression (Eq. 3-4) and
ranking (Eq. 5-7) gradients on synthetic features whose discriminative channels are known by construction, the
selection counts and the rescaling of Sec. 4, the geometry helpers, and the tracker (random quarter-width SiamFC
backbone, and VGG-16 from a random torchvision-layout state dict) on a real frame."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from siamtrack.losses import smooth_ranking_loss
from siamtrack.models.backbones import build_backbone
from siamtrack.models.tadt import (
    ChannelGroup,
    combined_importance,
    feature_grid,
    fit_ridge_regression,
    gaussian_label,
    is_centred,
    max_channel_sum,
    parity_round,
    patch_normalised,
    random_channels,
    ranking_importance,
    ranking_pairs,
    regression_importance,
    resample_centred,
    ridge_loss,
    scaled_count,
    stack_groups,
    top_channels,
)
from siamtrack.models.vgg import VGG16
from siamtrack.trackers import build_tracker
from siamtrack.trackers.tadt import TADTParams, TADTTracker, feature_averages

REPO = Path(__file__).resolve().parents[2]
SCALES = tuple(2.0 ** (k / 4) for k in range(-4, 5))


# ------------------------------------------------------------------------------------------- synthetic features


def grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    centre = (size - 1) / 2
    return torch.meshgrid(torch.arange(size) - centre, torch.arange(size) - centre, indexing="ij")


def target_features(seed: int, channels: int = 32, size: int = 24) -> torch.Tensor:
    """Noise (uniform, positive mean) everywhere; channels 0-7 also carry a target-shaped blob at the centre,
    channels 8-15 a blob of the same kind away from the target (distractors)."""
    generator = torch.Generator().manual_seed(seed)
    yy, xx = grid(size)

    def blob(cy: float, cx: float) -> torch.Tensor:
        return torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 2.5**2))

    features = 0.3 * torch.rand(1, channels, size, size, generator=generator)
    for c in range(8):
        features[0, c] += (0.5 + float(torch.rand(1, generator=generator))) * blob(0, 0)
    for c in range(8, 16):
        while True:
            cy, cx = (torch.rand(2, generator=generator) * 16 - 8).tolist()
            if abs(cy) > 5 or abs(cx) > 5:
                break
        features[0, c] += (0.5 + float(torch.rand(1, generator=generator))) * blob(cy, cx)
    return features


def scale_features(seed: int, kernel: int = 7, channels: int = 32, size: int = 24) -> torch.Tensor:
    """Channels 0-7 respond on the target's outline (a ring of the target's size: they change with scale),
    channels 8-15 on its whole area (a blob: active on the target, but monotone in scale), the rest noise."""
    generator = torch.Generator().manual_seed(seed)
    yy, xx = grid(size)
    radius = (yy**2 + xx**2).sqrt()
    features = 0.3 * torch.rand(1, channels, size, size, generator=generator)
    for c in range(8):
        features[0, c] += (0.5 + float(torch.rand(1, generator=generator))) * torch.exp(
            -((radius - kernel / 2) ** 2) / (2 * 0.7**2)
        )
    for c in range(8, 16):
        features[0, c] += (0.5 + float(torch.rand(1, generator=generator))) * torch.exp(-(radius**2) / (2 * 2.5**2))
    return features


# ----------------------------------------------------------------------------------------------- ranking loss


def test_smooth_ranking_loss_is_eq5():
    scores = torch.tensor([[0.0, 1.0, -0.5], [2.0, 0.3, 0.1]])
    pairs = torch.tensor([[0, 1], [2, 1], [2, 0]])  # (i, j): j must rank above i
    expected = [
        math.log(1 + math.exp(0 - 1) + math.exp(-0.5 - 1) + math.exp(-0.5 - 0)),
        math.log(1 + math.exp(2 - 0.3) + math.exp(0.1 - 0.3) + math.exp(0.1 - 2)),
    ]
    assert torch.allclose(smooth_ranking_loss(scores, pairs, reduction="none"), torch.tensor(expected))
    assert torch.isclose(smooth_ranking_loss(scores, pairs), torch.tensor(expected).mean())
    # one pair, by hand: log(1 + e^{-1}) and dL/df = (+σ(-1), -σ(-1))
    one = torch.tensor([[0.0, 1.0]], requires_grad=True)
    loss = smooth_ranking_loss(one, torch.tensor([[0, 1]]))
    loss.backward()
    sigma = 1 / (1 + math.e)
    assert math.isclose(float(loss.detach()), math.log(1 + math.exp(-1)), rel_tol=1e-6)
    assert torch.allclose(one.grad, torch.tensor([[sigma, -sigma]]))
    # no overflow for large margins (log-sum-exp)
    assert torch.isclose(
        smooth_ranking_loss(torch.tensor([[1000.0, 0.0]]), torch.tensor([[0, 1]])), torch.tensor(1000.0)
    )


def test_smooth_ranking_loss_gradient_is_eq6():
    """Eq. 6 with Δz = z_j - z_i and the log's argument in the denominator, against autograd and gradcheck."""
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(1, len(SCALES), generator=generator, dtype=torch.float64, requires_grad=True)
    pairs = ranking_pairs(SCALES)
    smooth_ranking_loss(scores, pairs).backward()
    f = scores.detach()[0]
    delta_z = torch.zeros(len(pairs), len(SCALES), dtype=torch.float64)
    delta_z[torch.arange(len(pairs)), pairs[:, 1]] += 1.0  # z_j
    delta_z[torch.arange(len(pairs)), pairs[:, 0]] -= 1.0  # - z_i
    terms = torch.exp(-(delta_z @ f))  # exp(f_i - f_j)
    eq6 = -(delta_z * terms[:, None]).sum(dim=0) / (1 + terms.sum())
    assert torch.allclose(scores.grad[0], eq6)
    assert torch.autograd.gradcheck(lambda s: smooth_ranking_loss(s, pairs), (scores.detach().requires_grad_(),))


def test_smooth_ranking_loss_rejects_bad_input():
    scores = torch.zeros(1, 3)
    with pytest.raises(ValueError, match="long indices into 3"):
        smooth_ranking_loss(scores, torch.tensor([[0, 3]]))
    with pytest.raises(ValueError, match=r"\(P, 2\)"):
        smooth_ranking_loss(scores, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\(B, n\)"):
        smooth_ranking_loss(torch.zeros(3), torch.tensor([[0, 1]]))


def test_ranking_pairs_rank_sizes_closer_to_the_target_higher():
    assert sorted(map(tuple, ranking_pairs([0.5, 1.0, 2.0]).tolist())) == [(0, 1), (2, 1)]
    pairs = ranking_pairs(SCALES)
    assert len(pairs) == 32  # 2 x (1 + 3 + 5 + 7)
    distance = np.abs(np.log(SCALES))
    assert all(distance[j] < distance[i] for i, j in pairs.tolist())
    with pytest.raises(ValueError, match="two different size ratios"):
        ranking_pairs([1.0, 1.0])


# ------------------------------------------------------------------------------------------- regression (Eq. 3)


def test_conjugate_gradients_reach_the_ridge_optimum():
    """CG on Eq. 3 against the closed-form least-squares solution of the same problem (im2col matrix)."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(1, 3, 7, 7, generator=generator, dtype=torch.float64)
    label = gaussian_label((7, 7), 1.0, dtype=torch.float64)
    weight, loss, iterations = fit_ridge_regression(features, label, (3, 3), lam=0.5, threshold=0.0, max_iterations=200)
    patches = F.unfold(features, 3, padding=1)[0].T  # (49 positions, 27 weights)
    exact = torch.linalg.solve(patches.T @ patches + 0.5 * torch.eye(27), patches.T @ label.reshape(-1))
    assert iterations <= 27 + 1  # CG converges in at most (number of unknowns) steps
    assert torch.allclose(weight.reshape(-1), exact, atol=1e-6)  # stopped at a 1e-6 relative residual
    assert math.isclose(loss, float(ridge_loss(features, weight, label, 0.5)), rel_tol=1e-9)


def test_ridge_stops_at_the_loss_threshold_or_the_iteration_cap():
    features = target_features(0)
    label = gaussian_label((24, 24), 0.7)
    _, loss, iterations = fit_ridge_regression(features, label, (7, 7), lam=1e-3, threshold=0.5, max_iterations=50)
    assert loss <= 0.5 and iterations < 50
    _, loss, iterations = fit_ridge_regression(features, label, (7, 7), lam=1e-3, threshold=0.0, max_iterations=3)
    assert iterations == 3 and loss > 0.0


def test_regression_importance_is_eq4_pooled():
    """Δ is the GAP of the negative loss gradient (Eq. 2): 2 (Y - X_o) back through the convolution (Eq. 4),
    oriented by the sign of the summed residual."""
    features = target_features(1, channels=20)
    importance = regression_importance(features, (7, 7), sigma=0.7)
    x = patch_normalised(features, (7, 7))
    label = gaussian_label((24, 24), 0.7)
    weight, _, _ = fit_ridge_regression(x, label, (7, 7), lam=1.0)
    residual = label - F.conv2d(x, weight, padding=3)[0, 0]
    by_hand = F.conv_transpose2d(2 * residual[None, None], weight, padding=3)  # Σ 2 (Y - X_o) W
    expected = torch.sign(residual.sum()) * by_hand[0].mean(dim=(-2, -1))
    assert torch.allclose(importance.values, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_importance_finds_the_target_channels(seed):
    importance = regression_importance(target_features(seed), (7, 7), sigma=0.7)
    assert sorted(top_channels(importance.values, 8).tolist()) == list(range(8))


def test_importance_does_not_depend_on_the_features_scale():
    features = target_features(0)
    first = regression_importance(features, (7, 7), sigma=0.7).values
    second = regression_importance(features * 37.0, (7, 7), sigma=0.7).values
    assert torch.equal(top_channels(first, 16), top_channels(second, 16))


# ---------------------------------------------------------------------------------------------- ranking (Eq. 5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_importance_finds_the_scale_sensitive_channels(seed):
    importance = ranking_importance(scale_features(seed), (7, 7), SCALES)
    assert importance.loss <= 0.02 and importance.iterations <= 50
    assert sorted(top_channels(importance.values, 8).tolist()) == list(range(8))


def test_ranking_importance_is_eq7_on_the_target_sample():
    """Δ = GAP(-∂L/∂f(x_1) W) on the ratio-1 sample (Eq. 7 + Eq. 2): a positive multiple of the scorer's mean
    weight per channel, checked through the samples' own gradient."""
    features = scale_features(0)
    importance = ranking_importance(features, (7, 7), SCALES)
    ratio_one = ranking_importance(features, (7, 7), tuple(reversed(SCALES)))  # order of samples is irrelevant
    assert torch.allclose(importance.values, ratio_one.values, rtol=1e-3, atol=1e-6)
    with pytest.raises(ValueError, match="must include 1"):
        ranking_importance(features, (7, 7), (0.5, 2.0))


def test_combined_importance_gives_each_loss_an_equal_say():
    first, second = torch.tensor([10.0, 0.0, -5.0]), torch.tensor([0.0, 0.2, 0.1])
    assert torch.allclose(combined_importance(first, second), torch.tensor([1.0, 1.0, 0.0]))


# ------------------------------------------------------------------------------- selection counts and rescaling


def test_selection_counts_scale_with_the_layer_width():
    assert scaled_count(80, 512) == 80 and scaled_count(250, 512) == 250  # VGG-16: the paper's
    assert scaled_count(80, 384) == 60 and scaled_count(250, 256) == 125  # SiamFC conv4 / conv5
    assert scaled_count(80, 96) == 15 and scaled_count(250, 64) == 31  # quarter width
    assert scaled_count(1, 4) == 1 and scaled_count(600, 512) == 512
    with pytest.raises(ValueError):
        scaled_count(0, 512)


def test_top_and_random_channels():
    assert top_channels(torch.tensor([0.1, 0.5, 0.5, -1.0]), 3).tolist() == [1, 2, 0]
    first = random_channels(100, 10, torch.Generator().manual_seed(3))
    again = random_channels(100, 10, torch.Generator().manual_seed(3))
    assert torch.equal(first, again) and len(set(first.tolist())) == 10
    with pytest.raises(ValueError, match="cannot select 11 of 10"):
        top_channels(torch.zeros(10), 11)


def test_stacking_rescales_each_group_by_its_maximal_channel_sum():
    shallow, deep = torch.rand(1, 6, 5, 5), 10 * torch.rand(1, 4, 5, 5)
    groups = [
        ChannelGroup(0, "regress", torch.tensor([4, 1]), 1 / max_channel_sum(shallow[:, [4, 1]])),
        ChannelGroup(1, "regress", torch.tensor([2]), 1 / max_channel_sum(deep[:, [2]])),
    ]
    stacked = stack_groups((shallow, deep), groups)
    assert stacked.shape == (1, 3, 5, 5)
    sums = stacked.sum(dim=(-2, -1))[0]
    assert math.isclose(float(sums[:2].max()), 1.0, rel_tol=1e-6) and math.isclose(float(sums[2]), 1.0, rel_tol=1e-6)
    assert torch.allclose(stacked[0, 0], shallow[0, 4] * groups[0].scale)
    with pytest.raises(ValueError, match="cannot rescale"):
        max_channel_sum(torch.zeros(1, 2, 3, 3))


# ------------------------------------------------------------------------------------------------- geometry


@pytest.fixture(scope="module")
def vgg() -> VGG16:
    torch.manual_seed(0)
    return VGG16().eval()


def test_feature_grid_matches_the_networks(vgg):
    alexnet = build_backbone("siamfc", width=0.25).eval()
    vgg_modules = list(vgg.features[: vgg.layer_index["relu4_3"] + 1])
    for side in (127, 199, 255, 271):
        size, stride, first = feature_grid(alexnet.features, side)
        with torch.no_grad():
            assert alexnet(torch.zeros(1, 3, side, side)).shape[-1] == size
        assert stride == 8 and first == 43.5 and is_centred(size, stride, first, side) == (side % 8 == 7)
    for side in (64, 72, 90):
        size, stride, first = feature_grid(vgg_modules, side)
        with torch.no_grad():
            assert vgg(torch.zeros(1, 3, side, side), ("relu4_3",))["relu4_3"].shape[-1] == size
        assert stride == 8 and first == 4.0 and is_centred(size, stride, first, side) == (side % 8 == 0)


def test_resample_centred():
    ramp = torch.arange(9.0).view(1, 1, 1, 9).expand(1, 1, 9, 9).contiguous()  # value = column index
    same = resample_centred(ramp, [1.0], (9, 9))
    assert torch.allclose(same, ramp, atol=1e-5)
    half = resample_centred(ramp, [0.5, 2.0], (5, 5))
    assert torch.allclose(half[0, 0, 2], torch.tensor([3.0, 3.5, 4.0, 4.5, 5.0]), atol=1e-5)  # u -> 0.5 u
    assert torch.allclose(half[1, 0, 2, 1:4], torch.tensor([2.0, 4.0, 6.0]), atol=1e-5)  # u -> 2 u
    assert float(half[1, 0, 2, 0]) == pytest.approx(0.0, abs=1e-6)  # outside: zero
    with pytest.raises(ValueError, match="positive scales"):
        resample_centred(ramp, [0.0], (3, 3))


def test_parity_round():
    assert [parity_round(v, 0) for v in (5.9, 7.0, 0.3)] == [6, 8, 2]
    assert [parity_round(v, 1) for v in (5.9, 6.0, 0.3)] == [5, 7, 1]


# ---------------------------------------------------------------------------------------------------- tracker


@pytest.fixture(scope="module")
def initialised(siamfc_quarter, frame_and_box) -> TADTTracker:
    """The default TADT on the real frame, without cosine window or scale damping (so that the tests below
    read the raw localisation and the raw proposal choice; neither enters the selection)."""
    tracker = build_tracker("tadt", weights=siamfc_quarter, window_influence=0.0, scale_lr=1.0)
    tracker.init(*frame_and_box)
    return tracker


def test_tracker_selects_stacks_and_rescales(initialised):
    tracker = initialised
    assert (tracker.instance_size, tracker.map_size) == (271, 24)  # 3 target sizes of 8 cells, centred
    (shallow_group, deep_group) = tracker.groups
    assert (shallow_group.method, len(shallow_group.channels)) == ("regress+rank", scaled_count(80, 96))
    assert (deep_group.method, len(deep_group.channels)) == ("regress", scaled_count(250, 64))
    assert set(tracker.extras["importances"]) == {"conv4_1", "conv4_3"}  # the first frame's per-frame extras
    assert set(tracker.extras["importances"]["conv4_1"]) == {"regress", "rank"}
    kh, kw = tracker.template.shape[-2:]
    assert tracker.template.shape[1] == 15 + 31 and kh % 2 == kw % 2 == 0 and kh > kw  # Human3 is tall
    template_sums = tracker.template.sum(dim=(-2, -1))[0].abs()
    assert math.isclose(float(template_sums[:15].max()), 1.0, rel_tol=1e-5)  # Sec. 4: max channel sum = 1
    assert math.isclose(float(template_sums[15:].max()), 1.0, rel_tol=1e-5)
    views = feature_averages(tracker)  # Fig. 4's channel averages
    assert list(views) == ["conv4_1", "conv4_3", "conv4_1 regress+rank", "conv4_3 regress", "target-aware"]
    assert all(view.shape == (24, 24) for view in views.values())
    shallow = tracker.first_layers[0][0]
    assert np.allclose(views["conv4_1 regress+rank"], shallow[shallow_group.channels].mean(dim=0).numpy())


def test_tracker_follows_a_translated_real_frame(initialised, frame_and_box):
    frame, box = frame_and_box
    tracker = initialised
    for dx, dy in ((10, -6), (-12, 8)):
        tracker._center, tracker._scale = box[:2] + box[2:] / 2, 1.0
        result = tracker.update(np.roll(frame, (dy, dx), axis=(0, 1)))
        assert np.all(np.abs(result[:2] - box[:2] - (dx, dy)) <= 4.0), (dx, dy, result - box)
        assert np.isfinite(tracker.confidence)


def test_tracker_picks_the_proposal_size_of_a_rescaled_frame(initialised, frame_and_box):
    """The frame zoomed out about the target by 45/43: the small proposal scale must not win, and a frame
    zoomed in must not pick the large one (raw random features: only the direction is asserted)."""
    import cv2

    frame, box = frame_and_box
    tracker = initialised
    centre = box[:2] + box[2:] / 2
    sizes = {}
    for factor in (45 / 43, 43 / 45):
        matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), 0.0, factor)
        zoomed = cv2.warpAffine(frame, matrix, frame.shape[1::-1], flags=cv2.INTER_LINEAR)
        tracker._center, tracker._scale = centre.copy(), 1.0
        sizes[factor] = tracker.update(zoomed)[2] / box[2]
    assert sizes[45 / 43] >= 1.0 and sizes[43 / 45] <= 1.0


def test_rand_rows_are_reproducible_and_none_drops_a_layer(siamfc_quarter, frame_and_box):
    frame, box = frame_and_box
    first = build_tracker("tadt", weights=siamfc_quarter, select_conv4_1="rand", select_conv4_3="none")
    second = build_tracker("tadt", weights=siamfc_quarter, select_conv4_1="rand", select_conv4_3="none")
    first.init(frame, box)
    second.init(frame, box)
    assert len(first.groups) == 1 and first.groups[0].layer == 0
    assert torch.equal(first.groups[0].channels, second.groups[0].channels)
    assert first.template.shape[1] == scaled_count(80, 96)


def test_ablation_presets_are_the_rows_of_table5():
    from siamtrack.presets import bundled_presets, load_preset

    rows = {}
    for name in bundled_presets():
        if name.startswith("bundled/presets/tadt"):
            preset = load_preset(name)
            assert preset.tracker == "tadt"
            params = TADTParams(**preset.params)
            rows[(params.select_conv4_1, params.select_conv4_3)] = name
    assert set(rows) == {
        ("rand", "none"),
        ("none", "rand"),
        ("regress", "none"),
        ("none", "regress"),
        ("regress", "regress"),
        ("regress+rank", "regress"),
    }
    assert rows[("regress+rank", "regress")] == "bundled/presets/tadt"
    assert (TADTParams().select_conv4_1, TADTParams().select_conv4_3) == ("regress+rank", "regress")


def test_vgg16_from_a_torchvision_layout_state_dict(vgg, frame_and_box):
    """The paper's backbone: relu4_1 / relu4_3 of VGG-16 loaded from a torchvision-layout state dict (random
    weights; the classifier entries a torchvision file carries are ignored). A small target size keeps it fast."""
    frame, box = frame_and_box
    state = dict(vgg.state_dict())
    state["classifier.0.weight"] = torch.zeros(4, 4)
    tracker = build_tracker("tadt", weights=state, backbone="vgg16", target_size=24.0, window_influence=0.0)
    assert tracker.features.layers == ("relu4_1", "relu4_3")
    assert tracker.instance_size % 8 == 0 and tracker.map_size >= 9
    tracker.init(frame, box)
    assert [len(g.channels) for g in tracker.groups] == [80, 250]
    tracker._center, tracker._scale = box[:2] + box[2:] / 2, 1.0
    result = tracker.update(np.roll(frame, (0, 12), axis=(0, 1)))
    assert abs(result[0] - box[0] - 12) <= 8 and abs(result[1] - box[1]) <= 8


def test_params_and_errors(siamfc_quarter, frame_and_box, tmp_path, monkeypatch):
    frame, box = frame_and_box
    with pytest.raises(ValueError, match="select_conv4_1 must be one of"):
        TADTParams(select_conv4_1="random")
    with pytest.raises(ValueError, match="cannot both be 'none'"):
        TADTParams(select_conv4_1="none", select_conv4_3="none")
    with pytest.raises(ValueError, match="one penalty each"):
        TADTParams(scale_factors=(0.9, 1.0, 1.1), scale_penalties=(1.0, 1.0))
    assert TADTParams(rank_scales=[0.5, 1, 2]).rank_scales == (0.5, 1.0, 2.0)  # lists from YAML / the CLI
    with pytest.raises(TypeError, match="unknown hyper-parameter"):
        build_tracker("tadt", weights=siamfc_quarter, sigma=0.1)
    with pytest.raises(ValueError, match="backbone must be one of"):
        build_tracker("tadt", weights=siamfc_quarter, backbone="resnet50")
    with pytest.raises(ValueError, match="torchvision VGG16"):
        build_tracker("tadt", weights=siamfc_quarter, backbone="vgg16")
    tracker = build_tracker("tadt", weights=siamfc_quarter)
    with pytest.raises(RuntimeError, match="before init"):
        tracker.update(frame)
    with pytest.raises(ValueError, match="w, h > 0"):
        tracker.init(frame, [10, 10, 0, 5])
    monkeypatch.setattr("siamtrack.trackers.BUNDLED_WEIGHTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="siamfc.pth does not exist"):
        build_tracker("tadt")
    assert isinstance(build_tracker("tadt", weights="random"), TADTTracker)


def test_matconvnet_vgg16_converts_to_torchvision_layout(tmp_path):
    """A MatConvNet simplenn VGG-16 (random weights, the real layer names and shapes) -> torchvision layout:
    the converted VGG16 on torchvision-normalised input equals the simplenn net on MatConvNet's mean-subtracted
    input (away from the one-pixel border, where the zero padding differs; see the converter's doc)."""
    scipy_io = pytest.importorskip("scipy.io")
    from siamtrack.weights.vgg16 import vgg16_state_dict_from_matconvnet
    from siamtrack.models.vgg import IMAGENET_MEAN, vgg16, vgg16_layer_names
    from siamtrack.weights.matconvnet import WeightFileError, read_simplenn, simplenn_to_torch

    generator = np.random.default_rng(0)
    layers, channels = [], 3
    for name in vgg16_layer_names()[: vgg16_layer_names().index("relu5_3") + 1]:
        if name.startswith("conv"):
            out = {"conv1": 64, "conv2": 128, "conv3": 256, "conv4": 512, "conv5": 512}[name.split("_")[0]]
            weights = np.empty((1, 2), dtype=object)
            weights[0, 0] = (generator.standard_normal((3, 3, channels, out)) * np.sqrt(2 / (9 * channels))).astype(
                np.float32
            )
            weights[0, 1] = (0.1 * generator.standard_normal((out, 1))).astype(np.float32)
            layers.append(
                {
                    "type": "conv",
                    "name": name,
                    "weights": weights,
                    "pad": np.array([[1, 1, 1, 1]]),
                    "stride": np.array([[1, 1]]),
                }
            )
            channels = out
        elif name.startswith("relu"):
            layers.append({"type": "relu", "name": name})
        else:
            layers.append(
                {
                    "type": "pool",
                    "name": name,
                    "method": "max",
                    "pool": np.array([[2, 2]]),
                    "stride": np.array([[2, 2]]),
                    "pad": np.array([[0, 0, 0, 0]]),
                }
            )
    cells = np.empty((1, len(layers)), dtype=object)
    for index, layer in enumerate(layers):
        cells[0, index] = layer
    mean = np.array([123.68, 116.779, 103.939], dtype=np.float32)
    path = tmp_path / "imagenet-vgg-verydeep-16.mat"
    meta = {"normalization": {"averageImage": mean.reshape(1, 1, 3)}}
    scipy_io.savemat(str(path), {"net": {"layers": cells, "meta": meta}})

    converted = vgg16(vgg16_state_dict_from_matconvnet(path)).eval()  # classifier-free: only the 13 convs
    with torch.no_grad():
        image = torch.rand(1, 3, 40, 40) * 255
        ours = converted(
            converted_input := (image / 255 - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
            / torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1),
            ("conv1_1", "relu4_3"),
        )
        reference = simplenn_to_torch(read_simplenn(path)).eval()
        first = reference[0](image - torch.from_numpy(mean).view(1, 3, 1, 1))
        deep = reference[:23](image - torch.from_numpy(mean).view(1, 3, 1, 1))  # up to relu4_3
    assert converted_input.shape == image.shape
    torch.testing.assert_close(ours["conv1_1"][..., 1:-1, 1:-1], first[..., 1:-1, 1:-1], rtol=1e-4, atol=1e-3)
    assert ours["relu4_3"].shape == deep.shape == (1, 512, 5, 5)
    relative = (ours["relu4_3"] - deep).abs().max() / deep.abs().max()
    assert relative < 0.05  # the border difference of conv1_1 spreads inwards by one pixel per layer
    truncated = {"net": {"layers": cells[:, :4], "meta": meta}}
    scipy_io.savemat(str(tmp_path / "short.mat"), truncated)
    with pytest.raises(WeightFileError, match="not a VGG-16 simplenn net"):
        vgg16_state_dict_from_matconvnet(tmp_path / "short.mat")


def test_track_command_line(siamfc_quarter, tmp_path):
    """``siamtrack track --tracker tadt`` on the bundled demo clip (a quarter-width SiamFC weights file), under
    torch's inference mode as a caller might run it: the selection still gets its gradients."""
    from siamtrack.cli import main

    weights = tmp_path / "siamfc-quarter.pth"
    torch.save(
        {"state_dict": siamfc_quarter.state_dict, "model_name": "siamfc", "model_config": {"width": 0.25}}, weights
    )
    demo = REPO / "src" / "siamtrack" / "assets"
    box = open(demo / "demo.txt").readline().strip()
    with torch.inference_mode():
        code = main(
            [
                "track",
                "--tracker",
                "tadt",
                "--weights",
                str(weights),
                "--video",
                str(demo / "demo.mp4"),
                "--box",
                box,
                "--out",
                str(tmp_path / "out"),
                "--max-frames",
                "4",
            ]
        )
    assert code == 0
    boxes = np.loadtxt(tmp_path / "out" / "boxes.txt", delimiter=",")
    assert boxes.shape == (4, 4) and np.all(np.isfinite(boxes))
