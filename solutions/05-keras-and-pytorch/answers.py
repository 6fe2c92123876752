"""Instructor answers for lesson 05 (Keras and PyTorch), for the hidden tests.

Hidden test cells reach them as oracles named
``"poolgrade.answers:05-keras-and-pytorch.<function>"`` (see
``poolgrade.answers.instructor_answers``).  Where a framework computes the answer, the oracle
asks the framework (Keras for 'same' pooling, torch and Keras for the models), so a
hidden test compares the student's NumPy with the real thing.  Students never import this
module: it is not part of poolkit, and nbgrader does not release ``*.py`` files.
"""

from __future__ import annotations

import numpy as np


def to_channels_last(x) -> np.ndarray:
    """``(N, C, H, W) -> (N, H, W, C)``, the same values."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(x), 1, -1))


def same_padding(size: int, pool_size: int, strides: int | None = None) -> tuple[int, int]:
    """``(before, after)`` padding of Keras ``padding='same'`` along one axis."""
    strides = pool_size if strides is None else strides
    total = max((-(-size // strides) - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)


def keras_same_max_pool2d(x, pool_size: int, strides: int | None = None) -> np.ndarray:
    """``keras.layers.MaxPooling2D(pool_size, strides, padding='same')`` on ``x: (N, H, W, C)``,
    computed by Keras (float64 out)."""
    import keras

    layer = keras.layers.MaxPooling2D(pool_size, strides, padding="same")
    out = layer(np.asarray(x, dtype=np.float32))
    return keras.ops.convert_to_numpy(out).astype(np.float64)


def pool_nets(x, conv_weight, conv_bias) -> dict:
    """Exercise 3: ``nn.Sequential(nn.Conv2d(2, 5, 3), nn.MaxPool2d(3, 2, 1))`` and its Keras
    twin (``Conv2D(5, 3)``, ``MaxPooling2D(3, 2, 'same')``, channels last), both holding
    ``conv_weight: (5, 2, 3, 3)`` (torch's layout) and ``conv_bias: (5,)``, run on
    ``x: (N, 2, 9, 9)``.  Returns ``{"torch_output": (N, 5, 4, 4), "keras_output":
    (N, 4, 4, 5), "torch_parameters": int, "keras_parameters": int}``, every number computed
    by the frameworks themselves."""
    import keras
    import torch
    import torch.nn as nn

    x = np.asarray(x, dtype=np.float32)
    weight = np.asarray(conv_weight, dtype=np.float32)
    bias = np.asarray(conv_bias, dtype=np.float32)
    torch_model = nn.Sequential(nn.Conv2d(2, 5, 3), nn.MaxPool2d(3, 2, 1))
    with torch.no_grad():
        torch_model[0].weight.copy_(torch.from_numpy(weight))
        torch_model[0].bias.copy_(torch.from_numpy(bias))
        torch_output = torch_model(torch.from_numpy(x)).numpy()
    keras_model = keras.Sequential([keras.Input(shape=(9, 9, 2)), keras.layers.Conv2D(5, 3),
                                    keras.layers.MaxPooling2D(3, 2, padding="same")])
    # Keras keeps a Conv2D kernel as (kh, kw, in, out); torch as (out, in, kh, kw).
    keras_model.layers[0].set_weights([weight.transpose(2, 3, 1, 0), bias])
    keras_output = keras.ops.convert_to_numpy(keras_model(to_channels_last(x)))
    return {"torch_output": torch_output, "keras_output": keras_output,
            "torch_parameters": int(sum(p.numel() for p in torch_model.parameters())),
            "keras_parameters": int(keras_model.count_params())}
