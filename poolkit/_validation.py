"""Checks shared by poolkit's functions: array-like input, int arguments, and outputs too big.

:func:`as_array` turns lists and tensors into NumPy arrays with a clear ``TypeError`` for
anything else; :func:`int_tuple` reads an int-or-tuple argument.  :func:`check_output_fits` is
the one rule for outputs too large to ever exist (an ``output_size`` of ``2**62``, say):
refused with ``ValueError`` at once, before anything is allocated.  The pooling-specific
argument rules live with the instructor's reference (``poolgrade.reference._validation``).
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import sys

import numpy as np

# The largest array NumPy can index, in bytes (2**63 - 1 on 64-bit platforms).
NUMPY_MAX_BYTES = int(np.iinfo(np.intp).max)


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


@functools.cache
def _memory_limit() -> tuple[int, str]:
    """``(bytes, where the bound comes from)``; see :func:`memory_limit_bytes`."""
    bounds = [(NUMPY_MAX_BYTES, "the largest array NumPy can index")]
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        physical = -1
    if physical > 0:
        bounds.append((physical, "this machine's physical memory"))
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():  # cgroup v2 says "max" when there is no limit
            bounds.append((int(text), "the container's memory limit (cgroup)"))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            bounds.append((int(soft), "this process's address-space limit (RLIMIT_AS, "
                                      "ulimit -v)"))
    except (ImportError, OSError, ValueError):  # no resource module on Windows
        pass
    return min(bounds)


def memory_limit_bytes() -> int:
    """The most memory this process could ever get, in bytes: no output may need more.

    The smallest of the bounds that are known here: the machine's physical memory
    (``os.sysconf``), the container's memory limit (cgroup v2 ``memory.max`` or v1
    ``memory.limit_in_bytes``) when one is set, this process's address-space limit
    (``RLIMIT_AS``, set by ``ulimit -v`` and by poolkit's grading sandbox) when one is set,
    and the largest array NumPy can index (:data:`NUMPY_MAX_BYTES`, ``2**63 - 1`` bytes on
    64-bit).  It is an upper bound, not a promise: an output below it can still fail with
    NumPy's ``MemoryError`` when other data fills the memory.  Read once per process.
    """
    return _memory_limit()[0]


def _bytes_text(nbytes: int) -> str:
    """``'36,893,488,147,419,103,224 bytes (32 EiB)'``; very long numbers as a power of 2."""
    if nbytes.bit_length() > 100:
        return f"about 2**{nbytes.bit_length() - 1} bytes"
    value, units = float(nbytes), ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    unit = 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{nbytes:,} bytes" + ("" if unit == 0 else f" ({value:.3g} {units[unit]})")


def _describe(outputs) -> str:
    parts = [f"{tuple(shape)} {np.dtype(dtype).name}" for shape, dtype in outputs]
    if len(parts) == 1:
        return f"an output of shape {parts[0]}"
    return f"outputs of shapes {', '.join(parts[:-1])} and {parts[-1]}"


def check_output_fits(fn_name: str, outputs, cause: str, fix: str) -> None:
    """Refuse, with ``ValueError`` and before allocating anything, outputs that cannot exist.

    ``outputs`` lists ``(shape, dtype)`` for every array the call would return (``k`` arrays
    of one shape may be given as one shape with a leading ``k``).  ``cause`` names the
    argument(s) and value(s) that set the size (``"output_size=4611686018427387903"``) and
    ``fix`` says what to change; both go into the message.

    The rule, the same for every poolkit function:

    - the outputs together need ``sum(prod(shape) * itemsize)`` bytes, and that must not
      exceed :func:`memory_limit_bytes` (the machine's memory, or a smaller limit set on this
      process): a larger output could never be held, and building it would only run the
      machine out of memory;
    - an empty output must still be a shape NumPy can create: the product of its non-zero
      sizes times the itemsize must not exceed :data:`NUMPY_MAX_BYTES` (NumPy's "array is
      too big"; torch refuses the same shapes with "Stride calculation overflowed").
    """
    total = 0
    for shape, dtype in outputs:
        itemsize = np.dtype(dtype).itemsize
        nbytes = math.prod(int(size) for size in shape) * itemsize
        extent = math.prod(int(size) for size in shape if size != 0) * itemsize
        if nbytes == 0 and extent > NUMPY_MAX_BYTES:
            raise ValueError(
                f"{fn_name}: {cause} asks for {_describe([(shape, dtype)])}; it is empty, but "
                f"its non-zero sizes alone would need {_bytes_text(extent)}, more than the "
                f"{_bytes_text(NUMPY_MAX_BYTES)} NumPy can index, so no array (and no torch "
                f"tensor) can have that shape. {fix}"
            )
        total += nbytes
    limit, source = _memory_limit()
    if total > limit:
        raise ValueError(
            f"{fn_name}: {cause} asks for {_describe(outputs)}, which would need "
            f"{_bytes_text(total)}; no output may need more than {source}, "
            f"{_bytes_text(limit)}, so poolkit refuses it instead of running out of memory. {fix}"
        )
