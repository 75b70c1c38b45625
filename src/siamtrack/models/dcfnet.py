"""DCFNet: a light feature net trained end to end through a discriminant correlation filter layer.

Wang, Gao, Xing, Zhang, Hu, "DCFNet: Discriminant Correlation Filters Network for Visual Tracking",
arXiv:1704.04057 (2017). The filter layer solves, for template features ``phi(z)`` with ``L`` channels,
the ridge regression of Eq. 1,

    min_w  || sum_l w^l * phi^l(z) - y ||^2 + lambda * sum_l || w^l ||^2      (* = circular correlation)

in closed form in the Fourier domain (Eq. 2), ``w_hat^l = y_hat^* . phi_hat^l(z) / (sum_k |phi_hat^k(z)|^2 + lambda)``,
and the response on search features ``phi(x)`` is ``g = F^-1(sum_l w_hat^l^* . phi_hat^l(x))`` (Eq. 3). Training
regresses ``g`` onto the Gaussian label ``y`` (Eq. 4); every step is differentiable, so autograd gives the
back-propagation the paper derives by hand.

This module holds only nn.Modules and tensor functions (no tracking logic): the feature net
:class:`DCFNetFeatures` (state-dict keys ``feature.0.weight`` ... as in the authors' ``param.pth``), the filter
functions :func:`dcf_solve` / :func:`dcf_response`, the label and window helpers, and the training net
:class:`DCFNet` with ``forward(template, search) -> response``.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn as nn

#: Mean pixel of the authors' training data, in RGB order (their BGR ``param.pth`` uses it reversed).
DCFNET_MEAN_RGB = (123.0, 117.0, 104.0)


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """``x`` (``N x C x H x W``) in the contiguous NCHW layout (``x`` itself when it already is).

    A channels-last float32 CPU tensor without gradient (a convolution's output in the trackers) is transposed
    image by image with ``cv2.transpose``, a cache-blocked copy 3-5x faster on CPU than PyTorch's strided
    ``contiguous()`` (0.5-1.0 vs 2.1-2.8 ms for 4 x 32 x 125 x 125 here); anything else goes through
    ``contiguous()``.
    Either way the values are only moved: exact.
    """
    if x.is_contiguous():
        return x
    if (
        x.dim() == 4
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not x.requires_grad
        and x.is_contiguous(memory_format=torch.channels_last)
    ):
        n, c, h, w = x.shape
        out = torch.empty(n, c, h, w)
        pixels_by_channels = x.permute(0, 2, 3, 1).reshape(n, h * w, c).numpy()  # a view: N x HW x C
        channels_by_pixels = out.view(n, c, h * w).numpy()
        for source, target in zip(pixels_by_channels, channels_by_pixels):
            cv2.transpose(source, target)
        return out
    return x.contiguous()


class LocalResponseNorm(nn.Module):
    """Cross-channel local response normalisation, computed with a few plain tensor operations.

    ``b_c = a_c / (k + alpha / size * sum_{c'} a_{c'}^2) ^ beta`` over the ``size`` channels
    ``c' in [c - size // 2, c + (size - 1) // 2]`` (zeros outside): exactly PyTorch's
    :class:`torch.nn.LocalResponseNorm` convention and parameters, equal to it within float rounding (the
    same terms, summed in another order), and ~6x faster on CPU (PyTorch's goes through a 3-D average pool
    and ``pow``). How:

    - the window sum adds ``size`` shifted slices of the zero-padded squares along the channels: in the NCHW
      layout each slice is a run of whole channel planes, so each addition is one vectorised pass;
    - ``beta = 0.75``: ``d^-3/4 = 1 / sqrt(d * sqrt(d))``, a square root, a product and a reciprocal square
      root (vectorised, each within ~1.5 ulp of the exact value) instead of ``pow``, ~3x faster;
    - without autograd (inference) the steps run in place in two buffers, which saves passes and memory.

    The output is NCHW (a channels-last input is transposed first, see :func:`channels_first`).
    In MatConvNet's convention ``[size, kappa, alpha_mcn, beta]`` the same layer has ``k = kappa`` and
    ``alpha = alpha_mcn * size``.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        if size < 1:
            raise ValueError(f"LRN window size must be >= 1, got {size}")
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = channels_first(x)
        n, channels, h, w = x.shape
        before, after = self.size // 2, (self.size - 1) // 2
        if torch.is_grad_enabled() and x.requires_grad:
            padded = torch.nn.functional.pad(x * x, (0, 0, 0, 0, before, after))  # zero squares beyond the ends
            window_sum = padded[:, :channels]
            for i in range(1, self.size):
                window_sum = window_sum + padded[:, i : i + channels]
            denominator = self.k + self.alpha / self.size * window_sum
            if self.beta == 0.75:
                return x * (denominator * denominator.sqrt()).rsqrt()
            return x * denominator.pow(-self.beta)
        # Inference: the same arithmetic in place, in `padded` and in the output buffer `result`.
        padded = x.new_empty(n, channels + self.size - 1, h, w)
        padded[:, :before].zero_()
        padded[:, before + channels :].zero_()
        torch.mul(x, x, out=padded[:, before : before + channels])
        result = (
            padded[:, :channels].clone()
            if self.size == 1
            else torch.add(padded[:, :channels], padded[:, 1 : channels + 1])
        )
        for i in range(2, self.size):
            result += padded[:, i : i + channels]
        result.mul_(self.alpha / self.size).add_(self.k)  # the denominator d
        if self.beta == 0.75:
            root = torch.sqrt(result, out=padded[:, :channels])  # the squares are no longer needed
            result.mul_(root).rsqrt_()
        else:
            result.pow_(-self.beta)
        return result.mul_(x)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class DCFNetFeatures(nn.Module):
    """DCFNet's feature net: conv3x3(3->32) - ReLU - conv3x3(32->32) - LRN(5, 1e-4, 0.75, 1).

    The convolutions pad by ``conv_padding`` (1 as in the authors' tracker: output size = input size).

    Input: ``N x 3 x H x W`` float pixels (0-255) minus :attr:`mean`, channels in :attr:`channel_order`;
    output ``N x 32 x H x W``. ``channel_order`` and ``mean`` are not weights but describe what the weights
    expect ("BGR" for the authors' ``param.pth``, "RGB" for their MatConvNet files); trackers read them to
    prepare crops. The state-dict keys (``feature.0.weight`` ...) are those of ``param.pth``.
    """

    def __init__(self, channel_order: str = "RGB", mean=DCFNET_MEAN_RGB, conv_padding: int = 1):
        super().__init__()
        if channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {channel_order!r}")
        if len(mean) != 3:
            raise ValueError(f"mean needs 3 values (one per channel), got {mean!r}")
        self.channel_order = channel_order
        self.mean = tuple(float(m) for m in mean)
        self.feature = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=conv_padding),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=conv_padding),
            LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature(x)

    def extra_repr(self) -> str:
        return f"channel_order={self.channel_order!r}, mean={self.mean}"


def gaussian_label(size: int, sigma: float) -> torch.Tensor:
    """The DCF regression target ``y``: a Gaussian of std ``sigma`` (pixels) with its peak at index ``(0, 0)``.

    The authors' construction (their ``gaussian_shaped_labels``): offsets ``1 - floor(n/2) ... n - floor(n/2)``
    rolled by ``1 - floor(n/2)``, i.e. ``y[i, j] = exp(-(d(i)^2 + d(j)^2) / (2 sigma^2))`` with the circular
    offset ``d(i) = i`` for ``i <= n - floor(n/2)`` and ``i - n`` beyond. Returns ``size x size`` float32.
    """
    half = size // 2
    offsets = np.roll(np.arange(1, size + 1) - half, 1 - half).astype(np.float64)
    squared = offsets[:, None] ** 2 + offsets[None, :] ** 2
    return torch.from_numpy(np.exp(-0.5 / sigma**2 * squared)).float()


def cosine_window(size: int) -> torch.Tensor:
    """``size x size`` float32 outer product of symmetric Hann windows (``numpy.hanning``: zero at both ends)."""
    hann = np.hanning(size)
    return torch.from_numpy(np.outer(hann, hann)).float()


def dcf_solve(template_fft: torch.Tensor, label_fft: torch.Tensor, lambda_: float) -> torch.Tensor:
    """Ridge-regression filter of Eq. 2 without its numerator's template factor.

    Returns ``alpha_hat = y_hat / (sum_l |phi_hat^l(z)|^2 + lambda)`` (``N x 1 x H x W'``), so that the filter
    of channel ``l`` is ``w_hat^l^* = alpha_hat . phi_hat^l(z)^*`` and :func:`dcf_response` needs no per-channel
    filter. ``template_fft``: ``N x L x H x W'`` (``rfft2`` of windowed template features).
    """
    energy = (template_fft.real.square() + template_fft.imag.square()).sum(dim=1, keepdim=True)
    return label_fft / (energy + lambda_)


def dcf_response(
    search_fft: torch.Tensor, template_fft: torch.Tensor, alpha_fft: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """Correlation response of Eq. 3: ``g = F^-1(alpha_hat . sum_l phi_hat^l(x) . phi_hat^l(z)^*)``.

    ``search_fft``: ``N x L x H x W'`` (or broadcastable against the template), ``size``: the spatial size
    ``(H, W)`` of the real signal. Returns ``N x 1 x H x W``; the peak at ``(0, 0)`` means no displacement.
    """
    cross = (search_fft * template_fft.conj()).sum(dim=1, keepdim=True)
    return torch.fft.irfft2(cross * alpha_fft, s=size)


class DCFNet(nn.Module):
    """DCFNet training net: ``forward(template, search) -> response`` through the DCF layer (Eqs. 2-3).

    Template and search crops are ``N x 3 x size x size`` (pixels minus ``mean``, channels in
    ``channel_order``: see :class:`DCFNetFeatures`); the response is ``N x 1 x size x size`` and is trained
    against :attr:`label` (``size x size``, peak at ``(0, 0)``) with the squared loss of Eq. 4.
    ``label_sigma = size / (1 + padding) * output_sigma_factor`` follows the authors. With ``windowed`` (as in
    tracking) the features are multiplied by a Hann window before the FFT. ``label``, ``label_fft`` and
    ``window`` are buffers kept out of the state dict, so the state dict holds only the feature weights
    (keys ``feature.feature.0.weight`` ...).
    """

    def __init__(
        self,
        size: int = 125,
        padding: float = 2.0,
        output_sigma_factor: float = 0.1,
        lambda_: float = 1e-4,
        windowed: bool = True,
        channel_order: str = "RGB",
        mean=DCFNET_MEAN_RGB,
    ):
        super().__init__()
        if int(size) != size or size < 1:
            raise ValueError(f"DCF size must be a positive integer, got {size}")
        if not lambda_ > 0 or not padding >= 0 or not output_sigma_factor > 0:
            raise ValueError(
                f"DCFNet needs lambda_ > 0, padding >= 0 and output_sigma_factor > 0, got "
                f"lambda_={lambda_}, padding={padding}, output_sigma_factor={output_sigma_factor}"
            )
        self.feature = DCFNetFeatures(channel_order=channel_order, mean=mean)
        self.size = int(size)
        self.lambda_ = float(lambda_)
        label = gaussian_label(self.size, self.size / (1.0 + padding) * output_sigma_factor)
        self.register_buffer("label", label, persistent=False)
        self.register_buffer("label_fft", torch.fft.rfft2(label), persistent=False)
        window = cosine_window(self.size) if windowed else torch.ones(self.size, self.size)
        self.register_buffer("window", window, persistent=False)

    def features_fft(self, crops: torch.Tensor) -> torch.Tensor:
        """``rfft2`` of the windowed features of ``crops`` (``N x 32 x size x size//2+1`` complex)."""
        features = self.feature(crops).to(self.window.dtype)  # a bfloat16 feature net hands float32 to the DCF
        if features.shape[-2:] != self.window.shape:
            raise ValueError(
                f"features of size {tuple(features.shape[-2:])} do not match the DCF size "
                f"{tuple(self.window.shape)} (crops must be {self.size}x{self.size})"
            )
        # The LRN hands over NCHW features (the FFT is faster on NCHW than NHWC); without autograd they are our
        # own temporary and take the window in place.
        windowed = features * self.window if features.requires_grad else features.mul_(self.window)
        return torch.fft.rfft2(windowed.contiguous())

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        template_fft = self.features_fft(template)
        alpha_fft = dcf_solve(template_fft, self.label_fft, self.lambda_)
        return dcf_response(self.features_fft(search), template_fft, alpha_fft, (self.size, self.size))
