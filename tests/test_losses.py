"""Losses: values and gradients at chosen points against closed forms, autograd and torch references."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from siamtrack.losses import balanced_weights, bce_with_logits_loss, l2_loss, logistic_loss, temporal_pair_weight


def test_logistic_loss_matches_closed_form_at_chosen_points():
    scores = torch.tensor([[[0.0, 2.0], [-1.0, 3.0]]], dtype=torch.float64)
    labels = torch.tensor([[[1.0, -1.0], [-1.0, 1.0]]], dtype=torch.float64)
    expected = (
        math.log(2.0) + math.log(1 + math.exp(2.0)) + math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(-3.0))
    ) / 4  # Eq. 2 with w = 1/|D|
    assert logistic_loss(scores, labels).item() == pytest.approx(expected, rel=1e-12)


def test_logistic_loss_weights_and_batch_mean():
    scores = torch.tensor([[1.0, -2.0], [0.5, 0.0]], dtype=torch.float64)
    labels = torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=torch.float64)
    weights = torch.tensor([[0.25, 0.75], [1.0, 2.0]], dtype=torch.float64)
    per_pair = logistic_loss(scores, labels, weights, reduction="none")
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    assert per_pair.tolist() == pytest.approx(
        [0.25 * softplus(-1.0) + 0.75 * softplus(-2.0), 1.0 * softplus(0.5) + 2.0 * softplus(0.0)], rel=1e-12
    )
    assert logistic_loss(scores, labels, weights).item() == pytest.approx(per_pair.mean().item(), rel=1e-12)


def test_logistic_loss_is_stable_for_large_scores():
    scores = torch.tensor([[1000.0, -1000.0]])
    labels = torch.tensor([[-1.0, -1.0]])
    value = logistic_loss(scores, labels, torch.ones_like(scores))
    assert value.item() == pytest.approx(1000.0)  # log(1 + e^1000) + log(1 + e^-1000)


def test_logistic_loss_gradient_is_minus_y_sigmoid_minus_yv():
    scores = torch.tensor([[0.3, -1.2, 2.0, 0.0]], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([[1.0, 1.0, -1.0, -1.0]], dtype=torch.float64)
    weights = torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=torch.float64)
    logistic_loss(scores, labels, weights).backward()
    expected = -labels * torch.sigmoid(-labels * scores.detach()) * weights
    torch.testing.assert_close(scores.grad, expected, rtol=1e-12, atol=0)


def test_logistic_loss_gradcheck():
    scores = torch.randn(3, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    labels = torch.where(torch.rand(3, 1, 5, 5) > 0.7, 1.0, -1.0).double()
    weights = balanced_weights(labels)
    assert torch.autograd.gradcheck(lambda s: logistic_loss(s, labels, weights), (scores,))


def test_balanced_weights_give_each_class_half_per_pair():
    labels = torch.tensor([[[1.0, -1.0, -1.0], [-1.0, 0.0, -1.0]], [[1.0, 1.0, -1.0], [1.0, -1.0, 1.0]]])
    weights = balanced_weights(labels)
    for pair in range(2):
        assert weights[pair][labels[pair] > 0].sum().item() == pytest.approx(0.5)
        assert weights[pair][labels[pair] < 0].sum().item() == pytest.approx(0.5)
    assert weights[0, 1, 1].item() == 0.0  # neutral position
    assert weights[0, 0, 0].item() == pytest.approx(0.5)  # the only positive
    assert weights[0, 0, 1].item() == pytest.approx(0.5 / 4)


def test_balanced_weights_without_positives():
    weights = balanced_weights(-torch.ones(1, 2, 2))
    torch.testing.assert_close(weights, torch.full((1, 2, 2), 0.125))


def test_bce_with_logits_closed_form_value_and_gradient():
    scores = torch.tensor([[0.7, -0.4, 3.0]], dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([[0.9, 0.2, 0.0]], dtype=torch.float64)
    loss = bce_with_logits_loss(scores, targets)
    v, t = scores.detach(), targets
    expected = ((torch.log1p(torch.exp(v)) - t * v).sum() / 3).item()  # softplus(v) - t v, mean over the map
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    torch.testing.assert_close(scores.grad, (torch.sigmoid(v) - t) / 3, rtol=1e-12, atol=0)


def test_bce_equals_logistic_for_binary_targets_and_torch_reference():
    scores = torch.randn(4, 1, 6, 6, dtype=torch.float64)
    labels = torch.where(torch.rand(4, 1, 6, 6) > 0.8, 1.0, -1.0).double()
    weights = balanced_weights(labels)
    torch.testing.assert_close(
        bce_with_logits_loss(scores, (labels + 1) / 2, weights),
        logistic_loss(scores, labels, weights),
        rtol=1e-12,
        atol=1e-15,
    )
    reference = F.binary_cross_entropy_with_logits(scores, (labels + 1) / 2, weight=weights, reduction="sum") / 4
    torch.testing.assert_close(bce_with_logits_loss(scores, (labels + 1) / 2, weights), reference)


def test_l2_loss_value_and_gradient():
    responses = torch.tensor(
        [[[1.0, 2.0], [0.0, -1.0]], [[0.5, 0.5], [0.5, 0.5]]], dtype=torch.float64, requires_grad=True
    )
    targets = torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)  # broadcast over the batch
    loss = l2_loss(responses, targets)
    assert loss.item() == pytest.approx(((1 + 1 + 0 + 1) + (0.25 + 0.25 + 0.25 + 0.25)) / 2)
    loss.backward()
    torch.testing.assert_close(responses.grad, 2 * (responses.detach() - targets) / 2)
    assert torch.autograd.gradcheck(lambda r: l2_loss(r, targets), (responses.detach().requires_grad_(),))


def test_reduction_none_and_errors():
    scores = torch.zeros(3, 1, 4, 4)
    assert logistic_loss(scores, -torch.ones_like(scores), reduction="none").shape == (3,)
    assert l2_loss(scores, scores, reduction="none").shape == (3,)
    with pytest.raises(ValueError, match="reduction"):
        l2_loss(scores, scores, reduction="sum")
    with pytest.raises(ValueError, match="does not broadcast"):
        logistic_loss(scores, torch.ones(3, 1, 5, 5))


def test_temporal_pair_weight_is_rasnet_eq13():
    gaps = torch.tensor([0, 1, 50, -100])
    torch.testing.assert_close(
        temporal_pair_weight(gaps, 100.0), torch.tensor([1.0, math.exp(-0.01), math.exp(-0.5), math.exp(-1.0)])
    )
    with pytest.raises(ValueError, match="sigma"):
        temporal_pair_weight(gaps, 0.0)
