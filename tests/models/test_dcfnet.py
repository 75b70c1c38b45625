"""DCFNet model, DCF layer and weight loaders: golden fixture, closed forms, autograd, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import shared_path
from siamtrack.models.dcfnet import (
    DCFNet,
    DCFNetFeatures,
    LocalResponseNorm,
    channels_first,
    cosine_window,
    dcf_response,
    dcf_solve,
    gaussian_label,
)
from siamtrack.weights.dcfnet import features_from_state_dict, load_dcfnet_features, load_dcfnet_mat, load_param_pth
from siamtrack.weights.matconvnet import WeightFileError, read_simplenn, simplenn_to_torch

scipy_io = pytest.importorskip("scipy.io")


def _weights(name: str):
    return shared_path("weights", "dcfnet", name)


# ---- LRN -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size,channels", [(1, 4), (3, 7), (4, 6), (5, 32), (6, 3)])
def test_lrn_equals_pytorch_lrn(size, channels):
    torch.manual_seed(size)
    x = torch.randn(2, channels, 5, 6, dtype=torch.float64) * 40
    ours = LocalResponseNorm(size, alpha=3e-3, beta=0.75, k=2.0)(x)
    reference = torch.nn.LocalResponseNorm(size, alpha=3e-3, beta=0.75, k=2.0)(x)
    torch.testing.assert_close(ours, reference, rtol=1e-13, atol=1e-13)


def test_lrn_float32_matches_pytorch_within_rounding_and_has_gradients():
    torch.manual_seed(0)
    x = torch.randn(3, 32, 17, 17) * 60
    torch.testing.assert_close(
        LocalResponseNorm(5)(x), torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0)(x), rtol=2e-6, atol=2e-6
    )
    x64 = torch.randn(1, 6, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0), (x64,))


@pytest.mark.parametrize("size", [1, 2, 5, 6])
def test_lrn_inference_path_equals_the_autograd_path_for_any_layout(size):
    """Without autograd the LRN runs in place (and transposes channels-last input with cv2): the same
    arithmetic in the same order, so the very same bits, always returned as NCHW."""
    torch.manual_seed(size)
    x = torch.randn(3, 7, 17, 19) * 60
    for beta in (0.75, 0.6):
        lrn = LocalResponseNorm(size, alpha=3e-3, beta=beta, k=2.0)
        with torch.no_grad():
            nchw = lrn(x)
            channels_last = lrn(x.contiguous(memory_format=torch.channels_last))
        autograd = lrn(x.clone().requires_grad_())
        assert nchw.is_contiguous() and channels_last.is_contiguous()
        assert torch.equal(nchw, channels_last) and torch.equal(nchw, autograd.detach())


def test_channels_first_moves_values_only():
    x = torch.randn(2, 5, 4, 3)
    assert channels_first(x) is x  # already NCHW
    as_channels_last = x.contiguous(memory_format=torch.channels_last)
    for tensor in (as_channels_last, as_channels_last.double(), as_channels_last.clone().requires_grad_()):
        out = channels_first(tensor)
        assert out.is_contiguous() and out.dtype == tensor.dtype and torch.equal(out.detach(), x.to(tensor.dtype))


# ---- golden fixture and weight agreement -----------------------------------------------------------------


def _golden():
    contents = scipy_io.loadmat(str(_weights("net_param.mat")))
    stages = [np.asarray(stage, dtype=np.float32) for stage in contents["res"].ravel()]
    assert [s.shape for s in stages] == [(10, 10, 3)] + [(10, 10, 32)] * 4
    return [torch.from_numpy(s.transpose(2, 0, 1)[None].copy()) for s in stages]  # HWC -> 1 x C x H x W


def _stagewise(module: torch.nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    outputs = []
    with torch.no_grad():
        for layer in module:
            x = layer(x.clone())
            outputs.append(x)
    return outputs


def test_converted_matconvnet_model_reproduces_matconvnet_activations():
    """Golden fixture: MatConvNet's own activations after conv1, relu, conv2 and lrn for a 10x10x3 input."""
    rgb_input, *expected = _golden()
    net = read_simplenn(_weights("DCFNet-net-7-125-2.mat"))
    assert net.names == ["conv1", "relu1", "conv2", "norm1"]
    converted = simplenn_to_torch(net)
    for ours, theirs in zip(_stagewise(converted, rgb_input), expected):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["DCFNet-net-7-125-2.mat", "net_param.mat", "param.pth"])
def test_every_weight_file_reproduces_the_golden_activations(name):
    rgb_input, *expected = _golden()
    features = load_dcfnet_features(_weights(name))
    x = rgb_input.flip(1) if features.channel_order == "BGR" else rgb_input
    for ours, theirs in zip(_stagewise(features.feature, x), expected):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_pth_and_mat_weights_agree_after_the_channel_swap():
    pth = load_param_pth(_weights("param.pth"))
    mat = load_dcfnet_mat(_weights("DCFNet-net-7-125-2.mat"))
    assert (pth.channel_order, mat.channel_order) == ("BGR", "RGB")
    assert pth.mean == mat.mean[::-1] == (104.0, 117.0, 123.0)
    a, b = pth.state_dict(), mat.state_dict()
    torch.testing.assert_close(a["feature.0.weight"], b["feature.0.weight"].flip(1), rtol=0, atol=0)
    for key in ("feature.0.bias", "feature.2.weight", "feature.2.bias"):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    torch.manual_seed(1)
    rgb = torch.rand(2, 3, 31, 29) * 255 - torch.tensor(mat.mean).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(pth(rgb.flip(1)), mat(rgb), rtol=1e-5, atol=1e-4)


def test_matconvnet_meta_is_read():
    meta = read_simplenn(_weights("DCFNet-net-7-125-2.mat")).meta
    assert int(np.asarray(meta["inputSize"]).ravel()[0]) == 125
    assert load_dcfnet_mat(_weights("DCFNet-net-7-125-2.mat")).mean == (123.0, 117.0, 104.0)


# ---- the DCF layer -----------------------------------------------------------------------------------------


def _convolution_matrix(kernel: np.ndarray) -> np.ndarray:
    """Matrix A with A @ w.ravel() = (w circularly convolved with kernel).ravel() for 2-D arrays."""
    h, w = kernel.shape
    matrix = np.zeros((h * w, h * w))
    for r in range(h):
        for c in range(w):
            for m in range(h):
                for n in range(w):
                    matrix[r * w + c, m * w + n] = kernel[(r - m) % h, (c - n) % w]
    return matrix


@pytest.mark.parametrize("channels", [1, 2])
def test_dcf_filter_solves_the_ridge_regression(channels):
    """Eq. 1 solved directly (normal equations) equals the Fourier-domain filter of Eq. 2."""
    rng = np.random.default_rng(channels)
    h, w, lam = 6, 5, 0.3
    z = rng.normal(size=(channels, h, w))
    y = rng.normal(size=(h, w))
    # || sum_l w_l (*) z_l - y ||^2 + lam sum_l ||w_l||^2 over the stacked unknowns [w_1; ...; w_L]
    a = np.concatenate([_convolution_matrix(z[l]) for l in range(channels)], axis=1)
    direct = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ y.ravel()).reshape(channels, h, w)

    z_fft = torch.fft.rfft2(torch.from_numpy(z)[None])
    alpha = dcf_solve(z_fft, torch.fft.rfft2(torch.from_numpy(y)), lam)
    # convolution filters: spectrum alpha_hat . conj(z_hat_l), the conjugate of the paper's correlation filter
    filters = torch.fft.irfft2(alpha * z_fft.conj(), s=(h, w))[0].numpy()
    np.testing.assert_allclose(filters, direct, rtol=1e-9, atol=1e-11)

    # Eq. 3: the response to x is sum_l w_l (*) x_l
    x = rng.normal(size=(channels, h, w))
    expected = sum(_convolution_matrix(x[l]) @ direct[l].ravel() for l in range(channels)).reshape(h, w)
    response = dcf_response(torch.fft.rfft2(torch.from_numpy(x)[None]), z_fft, alpha, (h, w))
    np.testing.assert_allclose(response[0, 0].numpy(), expected, rtol=1e-9, atol=1e-11)


def test_label_and_window():
    label = gaussian_label(125, 125 / 3 * 0.1)
    assert label.shape == (125, 125) and label[0, 0] == 1.0 and int(label.argmax()) == 0
    sigma = 125 / 3 * 0.1
    assert label[0, 1].item() == pytest.approx(np.exp(-0.5 / sigma**2), rel=1e-6)
    torch.testing.assert_close(label[0, 1], label[0, -1])  # periodic: offsets +1 and -1 alike
    for size in (7, 8):  # the authors' offsets: i up to n - floor(n / 2), then i - n
        offsets = np.array([i if i <= size - size // 2 else i - size for i in range(size)], float)
        expected = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * 1.5**2))
        np.testing.assert_allclose(gaussian_label(size, 1.5).numpy(), expected, rtol=1e-6)
    window = cosine_window(7)
    assert window[0, 3] == 0 and window[3, 3] == 1.0 and torch.equal(window, window.T)


def test_training_net_on_its_own_template_regresses_the_label():
    torch.manual_seed(0)
    net = DCFNet(size=33, lambda_=1e-4).double().eval()
    crop = torch.randn(2, 3, 33, 33, dtype=torch.float64) * 50
    with torch.no_grad():
        response = net(crop, crop)
    assert response.shape == (2, 1, 33, 33)
    # with a small lambda the filter reproduces the label on its own template
    torch.testing.assert_close(response[:, 0], net.label.double().expand(2, 33, 33), rtol=0, atol=2e-2)
    shifted = torch.roll(crop, shifts=(3, -2), dims=(2, 3))
    with torch.no_grad():
        peak = int(net(crop, shifted)[0, 0].argmax())
    assert divmod(peak, 33) == (3, 33 - 2)  # a shifted search moves the peak by the same amount


def test_training_net_gradients():
    torch.manual_seed(0)
    net = DCFNet(size=8, padding=1.0, lambda_=0.1).double()
    template = torch.randn(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    search = torch.randn(1, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(net, (template, search), fast_mode=True)
    loss = ((net(template, search) - net.label) ** 2).sum()  # Eq. 4
    loss.backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert set(net.state_dict()) == {f"feature.feature.{i}.{k}" for i in (0, 2) for k in ("weight", "bias")}


def test_training_net_rejects_bad_sizes():
    with pytest.raises(ValueError, match="positive integer"):
        DCFNet(size=0)
    net = DCFNet(size=16)
    with pytest.raises(ValueError, match="crops must be 16x16"):
        net(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 20, 20))


# ---- the generic MatConvNet converter on closed forms -----------------------------------------------------


def _save_simplenn(path, layers, meta=None):
    cells = np.empty((1, len(layers)), dtype=object)
    for index, layer in enumerate(layers):
        cells[0, index] = layer
    scipy_io.savemat(str(path), {"net": {"layers": cells, "meta": meta or {"arch": "test"}}})
    return path


def _cell(*arrays):
    cell = np.empty((1, len(arrays)), dtype=object)
    for index, array in enumerate(arrays):
        cell[0, index] = array
    return cell


def test_simplenn_converter_matches_hand_computed_layers(tmp_path):
    shift_down = np.zeros((3, 3, 1), np.float32)  # H x W x in (MATLAB drops the trailing out = 1)
    shift_down[0, 1, 0] = 1.0  # y(i, j) = x(i - 1, j): filters correlate, row index first
    first_row = np.zeros((2, 1, 1, 2), np.float32)
    first_row[0, 0, 0, :] = [1.0, -2.0]  # 2 x 1 filters with pad [1 0 0 0]: again y(i, j) = x(i - 1, j) (x -2)
    grouped = np.ones((1, 1, 1, 2), np.float32)  # 1 input channel per group, 2 groups
    path = _save_simplenn(
        tmp_path / "net.mat",
        [
            {
                "name": "shift",
                "type": "conv",
                "weights": _cell(shift_down, np.array([0.5], np.float32)),
                "pad": np.array([1.0]),
                "stride": np.array([1.0, 1.0]),
            },
            {
                "name": "rows",
                "type": "conv",
                "weights": _cell(first_row, np.zeros(2, np.float32)),
                "pad": np.array([1.0, 0, 0, 0]),
                "stride": 1.0,
            },
            {"name": "leaky", "type": "relu", "leak": 0.1},
            {
                "name": "groups",
                "type": "conv",
                "weights": _cell(grouped, np.zeros(2, np.float32)),
                "pad": 0.0,
                "stride": 1.0,
            },
            {"name": "norm", "type": "lrn", "param": np.array([3.0, 2.0, 0.01, 0.75])},
            {"name": "pool", "type": "pool", "method": "max", "pool": np.array([2.0, 2.0]), "stride": 2.0, "pad": 0.0},
        ],
    )
    net = simplenn_to_torch(read_simplenn(path))
    x = np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32)
    with torch.no_grad():
        out = net(torch.from_numpy(x)[None, None]).numpy()[0]

    shifted = np.zeros_like(x)
    shifted[1:] = x[:-1]
    shifted += 0.5
    twice = np.zeros_like(x)
    twice[1:] = shifted[:-1]
    channels = np.stack([twice, -2 * twice])
    channels = np.where(channels > 0, channels, 0.1 * channels)
    squares = np.pad(channels**2, ((1, 1), (0, 0), (0, 0)))
    normed = channels / (2.0 + 0.01 * (squares[0:2] + squares[1:3] + squares[2:4])) ** 0.75  # alpha not / N
    pooled = normed.reshape(2, 3, 2, 4, 2).max(axis=(2, 4))
    np.testing.assert_allclose(out, pooled, rtol=1e-5, atol=1e-6)


def test_simplenn_converter_rejects_what_it_cannot_translate(tmp_path):
    path = _save_simplenn(tmp_path / "custom.mat", [{"name": "mystery", "type": "bnorm"}])
    with pytest.raises(WeightFileError, match=r"custom\.mat: layer 1 \('mystery', type 'bnorm'\).*not supported"):
        simplenn_to_torch(read_simplenn(path))
    path = _save_simplenn(
        tmp_path / "even.mat", [{"name": "n", "type": "lrn", "param": np.array([4.0, 1, 1e-4, 0.75])}]
    )
    with pytest.raises(WeightFileError, match="even.mat.*N=4.0 is not supported"):
        simplenn_to_torch(read_simplenn(path))
    path = _save_simplenn(
        tmp_path / "pad.mat",
        [
            {
                "name": "c",
                "type": "conv",
                "weights": _cell(np.ones((3, 3, 1, 1), np.float32), np.zeros(1, np.float32)),
                "pad": np.array([1.0, 2.0, 3.0]),
            }
        ],
    )
    with pytest.raises(WeightFileError, match=r"pad.mat: layer 1 .*pad must be 1 or 4 non-negative integers"):
        simplenn_to_torch(read_simplenn(path))


# ---- bad weight files ---------------------------------------------------------------------------------------


def test_bad_weight_files_give_clear_errors(tmp_path):
    with pytest.raises(WeightFileError, match="nope.pth: weight file does not exist"):
        load_dcfnet_features(tmp_path / "nope.pth")
    with pytest.raises(WeightFileError, match=r"weights\.onnx: unknown weight file type '\.onnx'"):
        load_dcfnet_features(tmp_path / "weights.onnx")

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not a zip archive" * 10)
    with pytest.raises(WeightFileError, match="garbage.pth: not a loadable PyTorch weights file"):
        load_dcfnet_features(garbage)

    state = DCFNetFeatures().state_dict()
    wrong_key = tmp_path / "wrong_key.pth"
    torch.save({**{k: v for k, v in state.items() if k != "feature.2.bias"}, "head.weight": torch.zeros(1)}, wrong_key)
    with pytest.raises(WeightFileError, match=r"wrong_key.pth: .*missing keys \['feature.2.bias'\].*'head.weight'"):
        load_dcfnet_features(wrong_key)

    wrong_shape = tmp_path / "wrong_shape.pth"
    torch.save({**state, "feature.0.weight": torch.zeros(32, 1, 3, 3)}, wrong_shape)
    with pytest.raises(WeightFileError, match=r"wrong_shape.pth: feature.0.weight has shape \(32, 1, 3, 3\)"):
        load_dcfnet_features(wrong_shape)

    not_finite = tmp_path / "nan.pth"
    torch.save({**state, "feature.2.bias": torch.full((32,), float("nan"))}, not_finite)
    with pytest.raises(WeightFileError, match="nan.pth: feature.2.bias holds non-finite"):
        load_dcfnet_features(not_finite)

    not_a_dict = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), not_a_dict)
    with pytest.raises(WeightFileError, match="tensor.pth: expected a state dict, found a Tensor"):
        load_dcfnet_features(not_a_dict)

    other_mat = tmp_path / "other.mat"
    scipy_io.savemat(str(other_mat), {"something": np.zeros(3)})
    with pytest.raises(WeightFileError, match=r"other.mat: neither a simplenn 'net'.*\['something'\]"):
        load_dcfnet_features(other_mat)

    broken_mat = tmp_path / "broken.mat"
    broken_mat.write_bytes(b"MATLAB 5.0 MAT-file" + b"\xff" * 200)
    with pytest.raises(WeightFileError, match="broken.mat: not a readable MATLAB .mat file"):
        load_dcfnet_features(broken_mat)

    wrong_net = _save_simplenn(tmp_path / "wrong_net.mat", [{"name": "r", "type": "relu"}])
    with pytest.raises(WeightFileError, match=r"wrong_net.mat: layers \['relu'\] are not DCFNet's"):
        load_dcfnet_features(wrong_net)


def test_state_dict_keys_tell_the_input_convention():
    trained = DCFNet()  # siamtrack's training net: feature.feature.* keys, RGB
    features = features_from_state_dict(trained.state_dict(), "trained")
    assert features.channel_order == "RGB" and features.mean == (123.0, 117.0, 104.0)
    authors = features_from_state_dict({f"module.{k}": v for k, v in DCFNetFeatures().state_dict().items()})
    assert authors.channel_order == "BGR" and authors.mean == (104.0, 117.0, 123.0)
