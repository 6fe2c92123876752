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
