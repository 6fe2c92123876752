"""Argument checking shared by every reference pooling function.

The rules follow torch's: a configuration torch refuses raises ``ValueError`` here, with a
message that names the argument, the value given and the rule it broke.  Wrong types raise
``TypeError``.  Checking up front keeps NumPy's own errors (broadcasting, indexing) from
ever reaching a caller.  The generic checks (array input, int tuples, outputs that cannot
fit in memory) are poolkit's own and are re-exported from :mod:`poolkit._validation`.
"""

from __future__ import annotations

import numpy as np

from poolkit._validation import (  # noqa: F401  (re-exported for the reference modules)
    NUMPY_MAX_BYTES,
    _is_int,
    as_array,
    check_output_fits,
    int_tuple,
    memory_limit_bytes,
)

# The usual remedy when the input itself sets the output size (a huge broadcast view).
POOL_IN_PIECES = "Pool a smaller x, or pool it in pieces along the batch axis (x[i:j])."


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
