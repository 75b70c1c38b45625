"""Loaders for the DCFNet authors' weights (Wang et al. 2017; foolwood/DCFNet_pytorch, MIT license).

Three files carry the same feature net (conv3x3 3->32, ReLU, conv3x3 32->32, LRN):

- ``param.pth``: PyTorch state dict (``feature.0.weight`` ...) for **BGR** input minus mean (104, 117, 123);
- ``net_param.mat``: the same weights as flat MatConvNet arrays ``conv1_w`` (``H x W x in x out``, **RGB**),
  ``conv1_b``, ``conv2_w``, ``conv2_b`` (plus ``res``, MatConvNet's activations for a test input);
- ``DCFNet-net-7-125-2.mat``: the authors' MatConvNet simplenn model (RGB, mean in ``meta.normalization``),
  converted by :mod:`siamtrack.weights.matconvnet`.

Every loader returns a :class:`~siamtrack.models.dcfnet.DCFNetFeatures` whose ``channel_order`` and ``mean``
say what input the weights expect. :func:`load_dcfnet_features` picks the loader from the file name.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from siamtrack.models.dcfnet import DCFNET_MEAN_RGB, DCFNetFeatures, LocalResponseNorm
from siamtrack.weights.matconvnet import WeightFileError, hwio_to_oihw, load_mat, read_simplenn, simplenn_to_torch

#: Mean pixel of ``param.pth``'s BGR input.
PARAM_PTH_MEAN_BGR = DCFNET_MEAN_RGB[::-1]

_EXPECTED_SHAPES = {
    "feature.0.weight": (32, 3, 3, 3),
    "feature.0.bias": (32,),
    "feature.2.weight": (32, 32, 3, 3),
    "feature.2.bias": (32,),
}


def _check_state_dict(state: dict, path: str) -> dict[str, torch.Tensor]:
    """Keys, shapes and values of a DCFNet feature state dict; errors name the file and the key."""
    missing = sorted(set(_EXPECTED_SHAPES) - set(state))
    unexpected = sorted(set(state) - set(_EXPECTED_SHAPES))
    if missing or unexpected:
        raise WeightFileError(
            f"{path}: not a DCFNet feature state dict: missing keys {missing}, "
            f"unexpected keys {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}"
        )
    checked = {}
    for key, shape in _EXPECTED_SHAPES.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise WeightFileError(f"{path}: {key} is a {type(value).__name__}, not a tensor")
        if tuple(value.shape) != shape:
            raise WeightFileError(f"{path}: {key} has shape {tuple(value.shape)}, expected {shape}")
        if not value.is_floating_point() or not torch.isfinite(value).all():
            raise WeightFileError(f"{path}: {key} holds non-finite or non-float values ({value.dtype})")
        checked[key] = value.detach().to(torch.float32)
    return checked


def features_from_state_dict(state, source: str = "<memory>") -> DCFNetFeatures:
    """DCFNet feature weights from an in-memory state dict, its input convention told by its keys:

    - ``feature.0.weight`` ... (the authors' ``param.pth`` layout): BGR input, mean (104, 117, 123);
    - ``feature.feature.0.weight`` ... (a :class:`~siamtrack.models.dcfnet.DCFNet` state dict, as siamtrack's
      training writes it): RGB input, mean (123, 117, 104).

    A ``module.`` prefix (``nn.DataParallel``) is dropped. ``source`` names the origin in errors.
    """
    if not isinstance(state, dict):
        raise WeightFileError(f"{source}: expected a state dict, found a {type(state).__name__}")
    keys = [str(key)[len("module.") :] if str(key).startswith("module.") else str(key) for key in state]
    state = dict(zip(keys, state.values()))
    if keys and all(key.startswith("feature.feature.") for key in keys):
        features = DCFNetFeatures(channel_order="RGB", mean=DCFNET_MEAN_RGB)
        state = {key[len("feature.") :]: value for key, value in state.items()}
    else:
        features = DCFNetFeatures(channel_order="BGR", mean=PARAM_PTH_MEAN_BGR)
    features.load_state_dict(_check_state_dict(state, source))
    return features.eval()


def load_param_pth(path: str | os.PathLike) -> DCFNetFeatures:
    """The authors' ``param.pth`` (read with ``weights_only=True``): BGR input, mean (104, 117, 123).

    Also reads siamtrack's own DCFNet checkpoints (a state dict, bare or under ``"state_dict"``/``"model"``,
    with keys ``feature.feature.0.weight`` ...: RGB input); see :func:`features_from_state_dict`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightFileError(f"{path}: weight file does not exist")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt zip/pickle, or objects that weights_only refuses
        raise WeightFileError(f"{path}: not a loadable PyTorch weights file ({type(exc).__name__}: {exc})") from exc
    for key in ("state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    return features_from_state_dict(loaded, path)


def _flat_mat_features(contents: dict, path: str) -> DCFNetFeatures:
    """``net_param.mat`` layout: ``conv1_w``, ``conv1_b``, ``conv2_w``, ``conv2_b`` (RGB input)."""
    state = {}
    for layer, index in (("conv1", 0), ("conv2", 2)):
        for suffix, kind in (("w", "weight"), ("b", "bias")):
            name = f"{layer}_{suffix}"
            if name not in contents:
                raise WeightFileError(f"{path}: variable {name!r} is missing")
            array = np.asarray(contents[name])
            if array.dtype.kind not in "fiu":
                raise WeightFileError(f"{path}: variable {name!r} is not numeric ({array.dtype})")
            tensor = hwio_to_oihw(array) if suffix == "w" else torch.from_numpy(array.astype(np.float32).ravel())
            state[f"feature.{index}.{kind}"] = tensor
    features = DCFNetFeatures(channel_order="RGB", mean=DCFNET_MEAN_RGB)
    features.load_state_dict(_check_state_dict(state, path))
    return features.eval()


def _simplenn_features(contents: dict, path: str) -> DCFNetFeatures:
    """The authors' MatConvNet simplenn model, converted and checked to be DCFNet's architecture."""
    net = read_simplenn(path, contents)
    types = [layer.get("type") for layer in net.layers]
    if types != ["conv", "relu", "conv", "lrn"]:
        raise WeightFileError(f"{path}: layers {types} are not DCFNet's ['conv', 'relu', 'conv', 'lrn']")
    sequential = simplenn_to_torch(net)
    for index in (0, 2):
        conv = sequential[index]
        if (
            not isinstance(conv, torch.nn.Conv2d)
            or conv.padding != (1, 1)
            or conv.stride != (1, 1)
            or conv.dilation != (1, 1)
            or conv.groups != 1
        ):
            raise WeightFileError(f"{path}: layer {net.names[index]!r} is not a 3x3 conv with pad 1, stride 1: {conv}")
    lrn = sequential[3]
    reference = DCFNetFeatures().feature[3]
    if (
        not isinstance(lrn, LocalResponseNorm)
        or lrn.size != reference.size
        or not np.allclose(
            [lrn.alpha, lrn.beta, lrn.k], [reference.alpha, reference.beta, reference.k], rtol=1e-6, atol=0
        )
    ):
        raise WeightFileError(
            f"{path}: layer {net.names[3]!r} is {lrn}, DCFNet's LRN is {reference} "
            "(PyTorch convention; MatConvNet [5 1 2e-5 0.75])"
        )
    mean = DCFNET_MEAN_RGB
    normalization = net.meta.get("normalization")
    if normalization is not None and "averageImage" in (normalization.dtype.names or ()):
        average = np.asarray(normalization[0, 0]["averageImage"], dtype=np.float64)
        if average.size != 3:
            raise WeightFileError(
                f"{path}: meta.normalization.averageImage has shape {average.shape}; DCFNet needs one mean per channel"
            )
        mean = tuple(average.ravel().tolist())
    features = DCFNetFeatures(channel_order="RGB", mean=mean)
    state = {f"feature.{key}": value for key, value in sequential.state_dict().items()}
    features.load_state_dict(_check_state_dict(state, path))
    return features.eval()


def load_dcfnet_mat(path: str | os.PathLike) -> DCFNetFeatures:
    """A DCFNet ``.mat`` file: a simplenn ``net`` (``DCFNet-net-7-125-2.mat``) or flat ``conv1_w`` ... arrays
    (``net_param.mat``). Both are RGB; needs scipy."""
    path = os.fspath(path)
    contents = load_mat(path)
    if "net" in contents:
        return _simplenn_features(contents, path)
    if "conv1_w" in contents:
        return _flat_mat_features(contents, path)
    variables = sorted(k for k in contents if not k.startswith("__"))
    raise WeightFileError(f"{path}: neither a simplenn 'net' nor DCFNet's conv1_w/conv2_w arrays; found {variables}")


def load_dcfnet_features(path: str | os.PathLike) -> DCFNetFeatures:
    """Load DCFNet feature weights from ``.pth``/``.pt`` (PyTorch) or ``.mat`` (MatConvNet) files."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".pth", ".pt"):
        return load_param_pth(path)
    if suffix == ".mat":
        return load_dcfnet_mat(path)
    raise WeightFileError(f"{path}: unknown weight file type {suffix!r} (expected .pth, .pt or .mat)")
