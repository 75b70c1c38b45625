"""Correlation layers: batched cross-correlation and CFNet's differentiable correlation-filter layer.

Convention: "correlation" is what :func:`torch.nn.functional.conv2d` computes,
``(w ⋆ x)[u] = Σ_c Σ_t w_c[t] · x_c[u + t]``; the correlation filter below solves for a ``w`` that is
applied this way, so its template plugs straight into :func:`xcorr`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FFT_MIN_AREA = 12 * 12  # exemplars of at least this many cells are correlated through the FFT (see xcorr)


def xcorr(exemplar: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
    """Cross-correlate a batch of exemplars with a batch of instances: one (grouped) convolution, or the FFT.

    ``exemplar`` is ``(M, C, h, w)``, ``instance`` is ``(N, C, H, W)`` with ``N`` a multiple of ``M``:
    exemplar ``i`` is matched with the ``k = N / M`` consecutive instances ``i*k .. i*k + k - 1``
    (``M == N``: pairs, as in training; ``M == 1``: one template against a scale pyramid, as in tracking).
    Returns ``(N, 1, H - h + 1, W - w + 1)`` score maps (SiamFC Eq. 2 without the bias).

    How, by the exemplar's size (every path gives the same maps within float rounding and the same gradients,
    tests/models/test_correlation.py):

    * fewer than ``FFT_MIN_AREA`` cells (SiamFC's 6x6, the ``-lite`` heads' 7x7): :func:`_xcorr_matmul`, one
      batched matrix product and a sum of ``h·w`` shifted slices. A convolution with a single output channel runs
      at a small fraction of the CPU's FLOP rate, and its grouped form (one group per training pair) is worse in
      the backward pass: 16 pairs of 128 x 33 x 33 maps against 7x7 templates took 549 ms forward + backward as a
      grouped convolution and 47 ms as a matrix product (one thread; 8.5 ms against 1.1 ms for one template
      against three tracking scales);
    * float32/64 exemplars of at least ``FFT_MIN_AREA`` cells (CFNet's 25x25 templates): the Fourier domain
      (:func:`_xcorr_fft`; CFNet-conv2's 3 x 32 x 57 x 57 search maps against a 25 x 25 template: ~10 ms direct,
      ~2 ms through the FFT, on 2 cores);
    * large exemplars of other dtypes (bfloat16): a (grouped) convolution.
    """
    if exemplar.dim() != 4 or instance.dim() != 4:
        raise ValueError(
            f"xcorr needs 4-D tensors, got exemplar {tuple(exemplar.shape)} and instance {tuple(instance.shape)}"
        )
    m, channels, height, width = exemplar.shape
    n, instance_channels, big_height, big_width = instance.shape
    if channels != instance_channels:
        raise ValueError(f"xcorr: exemplar has {channels} channels but instance has {instance_channels}")
    if n % m:
        raise ValueError(f"xcorr: {n} instances cannot be split evenly among {m} exemplars")
    if height > big_height or width > big_width:
        raise ValueError(f"xcorr: exemplar {height}x{width} is larger than instance {big_height}x{big_width}")
    if height * width < FFT_MIN_AREA:
        return _xcorr_matmul(exemplar, instance)
    if exemplar.dtype in (torch.float32, torch.float64):
        return _xcorr_fft(exemplar, instance)
    if m == 1:
        return F.conv2d(instance, exemplar)
    k = n // m
    stacked = instance.reshape(m, k, channels, big_height, big_width).transpose(0, 1)
    scores = F.conv2d(stacked.reshape(k, m * channels, big_height, big_width), exemplar, groups=m)
    return scores.transpose(0, 1).reshape(n, 1, scores.shape[-2], scores.shape[-1])


def _xcorr_matmul(exemplar: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
    """:func:`xcorr` as a matrix product: ``P[n, t, v] = Σ_c w_c[t] · x_c[v]`` for every exemplar cell ``t`` and
    instance cell ``v`` (one batched ``(h·w x C) @ (C x H·W)`` product per exemplar), then
    ``score[u] = Σ_t P[t, u + t]``, a sum of ``h·w`` shifted ``(H - h + 1) x (W - w + 1)`` slices. It computes the
    products of every cell pair, also the third or so that no kept position uses, and still runs ~10x faster
    than the grouped convolution on the CPU (see :func:`xcorr`)."""
    m, channels, height, width = exemplar.shape
    n, _, big_height, big_width = instance.shape
    out_height, out_width = big_height - height + 1, big_width - width + 1
    cells = exemplar.reshape(m, 1, channels, height * width).transpose(-1, -2)  # (M, 1, h·w, C)
    products = torch.matmul(cells, instance.reshape(m, n // m, channels, big_height * big_width))
    products = products.reshape(n, height, width, big_height, big_width)
    scores = products[:, 0, 0, :out_height, :out_width]
    for row in range(height):
        for column in range(width):
            if row or column:
                scores = scores + products[:, row, column, row : row + out_height, column : column + out_width]
    return scores.reshape(n, 1, out_height, out_width)


def _xcorr_fft(exemplar: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
    """:func:`xcorr` through the FFT: with the exemplar zero-padded to the instance's ``H x W``, the circular
    correlation ``irfft2(Σ_c X_c · conj(E_c))`` equals the plain one on the ``(H - h + 1) x (W - w + 1)``
    positions where the exemplar does not wrap around, which are the ones kept."""
    m, channels, height, width = exemplar.shape
    n, _, big_height, big_width = instance.shape
    size = (big_height, big_width)
    instance_fft = torch.fft.rfft2(instance).reshape(m, n // m, channels, big_height, big_width // 2 + 1)
    exemplar_fft = torch.fft.rfft2(exemplar, s=size)
    product = torch.einsum("mkcij,mcij->mkij", instance_fft, exemplar_fft.conj())
    scores = torch.fft.irfft2(product, s=size)[..., : big_height - height + 1, : big_width - width + 1]
    return scores.reshape(n, 1, big_height - height + 1, big_width - width + 1)


def hann_window(height: int, width: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """Outer product of two symmetric Hann windows (MATLAB ``hann``: zero at both ends), ``(height, width)``."""
    rows = (
        torch.hann_window(height, periodic=False, dtype=dtype, device=device)
        if height > 1
        else torch.ones(1, dtype=dtype, device=device)
    )
    cols = (
        torch.hann_window(width, periodic=False, dtype=dtype, device=device)
        if width > 1
        else torch.ones(1, dtype=dtype, device=device)
    )
    return rows[:, None] * cols[None, :]


def circular_gaussian(height: int, width: int, sigma: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """Gaussian ``exp(-(i² + j²) / 2σ²)`` with its peak at index ``[0, 0]`` and circular coordinates
    (index ``H - 1`` is offset ``-1``): the desired response ``y`` of a correlation filter whose template
    must stay aligned with (not shifted against) its training features."""

    def offsets(size: int) -> torch.Tensor:
        half = (size - 1) // 2
        return torch.remainder(torch.arange(size, dtype=dtype, device=device) + half, size) - half

    rows, cols = offsets(height), offsets(width)
    return torch.exp(-(rows[:, None] ** 2 + cols[None, :] ** 2) / (2.0 * sigma**2))


def solve_correlation_filter(features: torch.Tensor, target: torch.Tensor, lam: float) -> torch.Tensor:
    """Closed-form multi-channel ridge regression of a circular correlation filter.

    Minimises (AdaCFNet Eq. 1, CFNet Eq. 2) ``1/(2n) ||Σ_c w_c ⋆ x_c - y||² + λ/2 Σ_c ||w_c||²`` over all
    circular shifts (``n = H·W``); the solution (AdaCFNet Eq. 2) in the Fourier domain is
    ``k̂ = 1/n Σ_c conj(x̂_c) x̂_c + λ``, ``α̂ = ŷ / (n k̂)``, ``ŵ_c = conj(α̂) x̂_c``, i.e.
    ``ŵ_c = x̂_c conj(ŷ) / (Σ_c |x̂_c|² + nλ)`` (the conjugates sit on ``x̂`` when ``⋆`` is a convolution).

    ``features`` is ``(B, C, H, W)``, ``target`` ``(H, W)``; returns ``w`` with the shape of ``features``.
    Gradients come from autograd through :mod:`torch.fft`, which reproduces the hand-derived backward pass
    of AdaCFNet Eq. 3 (tests check it against finite differences and against a spatial least-squares solve).
    """
    height, width = features.shape[-2:]
    if target.shape[-2:] != (height, width):
        raise ValueError(
            f"correlation filter: target {tuple(target.shape)} does not match features {tuple(features.shape)}"
        )
    n = height * width
    x_f = torch.fft.rfft2(features)
    y_f = torch.fft.rfft2(target)
    k_f = (x_f.real**2 + x_f.imag**2).sum(dim=-3, keepdim=True) / n + lam
    alpha_f = y_f / (n * k_f)
    return torch.fft.irfft2(alpha_f.conj() * x_f, s=(height, width))


class CorrelationFilter(nn.Module):
    """CFNet's correlation-filter block (Valmadre et al. 2017, Sec. 3; AdaCFNet Sec. III-C, Eq. 1-3):
    cosine window on the template features -> closed-form filter -> crop ``margin`` cells from each side.

    ``lam`` is λ of Eq. 1 (CFNet trains with 10), ``sigma`` the width of the desired Gaussian response in
    feature cells (CFNet: 8 image pixels at stride 4 = 2 cells), ``margin`` the crop that reduces the
    filter to the exemplar's extent (CFNet's ``CropMargin``: 16 cells, e.g. 57x57 -> 25x25).
    The window and the desired response are fixed (not learned), as in CFNet.
    """

    def __init__(self, lam: float = 10.0, sigma: float = 2.0, margin: int = 16, window: bool = True):
        super().__init__()
        if not lam > 0 or not sigma > 0 or margin < 0:
            raise ValueError(
                f"correlation filter needs lam > 0, sigma > 0, margin >= 0; "
                f"got lam={lam}, sigma={sigma}, margin={margin}"
            )
        self.lam, self.sigma, self.margin, self.window = float(lam), float(sigma), int(margin), bool(window)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        height, width = features.shape[-2:]
        if height <= 2 * self.margin or width <= 2 * self.margin:
            raise ValueError(
                f"correlation filter: {height}x{width} features are too small for a crop margin of {self.margin}"
            )
        kwargs = dict(dtype=features.dtype, device=features.device)
        if self.window:
            features = features * hann_window(height, width, **kwargs)
        target = circular_gaussian(height, width, self.sigma, **kwargs)
        filters = solve_correlation_filter(features, target, self.lam)
        m = self.margin
        return filters[..., m : height - m, m : width - m]

    def extra_repr(self) -> str:
        return f"lam={self.lam}, sigma={self.sigma}, margin={self.margin}, window={self.window}"


# ------------------------------------------------------------------------ context-aware correlation filter
#
# EDCF (Wang et al. 2018, Sec. 3.2) after CACF (Mueller et al. 2017). Convention of the paper: the circulant
# matrix ``X`` of a signal ``x`` applies a circular *convolution*, ``X w = F⁻¹(x̂ ⊙ ŵ)`` (Eq. 9), so the
# solution (Eq. 7) carries the conjugate on the template, ``ŵ = ẑ0* ⊙ ŷ / D̂``. ``F`` is the unnormalised DFT
# (``torch.fft.rfft2``); every spectrum below is the half spectrum of a real signal.


def _rfft2(signal: torch.Tensor) -> torch.Tensor:
    """``torch.fft.rfft2`` that also takes an empty batch (no context patches, ``K = 0``)."""
    if signal.numel() == 0:
        complex_dtype = torch.complex128 if signal.dtype == torch.float64 else torch.complex64
        return signal.new_zeros(signal.shape[:-1] + (signal.shape[-1] // 2 + 1,), dtype=complex_dtype)
    return torch.fft.rfft2(signal)


def _irfft2(spectrum: torch.Tensor, size) -> torch.Tensor:
    """``torch.fft.irfft2`` that also takes an empty batch."""
    if spectrum.numel() == 0:
        return spectrum.real.new_zeros(spectrum.shape[:-2] + tuple(size))
    return torch.fft.irfft2(spectrum, s=tuple(size))


def context_aware_filter(
    template_fft: torch.Tensor, context_fft: torch.Tensor, target_fft: torch.Tensor, lam1: float, lam2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """EDCF Eq. 7: the context-aware correlation filter in the Fourier domain, and its denominator ``D̂``.

    ``ŵ_c = ẑ0_c* ⊙ ŷ / D̂`` with ``D̂ = Σ_c ẑ0_c* ⊙ ẑ0_c + λ1 + λ2 Σ_i Σ_c ẑi_c* ⊙ ẑi_c``.

    ``template_fft`` ``(B, C, H, W')`` is ``ẑ0``, ``context_fft`` ``(B, K, C, H, W')`` the ``K`` context patches
    ``ẑi`` (``K = 0`` gives a plain ridge-regression CF), ``target_fft`` ``(H, W')`` the desired response ``ŷ``.
    Returns ``ŵ`` ``(B, C, H, W')`` and ``D̂`` ``(B, 1, H, W')`` (real).

    Channels: the paper writes Eq. 7 for one channel. With ``C`` channels this element-wise form (one shared
    denominator summed over channels, as DCFNet's multi-channel filter) is the *exact* minimiser of Eq. 6
    whose context term penalises every filter channel against every context channel,
    ``λ2 Σ_i Σ_c Σ_c' ||Z_i,c' w_c||²`` (per frequency the context matrix ``ẑi ẑiᴴ`` is replaced by its trace
    ``||ẑi||² I``, an upper bound), while the target term ``||Σ_c Z0,c w_c - y||²`` stays exact (Sherman-
    Morrison). For ``C = 1`` it is Eq. 6 itself. We keep the paper's element-wise form (no ``C x C`` solve per
    frequency) because its backward pass is the element-wise Eq. 10-14.
    """
    if (
        template_fft.dim() != 4
        or context_fft.dim() != 5
        or context_fft.shape[0] != template_fft.shape[0]
        or context_fft.shape[2:] != template_fft.shape[1:]
    ):
        raise ValueError(
            f"context-aware filter: template spectrum (B, C, H, W') and context spectra "
            f"(B, K, C, H, W') expected, got {tuple(template_fft.shape)} and {tuple(context_fft.shape)}"
        )
    energy = (template_fft.real**2 + template_fft.imag**2).sum(dim=1, keepdim=True)
    context_energy = (context_fft.real**2 + context_fft.imag**2).sum(dim=(1, 2)).unsqueeze(1)
    denominator = energy + lam1 + lam2 * context_energy
    return template_fft.conj() * target_fft / denominator, denominator


def context_aware_response(search_fft: torch.Tensor, filter_fft: torch.Tensor, size) -> torch.Tensor:
    """EDCF Eq. 9: ``g = X w = F⁻¹(Σ_c x̂_c ⊙ ŵ_c)``, the response ``(N, 1, H, W)`` of the search features
    (spectrum ``(N, C, H, W')``) to the filter ``ŵ`` (``(N, C, H, W')`` or ``(1, C, H, W')``, broadcast).
    The response is circular: index ``(0, 0)`` is no displacement, index ``H - 1`` a displacement of -1."""
    return torch.fft.irfft2((search_fft * filter_fft).sum(dim=1, keepdim=True), s=tuple(size))


class ContextAwareCorrelation(torch.autograd.Function):
    """EDCF's differentiable context-aware CF layer: forward Eq. 7 + 9, backward Eq. 10-14.

    ``forward(template z0 (B, C, H, W), context zi (B, K, C, H, W), search x (B, C, H, W), target y (H, W),
    λ1, λ2) -> g (B, 1, H, W)``, pair ``b`` of the search batch using the filter of template ``b``.

    Backward, with ``Γ = F(∂L/∂g)`` (Eq. 10: ``2(ĝ - ŷ)`` for ``L = ||g - y||²``) and ``ρ = Σ_c Re(Ω_c* ⊙ ŵ_c)``:

    * Eq. 11: ``∂L/∂x_c = F⁻¹(Γ ⊙ ŵ_c*)``;
    * Eq. 12: ``Ω_c := ∇_ŵ L = Γ ⊙ x̂_c*``;
    * Eq. 13: ``∂L/∂z0_c = F⁻¹((Ω_c* ⊙ ŷ - 2 ẑ0_c ⊙ ρ) / D̂)``;
    * Eq. 14: ``∂L/∂zi_c = F⁻¹(-2 λ2 ẑi_c ⊙ ρ / D̂)``.

    These are the exact gradients (checked against autograd through :mod:`torch.fft` and finite
    differences). Where the paper's printed Eq. 13-14 differ: they read ``Ω ⊙ (ŷ* - 2Re(ẑ0* ⊙ ŵ)) / D̂`` and
    ``Ω ⊙ (-2Re(ẑi* ⊙ ŵ)) / D̂``, i.e. the derivative taken as if every spectrum were real (then both forms
    coincide; for complex spectra the real part belongs on ``Ω* ⊙ ŵ``, not on ``ẑ* ⊙ ŵ``), and Eq. 14 drops
    the factor ``λ2`` that ``D̂`` puts in front of ``ẑi* ⊙ ẑi``. The target ``y`` is a constant (no gradient).
    """

    @staticmethod
    def forward(ctx, template, context, search, target, lam1, lam2):
        size = tuple(template.shape[-2:])
        template_fft = torch.fft.rfft2(template)
        context_fft = _rfft2(context)
        search_fft = torch.fft.rfft2(search)
        target_fft = torch.fft.rfft2(target)
        filter_fft, denominator = context_aware_filter(template_fft, context_fft, target_fft, lam1, lam2)
        ctx.save_for_backward(template_fft, context_fft, search_fft, target_fft, filter_fft, denominator)
        ctx.size, ctx.lam2 = size, float(lam2)
        return context_aware_response(search_fft, filter_fft, size)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_response):
        template_fft, context_fft, search_fft, target_fft, filter_fft, denominator = ctx.saved_tensors
        size = ctx.size
        gamma = torch.fft.rfft2(grad_response)  # Eq. 10
        grad_template = grad_context = grad_search = None
        if ctx.needs_input_grad[2]:
            grad_search = torch.fft.irfft2(gamma * filter_fft.conj(), s=size)  # Eq. 11
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            omega = gamma * search_fft.conj()  # Eq. 12
            rho_over_d = (omega.conj() * filter_fft).real.sum(dim=1, keepdim=True) / denominator
            if ctx.needs_input_grad[0]:  # Eq. 13
                grad_template = torch.fft.irfft2(
                    omega.conj() * target_fft / denominator - 2.0 * template_fft * rho_over_d, s=size
                )
            if ctx.needs_input_grad[1]:  # Eq. 14
                grad_context = _irfft2(-2.0 * ctx.lam2 * context_fft * rho_over_d.unsqueeze(1), size)
        return grad_template, grad_context, grad_search, None, None, None


def context_aware_correlation(
    template: torch.Tensor,
    context: torch.Tensor,
    search: torch.Tensor,
    target: torch.Tensor,
    lam1: float = 1e-4,
    lam2: float = 0.1,
) -> torch.Tensor:
    """The response ``g (B, 1, H, W)`` of EDCF's context-aware CF layer (:class:`ContextAwareCorrelation`):
    the filter learned on ``template`` ``(B, C, H, W)`` against ``context`` ``(B, K, C, H, W)`` (Eq. 6-7),
    applied to ``search`` ``(B, C, H, W)`` (Eq. 9). λ1 = 1e-4 and λ2 = 0.1 are the paper's (Sec. 4.1)."""
    if template.dim() != 4 or search.shape != template.shape:
        raise ValueError(
            f"context-aware correlation: template and search must both be (B, C, H, W), got "
            f"{tuple(template.shape)} and {tuple(search.shape)}"
        )
    if context.dim() != 5 or context.shape[0] != template.shape[0] or context.shape[2:] != template.shape[1:]:
        raise ValueError(
            f"context-aware correlation: context must be (B, K, C, H, W) = (B, K) + "
            f"{tuple(template.shape[1:])}, got {tuple(context.shape)}"
        )
    if target.shape != template.shape[-2:]:
        raise ValueError(
            f"context-aware correlation: target {tuple(target.shape)} does not match the features' "
            f"size {tuple(template.shape[-2:])}"
        )
    if target.requires_grad:
        raise ValueError("context-aware correlation: the desired response is a constant; detach it")
    if not lam1 > 0 or not lam2 >= 0:
        raise ValueError(f"context-aware correlation needs lam1 > 0 and lam2 >= 0, got lam1={lam1}, lam2={lam2}")
    return ContextAwareCorrelation.apply(template, context, search, target.to(template.dtype), lam1, lam2)


class ContextAwareCorrelationFilter(nn.Module):
    """EDCF's context-aware CF layer (Sec. 3.2) with its fixed parts: a Hann window on every feature map and
    the desired response ``y``, a circular Gaussian of ``sigma`` cells peaked at ``(0, 0)``.

    ``forward(template, context, search)`` is the training path (custom backward, Eq. 10-14); tracking uses
    :meth:`solve` (Eq. 7, once per template) and :meth:`respond` (Eq. 9, per search batch) on the same
    helpers. ``lam1``, ``lam2``: λ1, λ2 of Eq. 6 (paper: 1e-4, 0.1).
    """

    def __init__(self, lam1: float = 1e-4, lam2: float = 0.1, sigma: float = 3.175, window: bool = True):
        super().__init__()
        if not lam1 > 0 or not lam2 >= 0 or not sigma > 0:
            raise ValueError(
                f"context-aware CF needs lam1 > 0, lam2 >= 0, sigma > 0; got lam1={lam1}, lam2={lam2}, sigma={sigma}"
            )
        self.lam1, self.lam2, self.sigma, self.window = float(lam1), float(lam2), float(sigma), bool(window)
        self._fixed: dict = {}  # (height, width, dtype, device) -> (window, y, ŷ), computed once per size

    def _fixed_parts(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        height, width = features.shape[-2:]
        key = (height, width, features.dtype, features.device)
        if key not in self._fixed:
            kwargs = dict(dtype=features.dtype, device=features.device)
            window = hann_window(height, width, **kwargs) if self.window else torch.ones(height, width, **kwargs)
            target = circular_gaussian(height, width, self.sigma, **kwargs)
            self._fixed[key] = (window, target, torch.fft.rfft2(target))
        return self._fixed[key]

    def windowed(self, features: torch.Tensor) -> torch.Tensor:
        """``features`` times the Hann window of their size (unchanged when ``window`` is off)."""
        return features * self._fixed_parts(features)[0] if self.window else features

    def target(self, height: int, width: int, dtype=torch.float32, device=None) -> torch.Tensor:
        """The desired response ``y`` ``(height, width)``."""
        return circular_gaussian(height, width, self.sigma, dtype=dtype, device=device)

    def forward(self, template: torch.Tensor, context: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        target = self._fixed_parts(template)[1]
        return context_aware_correlation(
            self.windowed(template), self.windowed(context), self.windowed(search), target, self.lam1, self.lam2
        )

    def solve(self, template: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The filter spectrum ``ŵ`` ``(B, C, H, W')`` of Eq. 7 (no custom backward: tracking)."""
        filter_fft, _ = context_aware_filter(
            torch.fft.rfft2(self.windowed(template)),
            _rfft2(self.windowed(context)),
            self._fixed_parts(template)[2],
            self.lam1,
            self.lam2,
        )
        return filter_fft

    def respond(self, filter_fft: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        """Eq. 9: the circular response ``(N, 1, H, W)`` of ``search`` ``(N, C, H, W)`` to ``ŵ``."""
        return context_aware_response(torch.fft.rfft2(self.windowed(search)), filter_fft, search.shape[-2:])

    def extra_repr(self) -> str:
        return f"lam1={self.lam1}, lam2={self.lam2}, sigma={self.sigma}, window={self.window}"
