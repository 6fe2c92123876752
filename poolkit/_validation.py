"""Argument checking shared by every pooling function.

The rules follow torch's: a configuration torch refuses raises ``ValueError`` here, with a
message that names the argument, the value given and the rule it broke.  Wrong types raise
``TypeError``.  Checking up front keeps NumPy's own errors (broadcasting, indexing) from
ever reaching a student.
"""

from __future__ import annotations

import numbers
import sys

import numpy as np


def as_array(x, name: str = "x") -> np.ndarray:
    """``np.asarray`` that also takes torch and TensorFlow tensors without importing them."""
    module = type(x).__module__ or ""
    if module.startswith("torch") and "torch" in sys.modules and hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    elif module.startswith(("tensorflow", "keras")) and hasattr(x, "numpy"):
        x = x.numpy()
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be an array of numbers (a NumPy array, nested lists or a tensor); "
            f"could not convert {type(x).__name__}: {exc}"
        ) from None
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise TypeError(
            f"{name} must hold real numbers (float or int), got dtype {array.dtype}; "
            f"convert it first, e.g. {name}.astype(np.float32)"
        )
    return array


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def int_tuple(name: str, value, n: int) -> tuple[int, ...]:
    """Turn an int or a length-``n`` sequence of ints into a tuple of ``n`` Python ints."""
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)):
        if len(value) == 1 and n > 1 and _is_int(value[0]):
            return (int(value[0]),) * n
        if len(value) != n:
            raise ValueError(
                f"{name} must be an int or a tuple of {n} ints (one per spatial dimension), "
                f"got {value!r} with {len(value)} entries"
            )
        if all(_is_int(v) for v in value):
            return tuple(int(v) for v in value)
    raise TypeError(
        f"{name} must be an int or a tuple of {n} ints, got {value!r} ({type(value).__name__})"
    )


def check_pool_args(kernel_size, stride, padding, dilation, n: int):
    """Parse and check kernel/stride/padding/dilation for ``n`` spatial dimensions.

    Returns four tuples of ints.  ``stride=None`` (or an empty sequence, as torch allows)
    means the kernel size.
    """
    kernel = int_tuple("kernel_size", kernel_size, n)
    stride_t = kernel if stride is None or stride == () or stride == [] else int_tuple(
        "stride", stride, n
    )
    pad = int_tuple("padding", padding, n)
    dil = int_tuple("dilation", dilation, n)
    for label, values in (("kernel_size", kernel), ("stride", stride_t), ("dilation", dil)):
        if any(v < 1 for v in values):
            raise ValueError(f"{label} must be at least 1 in every dimension, got {values}")
    if any(p < 0 for p in pad):
        raise ValueError(f"padding must be non-negative, got {pad}")
    for p, k in zip(pad, kernel):
        if 2 * p > k:
            raise ValueError(
                f"padding must be at most half of kernel_size (padding <= kernel_size / 2), "
                f"got padding={pad} with kernel_size={kernel}; use a smaller padding or a "
                f"larger kernel"
            )
    return kernel, stride_t, pad, dil


def check_input(x, n: int, fn_name: str) -> tuple[np.ndarray, bool]:
    """Check ``x`` is ``(N, C, *spatial)`` or ``(C, *spatial)`` with ``n`` spatial dims.

    Returns the array with a batch axis (a view when possible) and whether one was added.
    """
    x = as_array(x)
    if x.ndim not in (n + 1, n + 2):
        names = ", ".join(["H", "W"] if n == 2 else ["L"] if n == 1 else ["D", "H", "W"])
        raise ValueError(
            f"{fn_name} expects x of shape (N, C, {names}) or (C, {names}), i.e. {n + 2} or "
            f"{n + 1} dimensions, got shape {x.shape} ({x.ndim} dimensions)"
        )
    unbatched = x.ndim == n + 1
    if unbatched:
        x = x[None]
    if x.shape[1] == 0 or any(size == 0 for size in x.shape[2:]):
        raise ValueError(
            f"{fn_name} needs at least one channel and a non-empty spatial size, got shape "
            f"{x.shape[1:] if unbatched else x.shape}; only the batch size may be 0"
        )
    return x, unbatched
