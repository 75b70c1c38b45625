"""Correlation layers: batched cross-correlation and CFNet's differentiable correlation-filter layer.

Convention: "correlation" is what :func:`torch.nn.functional.conv2d` computes,
``(w ⋆ x)[u] = Σ_c Σ_t w_c[t] · x_c[u + t]``; the correlation filter below solves for a ``w`` that is
applied this way, so its template plugs straight into :func:`xcorr`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def xcorr(exemplar: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
    """Cross-correlate a batch of exemplars with a batch of instances in one (grouped) convolution.

    ``exemplar`` is ``(M, C, h, w)``, ``instance`` is ``(N, C, H, W)`` with ``N`` a multiple of ``M``:
    exemplar ``i`` is matched with the ``k = N / M`` consecutive instances ``i*k .. i*k + k - 1``
    (``M == N``: pairs, as in training; ``M == 1``: one template against a scale pyramid, as in tracking).
    Returns ``(N, 1, H - h + 1, W - w + 1)`` score maps (SiamFC Eq. 2 without the bias).
    """
    if exemplar.dim() != 4 or instance.dim() != 4:
        raise ValueError(f"xcorr needs 4-D tensors, got exemplar {tuple(exemplar.shape)} "
                         f"and instance {tuple(instance.shape)}")
    m, channels, height, width = exemplar.shape
    n, instance_channels, big_height, big_width = instance.shape
    if channels != instance_channels:
        raise ValueError(f"xcorr: exemplar has {channels} channels but instance has {instance_channels}")
    if n % m:
        raise ValueError(f"xcorr: {n} instances cannot be split evenly among {m} exemplars")
    if height > big_height or width > big_width:
        raise ValueError(f"xcorr: exemplar {height}x{width} is larger than instance {big_height}x{big_width}")
    if m == 1:
        return F.conv2d(instance, exemplar)
    k = n // m
    stacked = instance.reshape(m, k, channels, big_height, big_width).transpose(0, 1)
    scores = F.conv2d(stacked.reshape(k, m * channels, big_height, big_width), exemplar, groups=m)
    return scores.transpose(0, 1).reshape(n, 1, scores.shape[-2], scores.shape[-1])


def hann_window(height: int, width: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """Outer product of two symmetric Hann windows (MATLAB ``hann``: zero at both ends), ``(height, width)``."""
    rows = torch.hann_window(height, periodic=False, dtype=dtype, device=device) if height > 1 else \
        torch.ones(1, dtype=dtype, device=device)
    cols = torch.hann_window(width, periodic=False, dtype=dtype, device=device) if width > 1 else \
        torch.ones(1, dtype=dtype, device=device)
    return rows[:, None] * cols[None, :]


def circular_gaussian(height: int, width: int, sigma: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """Gaussian ``exp(-(i² + j²) / 2σ²)`` with its peak at index ``[0, 0]`` and circular coordinates
    (index ``H - 1`` is offset ``-1``): the desired response ``y`` of a correlation filter whose template
    must stay aligned with (not shifted against) its training features."""
    def offsets(size: int) -> torch.Tensor:
        half = (size - 1) // 2
        return torch.remainder(torch.arange(size, dtype=dtype, device=device) + half, size) - half

    rows, cols = offsets(height), offsets(width)
    return torch.exp(-(rows[:, None] ** 2 + cols[None, :] ** 2) / (2.0 * sigma ** 2))


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
        raise ValueError(f"correlation filter: target {tuple(target.shape)} does not match features "
                         f"{tuple(features.shape)}")
    n = height * width
    x_f = torch.fft.rfft2(features)
    y_f = torch.fft.rfft2(target)
    k_f = (x_f.real ** 2 + x_f.imag ** 2).sum(dim=-3, keepdim=True) / n + lam
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
            raise ValueError(f"correlation filter needs lam > 0, sigma > 0, margin >= 0; "
                             f"got lam={lam}, sigma={sigma}, margin={margin}")
        self.lam, self.sigma, self.margin, self.window = float(lam), float(sigma), int(margin), bool(window)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        height, width = features.shape[-2:]
        if height <= 2 * self.margin or width <= 2 * self.margin:
            raise ValueError(f"correlation filter: {height}x{width} features are too small for a crop "
                             f"margin of {self.margin}")
        kwargs = dict(dtype=features.dtype, device=features.device)
        if self.window:
            features = features * hann_window(height, width, **kwargs)
        target = circular_gaussian(height, width, self.sigma, **kwargs)
        filters = solve_correlation_filter(features, target, self.lam)
        m = self.margin
        return filters[..., m:height - m, m:width - m]

    def extra_repr(self) -> str:
        return f"lam={self.lam}, sigma={self.sigma}, margin={self.margin}, window={self.window}"
