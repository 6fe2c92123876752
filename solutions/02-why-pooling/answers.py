"""Instructor answers for lesson 02 (why pooling), for the hidden tests.

Hidden test cells reach them as oracles named ``"poolgrade.answers:02-why-pooling.<function>"``
(see ``poolgrade.answers.instructor_answers``).  Students never import this module: it is not
part of poolkit, and nbgrader does not release ``*.py`` files.
"""

from __future__ import annotations

import numpy as np


def worst_shift_bound() -> float:
    """The largest relative change ``||pool(roll(x, 1)) - pool(x)|| / ||pool(x)||`` of 2x2/2
    max pooling over nonnegative ``(H, W)`` inputs (H even, W even >= 4): sqrt(2).

    Why: shifted window j holds input columns 2j-1 and 2j, which unshifted windows j-1 and j
    pool, so ``b_j <= max(a_{j-1}, a_j)`` and, as every value is >= 0, ``|b_j - a_j| <=
    max(a_{j-1}, a_j)``; squaring and summing (circularly) gives ``||b - a||^2 <= 2 ||a||^2``.
    Rows pair up unchanged, so the 2-D case is this 1-D one per pair of rows.  Reached by
    :func:`worst_shift_input`."""
    return float(np.sqrt(2))


def worst_shift_input(height: int, width: int) -> tuple[np.ndarray, float]:
    """One input that reaches :func:`worst_shift_bound`: a single pixel in an odd column,
    which the shift carries into the next window, leaving its own window empty."""
    x = np.zeros((height, width))
    x[0, 1] = 1.0
    return x, worst_shift_bound()


def max_blur_pool2d(x) -> np.ndarray:
    """Zhang's MaxBlurPool with wrap-around borders: dense 2x2 max (stride 1), the
    ``[1, 2, 1] / 4`` blur along both axes, then every second row and column from 0."""
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out[..., ::2, ::2]


def cnn_costs(size: int, channels: tuple, hidden: int, pooled: bool) -> tuple[int, int, int]:
    """(parameters, multiply-adds, activations) of ``poolkit.models.small_cnn`` for one
    ``(1, size, size)`` image, counted as ``poolkit.models.layer_summary`` counts them."""
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
        params += c_in * c_out * 9 + c_out
        madds += conv_outputs * c_in * 9
        acts += 2 * conv_outputs                       # conv, ReLU
        if pooled:
            side //= 2
            acts += c_out * side * side                # MaxPool2d
        c_in = c_out
    flat = c_in * side * side
    acts += flat                                       # Flatten
    params += flat * hidden + hidden + hidden * 4 + 4
    madds += flat * hidden + hidden * 4
    acts += hidden + hidden + 4                        # Linear, ReLU, Linear
    return int(params), int(madds), int(acts)
