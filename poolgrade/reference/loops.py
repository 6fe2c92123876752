"""Pooling written as plain loops, for reading.

These are the versions the lessons show: every window is cut out and reduced one at a
time.  They follow the same rules as the fast functions in :mod:`poolgrade.reference.pooling` (and
the tests check that they agree), but they are slow: use them on small arrays.
"""

from __future__ import annotations

import math

import numpy as np


def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Torch's output length for one dimension, written out step by step."""
    stride = kernel_size if stride is None else stride
    span = dilation * (kernel_size - 1) + 1          # positions one window covers
    room = size + 2 * padding - span                 # how far the window can slide
    steps = math.ceil(room / stride) if ceil_mode else math.floor(room / stride)
    out = steps + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1                                     # that window would start in the padding
    return out


def _pad(x, padding, value):
    """Pad the last two axes of ``x: (N, C, H, W)`` with ``value`` on every side."""
    if padding == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)),
                  constant_values=value)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling of ``x: (N, C, H, W)`` with square windows, one window at a time.

    Padding is filled with ``-inf`` so that it can never be the maximum.
    Returns ``(N, C, H_out, W_out)``.
    """
    x = np.asarray(x, dtype=np.float64)
    stride = kernel_size if stride is None else stride
    n, c, h, w = x.shape
    h_out = output_size(h, kernel_size, stride, padding)
    w_out = output_size(w, kernel_size, stride, padding)
    padded = _pad(x, padding, -np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            top, left = i * stride, j * stride
            window = padded[:, :, top:top + kernel_size, left:left + kernel_size]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Average pooling of ``x: (N, C, H, W)`` with square windows, one window at a time.

    Padding is filled with zeros.  With ``count_include_pad=True`` the zeros count in the
    divisor (always ``kernel_size**2`` here); otherwise only the real input does.
    Returns ``(N, C, H_out, W_out)``.
    """
    x = np.asarray(x, dtype=np.float64)
    stride = kernel_size if stride is None else stride
    n, c, h, w = x.shape
    h_out = output_size(h, kernel_size, stride, padding)
    w_out = output_size(w, kernel_size, stride, padding)
    padded = _pad(x, padding, 0.0)
    is_real = _pad(np.ones((1, 1, h, w)), padding, 0.0)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            top, left = i * stride, j * stride
            rows, cols = slice(top, top + kernel_size), slice(left, left + kernel_size)
            total = padded[:, :, rows, cols].sum(axis=(2, 3))
            count = kernel_size**2 if count_include_pad else is_real[0, 0, rows, cols].sum()
            out[:, :, i, j] = total / count
    return out
