"""MatConvNet ``simplenn`` networks (``.mat`` files) -> PyTorch modules.

A simplenn file holds a struct ``net`` with ``net.layers`` (a cell array of layer structs with ``type``,
``name``, ``weights`` and per-type fields) and ``net.meta``. :func:`read_simplenn` reads it with
``scipy.io.loadmat`` (scipy is imported lazily: it is needed only here) and :func:`simplenn_to_torch`
builds an ``nn.Sequential`` with the same computation, one PyTorch module per MatConvNet layer (so
state-dict keys are ``<layer index>.weight``; a layer with asymmetric padding becomes a ``Sequential`` of the
padding and the layer), named after the MatConvNet layers in :attr:`SimpleNN.names`.

Conventions translated:

- conv weights are ``H x W x in x out`` (MATLAB keeps dropping trailing singleton dimensions, so a one-output
  filter bank arrives 3-D) -> PyTorch ``out x in x H x W``; both frameworks correlate (no kernel flip).
  ``pad`` is ``[top bottom left right]`` (or one number), ``stride``/``dilate`` are ``[y x]`` (or one number);
  grouped convs are recognised from the input channel count of the filters;
- ``lrn`` ``param = [N kappa alpha beta]`` computes ``x / (kappa + alpha * sum_N x^2)^beta`` with ``alpha`` NOT
  divided by ``N``; PyTorch's convention divides, so ``alpha_torch = N * alpha``;
- ``pool`` (max, or average without padding), ``relu`` (``leak`` -> LeakyReLU), ``dropout`` (identity at test
  time) and ``softmax`` (over channels).

Images stay in the frameworks' shared ``H x W x C`` meaning of the input (MatConvNet models are usually RGB;
the caller knows). Anything the converter does not understand raises :class:`WeightFileError` naming the file,
the layer and the offending value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from siamtrack.models.dcfnet import LocalResponseNorm


class WeightFileError(ValueError):
    """A weight file is missing, unreadable or not what its loader expects; the message names the file."""


def _scipy_io():
    try:
        import scipy.io
    except ImportError as exc:  # scipy is an optional dependency, needed only to read .mat files
        raise ImportError(
            "reading MatConvNet .mat files needs scipy (pip install scipy); it is not a runtime dependency of siamtrack"
        ) from exc
    return scipy.io


def load_mat(path: str | os.PathLike) -> dict:
    """``scipy.io.loadmat`` with errors that name the file (``struct_as_record``, no squeezing)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightFileError(f"{path}: weight file does not exist")
    scipy_io = _scipy_io()
    try:
        return scipy_io.loadmat(path, squeeze_me=False, struct_as_record=True)
    except NotImplementedError as exc:  # MATLAB v7.3 files are HDF5
        raise WeightFileError(
            f"{path}: MATLAB v7.3 (HDF5) .mat files are not supported; re-save with save(..., '-v7') ({exc})"
        ) from exc
    except Exception as exc:  # scipy raises ValueError/TypeError/OSError on corrupt files
        raise WeightFileError(f"{path}: not a readable MATLAB .mat file ({type(exc).__name__}: {exc})") from exc


def mat_string(value) -> str:
    """A MATLAB char array as loaded by scipy (``array(['conv'], dtype='<U4')``) -> ``'conv'``."""
    array = np.asarray(value)
    if array.dtype.kind == "U":
        return "".join(array.ravel().tolist())
    if array.dtype == object and array.size == 1:
        return mat_string(array.ravel()[0])
    raise TypeError(f"not a MATLAB string: {value!r}")


def hwio_to_oihw(weights: np.ndarray) -> torch.Tensor:
    """MatConvNet filters ``H x W x in x out`` (trailing singleton dims possibly dropped) -> ``out x in x H x W``."""
    array = np.asarray(weights, dtype=np.float32)
    if array.ndim > 4:
        raise ValueError(f"conv filters must have at most 4 dimensions, got shape {array.shape}")
    array = array.reshape(array.shape + (1,) * (4 - array.ndim))
    return torch.from_numpy(np.ascontiguousarray(array.transpose(3, 2, 0, 1)))


@dataclass
class SimpleNN:
    """A simplenn net as read from disk: its layer structs (as dicts of numpy values) and ``meta``."""

    path: str
    layers: list[dict]
    meta: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [layer.get("name", f"layer{index + 1}") for index, layer in enumerate(self.layers)]


def _struct_to_dict(struct) -> dict:
    """A 1x1 MATLAB struct loaded with ``struct_as_record`` -> dict of its fields (strings decoded)."""
    record = struct[0, 0] if isinstance(struct, np.ndarray) and struct.shape == (1, 1) else struct
    out = {}
    for name in record.dtype.names:
        value = record[name]
        try:
            out[name] = mat_string(value)
        except TypeError:
            out[name] = value
    return out


def read_simplenn(path: str | os.PathLike, contents: dict | None = None) -> SimpleNN:
    """Read a MatConvNet simplenn ``.mat`` file (a top-level ``net`` with ``layers`` and ``meta``);
    ``contents``: the file's :func:`load_mat` result where the caller has it already."""
    path = os.fspath(path)
    contents = load_mat(path) if contents is None else contents
    if "net" not in contents:
        variables = sorted(k for k in contents if not k.startswith("__"))
        raise WeightFileError(f"{path}: no variable 'net' (a MatConvNet simplenn file has one); found {variables}")
    net = contents["net"]
    if net.dtype.names is None or "layers" not in net.dtype.names:
        fields = list(net.dtype.names or ())
        hint = " (a DagNN network: only simplenn is supported)" if "vars" in fields or "params" in fields else ""
        raise WeightFileError(f"{path}: 'net' has no field 'layers'{hint}; fields are {fields}")
    layer_cells = net[0, 0]["layers"].ravel()
    layers = [_struct_to_dict(cell) for cell in layer_cells]
    meta = _struct_to_dict(net[0, 0]["meta"]) if "meta" in net.dtype.names else {}
    return SimpleNN(path=path, layers=layers, meta=meta)


def _ints(value, count: int, what: str, where: str) -> tuple[int, ...]:
    """MatConvNet's 'one number or one per side' fields -> a tuple of ``count`` ints."""
    array = np.asarray(value, dtype=np.float64).ravel()
    if array.size == 1:
        array = np.repeat(array, count)
    if array.size != count or not np.all(array == np.round(array)) or np.any(array < 0):
        raise WeightFileError(f"{where}: {what} must be 1 or {count} non-negative integers, got {array.tolist()}")
    return tuple(int(v) for v in array)


def _conv_filters(layer: dict, where: str) -> tuple[np.ndarray, np.ndarray | None]:
    if "weights" in layer:
        cells = np.asarray(layer["weights"], dtype=object).ravel()
        if cells.size not in (1, 2):
            raise WeightFileError(f"{where}: conv 'weights' must hold {{filters, biases}}, got {cells.size} arrays")
        filters = cells[0]
        biases = cells[1] if cells.size == 2 and np.asarray(cells[1]).size else None
    elif "filters" in layer:  # MatConvNet beta-1x format
        filters = layer["filters"]
        biases = layer.get("biases")
    else:
        raise WeightFileError(f"{where}: conv layer has neither 'weights' nor 'filters'")
    return np.asarray(filters), (None if biases is None else np.asarray(biases))


def simplenn_to_torch(net: SimpleNN) -> nn.Sequential:
    """Build the PyTorch twin of a simplenn net (see the module docstring for the conventions)."""
    modules: list[nn.Module] = []
    channels: int | None = None  # channels flowing into the next layer, once a conv has fixed them
    for index, layer in enumerate(net.layers):
        kind = layer.get("type", "")
        where = f"{net.path}: layer {index + 1} ({layer.get('name', '?')!r}, type {kind!r})"
        if kind == "conv":
            filters, biases = _conv_filters(layer, where)
            weight = hwio_to_oihw(filters)
            out_channels, in_per_group, kh, kw = weight.shape
            groups = 1
            if channels is not None:
                if channels % in_per_group:
                    raise WeightFileError(f"{where}: filters take {in_per_group} channels but {channels} arrive")
                groups = channels // in_per_group
            top, bottom, left, right = _ints(layer.get("pad", 0), 4, "pad", where)
            stride = _ints(layer.get("stride", 1), 2, "stride", where)
            dilation = _ints(layer.get("dilate", 1), 2, "dilate", where)
            if biases is not None and biases.size != out_channels:
                raise WeightFileError(f"{where}: {biases.size} biases for {out_channels} filters")
            symmetric = (top, left) == (bottom, right)
            conv = nn.Conv2d(
                in_per_group * groups,
                out_channels,
                (kh, kw),
                stride=stride,
                dilation=dilation,
                groups=groups,
                bias=biases is not None,
                padding=(top, left) if symmetric else 0,
            )
            with torch.no_grad():
                conv.weight.copy_(weight)
                if biases is not None:
                    conv.bias.copy_(torch.from_numpy(biases.astype(np.float32).ravel()))
            modules.append(conv if symmetric else nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv))
            channels = out_channels
        elif kind == "relu":
            leak_values = np.asarray(layer.get("leak", 0.0), dtype=np.float64).ravel()
            leak = float(leak_values[0]) if leak_values.size else 0.0
            modules.append(nn.LeakyReLU(leak) if leak else nn.ReLU())
        elif kind == "lrn":
            param = np.asarray(layer.get("param", []), dtype=np.float64).ravel()
            if param.size != 4:
                raise WeightFileError(f"{where}: lrn param must be [N kappa alpha beta], got {param.tolist()}")
            size, kappa, alpha, beta = param
            if size != round(size) or size < 1 or int(size) % 2 == 0:
                raise WeightFileError(
                    f"{where}: lrn window N={size} is not supported (odd N only: MatConvNet "
                    "and PyTorch centre even windows differently)"
                )
            modules.append(LocalResponseNorm(int(size), alpha=alpha * size, beta=beta, k=kappa))
        elif kind == "pool":
            method = layer.get("method", "max")
            pool = _ints(layer.get("pool", 1), 2, "pool", where)
            stride = _ints(layer.get("stride", 1), 2, "stride", where)
            top, bottom, left, right = _ints(layer.get("pad", 0), 4, "pad", where)
            if method == "max" and (top, bottom, left, right) == (0, 0, 0, 0):
                modules.append(nn.MaxPool2d(pool, stride=stride))
            elif method == "max":  # MatConvNet max-pools over the valid pixels only: pad with -inf
                modules.append(
                    nn.Sequential(
                        nn.ConstantPad2d((left, right, top, bottom), float("-inf")), nn.MaxPool2d(pool, stride=stride)
                    )
                )
            elif method == "avg" and (top, bottom, left, right) == (0, 0, 0, 0):
                modules.append(nn.AvgPool2d(pool, stride=stride))
            else:
                raise WeightFileError(
                    f"{where}: pooling method {method!r} with pad {[top, bottom, left, right]} is not supported"
                )
        elif kind == "dropout":
            modules.append(nn.Identity())
        elif kind == "softmax":
            modules.append(nn.Softmax(dim=1))
        else:
            raise WeightFileError(f"{where}: layer type {kind!r} is not supported by the simplenn converter")
    return nn.Sequential(*modules)
