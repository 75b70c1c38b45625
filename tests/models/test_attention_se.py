"""Squeeze-and-excitation block (AdaCFNet Sec. III-A, Table I; Hu et al. 2018): closed forms, the
input-conditioned weights, hidden sizes, gradients and input checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from siamtrack.models.attention import SqueezeExcitation


def test_zero_fc_weights_give_one_half_everywhere():
    block = SqueezeExcitation(96, reduction=16)
    for layer in (block.reduce, block.expand):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    features = torch.rand(2, 96, 7, 5) * 10
    scaled, weights = block(features)
    assert weights.shape == (2, 96)
    torch.testing.assert_close(weights, torch.full((2, 96), 0.5))
    torch.testing.assert_close(scaled, 0.5 * features)


def test_closed_form_squeeze_excite_scale():
    torch.manual_seed(0)
    block = SqueezeExcitation(8, reduction=4).double()
    features = torch.randn(3, 8, 4, 6, dtype=torch.float64)
    squeezed = features.sum(dim=(2, 3)) / 24.0  # global average pooling
    hidden = torch.clamp(squeezed @ block.reduce.weight.T + block.reduce.bias, min=0.0)
    expected = 1.0 / (1.0 + torch.exp(-(hidden @ block.expand.weight.T + block.expand.bias)))
    scaled, weights = block(features)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(scaled, features * expected[:, :, None, None])
    assert ((weights > 0) & (weights < 1)).all()


@pytest.mark.parametrize("channels, hidden", [(96, 6), (32, 2), (8, 1), (4, 1)])
def test_hidden_width_is_channels_over_reduction(channels, hidden):
    block = SqueezeExcitation(channels, reduction=16)
    assert (block.reduce.in_features, block.reduce.out_features) == (channels, hidden)
    assert (block.expand.in_features, block.expand.out_features) == (hidden, channels)


def test_weights_depend_on_the_input_and_not_on_its_layout():
    torch.manual_seed(1)
    block = SqueezeExcitation(32, reduction=16)
    first, second = torch.rand(1, 32, 9, 9), torch.rand(1, 32, 9, 9) * 3
    _, weights_first = block(first)
    _, weights_second = block(second)
    assert (weights_first - weights_second).abs().max() > 1e-3
    # a spatial permutation leaves the global average, hence the weights, unchanged
    _, weights_flipped = block(torch.flip(first, dims=(2, 3)))
    torch.testing.assert_close(weights_flipped, weights_first)
    # batch items are independent
    _, weights_both = block(torch.cat([first, second]))
    torch.testing.assert_close(weights_both, torch.cat([weights_first, weights_second]))


def test_gradients_match_finite_differences():
    torch.manual_seed(2)
    block = SqueezeExcitation(6, reduction=2).double()
    features = torch.randn(2, 6, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: block(x)[0], (features,))
    assert torch.autograd.gradcheck(lambda x: block(x)[1], (features,))


def test_bad_input_raises_clear_errors():
    block = SqueezeExcitation(16)
    with pytest.raises(ValueError, match=r"\(N, 16, H, W\).*\(1, 8, 4, 4\)"):
        block(torch.zeros(1, 8, 4, 4))
    with pytest.raises(ValueError, match="channels >= 1"):
        SqueezeExcitation(0)
    with pytest.raises(ValueError, match="reduction >= 1"):
        SqueezeExcitation(16, reduction=0)
