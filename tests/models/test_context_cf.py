"""EDCF's context-aware correlation-filter layer (Eq. 6-14): the closed form against a direct least-squares
solve with circulant data matrices in the spatial domain (float64), the hand-written backward (Eq. 10-14)
against autograd through torch.fft and against finite differences, and the layer's geometry."""

from __future__ import annotations

import pytest
import torch

from siamtrack.models.correlation import (
    ContextAwareCorrelation,
    ContextAwareCorrelationFilter,
    circular_gaussian,
    context_aware_correlation,
    context_aware_filter,
    context_aware_response,
    solve_correlation_filter,
    xcorr,
)


def convolution_matrix(signal: torch.Tensor) -> torch.Tensor:
    """The circulant matrix ``Z`` of a 2-D ``signal`` with ``(Z w)[u] = Σ_t z[u - t] w[t]`` (circular
    convolution: the paper's convention, ``Z w = F⁻¹(ẑ ⊙ ŵ)``), built shift by shift (no FFT)."""
    height, width = signal.shape
    columns = [
        torch.roll(signal, shifts=(t_row, t_col), dims=(0, 1)).reshape(-1)
        for t_row in range(height)
        for t_col in range(width)
    ]  # column t holds z[u - t]
    return torch.stack(columns, dim=1)


def spatial_context_aware_solve(template, context, target, lam1, lam2, cross_channel: bool) -> torch.Tensor:
    """Minimiser of ``||Σ_c Z0,c w_c - y||² + λ1 ||w||² + λ2 Σ_i P_i(w)`` by the normal equations, with
    ``P_i(w) = ||Σ_c Zi,c w_c||²`` (Eq. 6 literally) or, with ``cross_channel``, ``Σ_c Σ_c' ||Zi,c' w_c||²``."""
    channels, height, width = template.shape
    n = height * width
    design = torch.cat([convolution_matrix(template[c]) for c in range(channels)], dim=1)  # n x Cn
    gram = design.T @ design + lam1 * torch.eye(channels * n, dtype=template.dtype)
    for patch in context:
        if cross_channel:
            for c_prime in range(channels):
                block = convolution_matrix(patch[c_prime])
                gram += lam2 * torch.block_diag(*[block.T @ block] * channels)
        else:
            block = torch.cat([convolution_matrix(patch[c]) for c in range(channels)], dim=1)
            gram += lam2 * block.T @ block
    solution = torch.linalg.solve(gram, design.T @ target.reshape(-1))
    return solution.reshape(channels, height, width)


def fourier_filter(template, context, target, lam1, lam2) -> torch.Tensor:
    """The spatial filter of Eq. 7 for one sample."""
    filter_fft, _ = context_aware_filter(
        torch.fft.rfft2(template[None]), torch.fft.rfft2(context[None]), torch.fft.rfft2(target), lam1, lam2
    )
    return torch.fft.irfft2(filter_fft, s=template.shape[-2:])[0]


@pytest.mark.parametrize("lam1, lam2", [(1e-4, 0.1), (0.5, 2.0), (1e-2, 0.0)])
def test_single_channel_closed_form_is_the_least_squares_solution_of_eq6(lam1, lam2):
    generator = torch.Generator().manual_seed(11)
    template = torch.randn(1, 5, 6, generator=generator, dtype=torch.float64)
    context = torch.randn(3, 1, 5, 6, generator=generator, dtype=torch.float64)
    target = circular_gaussian(5, 6, sigma=1.0, dtype=torch.float64)
    expected = spatial_context_aware_solve(template, context, target, lam1, lam2, cross_channel=False)
    torch.testing.assert_close(fourier_filter(template, context, target, lam1, lam2), expected)


def test_multi_channel_closed_form_is_the_cross_channel_least_squares_solution():
    """With C channels Eq. 7 (shared denominator) solves Eq. 6 with the cross-channel context penalty."""
    generator = torch.Generator().manual_seed(12)
    template = torch.randn(3, 4, 5, generator=generator, dtype=torch.float64)
    context = torch.randn(2, 3, 4, 5, generator=generator, dtype=torch.float64)
    target = circular_gaussian(4, 5, sigma=0.8, dtype=torch.float64)
    filters = fourier_filter(template, context, target, 0.3, 0.7)
    torch.testing.assert_close(filters, spatial_context_aware_solve(template, context, target, 0.3, 0.7, True))
    # ... and not the literal multi-channel Eq. 6 (that one would need a C x C solve per frequency)
    literal = spatial_context_aware_solve(template, context, target, 0.3, 0.7, cross_channel=False)
    assert (filters - literal).abs().max() > 1e-3


def test_response_is_the_circulant_product_of_eq9():
    generator = torch.Generator().manual_seed(13)
    search = torch.randn(2, 4, 5, generator=generator, dtype=torch.float64)
    filters = torch.randn(2, 4, 5, generator=generator, dtype=torch.float64)
    response = context_aware_response(torch.fft.rfft2(search[None]), torch.fft.rfft2(filters[None]), (4, 5))
    expected = sum(convolution_matrix(search[c]) @ filters[c].reshape(-1) for c in range(2))
    torch.testing.assert_close(response[0, 0], expected.reshape(4, 5))


def test_without_context_it_is_the_ridge_regression_filter_of_cfnet():
    """K = 0: the same response as the library's CF layer (another convention: 1/n scaling and correlation)."""
    generator = torch.Generator().manual_seed(14)
    template = torch.randn(1, 3, 6, 6, generator=generator, dtype=torch.float64)
    search = torch.randn(1, 3, 6, 6, generator=generator, dtype=torch.float64)
    target = circular_gaussian(6, 6, sigma=1.0, dtype=torch.float64)
    lam = 0.05
    ours = context_aware_correlation(template, template.new_zeros(1, 0, 3, 6, 6), search, target, lam1=36 * lam)
    cfnet_filter = solve_correlation_filter(template, target, lam)  # applied by correlation, see its doc
    wrapped = torch.cat([search, search[..., :5]], dim=-1)
    wrapped = torch.cat([wrapped, wrapped[..., :5, :]], dim=-2)  # circular padding for a valid xcorr
    cfnet_response = xcorr(cfnet_filter, wrapped)
    torch.testing.assert_close(ours, cfnet_response)


def autograd_reference(template, context, search, target, lam1, lam2):
    """Eq. 7 + 9 with plain differentiable torch.fft operations (autograd computes the backward)."""
    z0 = torch.fft.fft2(template)
    zi = torch.fft.fft2(context)
    denominator = (z0.abs() ** 2).sum(1, keepdim=True) + lam1 + lam2 * (zi.abs() ** 2).sum((1, 2)).unsqueeze(1)
    filters = z0.conj() * torch.fft.fft2(target) / denominator
    return torch.fft.ifft2((torch.fft.fft2(search) * filters).sum(1, keepdim=True)).real


def random_problem(seed: int, batch=2, patches=3, channels=2, height=6, width=5):
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, channels, height, width)
    template = torch.randn(shape, generator=generator, dtype=torch.float64)
    context = torch.randn((batch, patches) + shape[1:], generator=generator, dtype=torch.float64)
    search = torch.randn(shape, generator=generator, dtype=torch.float64)
    target = circular_gaussian(height, width, sigma=1.1, dtype=torch.float64)
    return template, context, search, target


@pytest.mark.parametrize("height, width", [(6, 5), (5, 8)])  # odd and even sizes (Nyquist bins)
def test_backward_eq10_to_14_equals_autograd_through_fft(height, width):
    template, context, search, target = random_problem(15, height=height, width=width)
    upstream = torch.randn(2, 1, height, width, generator=torch.Generator().manual_seed(16), dtype=torch.float64)
    inputs = [t.clone().requires_grad_(True) for t in (template, context, search)]
    ours = context_aware_correlation(*inputs, target, lam1=0.2, lam2=0.6)
    ours_grads = torch.autograd.grad(ours, inputs, upstream)
    reference_inputs = [t.clone().requires_grad_(True) for t in (template, context, search)]
    reference = autograd_reference(*reference_inputs, target, 0.2, 0.6)
    reference_grads = torch.autograd.grad(reference, reference_inputs, upstream)
    torch.testing.assert_close(ours, reference)
    for mine, expected in zip(ours_grads, reference_grads):
        torch.testing.assert_close(mine, expected)


def test_backward_gradcheck_float64():
    template, context, search, target = random_problem(17, batch=2, patches=2, channels=2, height=5, width=4)
    inputs = tuple(t.requires_grad_(True) for t in (template, context, search))
    assert torch.autograd.gradcheck(lambda z, c, x: context_aware_correlation(z, c, x, target, 0.3, 0.7), inputs)


def test_l2_loss_gradient_of_eq10():
    """For L = ||g - y||², Eq. 10's Γ = 2(ĝ - ŷ): the gradient reaching the search equals F⁻¹(Γ ⊙ ŵ*)."""
    template, context, search, target = random_problem(18, batch=1)
    search.requires_grad_(True)
    response = context_aware_correlation(template, context, search, target, 0.1, 0.5)
    (grad,) = torch.autograd.grad(((response - target) ** 2).sum(), search)
    filter_fft, _ = context_aware_filter(
        torch.fft.rfft2(template), torch.fft.rfft2(context), torch.fft.rfft2(target), 0.1, 0.5
    )
    gamma = 2 * (torch.fft.rfft2(response.detach()) - torch.fft.rfft2(target))
    torch.testing.assert_close(grad, torch.fft.irfft2(gamma * filter_fft.conj(), s=target.shape))


def test_only_the_requested_gradients_are_computed():
    template, context, search, target = random_problem(19)
    search.requires_grad_(True)
    response = ContextAwareCorrelation.apply(template, context, search, target, 0.1, 0.2)
    response.sum().backward()
    assert search.grad is not None and template.grad is None and context.grad is None


def test_filter_on_the_template_reproduces_the_desired_response_and_follows_shifts():
    generator = torch.Generator().manual_seed(20)
    layer = ContextAwareCorrelationFilter(lam1=1e-6, lam2=0.0, sigma=1.0, window=False)
    template = torch.randn(1, 4, 16, 16, generator=generator, dtype=torch.float64)
    no_context = template.new_zeros(1, 0, 4, 16, 16)
    response = layer(template, no_context, template)
    torch.testing.assert_close(response[0, 0], layer.target(16, 16, dtype=torch.float64), atol=1e-4, rtol=0)
    shifted = torch.roll(template, shifts=(3, -2), dims=(-2, -1))
    peak = int(layer(template, no_context, shifted)[0, 0].argmax())
    assert divmod(peak, 16) == (3, 14)  # rows +3, columns -2 (circular)


def test_context_lowers_the_response_on_the_context_patches():
    generator = torch.Generator().manual_seed(21)
    template = torch.randn(1, 3, 12, 12, generator=generator, dtype=torch.float64)
    context = torch.randn(1, 4, 3, 12, 12, generator=generator, dtype=torch.float64)
    plain = ContextAwareCorrelationFilter(lam1=1e-2, lam2=0.0, sigma=1.0)
    aware = ContextAwareCorrelationFilter(lam1=1e-2, lam2=5.0, sigma=1.0)

    def context_energy(layer):
        filter_fft = layer.solve(template, context)
        return sum(float((layer.respond(filter_fft, context[:, i]) ** 2).sum()) for i in range(4))

    assert context_energy(aware) < 0.5 * context_energy(plain)


def test_module_training_and_tracking_paths_agree():
    template, context, search, _ = random_problem(22, batch=1, height=9, width=9)
    layer = ContextAwareCorrelationFilter(lam1=1e-3, lam2=0.1, sigma=1.5)
    torch.testing.assert_close(layer(template, context, search), layer.respond(layer.solve(template, context), search))


def test_bad_inputs_raise_clear_errors():
    template, context, search, target = random_problem(23)
    with pytest.raises(ValueError, match="context must be"):
        context_aware_correlation(template, context[:, :, :1], search, target)
    with pytest.raises(ValueError, match="template and search"):
        context_aware_correlation(template, context, search[:1], target)
    with pytest.raises(ValueError, match="target"):
        context_aware_correlation(template, context, search, target[:-1])
    with pytest.raises(ValueError, match="constant"):
        context_aware_correlation(template, context, search, target.clone().requires_grad_(True))
    with pytest.raises(ValueError, match="lam1 > 0"):
        context_aware_correlation(template, context, search, target, lam1=0.0)
    with pytest.raises(ValueError, match="lam1 > 0"):
        ContextAwareCorrelationFilter(lam1=-1.0)
