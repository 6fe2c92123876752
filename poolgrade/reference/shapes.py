"""Output sizes and padding, one dimension at a time: torch's rule and Keras' two."""

from __future__ import annotations

from ._validation import _is_int, check_pool_args


def _torch_output_length(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Torch's formula without checks (may return values below 1)."""
    numerator = size + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        numerator += s - 1
    out = numerator // s + 1  # floor division rounds towards -inf, like torch's div_rtn
    # In ceil mode the last window must start inside the input or the left padding.
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> int:
    """Length of one pooled dimension, exactly as torch computes it.

    ``O = floor_or_ceil((size + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1``;
    in ceil mode a last window that would start in the right padding is dropped.
    Raises ``ValueError`` for configurations torch refuses (padding over half the kernel,
    an output size below 1, non-positive arguments).
    """
    if not _is_int(size):
        raise TypeError(f"size must be an int, got {size!r} ({type(size).__name__})")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    (k,), (s,), (p,), (d,) = check_pool_args(kernel_size, stride, padding, dilation, 1)
    out = _torch_output_length(size, k, s, p, d, bool(ceil_mode))
    if out < 1:
        raise ValueError(
            f"output size would be {out} (< 1): input size {size} is too small for "
            f"kernel_size={k} with dilation={d} and padding={p} (the window spans "
            f"{d * (k - 1) + 1} positions but the padded input has {size + 2 * p}); "
            f"use a smaller kernel or more padding"
        )
    return out


def _check_keras_args(size, pool_size, strides):
    if not _is_int(size):
        raise TypeError(f"size must be an int, got {size!r}")
    if not _is_int(pool_size):
        raise TypeError(f"pool_size must be an int for one dimension, got {pool_size!r}")
    strides = pool_size if strides is None else strides
    if not _is_int(strides):
        raise TypeError(f"strides must be an int or None, got {strides!r}")
    if size < 0:
        raise ValueError(f"size must be non-negative, got {size}")
    if pool_size < 1 or strides < 1:
        raise ValueError(f"pool_size and strides must be at least 1, got {pool_size} and {strides}")
    return int(size), int(pool_size), int(strides)


def keras_output_size(size, pool_size, strides=None, padding="valid") -> int:
    """Length of one pooled dimension in Keras (``MaxPooling2D``/``AveragePooling2D``).

    ``'valid'``: ``(size - pool_size + strides) / strides`` rounded towards zero, as
    TensorFlow computes it: a window that does not fit gives an empty axis (0) rather than an
    error, but a result below 0 is refused.  ``'same'``: ``ceil(size / strides)``.
    """
    size, pool_size, strides = _check_keras_args(size, pool_size, strides)
    if padding == "valid":
        numerator = size - pool_size + strides
        out = numerator // strides if numerator >= 0 else -(-numerator // strides)
        if out < 0:
            raise ValueError(
                f"Keras 'valid' pooling refuses size={size} with pool_size={pool_size} and "
                f"strides={strides}: the computed output size {out} is negative; use "
                f"padding='same' or a smaller pool_size"
            )
        return out
    if padding == "same":
        return -(-size // strides)
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")


def keras_same_padding(size, pool_size, strides=None) -> tuple[int, int]:
    """Padding Keras' ``padding='same'`` adds to one dimension: ``(before, after)``.

    The total is ``max((O - 1)*strides + pool_size - size, 0)`` with ``O = ceil(size/strides)``;
    an odd total puts the extra position at the end (bottom/right).
    """
    size, pool_size, strides = _check_keras_args(size, pool_size, strides)
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return total // 2, total - total // 2
