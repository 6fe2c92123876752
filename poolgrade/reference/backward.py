"""Gradients of 2-D pooling with respect to its input, as torch's autograd computes them.

Max pooling sends each output's gradient to its argmax (the first one on ties); windows
that overlap (``stride < kernel_size``) add up at a shared argmax.  Average pooling spreads
each output's gradient, divided by that window's divisor, over the window's real positions.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import _engine
from ._validation import as_array, check_input, check_output_fits, check_pool_args
from .pooling import _check_divisor_override, max_pool2d, output_sizes


def _check_dx_fits(fn_name, x_shape, dtype):
    """``dx`` has the shape of ``x``: refuse it when it could never fit in memory."""
    check_output_fits(fn_name, [(x_shape, dtype)], f"x of shape {tuple(x_shape)}",
                      "Use a smaller x, or compute the gradient in pieces along the batch axis.")


def _grad_dtype(grad):
    return grad.dtype if np.issubdtype(grad.dtype, np.floating) else np.dtype(np.float64)


def _check_grad(grad_output, expected_shape, fn_name):
    grad = as_array(grad_output, "grad_output")
    if grad.shape != tuple(expected_shape):
        raise ValueError(
            f"{fn_name}: grad_output must have the shape of the pooled output "
            f"{tuple(expected_shape)}, got {grad.shape}; pass the gradient of the loss with "
            f"respect to the pooling layer's output"
        )
    return grad.astype(_grad_dtype(grad), copy=False)


def max_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False):
    """Gradient of :func:`poolgrade.reference.max_pool2d` with respect to ``x``.

    ``grad_output: (N, C, H_out, W_out)``, ``x: (N, C, H, W)`` (or both unbatched).
    Returns ``dx`` with the shape of ``x`` and the dtype of ``grad_output`` (float64 for ints).
    A ``dx`` that could never fit in memory (``x`` a huge broadcast view) raises ``ValueError``.
    """
    xb, unbatched = check_input(x, 2, "max_pool2d_backward")
    dtype = _grad_dtype(as_array(grad_output, "grad_output"))
    _check_dx_fits("max_pool2d_backward", xb.shape[1:] if unbatched else xb.shape, dtype)
    _, indices = max_pool2d(xb, kernel_size, stride, padding, dilation, ceil_mode,
                            return_indices=True)
    grad = _check_grad(grad_output, indices.shape[1:] if unbatched else indices.shape,
                       "max_pool2d_backward")
    if unbatched:
        grad = grad[None]
    n_slices = xb.shape[0] * xb.shape[1]
    plane = xb.shape[2] * xb.shape[3]
    out_plane = indices.shape[2] * indices.shape[3]
    flat_idx = indices.reshape(n_slices, out_plane)
    # Only windows lying wholly in the padding point outside the plane; they have no input.
    inside = (flat_idx >= 0) & (flat_idx < plane)
    target = (np.arange(n_slices)[:, None] * plane + flat_idx)[inside]
    weights = grad.reshape(n_slices, out_plane)[inside]
    dx = np.bincount(target, weights=weights, minlength=n_slices * plane)
    dx = dx.astype(grad.dtype, copy=False).reshape(xb.shape)
    return dx[0] if unbatched else dx


def avg_pool2d_backward(grad_output, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of :func:`poolgrade.reference.avg_pool2d` with respect to ``x``.

    ``grad_output: (N, C, H_out, W_out)``, ``x: (N, C, H, W)`` (or both unbatched).
    Returns ``dx`` with the shape of ``x``; the padding receives nothing.  A ``dx`` that
    could never fit in memory raises ``ValueError``, as in :func:`max_pool2d_backward`.
    """
    xb, unbatched = check_input(x, 2, "avg_pool2d_backward")
    kernel, stride, pad, dil = check_pool_args(kernel_size, stride, padding, 1, 2)
    divisor_override = _check_divisor_override(divisor_override)
    out_sizes = output_sizes(xb.shape[2:], kernel, stride, pad, dil, bool(ceil_mode),
                             "avg_pool2d_backward")
    expected = xb.shape[:2] + out_sizes
    grad = _check_grad(grad_output, expected[1:] if unbatched else expected,
                       "avg_pool2d_backward")
    _check_dx_fits("avg_pool2d_backward", xb.shape[1:] if unbatched else xb.shape, grad.dtype)
    if unbatched:
        grad = grad[None]
    divisors = [
        _engine.avg_divisor(size, k, s, p, p, o, bool(count_include_pad))
        for size, k, s, p, o in zip(xb.shape[2:], kernel, stride, pad, out_sizes)
    ]
    scaled = _engine.apply_divisor(grad, divisors, divisor_override)
    dx = np.zeros(xb.shape, dtype=scaled.dtype)
    for tap in itertools.product(range(kernel[0]), range(kernel[1])):
        ranges = [
            _engine.tap_range(xb.shape[2 + i], out_sizes[i], stride[i], tap[i] - pad[i])
            for i in range(2)
        ]
        if any(hi <= lo for lo, hi, _ in ranges):
            continue
        box = (Ellipsis,) + tuple(slice(lo, hi) for lo, hi, _ in ranges)
        source = (Ellipsis,) + tuple(
            slice(start, start + (hi - lo - 1) * s + 1, s)
            for (lo, hi, start), s in zip(ranges, stride)
        )
        dx[source] += scaled[box]
    return dx[0] if unbatched else dx
