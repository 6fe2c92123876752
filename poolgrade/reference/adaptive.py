"""Adaptive and global pooling: choose the output size, and the windows follow.

For output size ``O`` over length ``L``, window ``i`` covers
``[floor(i*L/O), ceil((i+1)*L/O))``: windows may differ in size and overlap, as in torch.
``O = 0`` gives an empty axis, as in torch.  An ``output_size`` whose output could never fit
in memory is refused at once (:func:`poolkit._validation.check_output_fits`).
"""

from __future__ import annotations

import itertools

import numpy as np

from ._validation import POOL_IN_PIECES, _is_int, check_input, check_output_fits


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
        if value < 0:
            raise ValueError(
                f"{fn_name}: output_size must be non-negative in every dimension (0 gives an "
                f"empty output, as in torch), got {tuple(sizes)}"
            )
        result.append(int(value))
    return tuple(result)


def _user_shape(shape, unbatched):
    """The shape as the caller sees it: without the batch axis for unbatched input."""
    return tuple(shape[1:]) if unbatched else tuple(shape)


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
    dtype = x.dtype
    if mode == "avg" and not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    out_shape = x.shape[:2] + out_sizes
    shown = _user_shape(out_shape, unbatched)
    check_output_fits(
        fn_name, [(shown, dtype)] + ([(shown, np.int64)] if return_indices else []),
        f"output_size={output_size!r} on x of shape {_user_shape(x.shape, unbatched)}",
        "Use a smaller output_size: it is the number of output positions per spatial "
        "dimension (at most the input size for a true pooling).",
    )
    out = np.empty(out_shape, dtype=dtype)
    indices = np.empty(out.shape, dtype=np.int64) if return_indices else None
    if out.size == 0:  # an output_size of 0 or an empty batch: nothing to compute
        cells = ()
    else:
        x = x.astype(dtype, copy=False)
        bins = [adaptive_bins(size, o) for size, o in zip(spatial, out_sizes)]
        cells = itertools.product(*(range(o) for o in out_sizes))
    for cell in cells:
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
    """Average pooling of ``x: (N, C, L)`` or ``(C, L)`` to exactly ``output_size`` positions.

    Returns ``(N, C, output_size)`` (or ``(C, output_size)``); ``output_size=0`` gives an
    empty last axis, as in torch.  Raises ``ValueError`` for a negative ``output_size`` and
    for one whose output could never fit in memory (see
    :func:`poolkit._validation.check_output_fits`).
    """
    return _adaptive(1, x, output_size, "avg")


def adaptive_avg_pool2d(x, output_size):
    """Average pooling of ``x: (N, C, H, W)`` or ``(C, H, W)`` to ``output_size`` (int or
    ``(H_out, W_out)``; ``None`` keeps that size).  Returns ``(N, C, H_out, W_out)``.

    A size of 0 gives an empty axis, as in torch; an output that could never fit in memory
    is refused with ``ValueError`` before anything is allocated.
    """
    return _adaptive(2, x, output_size, "avg")


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """Max pooling of ``x: (N, C, L)`` or ``(C, L)`` to ``output_size`` positions.

    Returns ``out: (N, C, output_size)``, plus int64 ``indices`` of the same shape (torch's)
    when ``return_indices=True``.  Size 0 and the memory rule as in
    :func:`adaptive_avg_pool1d`.
    """
    return _adaptive(1, x, output_size, "max", return_indices)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Max pooling of ``x: (N, C, H, W)`` or ``(C, H, W)`` to ``output_size`` (int or
    ``(H_out, W_out)``; ``None`` keeps that size).

    Returns ``out: (N, C, H_out, W_out)``, plus ``indices`` of the same shape when
    ``return_indices=True``: flat ``h*W + w`` positions (ties to the first, NaN to the last
    NaN), as in torch.  Size 0 and the memory rule as in :func:`adaptive_avg_pool2d`.
    """
    return _adaptive(2, x, output_size, "max", return_indices)


def _check_global_fits(fn_name, x, unbatched, dtype):
    check_output_fits(fn_name, [(_user_shape(x.shape[:2] + (1, 1), unbatched), dtype)],
                      f"x of shape {_user_shape(x.shape, unbatched)}", POOL_IN_PIECES)


def global_avg_pool2d(x):
    """Mean over the whole plane: ``x: (N, C, H, W) -> (N, C, 1, 1)`` (or ``(C, 1, 1)``).

    The head of GoogLeNet-style networks: one number per channel, no parameters.
    """
    x, unbatched = check_input(x, 2, "global_avg_pool2d")
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    _check_global_fits("global_avg_pool2d", x, unbatched, dtype)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    out = x.mean(axis=(2, 3), keepdims=True)
    return out[0] if unbatched else out


def global_max_pool2d(x):
    """Maximum over the whole plane: ``x: (N, C, H, W) -> (N, C, 1, 1)`` (or ``(C, 1, 1)``).

    NaN propagates; integer input keeps its dtype.
    """
    x, unbatched = check_input(x, 2, "global_max_pool2d")
    _check_global_fits("global_max_pool2d", x, unbatched, x.dtype)
    out = x.max(axis=(2, 3), keepdims=True)
    return out[0] if unbatched else out
