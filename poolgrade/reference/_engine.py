"""The vectorized machinery behind every pooling function.

Pooling is separable for values: a max (or sum) over a box is a max (or sum) along one
axis after another.  ``reduce_axis`` does one axis with one strided slice per kernel tap,
so no window is ever materialized and padding is never copied: each tap touches only the
outputs whose input position is real, which is how padding acts as ``-inf`` for max and
as "nothing added" for sums.  Large inputs are split over ``N*C`` across threads (NumPy's
ufuncs release the GIL).
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_THREADS = max(1, min(2, os.cpu_count() or 1))
_PARALLEL_MIN_ELEMENTS = 1 << 20
_executor: ThreadPoolExecutor | None = None


def lowest(dtype: np.dtype):
    """The identity of max for ``dtype``: -inf for floats, the smallest value for ints."""
    return -np.inf if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).min


def tap_range(size: int, out_len: int, stride: int, offset: int) -> tuple[int, int, int]:
    """Outputs ``[lo, hi)`` whose input position ``o*stride + offset`` lies in ``[0, size)``.

    Returns ``(lo, hi, first_input_position)``; ``hi <= lo`` means the tap is never real.
    """
    lo = max(0, -(offset // stride))
    hi = min(out_len, (size - 1 - offset) // stride + 1)
    return lo, hi, lo * stride + offset


def reduce_axis(x, axis, k, s, pad_before, d, out_len, op, init):
    """Pool ``x`` along ``axis``: ``out[o] = op over taps j of x[o*s - pad_before + j*d]``.

    Positions outside ``[0, size)`` are skipped (they contribute ``init``).
    """
    size = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = out_len
    lead = (slice(None),) * (axis % x.ndim)
    taps = [tap_range(size, out_len, s, j * d - pad_before) for j in range(k)]
    full = next((t for t in taps if t[0] == 0 and t[1] == out_len), None)
    if full is not None:
        out = np.array(x[lead + (slice(full[2], full[2] + (out_len - 1) * s + 1, s),)])
        taps.remove(full)
    else:
        out = np.full(shape, init, dtype=x.dtype)
    for lo, hi, start in taps:
        if hi > lo:
            target = out[lead + (slice(lo, hi),)]
            op(target, x[lead + (slice(start, start + (hi - lo - 1) * s + 1, s),)], out=target)
    return out


def _in_chunks(fn, x: np.ndarray) -> np.ndarray:
    """Apply ``fn`` (which maps ``(B, ...) -> (B, ...)``) to row chunks of ``x`` in threads."""
    global _executor
    rows = x.shape[0]
    if _THREADS == 1 or x.size < _PARALLEL_MIN_ELEMENTS or rows < _THREADS:
        return fn(x)
    if _executor is None:
        _executor = ThreadPoolExecutor(_THREADS, thread_name_prefix="poolkit")
    bounds = np.linspace(0, rows, _THREADS + 1).astype(int)
    parts = list(_executor.map(fn, [x[a:b] for a, b in zip(bounds[:-1], bounds[1:])]))
    return np.concatenate(parts, axis=0)


def separable_pool(x, kernel, stride, pad_before, dilation, out_sizes, mode):
    """Max (``mode='max'``) or sum (``mode='sum'``) pooling of ``x: (B, *spatial)``.

    Returns ``(B, *out_sizes)``.  The first spatial axis is reduced first so the strided
    passes over the contiguous last axis run on the smallest arrays.
    """
    op = np.maximum if mode == "max" else np.add
    init = lowest(x.dtype) if mode == "max" else 0

    def run(block):
        # errstate is per thread; inf + -inf is NaN, silently, as in torch.
        with np.errstate(invalid="ignore", over="ignore"):
            return reduce_all(block)

    def reduce_all(block):
        for axis, spec in enumerate(zip(kernel, stride, pad_before, dilation, out_sizes), 1):
            block = reduce_axis(block, axis, *spec, op, init)
        return block

    if x.shape[0] == 0:
        return np.zeros((0, *out_sizes), dtype=x.dtype)
    return _in_chunks(run, x)


def window_starts(out_len: int, s: int, pad_before: int) -> np.ndarray:
    return np.arange(out_len) * s - pad_before


def max_with_indices(x, kernel, stride, pad_before, dilation, out_sizes):
    """Max pooling of ``x: (B, *spatial)`` that also returns torch's argmax indices.

    Taps are visited in row-major order, and a tap replaces the running max when it is
    larger or NaN: ties go to the first position and NaN to the last, as in torch.
    Indices are flat positions in each unpadded ``spatial`` plane, shape ``(B, *out_sizes)``.
    """
    spatial = x.shape[1:]
    n = len(spatial)
    plane_strides = [int(np.prod(spatial[i + 1 :])) for i in range(n)]
    out = np.full((x.shape[0], *out_sizes), lowest(x.dtype), dtype=x.dtype)
    # Before any tap wins, torch points at the window's first position inside the input.
    first = 0
    for i in range(n):
        starts = window_starts(out_sizes[i], stride[i], pad_before[i])
        steps = np.where(starts < 0, -(starts // dilation[i]), 0)  # ceil(-start / d)
        pos = starts + steps * dilation[i]
        first = np.add.outer(first, pos * plane_strides[i]) if i else pos * plane_strides[i]
    indices = np.broadcast_to(np.asarray(first, dtype=np.int64), out.shape).copy()
    floating = np.issubdtype(x.dtype, np.floating)
    for tap in itertools.product(*(range(k) for k in kernel)):
        ranges = [
            tap_range(spatial[i], out_sizes[i], stride[i], tap[i] * dilation[i] - pad_before[i])
            for i in range(n)
        ]
        if any(hi <= lo for lo, hi, _ in ranges):
            continue
        box = (slice(None),) + tuple(slice(lo, hi) for lo, hi, _ in ranges)
        source = (slice(None),) + tuple(
            slice(start, start + (hi - lo - 1) * s + 1, s)
            for (lo, hi, start), s in zip(ranges, stride)
        )
        values = x[source]
        current = out[box]
        wins = values > current
        if floating:
            wins |= np.isnan(values)
        flat = 0
        for i, (lo, hi, start) in enumerate(ranges):
            pos = (start + np.arange(hi - lo) * stride[i]) * plane_strides[i]
            flat = np.add.outer(flat, pos) if i else pos
        np.copyto(current, values, where=wins)
        np.copyto(indices[box], np.broadcast_to(flat, wins.shape), where=wins)
    return out, indices


def avg_divisor(size, k, s, pad_before, pad_after, out_len, count_include_pad):
    """Per-output divisor along one axis (torch's and Keras' rules).

    With ``count_include_pad`` the window is clipped to the padded input
    ``[-pad_before, size + pad_after)``; without, to the real input ``[0, size)``.
    """
    starts = window_starts(out_len, s, pad_before)
    ends = starts + k
    if count_include_pad:
        return np.minimum(ends, size + pad_after) - starts
    return np.minimum(ends, size) - np.maximum(starts, 0)


def apply_divisor(sums, divisors, divisor_override):
    """Divide pooled sums ``(B, *out)`` by the outer product of per-axis divisors.

    A window with no real input (possible in ceil mode) gives 0, as in torch.
    """
    if divisor_override is not None:
        return sums / divisor_override
    if all(np.all(d == d.flat[0]) for d in divisors):
        total = int(np.prod([int(d.flat[0]) for d in divisors]))
        if total > 0:
            return sums / total
    grid = divisors[0]
    for d in divisors[1:]:
        grid = np.multiply.outer(grid, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = sums / grid.astype(sums.dtype)
    out[..., grid <= 0] = 0
    return out
