"""Layouts and frameworks: move arrays between NumPy, torch and Keras without surprises.

torch is channels first ``(N, C, H, W)``; Keras defaults to channels last ``(N, H, W, C)``.
torch and TensorFlow are imported only when a function that needs them is called.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array


def to_channels_first(x):
    """``(N, *spatial, C) -> (N, C, *spatial)``, e.g. Keras' NHWC to torch's NCHW."""
    x = as_array(x)
    if x.ndim < 3:
        raise ValueError(f"to_channels_first expects (N, *spatial, C), got shape {x.shape}")
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def to_channels_last(x):
    """``(N, C, *spatial) -> (N, *spatial, C)``, e.g. torch's NCHW to Keras' NHWC."""
    x = as_array(x)
    if x.ndim < 3:
        raise ValueError(f"to_channels_last expects (N, C, *spatial), got shape {x.shape}")
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def to_torch(x):
    """A ``torch.Tensor`` sharing the layout of ``x`` (copied only if not contiguous)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(as_array(x)))


def to_keras(x):
    """A Keras/TensorFlow tensor holding ``x`` (layout unchanged)."""
    import keras

    return keras.ops.convert_to_tensor(np.ascontiguousarray(as_array(x)))


def to_numpy(tensor):
    """A NumPy array from a torch tensor (detached, on the CPU), a TF tensor or anything
    ``np.asarray`` takes."""
    return as_array(tensor, "tensor")


# --------------------------------------------------------------------------- layers from data
# A pooling configuration can cross from a student's kernel to the grader only as data, so
# these build the real framework layers from a plain description and run them.

KERAS_LAYERS = {
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "ZeroPadding2D": ("padding",),
}
TORCH_POOLS = {
    "MaxPool2d": ("kernel_size", "stride", "padding"),
    "AvgPool2d": ("kernel_size", "stride", "padding", "count_include_pad"),
}


def _tuples(value):
    """Lists (as data from JSON may hold) back to tuples, recursively."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


def keras_layers(spec):
    """Real Keras layers from ``[(class_name, kwargs), ...]``, e.g.
    ``[("ZeroPadding2D", {"padding": ((1, 1), (1, 1))}),
    ("AveragePooling2D", {"pool_size": (3, 3), "strides": (2, 2), "padding": "valid"})]``.

    Only the classes and arguments of :data:`KERAS_LAYERS` are accepted (channels last, the
    Keras default); anything else raises ``ValueError`` naming what was wrong."""
    import keras

    if not isinstance(spec, (list, tuple)) or not spec:
        raise ValueError(f"expected a non-empty list of (class_name, kwargs) pairs, "
                         f"got {type(spec).__name__}")
    layers = []
    for item in spec:
        if not isinstance(item, (list, tuple)) or len(item) != 2 \
                or not isinstance(item[1], dict):
            raise ValueError(f"each layer must be a pair (class_name, kwargs), got {item!r}")
        name, kwargs = item
        if name not in KERAS_LAYERS:
            raise ValueError(f"{name!r} is not one of {', '.join(KERAS_LAYERS)}")
        unknown = sorted(set(kwargs) - set(KERAS_LAYERS[name]))
        if unknown:
            raise ValueError(f"{name} does not take {', '.join(map(repr, unknown))} here "
                             f"(allowed: {', '.join(KERAS_LAYERS[name])})")
        try:
            layers.append(getattr(keras.layers, name)(**{k: _tuples(v)
                                                         for k, v in kwargs.items()}))
        except (TypeError, ValueError) as err:
            raise ValueError(f"keras.layers.{name}({kwargs}) failed: {err}") from None
    return layers


def run_keras_layers(spec, x):
    """Apply the layers of :func:`keras_layers` in order to ``x: (N, H, W, C)``; NumPy out."""
    import keras

    out = np.ascontiguousarray(as_array(x), dtype=np.float32)
    for layer in keras_layers(spec):
        out = keras.ops.convert_to_numpy(layer(out))
    return out


def torch_pool(config):
    """A real ``nn.MaxPool2d``/``nn.AvgPool2d`` from ``{"type": "MaxPool2d", "kernel_size": 3,
    "stride": 2, "padding": 1}`` (``count_include_pad`` for ``AvgPool2d`` too)."""
    import torch.nn as nn

    kind = config.get("type")
    if kind not in TORCH_POOLS:
        raise ValueError(f"type must be one of {', '.join(TORCH_POOLS)}, got {kind!r}")
    kwargs = {k: _tuples(v) for k, v in config.items() if k != "type"}
    unknown = sorted(set(kwargs) - set(TORCH_POOLS[kind]))
    if unknown:
        raise ValueError(f"nn.{kind} does not take {', '.join(map(repr, unknown))} here")
    return getattr(nn, kind)(**kwargs)


def run_torch_pool(config, x):
    """Apply :func:`torch_pool` to ``x: (N, C, H, W)``; NumPy out."""
    import torch

    with torch.no_grad():
        out = torch_pool(config)(torch.from_numpy(np.ascontiguousarray(as_array(x),
                                                                       dtype=np.float32)))
    return out.numpy()
