"""Max and average pooling in 1, 2 and 3 spatial dimensions, with torch's semantics.

Layout is channels first, like torch: ``x: (N, C, *spatial)`` or unbatched ``(C, *spatial)``.
Every function returns arrays with the same batching as its input.  An output that could
never fit in memory (from an input that is a huge broadcast view, say) is refused with
``ValueError`` before anything is allocated (:func:`poolkit._validation.check_output_fits`).
"""

from __future__ import annotations

import numpy as np

from . import _engine
from ._validation import (
    POOL_IN_PIECES,
    _is_int,
    check_input,
    check_output_fits,
    check_pool_args,
)
from .shapes import _torch_output_length

_SPATIAL_NAMES = {1: "(L,)", 2: "(H, W)", 3: "(D, H, W)"}


def output_sizes(spatial, kernel, stride, pad, dilation, ceil_mode, fn_name="pool"):
    """Torch's output size for every spatial dimension, refusing sizes below 1."""
    sizes = tuple(
        _torch_output_length(size, k, s, p, d, ceil_mode)
        for size, k, s, p, d in zip(spatial, kernel, stride, pad, dilation)
    )
    if any(o < 1 for o in sizes):
        raise ValueError(
            f"{fn_name}: output size would be {sizes} for input size {tuple(spatial)} with "
            f"kernel_size={kernel}, stride={stride}, padding={pad}, dilation={dilation}; every "
            f"output size must be at least 1 (the input is smaller than the dilated kernel). "
            f"Use a smaller kernel, or padding"
        )
    return sizes


def _check_pooled_fits(fn_name, x, unbatched, out_sizes, dtypes, settings):
    """Refuse pooled outputs ``(N, C, *out_sizes)`` (one per dtype) that cannot fit in memory.

    ``x`` is the batched input; ``settings`` describes the arguments for the message.
    """
    shape = x.shape[:2] + tuple(out_sizes)
    shape = shape[1:] if unbatched else shape
    check_output_fits(
        fn_name, [(shape, dtype) for dtype in dtypes],
        f"x of shape {x.shape[1:] if unbatched else x.shape} with {settings}", POOL_IN_PIECES,
    )


def _flatten(x: np.ndarray) -> np.ndarray:
    """``(N, C, *spatial) -> (N*C, *spatial)`` so the engine sees one batch axis."""
    return x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])


def _restore(y: np.ndarray, x: np.ndarray, unbatched: bool) -> np.ndarray:
    y = y.reshape(x.shape[0], x.shape[1], *y.shape[1:])
    return y[0] if unbatched else y


def _max_pool(n, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    fn_name = f"max_pool{n}d"
    x, unbatched = check_input(x, n, fn_name)
    kernel, stride, pad, dil = check_pool_args(kernel_size, stride, padding, dilation, n)
    out_sizes = output_sizes(x.shape[2:], kernel, stride, pad, dil, bool(ceil_mode), fn_name)
    _check_pooled_fits(fn_name, x, unbatched, out_sizes,
                       [x.dtype, np.int64] if return_indices else [x.dtype],
                       f"kernel_size={kernel}, stride={stride}, padding={pad}, dilation={dil}")
    flat = _flatten(x)
    if return_indices:
        out, idx = _engine.max_with_indices(flat, kernel, stride, pad, dil, out_sizes)
        return _restore(out, x, unbatched), _restore(idx, x, unbatched)
    out = _engine.separable_pool(flat, kernel, stride, pad, dil, out_sizes, "max")
    return _restore(out, x, unbatched)


def _check_divisor_override(divisor_override):
    if divisor_override is None:
        return None
    if not _is_int(divisor_override):
        raise TypeError(f"divisor_override must be an int or None, got {divisor_override!r}")
    if divisor_override == 0:
        raise ValueError("divisor_override must not be 0 (it divides every window); use None")
    return int(divisor_override)


def _avg_pool(n, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    fn_name = f"avg_pool{n}d"
    x, unbatched = check_input(x, n, fn_name)
    kernel, stride, pad, dil = check_pool_args(kernel_size, stride, padding, 1, n)
    divisor_override = _check_divisor_override(divisor_override)
    if n == 3 and any(size < k for size, k in zip(x.shape[2:], kernel)):
        # torch's avg_pool3d (only it) checks the unpadded input against the kernel.
        raise ValueError(
            f"{fn_name}: input size {x.shape[2:]} is smaller than kernel_size {kernel} in some "
            f"dimension; torch's avg_pool3d refuses this even with padding. Use a smaller kernel"
        )
    out_sizes = output_sizes(x.shape[2:], kernel, stride, pad, dil, bool(ceil_mode), fn_name)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    _check_pooled_fits(fn_name, x, unbatched, out_sizes, [dtype],
                       f"kernel_size={kernel}, stride={stride}, padding={pad}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    sums = _engine.separable_pool(_flatten(x), kernel, stride, pad, dil, out_sizes, "sum")
    divisors = [
        _engine.avg_divisor(size, k, s, p, p, o, bool(count_include_pad))
        for size, k, s, p, o in zip(x.shape[2:], kernel, stride, pad, out_sizes)
    ]
    return _restore(_engine.apply_divisor(sums, divisors, divisor_override), x, unbatched)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling over ``x: (N, C, L)`` or ``(C, L)``, like ``torch.nn.functional.max_pool1d``.

    Padding acts as ``-inf`` (it never wins).  Returns ``out: (N, C, L_out)``, plus
    ``indices`` of the same shape (int64 positions in the unpadded input, ties to the first
    position, NaN to the last NaN) when ``return_indices=True``.  Integer input keeps its dtype.
    """
    return _max_pool(1, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling over ``x: (N, C, H, W)`` or ``(C, H, W)``, like ``F.max_pool2d``.

    Returns ``out: (N, C, H_out, W_out)`` with ``H_out = pool_output_size(H, ...)``, plus
    ``indices`` (flat positions ``h*W + w`` in each unpadded ``(H, W)`` plane) when
    ``return_indices=True``.  Padding acts as ``-inf``; ties go to the first position in
    row-major order, NaN wins.  Integer input keeps its dtype.
    """
    return _max_pool(2, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling over ``x: (N, C, D, H, W)`` or ``(C, D, H, W)``, like ``F.max_pool3d``.

    Returns ``out: (N, C, D_out, H_out, W_out)`` (and flat ``d*H*W + h*W + w`` indices when
    ``return_indices=True``).  Same rules as :func:`max_pool2d`.
    """
    return _max_pool(3, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling over ``x: (N, C, L)`` or ``(C, L)``, like ``F.avg_pool1d``.

    ``count_include_pad=True`` divides by the window clipped to the padded input (zeros in
    the padding count); ``False`` divides by the real elements only; ``divisor_override``
    divides every window by that number (torch offers it in 2-D and 3-D only).  Integer
    input is averaged in float64.  Returns ``(N, C, L_out)``.
    """
    return _avg_pool(1, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling over ``x: (N, C, H, W)`` or ``(C, H, W)``, like ``F.avg_pool2d``.

    Returns ``(N, C, H_out, W_out)``.  Divisor rules as in :func:`avg_pool1d`, per window
    the product over both dimensions.  Integer input is averaged in float64; float input
    keeps its dtype.
    """
    return _avg_pool(2, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling over ``x: (N, C, D, H, W)`` or ``(C, D, H, W)``, like ``F.avg_pool3d``.

    Returns ``(N, C, D_out, H_out, W_out)``.  Rules as in :func:`avg_pool2d`.
    """
    return _avg_pool(3, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)
