"""Pooling layers for the lessons, computed by torch: NumPy in, NumPy out, channels first.

Every function here hands its input to ``torch.nn.functional`` and returns what torch
computes, as a NumPy array, so the lessons can pool NumPy arrays without writing tensor code.
Arguments are torch's own (same names, same defaults, same rules); ``x`` is
``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` (NumPy array, nested lists or a tensor),
and the result has the same batching.  torch is imported on the first call, never by
``import poolkit``.

Dtypes: floating input keeps its dtype (float16 is pooled in float32 and cast back), integer
input keeps its dtype for max pooling and is averaged in float64.  A configuration torch
refuses raises ``ValueError`` with torch's reason; an output (or an input copy) that could
never fit in memory is refused before anything is allocated
(:func:`poolkit._validation.check_output_fits`).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, check_output_fits

_FIX = ("Check the arguments against torch's documentation of torch.nn.functional."
         "{name}; the message above is torch's own.")


def _torch(fn_name: str):
    try:
        import torch
    except ImportError as err:
        raise ImportError(f"{fn_name}: poolkit's pooling is computed by torch, which is not "
                          f"installed here ({err}); install the course stack with "
                          "pip install 'poolkit[course]'") from None
    return torch


def _as_torch_input(fn_name: str, x, average: bool):
    """``x`` as a CPU tensor torch can pool, and the NumPy dtype the result should have."""
    torch = _torch(fn_name)
    array = as_array(x)
    if np.issubdtype(array.dtype, np.floating):
        result_dtype = array.dtype
        work_dtype = np.float32 if array.dtype == np.float16 else array.dtype
    else:
        result_dtype = np.dtype(np.float64) if average else array.dtype
        work_dtype = np.float64 if average else array.dtype
    # A broadcast view can be far larger once copied for torch: refuse it before copying.
    check_output_fits(fn_name, [(array.shape, work_dtype)],
                      f"copying x of shape {array.shape} for torch",
                      "Pool a smaller x, or pool it in pieces along the batch axis (x[i:j]).")
    return torch.from_numpy(np.array(array, dtype=work_dtype, order="C")), result_dtype


def _pool(fn_name: str, x, average: bool, call):
    """Run ``call(tensor)`` (one ``torch.nn.functional`` pooling) on ``x``; NumPy results.

    The shapes are worked out first on torch's ``meta`` device (no data, no memory), so a
    configuration torch refuses, or an output that could never fit, fails before any work.
    """
    torch = _torch(fn_name)
    tensor, result_dtype = _as_torch_input(fn_name, x, average)
    try:
        planned = call(torch.empty(tensor.shape, dtype=tensor.dtype, device="meta"))
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise kind(f"{fn_name}: torch refuses this call: {err}. "
                   + _FIX.format(name=fn_name)) from None
    planned = planned if isinstance(planned, tuple) else (planned,)
    check_output_fits(
        fn_name, [(tuple(t.shape), result_dtype if i == 0 else np.int64)
                  for i, t in enumerate(planned)],
        f"x of shape {tuple(tensor.shape)}",
        "Use a smaller output size (or a smaller x): every output position is stored.",
    )
    with torch.no_grad():
        try:
            out = call(tensor)
        except NotImplementedError:
            # Some torch kernels (adaptive max pooling) take no integers; float64 holds every
            # integer up to 2**53 exactly, and the result goes back to the integer dtype.
            if tensor.is_floating_point() or (tensor.numel() and tensor.abs().max().item() > 2**53):
                raise TypeError(f"{fn_name}: torch cannot pool dtype {result_dtype} here; "
                                "convert x to float64 first") from None
            out = call(tensor.to(torch.float64))
        except RuntimeError as err:  # a limit only the real kernel checks (a huge stride)
            raise ValueError(f"{fn_name}: torch refuses this call: {err}. "
                             + _FIX.format(name=fn_name)) from None
    if isinstance(out, tuple):
        values, indices = out
        return values.numpy().astype(result_dtype, copy=False), indices.numpy()
    return out.numpy().astype(result_dtype, copy=False)


def _functional():
    from torch.nn import functional

    return functional


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """``torch.nn.functional.max_pool1d`` on ``x: (N, C, L)`` or ``(C, L)`` -> ``(N, C, L_out)``
    (plus int64 ``indices`` when ``return_indices=True``)."""
    return _pool("max_pool1d", x, False, lambda t: _functional().max_pool1d(
        t, kernel_size, stride, padding, dilation, ceil_mode, return_indices))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """``torch.nn.functional.max_pool2d`` on ``x: (N, C, H, W)`` or ``(C, H, W)``.

    Returns ``(N, C, H_out, W_out)``, plus int64 ``indices`` (flat ``h*W + w`` positions in
    each unpadded plane) when ``return_indices=True``.
    """
    return _pool("max_pool2d", x, False, lambda t: _functional().max_pool2d(
        t, kernel_size, stride, padding, dilation, ceil_mode, return_indices))


def max_pool3d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """``torch.nn.functional.max_pool3d`` on ``x: (N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _pool("max_pool3d", x, False, lambda t: _functional().max_pool3d(
        t, kernel_size, stride, padding, dilation, ceil_mode, return_indices))


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``torch.nn.functional.avg_pool1d`` on ``x: (N, C, L)`` or ``(C, L)`` -> ``(N, C, L_out)``.

    torch's 1-D average has no ``divisor_override``; anything but None is refused.
    """
    if divisor_override is not None:
        raise ValueError("avg_pool1d: torch's avg_pool1d has no divisor_override; use None "
                         "(or avg_pool2d on x[..., None, :])")
    return _pool("avg_pool1d", x, True, lambda t: _functional().avg_pool1d(
        t, kernel_size, stride, padding, ceil_mode, count_include_pad))


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``torch.nn.functional.avg_pool2d`` on ``x: (N, C, H, W)`` or ``(C, H, W)``.

    Returns ``(N, C, H_out, W_out)``; integer input is averaged in float64.
    """
    return _pool("avg_pool2d", x, True, lambda t: _functional().avg_pool2d(
        t, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override))


def avg_pool3d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``torch.nn.functional.avg_pool3d`` on ``x: (N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _pool("avg_pool3d", x, True, lambda t: _functional().avg_pool3d(
        t, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override))


def adaptive_avg_pool1d(x, output_size):
    """``torch.nn.functional.adaptive_avg_pool1d``: ``(N, C, L)`` -> ``(N, C, output_size)``."""
    return _pool("adaptive_avg_pool1d", x, True,
                 lambda t: _functional().adaptive_avg_pool1d(t, output_size))


def adaptive_avg_pool2d(x, output_size):
    """``torch.nn.functional.adaptive_avg_pool2d``: ``(N, C, H, W)`` or ``(C, H, W)`` to
    ``output_size`` (int or ``(H_out, W_out)``; None keeps that size)."""
    return _pool("adaptive_avg_pool2d", x, True,
                 lambda t: _functional().adaptive_avg_pool2d(t, output_size))


def adaptive_max_pool1d(x, output_size, return_indices=False):
    """``torch.nn.functional.adaptive_max_pool1d``: ``(N, C, L)`` -> ``(N, C, output_size)``
    (plus int64 ``indices`` when ``return_indices=True``)."""
    return _pool("adaptive_max_pool1d", x, False,
                 lambda t: _functional().adaptive_max_pool1d(t, output_size, return_indices))


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """``torch.nn.functional.adaptive_max_pool2d``: ``(N, C, H, W)`` or ``(C, H, W)`` to
    ``output_size`` (plus int64 flat ``h*W + w`` ``indices`` when ``return_indices=True``)."""
    return _pool("adaptive_max_pool2d", x, False,
                 lambda t: _functional().adaptive_max_pool2d(t, output_size, return_indices))


def global_avg_pool2d(x):
    """Mean over each whole plane, computed by torch: ``(N, C, H, W) -> (N, C, 1, 1)``
    (or ``(C, 1, 1)``).  The head of GoogLeNet-style networks: one number per channel."""
    return _pool("global_avg_pool2d", x, True,
                 lambda t: _functional().adaptive_avg_pool2d(t, 1))


def global_max_pool2d(x):
    """Maximum over each whole plane, computed by torch: ``(N, C, H, W) -> (N, C, 1, 1)``
    (or ``(C, 1, 1)``); NaN propagates, integer input keeps its dtype."""
    return _pool("global_max_pool2d", x, False,
                 lambda t: _functional().adaptive_max_pool2d(t, 1))
