"""Keras' ``MaxPooling2D`` / ``AveragePooling2D`` in NumPy, channels last by default.

Keras differs from torch in two ways worth teaching: ``padding='same'`` may pad one more
position at the end than at the start (torch's ``padding=`` is symmetric), and padded
positions never count: max ignores them and average divides by the real elements only.
"""

from __future__ import annotations

import numpy as np

from . import _engine
from ._validation import POOL_IN_PIECES, as_array, check_output_fits, int_tuple
from .shapes import keras_output_size, keras_same_padding


def keras_pool2d(x, pool_size, strides=None, padding="valid", mode="max",
                 data_format="channels_last"):
    """Pool ``x: (N, H, W, C)`` (or ``(N, C, H, W)`` with ``data_format='channels_first'``).

    Matches ``keras.layers.MaxPooling2D`` (``mode='max'``) and ``AveragePooling2D``
    (``mode='avg'``).  Returns the same layout, ``(N, H_out, W_out, C)`` with
    ``H_out = keras_output_size(H, ...)``; 'valid' may give an empty axis, as Keras does.
    An output that could never fit in memory is refused with ``ValueError`` up front.
    """
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}"
        )
    x = as_array(x)
    if x.ndim != 4:
        layout = "(N, H, W, C)" if data_format == "channels_last" else "(N, C, H, W)"
        raise ValueError(
            f"keras_pool2d expects a batch of images {layout} (4 dimensions), got shape "
            f"{x.shape}; add a batch axis with x[None] for a single image"
        )
    pool = int_tuple("pool_size", pool_size, 2)
    stride = pool if strides is None else int_tuple("strides", strides, 2)
    if any(v < 1 for v in pool + stride):
        raise ValueError(f"pool_size and strides must be at least 1, got {pool} and {stride}")
    nchw = np.moveaxis(x, -1, 1) if data_format == "channels_last" else x
    spatial = nchw.shape[2:]
    out_sizes = tuple(keras_output_size(L, k, s, padding) for L, k, s in zip(spatial, pool, stride))
    pads = [
        keras_same_padding(L, k, s) if padding == "same" else (0, 0)
        for L, k, s in zip(spatial, pool, stride)
    ]
    n, c = nchw.shape[:2]
    dtype = nchw.dtype
    if mode == "avg" and not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    out_shape = (n,) + out_sizes + (c,) if data_format == "channels_last" else (n, c) + out_sizes
    check_output_fits(
        "keras_pool2d", [(out_shape, dtype)],
        f"x of shape {x.shape} with pool_size={pool}, strides={stride}, padding={padding!r}",
        POOL_IN_PIECES,
    )
    nchw = nchw.astype(dtype, copy=False)
    if 0 in out_sizes or n * c == 0:
        out = np.zeros((n, c) + out_sizes, dtype=nchw.dtype)
    else:
        flat = np.ascontiguousarray(nchw).reshape(n * c, *spatial)
        before = tuple(p[0] for p in pads)
        pooled = _engine.separable_pool(flat, pool, stride, before, (1, 1), out_sizes,
                                        "max" if mode == "max" else "sum")
        if mode == "avg":
            divisors = [
                _engine.avg_divisor(L, k, s, b, a, o, count_include_pad=False)
                for L, k, s, (b, a), o in zip(spatial, pool, stride, pads, out_sizes)
            ]
            pooled = _engine.apply_divisor(pooled, divisors, None)
        out = pooled.reshape(n, c, *out_sizes)
    if data_format == "channels_last":
        out = np.ascontiguousarray(np.moveaxis(out, 1, -1))
    return out
