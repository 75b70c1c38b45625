"""Correlation layers: xcorr against a direct loop, the CF layer against a spatial least-squares solve,
finite differences (gradcheck) and autograd through that independent solve."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from siamtrack.models.correlation import (
    FFT_MIN_AREA,
    CorrelationFilter,
    circular_gaussian,
    hann_window,
    solve_correlation_filter,
    xcorr,
)


def direct_xcorr(exemplar: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
    """Reference: explicit sum over channels and template offsets, exemplar i against instances i*k..i*k+k-1."""
    m, _, h, w = exemplar.shape
    n, _, big_h, big_w = instance.shape
    k = n // m
    out = torch.zeros(n, 1, big_h - h + 1, big_w - w + 1, dtype=instance.dtype)
    for index in range(n):
        template = exemplar[index // k]
        for row in range(big_h - h + 1):
            for col in range(big_w - w + 1):
                out[index, 0, row, col] = (template * instance[index, :, row : row + h, col : col + w]).sum()
    return out


@pytest.mark.parametrize("m, n", [(1, 3), (4, 4), (2, 6)])
def test_xcorr_matches_direct_loop(m, n):
    generator = torch.Generator().manual_seed(m * 10 + n)
    exemplar = torch.randn(m, 5, 3, 4, generator=generator, dtype=torch.float64)
    instance = torch.randn(n, 5, 9, 8, generator=generator, dtype=torch.float64)
    result = xcorr(exemplar, instance)
    assert result.shape == (n, 1, 7, 5)
    torch.testing.assert_close(result, direct_xcorr(exemplar, instance))


@pytest.mark.parametrize(
    "m, n, size, big", [(1, 3, (12, 13), (20, 17)), (3, 3, (12, 12), (12, 15)), (2, 4, (13, 12), (16, 16))]
)
def test_xcorr_fft_path_matches_direct_loop_and_conv_with_gradients(m, n, size, big):
    """Exemplars of FFT_MIN_AREA cells or more go through the FFT: same maps as the loop (float64), as the
    convolution (float32, to rounding), and the same gradients (gradcheck)."""
    assert size[0] * size[1] >= FFT_MIN_AREA
    generator = torch.Generator().manual_seed(m + n)
    exemplar = torch.randn(m, 3, *size, generator=generator, dtype=torch.float64)
    instance = torch.randn(n, 3, *big, generator=generator, dtype=torch.float64)
    result = xcorr(exemplar, instance)
    torch.testing.assert_close(result, direct_xcorr(exemplar, instance))
    k = n // m
    by_conv = torch.cat(
        [F.conv2d(instance[i * k : (i + 1) * k].float(), exemplar[i : i + 1].float()) for i in range(m)]
    )
    torch.testing.assert_close(xcorr(exemplar.float(), instance.float()), by_conv, rtol=1e-4, atol=1e-4)
    small = (exemplar[:, :1, :, :].clone().requires_grad_(), instance[:, :1, :, :].clone().requires_grad_())
    assert torch.autograd.gradcheck(xcorr, small)


@pytest.mark.parametrize("m, n, size, big", [(1, 3, (7, 7), (11, 10)), (4, 4, (1, 1), (3, 3)), (2, 6, (3, 5), (3, 9))])
def test_xcorr_matmul_path_matches_direct_loop_and_conv_with_gradients(m, n, size, big):
    """Exemplars under FFT_MIN_AREA cells go through the matrix product: the loop's maps (float64, including a 1x1
    exemplar and an instance as tall as the exemplar), the convolution's (float32 and bfloat16, to rounding), and
    the same gradients (gradcheck)."""
    assert size[0] * size[1] < FFT_MIN_AREA
    generator = torch.Generator().manual_seed(7 * m + n)
    exemplar = torch.randn(m, 4, *size, generator=generator, dtype=torch.float64)
    instance = torch.randn(n, 4, *big, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(xcorr(exemplar, instance), direct_xcorr(exemplar, instance))
    k = n // m
    by_conv = torch.cat(
        [F.conv2d(instance[i * k : (i + 1) * k].float(), exemplar[i : i + 1].float()) for i in range(m)]
    )
    torch.testing.assert_close(xcorr(exemplar.float(), instance.float()), by_conv, rtol=1e-5, atol=1e-5)
    half = xcorr(exemplar.bfloat16(), instance.bfloat16())
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), by_conv, rtol=0.05, atol=0.2)
    inputs = (exemplar.clone().requires_grad_(), instance.clone().requires_grad_())
    assert torch.autograd.gradcheck(xcorr, inputs)


def test_xcorr_large_bfloat16_exemplar_uses_the_convolution():
    """No FFT in bfloat16: a large exemplar is correlated by the grouped convolution, to bfloat16 rounding."""
    generator = torch.Generator().manual_seed(3)
    exemplar = torch.randn(2, 3, 12, 12, generator=generator)
    instance = torch.randn(4, 3, 15, 14, generator=generator)
    result = xcorr(exemplar.bfloat16(), instance.bfloat16())
    assert result.dtype == torch.bfloat16 and result.shape == (4, 1, 4, 3)
    torch.testing.assert_close(result.float(), direct_xcorr(exemplar, instance), rtol=0.05, atol=0.5)


def test_xcorr_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="channels"):
        xcorr(torch.zeros(1, 3, 2, 2), torch.zeros(1, 4, 5, 5))
    with pytest.raises(ValueError, match="split evenly"):
        xcorr(torch.zeros(2, 3, 2, 2), torch.zeros(3, 3, 5, 5))
    with pytest.raises(ValueError, match="larger than instance"):
        xcorr(torch.zeros(1, 3, 6, 6), torch.zeros(1, 3, 5, 5))


def test_hann_window_is_matlab_hann_outer_product():
    window = hann_window(5, 3, dtype=torch.float64)
    rows = torch.tensor([0.0, 0.5, 1.0, 0.5, 0.0], dtype=torch.float64)
    cols = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(window, rows[:, None] * cols[None, :])


def test_circular_gaussian_peaks_at_origin_with_wrapped_offsets():
    target = circular_gaussian(5, 6, sigma=1.5, dtype=torch.float64)
    assert target[0, 0] == 1.0
    # index 4 of 5 rows is offset -1, index 5 of 6 columns is offset -1, index 3 of 6 columns is offset +3
    torch.testing.assert_close(target[4, 0], torch.tensor(np.exp(-1 / 4.5), dtype=torch.float64))
    torch.testing.assert_close(target[0, 5], target[0, 1])
    torch.testing.assert_close(target[0, 3], torch.tensor(np.exp(-9 / 4.5), dtype=torch.float64))


def circulant_design(features: torch.Tensor) -> torch.Tensor:
    """Rows u of A with (A w)[u] = Σ_c Σ_t w_c[t] x_c[u + t] (circular), w flattened channel-major."""
    channels, height, width = features.shape
    rows = []
    for u_row in range(height):
        for u_col in range(width):
            shifted = torch.roll(features, shifts=(-u_row, -u_col), dims=(1, 2))  # shifted[c, t] = x_c[u + t]
            rows.append(shifted.reshape(-1))
    return torch.stack(rows)


def spatial_least_squares(features: torch.Tensor, target: torch.Tensor, lam: float) -> torch.Tensor:
    """Minimiser of 1/(2n)||A w - y||² + λ/2 ||w||² by the normal equations (no Fourier transform)."""
    channels, height, width = features.shape
    n = height * width
    design = circulant_design(features)
    gram = design.T @ design / n + lam * torch.eye(design.shape[1], dtype=features.dtype)
    return torch.linalg.solve(gram, design.T @ target.reshape(-1) / n).reshape(channels, height, width)


@pytest.mark.parametrize("lam", [1e-2, 0.7, 10.0])
def test_correlation_filter_equals_spatial_least_squares(lam):
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(2, 3, 5, 4, generator=generator, dtype=torch.float64)
    target = circular_gaussian(5, 4, sigma=1.0, dtype=torch.float64)
    filters = solve_correlation_filter(features, target, lam)
    for index in range(2):
        torch.testing.assert_close(filters[index], spatial_least_squares(features[index], target, lam))


def test_weakly_regularised_filter_reproduces_the_desired_response():
    generator = torch.Generator().manual_seed(4)
    features = torch.randn(1, 3, 6, 6, generator=generator, dtype=torch.float64)
    target = circular_gaussian(6, 6, sigma=1.0, dtype=torch.float64)
    filters = solve_correlation_filter(features, target, lam=1e-9)
    response = circulant_design(features[0]) @ filters[0].reshape(-1)
    torch.testing.assert_close(response.reshape(6, 6), target, atol=1e-6, rtol=0)


def test_correlation_filter_gradcheck_float64():
    generator = torch.Generator().manual_seed(5)
    features = torch.randn(1, 2, 5, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    target = circular_gaussian(5, 4, sigma=1.2, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: solve_correlation_filter(x, target, 0.3), (features,))
    layer = CorrelationFilter(lam=0.3, sigma=1.0, margin=1)
    assert torch.autograd.gradcheck(layer, (features,))


def test_correlation_filter_gradient_equals_autograd_of_spatial_solve():
    generator = torch.Generator().manual_seed(6)
    features = torch.randn(3, 4, 5, generator=generator, dtype=torch.float64)
    target = circular_gaussian(4, 5, sigma=1.0, dtype=torch.float64)
    upstream = torch.randn(3, 4, 5, generator=generator, dtype=torch.float64)
    fourier_input = features.clone().requires_grad_(True)
    (solve_correlation_filter(fourier_input[None], target, 0.5)[0] * upstream).sum().backward()
    spatial_input = features.clone().requires_grad_(True)
    (spatial_least_squares(spatial_input, target, 0.5) * upstream).sum().backward()
    torch.testing.assert_close(fourier_input.grad, spatial_input.grad)


def test_correlation_filter_layer_windows_then_crops():
    generator = torch.Generator().manual_seed(7)
    features = torch.randn(2, 3, 11, 9, generator=generator, dtype=torch.float64)
    layer = CorrelationFilter(lam=2.0, sigma=1.5, margin=2)
    template = layer(features)
    assert template.shape == (2, 3, 7, 5)
    full = solve_correlation_filter(
        features * hann_window(11, 9, dtype=torch.float64), circular_gaussian(11, 9, 1.5, dtype=torch.float64), 2.0
    )
    torch.testing.assert_close(template, full[..., 2:9, 2:7])
    with pytest.raises(ValueError, match="too small"):
        layer(torch.zeros(1, 1, 4, 9))
    with pytest.raises(ValueError, match="lam > 0"):
        CorrelationFilter(lam=0.0)
