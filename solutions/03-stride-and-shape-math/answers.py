"""Instructor answers for lesson 03 (stride and shape math), reached by the hidden tests as
``"poolgrade.answers:03-stride-and-shape-math.<function>"``.  Not part of poolkit: students import
poolkit, and these are the exercises' answers."""

from __future__ import annotations

import numpy as np


def fraction_kept(height, width, kernel_size, stride=None, padding=0) -> float:
    """Share of positions a 2-D pooling keeps: output elements / input elements, measured by
    running poolkit's max pooling (the truth comes from the pooling, not from a formula)."""
    import poolkit
    out = poolkit.max_pool2d(np.zeros((1, 1, height, width)), kernel_size, stride, padding)
    return out.size / (height * width)


def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> int:
    """PyTorch's output length of one dimension, read off PyTorch itself: the length of
    ``nn.MaxPool1d`` applied to a tensor of zeros (a configuration torch refuses raises)."""
    import torch

    pool = torch.nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    return int(pool(torch.zeros(1, 1, size)).shape[-1])


def keras_output_size(size, pool_size, strides=None, padding="valid") -> int:
    """Keras' output length of one dimension: ``'valid'`` keeps the windows that fit
    without padding (PyTorch's floor mode without padding, read off torch), ``'same'`` one
    output per stride step, ``ceil(size / strides)`` (Keras' documented rule)."""
    strides = pool_size if strides is None else strides
    if padding == "same":
        return -(-size // strides)
    return output_size(size, pool_size, strides)
