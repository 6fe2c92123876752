"""Adaptive and global pooling: choose the output size, and the windows follow.

For output size ``O`` over length ``L``, window ``i`` covers
``[floor(i*L/O), ceil((i+1)*L/O))``: windows may differ in size and overlap, as in torch.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._validation import _is_int, check_input


def adaptive_bins(size: int, output_size: int) -> list[tuple[int, int]]:
    """The ``(start, end)`` input range of each of ``output_size`` windows over ``size``."""
    return [(i * size // output_size, -(-(i + 1) * size // output_size))
            for i in range(output_size)]


def _output_sizes(output_size, spatial, fn_name):
    n = len(spatial)
    sizes = (output_size,) * n if _is_int(output_size) or output_size is None else output_size
    if not isinstance(sizes, (tuple, list)) or len(sizes) != n:
        raise ValueError(
            f"{fn_name}: output_size must be an int or a tuple of {n} ints (None keeps that "
            f"dimension's input size), got {output_size!r}"
        )
    result = []
    for value, size in zip(sizes, spatial):
        value = size if value is None else value
        if not _is_int(value):
            raise TypeError(f"{fn_name}: output_size entries must be ints, got {value!r}")
        if value < 1:
            raise ValueError(f"{fn_name}: output_size must be at least 1, got {tuple(sizes)}")
        result.append(int(value))
    return tuple(result)


def _first_max_last_nan(windows: np.ndarray) -> np.ndarray:
    """Torch's argmax rule over the last axis: first maximum, but the last NaN if any."""
    first_max = np.argmax(windows, axis=-1)
    if np.issubdtype(windows.dtype, np.floating):
        nan = np.isnan(windows)
        last_nan = windows.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
        first_max = np.where(nan.any(axis=-1), last_nan, first_max)
    return first_max


def _adaptive(n, x, output_size, mode, return_indices=False):
    fn_name = f"adaptive_{mode}_pool{n}d"
    x, unbatched = check_input(x, n, fn_name)
    spatial = x.shape[2:]
    out_sizes = _output_sizes(output_size, spatial, fn_name)
    if mode == "avg" and not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    bins = [adaptive_bins(size, o) for size, o in zip(spatial, out_sizes)]
    out = np.empty(x.shape[:2] + out_sizes, dtype=x.dtype)
    indices = np.empty(out.shape, dtype=np.int64) if return_indices else None
    for cell in itertools.product(*(range(o) for o in out_sizes)):
        ranges = [bins[i][c] for i, c in enumerate(cell)]
        window = x[(Ellipsis,) + tuple(slice(a, b) for a, b in ranges)]
        if mode == "avg":
            with np.errstate(invalid="ignore"):  # inf + -inf is NaN, silently, as in torch
                out[(Ellipsis,) + cell] = window.mean(axis=tuple(range(2, 2 + n)))
            continue
        window_size = int(np.prod([b - a for a, b in ranges]))
        flat = window.reshape(x.shape[0], x.shape[1], window_size)
        local = _first_max_last_nan(flat)
        out[(Ellipsis,) + cell] = np.take_along_axis(flat, local[..., None], axis=-1)[..., 0]
        if return_indices:
            coords = np.unravel_index(local, [b - a for a, b in ranges])
            starts = [a for a, _ in ranges]
            global_coords = [c + a for c, a in zip(coords, starts)]
            indices[(Ellipsis,) + cell] = np.ravel_multi_index(global_coords, spatial)
    if unbatched:
        out = out[0]
        indices = None if indices is None else indices[0]
    return (out, indices) if return_indices else out


def adaptive_avg_pool1d(x, output_size):
    """Average pooling of ``x: (N, C, L)`` or ``(C, L)`` to exactly ``output_size`` positions."""
    return _adaptive(1, x, output_size, "avg")


def adaptive_avg_pool2d(x, output_size):
    """Average pooling of ``x: (N, C, H, W)`` or ``(C, H, W)`` to ``output_size`` (int or
    ``(H_out, W_out)``; ``None`` keeps that size).  Returns ``(N, C, H_out, W_out)``."""
    return _adaptive(2, x, output_size, "avg")


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """Max pooling of ``x: (N, C, L)`` to ``output_size`` positions (and torch's indices)."""
    return _adaptive(1, x, output_size, "max", return_indices)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Max pooling of ``x: (N, C, H, W)`` to ``output_size``; ``indices`` are flat ``h*W + w``
    positions (ties to the first, NaN to the last NaN), as in torch."""
    return _adaptive(2, x, output_size, "max", return_indices)


def global_avg_pool2d(x):
    """Mean over the whole plane: ``x: (N, C, H, W) -> (N, C, 1, 1)`` (or ``(C, 1, 1)``).

    The head of GoogLeNet-style networks: one number per channel, no parameters.
    """
    x, unbatched = check_input(x, 2, "global_avg_pool2d")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    out = x.mean(axis=(2, 3), keepdims=True)
    return out[0] if unbatched else out


def global_max_pool2d(x):
    """Maximum over the whole plane: ``x: (N, C, H, W) -> (N, C, 1, 1)`` (or ``(C, 1, 1)``).

    NaN propagates; integer input keeps its dtype.
    """
    x, unbatched = check_input(x, 2, "global_max_pool2d")
    out = x.max(axis=(2, 3), keepdims=True)
    return out[0] if unbatched else out
