"""AdaCFNet's focal logistic loss (Eq. 6, averaged as Eq. 5): hand-computed values and gradients at chosen
points, autograd gradcheck, numerical stability, its relation to the logistic loss (Eq. 4), and its use in
training configs (``loss.name: focal_logistic``, the Fig. 9 ablation configs)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from siamtrack import losses
from siamtrack.training.config import ConfigError, config_to_dict, load_config
from siamtrack.training.loop import batch_loss, check_loss_and_labels

CONFIGS = Path(__file__).resolve().parents[1] / "src" / "siamtrack" / "configs"


def focal(y: float, v: float, a: float = 2.0, b: float = 1.0) -> torch.Tensor:
    return losses.focal_logistic_loss(
        torch.tensor([[v]], dtype=torch.float64), torch.tensor([[y]], dtype=torch.float64), a=a, b=b
    )


@pytest.mark.parametrize(
    "y, v, expected",
    [
        (1.0, 0.0, math.log(2.0)),  # 2 / (1 + 1) * log 2
        (1.0, 2.0, 2.0 / (1.0 + math.exp(2.0)) * math.log(1.0 + math.exp(-2.0))),  # easy positive
        (-1.0, 2.0, 2.0 / (1.0 + math.exp(-2.0)) * math.log(1.0 + math.exp(2.0))),  # hard negative
        (-1.0, -3.0, 2.0 / (1.0 + math.exp(3.0)) * math.log(1.0 + math.exp(-3.0))),  # easy negative
    ],
)
def test_values_at_chosen_points(y, v, expected):
    assert focal(y, v).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("y, v", [(1.0, 0.0), (1.0, 2.0), (-1.0, 2.0), (-1.0, -0.5)])
@pytest.mark.parametrize("a, b", [(2.0, 1.0), (1.5, 3.0)])
def test_gradient_matches_the_hand_derived_closed_form(y, v, a, b):
    score = torch.tensor([[v]], dtype=torch.float64, requires_grad=True)
    losses.focal_logistic_loss(score, torch.tensor([[y]], dtype=torch.float64), a=a, b=b).backward()
    # l = a / (1 + e^{b t}) log(1 + e^{-t}), t = y v:
    # dl/dv = -a y [b e^{b t} / (1 + e^{b t})^2 log(1 + e^{-t}) + 1 / ((1 + e^{b t})(1 + e^{t}))]
    t = y * v
    expected = (
        -a
        * y
        * (
            b * math.exp(b * t) / (1 + math.exp(b * t)) ** 2 * math.log(1 + math.exp(-t))
            + 1.0 / ((1 + math.exp(b * t)) * (1 + math.exp(t)))
        )
    )
    assert score.grad.item() == pytest.approx(expected, rel=1e-10)


def test_gradient_at_zero_closed_form():
    score = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
    losses.focal_logistic_loss(score, torch.ones(1, 1, dtype=torch.float64)).backward()
    assert score.grad.item() == pytest.approx(-0.5 * (math.log(2.0) + 1.0), rel=1e-12)


def test_gradcheck_over_a_score_map_with_weights():
    torch.manual_seed(0)
    scores = (torch.randn(3, 1, 5, 5, dtype=torch.float64) * 3).requires_grad_()
    labels = torch.where(torch.rand(3, 1, 5, 5) > 0.8, 1.0, -1.0).double()
    weights = losses.balanced_weights(labels)
    assert torch.autograd.gradcheck(lambda s: losses.focal_logistic_loss(s, labels), (scores,))
    assert torch.autograd.gradcheck(
        lambda s: losses.focal_logistic_loss(s, labels, weights, a=1.3, b=2.0, reduction="none"), (scores,)
    )


def test_map_loss_is_the_mean_over_the_map_and_pairs_eq5():
    torch.manual_seed(1)
    scores, labels = torch.randn(2, 1, 4, 6), torch.where(torch.rand(2, 1, 4, 6) > 0.5, 1.0, -1.0)
    elementwise = 2.0 * torch.sigmoid(-labels * scores) * torch.log1p(torch.exp(-labels * scores))
    per_pair = losses.focal_logistic_loss(scores, labels, reduction="none")
    torch.testing.assert_close(per_pair, elementwise.mean(dim=(1, 2, 3)))
    torch.testing.assert_close(losses.focal_logistic_loss(scores, labels), elementwise.mean())


def test_stable_for_extreme_scores():
    scores = torch.tensor([[-1e4, -100.0, 100.0, 1e4]], requires_grad=True)
    labels = torch.ones(1, 4)
    per_element = losses.focal_logistic_loss(scores, labels, weights=torch.ones(1, 4), reduction="none")
    per_element.backward()
    assert torch.isfinite(per_element).all() and torch.isfinite(scores.grad).all()
    # t -> -inf: l ~ a |t| and dl/dv -> -a y; t -> +inf: l, dl/dv -> 0
    assert per_element.item() == pytest.approx(2.0 * (1e4 + 100.0), rel=1e-6)
    torch.testing.assert_close(scores.grad, torch.tensor([[-2.0, -2.0, 0.0, 0.0]]))


def test_b_zero_and_a_two_is_the_logistic_loss():
    torch.manual_seed(2)
    scores, labels = torch.randn(2, 1, 5, 5) * 4, torch.where(torch.rand(2, 1, 5, 5) > 0.7, 1.0, -1.0)
    torch.testing.assert_close(
        losses.focal_logistic_loss(scores, labels, a=2.0, b=0.0), losses.logistic_loss(scores, labels)
    )


@settings(max_examples=200, deadline=None)
@given(st.floats(-30, 30), st.sampled_from([-1.0, 1.0]))
def test_down_weights_easy_samples_and_up_weights_hard_ones(v, y):
    """Fig. 6: with a = 2 the modulating factor is below 1 exactly when the sample is classified right."""
    focal_value = focal(y, v).item()
    logistic = losses.logistic_loss(
        torch.tensor([[v]], dtype=torch.float64), torch.tensor([[y]], dtype=torch.float64)
    ).item()
    if y * v > 1e-9:
        assert focal_value < logistic
    elif y * v < -1e-9:
        assert focal_value > logistic
    assert focal_value >= 0.0


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="a > 0 and b >= 0"):
        losses.focal_logistic_loss(torch.zeros(1, 3), torch.ones(1, 3), a=0.0)
    with pytest.raises(ValueError, match="does not broadcast"):
        losses.focal_logistic_loss(torch.zeros(2, 3), torch.ones(2, 4))


def test_training_config_uses_the_focal_loss_with_its_arguments():
    config = load_config(CONFIGS / "adacfnet.yaml")
    assert config.model.name == "adacfnet" and config.model.args["attention"] is True
    assert config.loss.name == "focal_logistic" and config.loss.args == {}  # the function's a = 2, b = 1
    assert (config.train.batch_size, config.train.epochs, config.optim.name) == (8, 50, "sgd")
    check_loss_and_labels(config)
    torch.manual_seed(3)
    scores, labels = torch.randn(2, 1, 33, 33), torch.where(torch.rand(2, 1, 33, 33) > 0.9, 1.0, -1.0)
    torch.testing.assert_close(
        batch_loss(scores, {"label": labels}, config), losses.focal_logistic_loss(scores, labels, a=2.0, b=1.0)
    )
    with pytest.raises(ConfigError, match="loss.args"):
        check_loss_and_labels(load_config(CONFIGS / "adacfnet.yaml", overrides=["loss.args={gamma: 2}"]))


def test_fig9_ablation_configs_differ_only_in_the_switches():
    rows = {
        name: config_to_dict(load_config(CONFIGS / f"adacfnet-ablation-{name}.yaml"))
        for name in ("cfnet", "se", "se-focal")
    }
    switches = {name: (row["model"]["args"].pop("attention"), row["loss"].pop("name")) for name, row in rows.items()}
    assert switches == {"cfnet": (False, "logistic"), "se": (True, "logistic"), "se-focal": (True, "focal_logistic")}
    assert rows["cfnet"] == rows["se"] == rows["se-focal"]
    for name in rows:
        check_loss_and_labels(load_config(CONFIGS / f"adacfnet-ablation-{name}.yaml"))
