"""Checks for the course's test cells: readable failures that a student's code cannot fake.

A test cell in a lesson reloads this module from disk (undoing anything a student did to
it), then compares a student's function with a poolkit *oracle* that runs in a fresh
Python process::

    import importlib, poolkit.checks
    ck = importlib.reload(poolkit.checks)
    ck.check_against_oracle(max_pool2d_loops, "poolkit.max_pool2d",
                            ck.pool_cases(seed=3, n=8), numpy_only=True,
                            hint="pad with -inf, not 0")

How the checks hold up against a student who controls the kernel:

* Expected values never come from the kernel.  A case set is a small recipe (a generator
  name, a seed, options); a fresh ``python -I`` process rebuilds the inputs from the recipe,
  runs the oracle and sends the results back as text (floats in ``float.hex``).  Patching
  numpy, poolkit or the random generator inside the kernel cannot change them.
* Results are read without the student's help: the result's type must be exactly
  ``numpy.ndarray`` (checked through the type's flags, so a subclass, a look-alike class or
  a rebound ``np.ndarray`` name does not pass) or an exact ``int``/``float``/``tuple``.
  Values are pulled out with ``ndarray.tolist`` (a method of a built-in type, which Python
  does not let anyone replace) and compared in plain Python, so ``np.allclose``,
  ``np.array_equal``, ``np.testing`` and ``np.asarray`` are never called on a result, and
  no ``__eq__``/``__array__``/``__float__`` of a student's object ever runs.
* The types used for those checks (``type``, ``int``, ``float``, ...) are taken from
  literals, and loops avoid ``range``/``len``/``zip``/``abs``, so rebinding those builtins
  does not switch a comparison off.
* Every failure raises ``AssertionError`` naming the case (shapes, kernel, stride,
  padding, ...) and a hint.  An exception inside the student's function becomes such a
  failure too, and a function that runs longer than ``time_limit`` seconds is stopped.
  Exceptions that a student swallows inside their own code leave a wrong result, which
  fails on its values; a kernel whose error reporting was switched off
  (``set_custom_exc``, a replaced ``showtraceback``) is refused before anything is checked.
* ``assert_numpy_only`` reads the function's code (recursively through helper functions,
  closures and defaults) for torch, TensorFlow, Keras, JAX, poolkit, scikit-image or SciPy,
  and ``numpy_only=True`` also watches the call itself with ``sys.setprofile``.

What is *not* defended (it needs a check outside the kernel, see poolkit.grading):
a student who rewrites interpreter machinery shared by everything in the kernel
(``sys.modules['importlib']`` or ``importlib.reload``, ``subprocess``, ``sys.executable``,
IPython's ``run_cell``/``run_cell_async`` so that test cells are skipped), or who writes
over files on disk (this module, poolkit).  Code running in the kernel can always fake an
in-kernel test; these checks make that take deliberate interpreter surgery instead of a
one-line patch.  nbgrader itself restores the test cells and records a cell as failed
whenever the kernel reports an error, also if the error output was suppressed; the
course's ``nbgrader_config.py`` also ignores results (``execute_result``) in test cells,
which nbgrader would otherwise read as partial credit, and grades the rest of a notebook
whose kernel died as failed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import warnings

import numpy as np

__all__ = [
    "arr", "call", "assert_builtins_intact", "assert_close", "assert_equal",
    "assert_kernel_reports_errors",
    "assert_numpy_only", "check_against_oracle", "describe", "keras_size_cases", "literal_cases",
    "pool_cases", "array_cases", "hw_cases", "fraction_kept_oracle", "pooled_shape_oracle",
    "loop_time", "reference_loop_seconds",
    "size_cases", "strict_value",
]

# Types taken from literals: a student can rebind the names ``type``, ``int``, ``float``
# in builtins, but not the class of ``0``.
_type = (0).__class__.__class__
_int = (0).__class__
_float = (0.0).__class__
_bool = (True).__class__
_tuple = ().__class__
_list = [].__class__
_str = "".__class__
_none = (None).__class__
_HEAPTYPE = 1 << 9          # Py_TPFLAGS_HEAPTYPE: set on every class made by Python code

DEFAULT_BANNED = ("torch", "tensorflow", "keras", "jax", "poolkit", "skimage", "scipy")
DEFAULT_TIME_LIMIT = 20.0   # seconds per call of a student's function (cells time out at 60)


# --------------------------------------------------------------------------- describing


def _fmt(value) -> str:
    """Short text for an argument in a case description (arrays by shape and dtype)."""
    t = _type(value)
    if _is_real_ndarray(value):
        return f"array of shape {value.shape} ({value.dtype})"
    if t is _tuple:
        inner = ", ".join([_fmt(v) for v in value])
        return f"({inner}{',' if value.__len__() == 1 else ''})"
    if t is _float:
        return f"{value:g}"
    return f"{value!r}"


def describe(args=(), kwargs=None, names=None, note="") -> str:
    """One line naming a case: ``x: (2, 3, 7, 5), kernel_size=3, stride=2, padding=1``."""
    parts = []
    names = names or ()
    i = 0
    for value in args:
        name = names[i] if i < names.__len__() else f"arg{i}"
        if _is_real_ndarray(value):
            parts.append(f"{name}: shape {value.shape}")
        else:
            parts.append(f"{name}={_fmt(value)}")
        i += 1
    for key, value in (kwargs or {}).items():
        parts.append(f"{key}={_fmt(value)}")
    text = ", ".join(parts)
    return f"{text} [{note}]" if note else text


# --------------------------------------------------------------------------- reading results


def _is_real_ndarray(obj) -> bool:
    """True only for an instance of NumPy's own, built-in ndarray type (no subclass)."""
    t = _type(obj)
    return (not (t.__flags__ & _HEAPTYPE) and t.__name__ == "ndarray"
            and t.__module__ == "numpy")


def _is_numpy_scalar(obj, kind: str) -> bool:
    t = _type(obj)
    if t.__flags__ & _HEAPTYPE or t.__module__ != "numpy":
        return False
    names = {"i": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                   "intc", "uintc", "longlong", "ulonglong", "long", "ulong", "short",
                   "ushort", "byte", "ubyte", "intp", "uintp"),
             "f": ("float16", "float32", "float64", "longdouble", "half", "single",
                   "double")}[kind]
    return t.__name__ in names


def _flatten(nested, depth: int, out: list) -> None:
    if depth == 0:
        out.append(nested)
        return
    for item in nested:
        _flatten(item, depth - 1, out)


def _number(v, what: str):
    """A plain int or float from a value that must already be a built-in number."""
    t = _type(v)
    if t is _float or t is _int:
        return v
    if t is _bool:
        return _int(v)
    raise AssertionError(
        f"{what} holds a value of type {t.__name__}; expected plain numbers "
        f"(a float or integer array)")


def strict_value(obj, what: str = "your result"):
    """Turn a result into plain Python data without running any of its own code.

    Returns ``("array", shape, [numbers...])`` for a real ``numpy.ndarray`` of numbers,
    ``("int", n)``, ``("float", x)``, ``("bool", b)``, ``("none",)`` or
    ``("tuple", [items...])``.  Anything else fails with an AssertionError that says what
    was expected.
    """
    t = _type(obj)
    if _is_real_ndarray(obj):
        shape = obj.shape
        kind = obj.dtype.kind
        if kind not in "biuf":
            raise AssertionError(
                f"{what} is an array of dtype {obj.dtype}; expected a float or integer "
                f"array (did an object or complex value sneak in?)")
        values = []
        _flatten(obj.tolist(), shape.__len__(), values)
        flat = [_number(v, what) for v in values]
        return ("array", shape, flat)
    if t is _bool:
        return ("bool", obj)
    if t is _int:
        return ("int", obj)
    if t is _float:
        return ("float", obj)
    if t is _none:
        return ("none",)
    if _is_numpy_scalar(obj, "i"):
        return ("int", _int(obj))
    if _is_numpy_scalar(obj, "f"):
        return ("float", _float(obj))
    if t is _tuple or t is _list:
        items = []
        i = 0
        for item in obj:
            items.append(strict_value(item, f"{what}[{i}]"))
            i += 1
        return ("tuple", items)
    kind = "a subclass of numpy.ndarray" if _looks_like_array(t) else f"a {t.__name__}"
    raise AssertionError(
        f"{what} is {kind}; expected a plain numpy.ndarray, int, float or tuple "
        f"(return the array itself, e.g. built with np.empty/np.zeros)")


def _looks_like_array(t) -> bool:
    for base in t.__mro__:
        if base.__name__ == "ndarray":
            return True
    return False


# --------------------------------------------------------------------------- comparing


def _close(a, b, rtol, atol) -> bool:
    if a != a or b != b:            # NaN only equals NaN
        return a != a and b != b
    if a == b:                      # also covers equal infinities
        return True
    if b - b != 0 or a - a != 0:    # one side infinite, the other not (or other sign)
        return False
    d = a - b
    if d < 0:
        d = -d
    m = b if b >= 0 else -b
    return d <= atol + rtol * m


def _compare(got, want, rtol, atol, path="") -> str | None:
    """None when ``got`` matches ``want`` (both from strict_value), else a reason."""
    where = f" at {path}" if path else ""
    gk, wk = got[0], want[0]
    if wk == "array":
        if gk != "array":
            return f"expected a numpy array{where}, got {_kind_name(got)}"
        if got[1] != want[1]:
            return (f"wrong shape{where}: got {got[1]}, expected {want[1]}")
        gv, wv = got[2], want[2]
        n = wv.__len__()
        bad = 0
        first = -1
        i = 0
        while i < n:
            if not _close(gv[i], wv[i], rtol, atol):
                if first < 0:
                    first = i
                bad += 1
            i += 1
        if bad:
            idx = _unravel(first, want[1])
            return (f"{bad} of {n} values differ{where}; first at index {idx}: "
                    f"got {gv[first]!r}, expected {wv[first]!r}")
        return None
    if wk == "int":
        if gk != "int":
            return f"expected an int{where}, got {_kind_name(got)}"
        return None if got[1] == want[1] else f"got {got[1]}, expected {want[1]}{where}"
    if wk == "float":
        if gk not in ("float", "int"):
            return f"expected a number{where}, got {_kind_name(got)}"
        return (None if _close(_float(got[1]), want[1], rtol, atol)
                else f"got {got[1]!r}, expected {want[1]!r}{where}")
    if wk == "bool":
        if gk != "bool":
            return f"expected True or False{where}, got {_kind_name(got)}"
        return None if got[1] == want[1] else f"got {got[1]}, expected {want[1]}{where}"
    if wk == "none":
        return None if gk == "none" else f"expected None{where}, got {_kind_name(got)}"
    if wk == "tuple":
        if gk != "tuple":
            return f"expected a tuple of {want[1].__len__()} items{where}, got {_kind_name(got)}"
        if got[1].__len__() != want[1].__len__():
            return (f"expected {want[1].__len__()} items{where}, "
                    f"got {got[1].__len__()}")
        i = 0
        for w in want[1]:
            reason = _compare(got[1][i], w, rtol, atol, f"{path}[{i}]")
            if reason is not None:
                return reason
            i += 1
        return None
    return f"cannot compare {gk} with {wk}"


def _kind_name(v) -> str:
    k = v[0]
    if k == "array":
        return f"an array of shape {v[1]}"
    if k == "tuple":
        return f"a tuple of {v[1].__len__()} items"
    if k == "none":
        return "None"
    return f"{k} {v[1]!r}"


def _unravel(flat_index: int, shape) -> tuple:
    idx = []
    rest = flat_index
    dims = [d for d in shape]
    dims.reverse()
    for d in dims:
        idx.append(rest % d if d else 0)
        rest = rest // d if d else 0
    idx.reverse()
    return _tuple(idx)


def _fail(reason: str, case: str, hint: str):
    lines = [reason]
    if case:
        lines.append(f"  case: {case}")
    if hint:
        lines.append(f"  hint: {hint}")
    raise AssertionError("\n".join(lines))


def assert_close(actual, expected, *, case: str = "", hint: str = "",
                 rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Fail unless ``actual`` matches ``expected`` (same shape, values within tolerance).

    Both sides are read with :func:`strict_value`, so ``actual`` must be a real
    ``numpy.ndarray`` (or plain number/tuple).  ``expected`` computed in the kernel is only
    as trustworthy as the kernel: hidden tests should prefer :func:`check_against_oracle`.
    """
    assert_builtins_intact()
    assert_kernel_reports_errors()
    reason = _compare(strict_value(actual), strict_value(expected, "the expected value"),
                      rtol, atol)
    if reason is not None:
        _fail(reason, case, hint)


def assert_equal(actual, expected, *, case: str = "", hint: str = "") -> None:
    """Fail unless ``actual`` equals ``expected`` exactly (ints, tuples, arrays, bools)."""
    assert_close(actual, expected, case=case, hint=hint, rtol=0.0, atol=0.0)


# --------------------------------------------------------------------------- case sets


class CaseSet:
    """A recipe for test cases: generator name + parameters, rebuilt in a fresh process."""

    def __init__(self, generator: str, params: dict, names: tuple):
        self.generator = generator
        self.params = params
        self.names = names

    def build(self) -> list:
        """The cases as ``[(args, kwargs, note), ...]``."""
        return _GENERATORS[self.generator](**self.params)

    def __repr__(self):
        return f"CaseSet({self.generator!r}, {self.params!r})"


def _values(rng, shape, style, dtype):
    if style == "ties":          # few distinct values: many equal maxima
        x = rng.integers(-3, 4, size=shape).astype(np.float64)
    elif style == "negative":    # all below zero: zero padding would win
        x = -rng.uniform(0.5, 5.0, size=shape)
    else:
        x = rng.normal(0.0, 2.0, size=shape)
    return x.astype(dtype)


_STYLES = ("negative", "ties", "normal")


def _gen_pool(seed, n, ndim, square, padding, stride_none, dilation, ceil_mode, max_kernel,
              max_size, batch, dtype, min_kernel):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        style = _STYLES[i % 3]
        ks, ss, ps, ds, sizes = [], [], [], [], []
        k0 = int(rng.integers(min_kernel, max_kernel + 1))
        for _ in range(ndim):
            k = k0 if square else int(rng.integers(min_kernel, max_kernel + 1))
            s = int(rng.integers(1, k + 2)) if not square or not ks else ss[0]
            p = int(rng.integers(0, k // 2 + 1)) if padding else 0
            d = int(rng.integers(1, 3)) if dilation else 1
            if square and ks:
                s, p, d = ss[0], ps[0], ds[0]
            span = d * (k - 1) + 1
            low = max(span - 2 * p, 1)
            size = int(rng.integers(low, max(low, max_size) + 1))
            ks.append(k)
            ss.append(s)
            ps.append(p)
            ds.append(d)
            sizes.append(size)
        channels = int(rng.integers(1, 4))
        shape = ((int(rng.integers(1, 3)), channels) if batch else (channels,)) + tuple(sizes)
        x = _values(rng, shape, style, dtype)

        def arg(values):
            return values[0] if square or len(set(values)) == 1 else tuple(values)

        stride = None if (stride_none and i % 4 == 3) else arg(ss)
        if stride is None:
            # stride=None means stride=kernel_size; keep the padding rule valid for it
            pass
        kwargs = {}
        if dilation:
            kwargs["dilation"] = arg(ds)
        if ceil_mode:
            kwargs["ceil_mode"] = bool(i % 2)
        cases.append(((x, arg(ks), stride, arg(ps)), kwargs, f"values: {style}"))
    return cases


def pool_cases(seed: int, n: int = 8, *, ndim: int = 2, square: bool = True,
               padding: bool = True, stride_none: bool = False, dilation: bool = False,
               ceil_mode: bool = False, max_kernel: int = 3, max_size: int = 9,
               batch: bool = True, dtype: str = "float64", min_kernel: int = 1) -> CaseSet:
    """Random pooling problems, called as ``fn(x, kernel_size, stride, padding, **extra)``.

    ``x`` is ``(N, C, *spatial)`` (``(C, *spatial)`` with ``batch=False``); cases cycle
    through all-negative values (zero padding loses), small integers (ties) and normal
    values.  Every configuration is one torch accepts (``padding <= kernel_size // 2``,
    output at least 1).  ``square=False`` mixes ints and per-dimension tuples;
    ``stride_none`` makes every 4th stride ``None``; ``dilation``/``ceil_mode`` add those
    keyword arguments.
    """
    params = dict(seed=seed, n=n, ndim=ndim, square=square, padding=padding,
                  stride_none=stride_none, dilation=dilation, ceil_mode=ceil_mode,
                  max_kernel=max_kernel, max_size=max_size, batch=batch, dtype=dtype,
                  min_kernel=min_kernel)
    return CaseSet("pool", params, ("x", "kernel_size", "stride", "padding"))


def _gen_size(seed, n, padding, dilation, ceil_mode, max_size, stride_none=False):
    rng = np.random.default_rng(seed)
    cases = []
    fixed = [(5, 2, 2, 1, 1, True), (6, 3, 2, 0, 1, True), (6, 3, 2, 0, 1, False),
             (24, 2, 2, 0, 1, False), (7, 3, 1, 1, 1, False), (10, 3, 3, 1, 1, True)]
    for row in fixed:
        size, k, s, p, d, c = row
        if (p and not padding) or (c and not ceil_mode):
            continue
        cases.append(((size, k, s, p, d, c), {}, "classic"))
    while len(cases) < n:
        k = int(rng.integers(1, 6))
        s = int(rng.integers(1, 5))
        p = int(rng.integers(0, k // 2 + 1)) if padding else 0
        d = int(rng.integers(1, 4)) if dilation else 1
        c = bool(rng.integers(0, 2)) if ceil_mode else False
        span = d * (k - 1) + 1
        low = max(span - 2 * p, 1)
        size = int(rng.integers(low, max(low, max_size) + 1))
        if stride_none and len(cases) % 4 == 3:
            s = None
            size = max(size, span - 2 * p)
        cases.append(((size, k, s, p, d, c), {}, "random"))
    return cases[:n]


def size_cases(seed: int, n: int = 30, *, padding: bool = True, dilation: bool = True,
               ceil_mode: bool = True, max_size: int = 40, stride_none: bool = False) -> CaseSet:
    """Output-size problems, called as
    ``fn(size, kernel_size, stride, padding, dilation, ceil_mode)`` (all ints/bools).

    Starts with classic cases (the ceil-mode window that would start in the padding,
    ``L=5, k=2, s=2, p=1``) and fills up with random ones torch accepts; with
    ``stride_none`` every 4th random case passes ``stride=None``.
    """
    params = dict(seed=seed, n=n, padding=padding, dilation=dilation, ceil_mode=ceil_mode,
                  max_size=max_size, stride_none=stride_none)
    return CaseSet("size", params,
                   ("size", "kernel_size", "stride", "padding", "dilation", "ceil_mode"))


def _gen_keras_size(seed, n, with_padding, max_size, strides_none=False):
    rng = np.random.default_rng(seed)
    cases = []
    fixed = [(5, 2, 2), (24, 2, 2), (7, 3, 2), (6, 3, 1), (4, 4, 1)]
    for size, k, s in fixed:
        cases.append(((size, k, s), "classic"))
    while len(cases) < n:
        k = int(rng.integers(1, 6))
        s = int(rng.integers(1, 5))
        size = int(rng.integers(1, max_size + 1))
        if strides_none and len(cases) % 4 == 3:
            s = None
        cases.append(((size, k, s), "random"))
    out = []
    for i, (args, note) in enumerate(cases[:n]):
        if with_padding:
            args = args + (("same", "valid")[i % 2],)
            if args[3] == "valid" and args[0] < args[1]:  # Keras gives an empty axis
                args = args[:3] + ("same",)
        out.append((args, {}, note))
    return out


def keras_size_cases(seed: int, n: int = 20, *, with_padding: bool = False,
                     max_size: int = 30, strides_none: bool = False) -> CaseSet:
    """Keras shape problems, called as ``fn(size, pool_size, strides)`` or, with
    ``with_padding=True``, ``fn(size, pool_size, strides, padding)`` where padding
    alternates ``"same"``/``"valid"``; ``strides_none`` makes every 4th random
    ``strides`` None.
    """
    params = dict(seed=seed, n=n, with_padding=with_padding, max_size=max_size,
                  strides_none=strides_none)
    names = ("size", "pool_size", "strides") + (("padding",) if with_padding else ())
    return CaseSet("keras_size", params, names)


def arr(values, dtype: str = "float64"):
    """An array argument for :func:`literal_cases`, given as nested lists."""
    return ("__ndarray__", _encode_nonfinite(values), dtype)


def _encode_nonfinite(values):
    if _type(values) in (_list, _tuple):
        return [_encode_nonfinite(v) for v in values]
    if _type(values) is _float and (values != values or values - values != 0):
        return repr(values)            # 'inf', '-inf', 'nan': NumPy parses these back
    return values


def _decode(value):
    if _type(value) is _tuple and value.__len__() == 3 and value[0] == "__ndarray__":
        return np.array(value[1], dtype=value[2])
    if _type(value) is _tuple:
        return tuple(_decode(v) for v in value)
    if _type(value) is _dict:
        return {k: _decode(v) for k, v in value.items()}
    return value


_dict = {}.__class__


def _gen_literal(cases):
    return [(_decode(tuple(args)), _decode(dict(kwargs)), note) for args, kwargs, note in cases]


def literal_cases(cases, names=()) -> CaseSet:
    """Hand-written cases: ``[(args, kwargs, note), ...]`` (or ``(args, kwargs)``) made of
    ints, floats, strings, bools, None, tuples and :func:`arr` arrays."""
    norm = []
    for case in cases:
        args, kwargs = case[0], case[1]
        note = case[2] if case.__len__() > 2 else ""
        norm.append((tuple(args), dict(kwargs), note))
    return CaseSet("literal", {"cases": norm}, tuple(names))


def _gen_arrays(seed, n, rank, max_size, extra_args, extra_kwargs):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        style = _STYLES[i % 3]
        shape = tuple(int(rng.integers(1, 4)) for _ in range(min(rank, 2)))
        shape += tuple(int(rng.integers(1, max_size + 1)) for _ in range(rank - 2))
        cases.append(((_values(rng, shape, style, "float64"),) + tuple(extra_args),
                      dict(extra_kwargs or {}), f"values: {style}"))
    return cases


def array_cases(seed: int, n: int = 6, *, rank: int = 4, max_size: int = 9,
                extra_args=(), extra_kwargs=None) -> CaseSet:
    """Random arrays ``x`` of ``rank`` dims (first two 1..3, the rest 1..max_size), called as
    ``fn(x, *extra_args, **extra_kwargs)``; values cycle negative / ties / normal."""
    params = dict(seed=seed, n=n, rank=rank, max_size=max_size,
                  extra_args=tuple(extra_args), extra_kwargs=dict(extra_kwargs or {}))
    return CaseSet("arrays", params, ("x",))


def _gen_hw(seed, n, padding, stride_none, max_size):
    rng = np.random.default_rng(seed)
    cases = [((24, 24, 2, 2, 0), {}, "classic"), ((7, 5, 3, 2, 1), {}, "classic")]
    while len(cases) < n:
        k = int(rng.integers(1, 5))
        s = None if (stride_none and len(cases) % 4 == 3) else int(rng.integers(1, 5))
        p = int(rng.integers(0, k // 2 + 1)) if padding else 0
        low = max(k - 2 * p, 1)
        h = int(rng.integers(low, max(low, max_size) + 1))
        w = int(rng.integers(low, max(low, max_size) + 1))
        cases.append(((h, w, k, s, p), {}, "random"))
    return [c for c in cases if padding or c[0][4] == 0][:n]


def hw_cases(seed: int, n: int = 20, *, padding: bool = True, stride_none: bool = False,
             max_size: int = 32) -> CaseSet:
    """Square-window problems on an ``height x width`` plane, called as
    ``fn(height, width, kernel_size, stride, padding)`` (valid torch configurations)."""
    params = dict(seed=seed, n=n, padding=padding, stride_none=stride_none,
                  max_size=max_size)
    return CaseSet("hw", params, ("height", "width", "kernel_size", "stride", "padding"))


_GENERATORS = {"pool": _gen_pool, "size": _gen_size, "keras_size": _gen_keras_size,
               "literal": _gen_literal, "arrays": _gen_arrays, "hw": _gen_hw}


# --------------------------------------------------------------------------- oracle adapters
# Small compositions of poolkit for exercises whose answer is not a poolkit function.  The
# truth still comes from the pooling itself (run in the fresh process), not from a formula.


def fraction_kept_oracle(height, width, kernel_size, stride=None, padding=0) -> float:
    """Share of activations a 2-D pooling keeps: output elements / input elements."""
    import poolkit
    out = poolkit.max_pool2d(np.zeros((1, 1, height, width)), kernel_size, stride, padding)
    return out.size / (height * width)


def reference_loop_seconds(height, width, kernel_size=2, stride=1) -> float:
    """Seconds that ``poolkit.reference.max_pool2d`` (one Python step per output position)
    takes on a ``(1, 1, height, width)`` input: the yardstick for speed tests."""
    import time

    from poolkit import reference
    x = np.random.default_rng(0).standard_normal((1, 1, height, width))
    start = time.perf_counter()
    reference.max_pool2d(x, kernel_size, stride)
    return time.perf_counter() - start


def loop_time(height: int, width: int, kernel_size: int = 2, stride: int = 1) -> float:
    """The loop version's time on this machine, measured in a fresh process (a student's
    code cannot slow it down).  Speed tests allow a fraction of it::

        ck.call(fn, x, 2, 1, 0, time_limit=ck.loop_time(600, 600) / 4, case=..., hint=...)
    """
    cases = literal_cases([((height, width, kernel_size, stride), {})])
    value = oracle_results("poolkit.checks.reference_loop_seconds", cases)[0]
    if value[0] != "float":
        raise RuntimeError(f"timing the reference failed: {value}")
    return value[1]


def pooled_shape_oracle(shape, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode=False) -> tuple:
    """Shape of ``poolkit.max_pool2d`` applied to an array of ``shape`` (N, C, H, W)."""
    import poolkit
    out = poolkit.max_pool2d(np.zeros(shape), kernel_size, stride, padding, dilation,
                             ceil_mode)
    return tuple(int(d) for d in out.shape)


# --------------------------------------------------------------------------- the oracle


def _encode(value) -> str:
    """Results as space-separated tokens (floats in hex, exact and NaN/inf safe)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"oracle returned dtype {value.dtype}")
        flat = value.ravel().tolist()
        vals = " ".join(float(v).hex() for v in flat)
        return f"A {value.ndim} {' '.join(map(str, value.shape))} {len(flat)} {vals}"
    if isinstance(value, (bool, np.bool_)):
        return f"B {int(value)}"
    if isinstance(value, (int, np.integer)):
        return f"I {int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"F {float(value).hex()}"
    if value is None:
        return "N"
    if isinstance(value, (tuple, list)):
        return f"T {len(value)} " + " ".join(_encode(v) for v in value)
    raise TypeError(f"oracle returned {type(value).__name__}")


def _decode_tokens(tokens, pos):
    tag = tokens[pos]
    if tag == "A":
        ndim = _int(tokens[pos + 1])
        shape = _tuple([_int(t) for t in tokens[pos + 2:pos + 2 + ndim]])
        pos += 2 + ndim
        count = _int(tokens[pos])
        vals = [_float.fromhex(t) for t in tokens[pos + 1:pos + 1 + count]]
        return ("array", shape, vals), pos + 1 + count
    if tag == "B":
        return ("bool", tokens[pos + 1] == "1"), pos + 2
    if tag == "I":
        return ("int", _int(tokens[pos + 1])), pos + 2
    if tag == "F":
        return ("float", _float.fromhex(tokens[pos + 1])), pos + 2
    if tag == "N":
        return ("none",), pos + 1
    if tag == "T":
        count = _int(tokens[pos + 1])
        pos += 2
        items = []
        while items.__len__() < count:
            item, pos = _decode_tokens(tokens, pos)
            items.append(item)
        return ("tuple", items), pos
    if tag == "E":
        return ("error", tokens[pos + 1]), pos + 2
    raise ValueError(f"bad oracle token {tag!r}")


def _resolve(dotted: str):
    module_name, _, attr = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def _oracle_lines(oracle, generator, params, oracle_kwargs) -> list[str]:
    """The oracle's result for every case of a recipe, one encoded line each."""
    fn = _resolve(oracle)
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args, kwargs, _note in _GENERATORS[generator](**params):
            try:
                lines.append(_encode(fn(*args, **kwargs, **oracle_kwargs)))
            except Exception as exc:  # the student's function must then raise the same type
                lines.append(f"E {type(exc).__name__}")
    return lines


def _oracle_main() -> None:
    """Entry point of the fresh process: read a recipe on stdin, print one line per case."""
    import ast
    recipe = ast.literal_eval(sys.stdin.read())
    sys.stdout.write("\n".join(_oracle_lines(*recipe)) + "\n")


def _grading_harness():
    """The trusted grader's harness while it runs this test cell, else None (in a student's
    kernel).  Under the harness a student's functions are RemoteFunctions in another
    process, so the in-kernel guards below have nothing to guard."""
    harness = sys.modules.get("poolkit.grading.harness")
    return harness if harness is not None and harness.ACTIVE else None


def oracle_results(oracle: str, cases: CaseSet, oracle_kwargs=None) -> list:
    """Run ``oracle`` (a dotted name such as ``"poolkit.max_pool2d"``) on every case in a
    fresh ``python -I`` process; returns one strict value per case."""
    recipe = f"{(oracle, cases.generator, cases.params, dict(oracle_kwargs or {}))!r}"
    harness = _grading_harness()
    if harness is not None:   # the grader's own process: nothing to isolate from
        lines = harness.cached_oracle(recipe, lambda: _oracle_lines(
            oracle, cases.generator, cases.params, dict(oracle_kwargs or {})))
        return [_decode_tokens(line.split(), 0)[0] for line in lines]
    proc = subprocess.run(
        [sys.executable, "-I", "-c", "import poolkit.checks as c; c._oracle_main()"],
        input=recipe, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "TF_ENABLE_ONEDNN_OPTS": "0",
             "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the reference process failed:\n{proc.stderr[-2000:]}")
    results = []
    for line in proc.stdout.splitlines():
        value, _ = _decode_tokens(line.split(), 0)
        results.append(value)
    return results


# --------------------------------------------------------------------------- guards


class _TimeLimit(BaseException):
    """Raised inside a student's function that runs too long (BaseException, so that a
    plain ``except Exception`` in their code does not swallow it)."""


def _call_with_limit(fn, args, kwargs, seconds):
    use_alarm = (threading.current_thread() is threading.main_thread()
                 and hasattr(signal, "setitimer"))
    if not use_alarm:
        return fn(*args, **kwargs)

    def on_alarm(signum, frame):
        raise _TimeLimit()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_builtin_function = _type([].append)
_BUILTIN_FUNCTIONS = ("len", "getattr", "hasattr", "isinstance", "callable", "repr", "id",
                      "iter", "next", "min", "max", "abs", "any", "all", "sorted", "print")
_BUILTIN_TYPES = ("range", "zip", "int", "float", "bool", "str", "tuple", "list", "dict",
                  "set", "type", "object", "enumerate", "map", "reversed", "super")


def assert_builtins_intact() -> None:
    """Fail if a builtin these checks rely on (``len``, ``range``, ``zip``, ``getattr``,
    ``isinstance``, ...) was rebound, as seen from this module."""
    found = {"len": len, "getattr": getattr, "hasattr": hasattr, "isinstance": isinstance,
             "callable": callable, "repr": repr, "id": id, "iter": iter, "next": next,
             "min": min, "max": max, "abs": abs, "any": any, "all": all, "sorted": sorted,
             "print": print, "range": range, "zip": zip, "int": int, "float": float,
             "bool": bool, "str": str, "tuple": tuple, "list": list, "dict": dict, "set": set,
             "type": type, "object": object, "enumerate": enumerate, "map": map,
             "reversed": reversed, "super": super}
    changed = []
    for name in _BUILTIN_FUNCTIONS:
        f = found[name]
        if not (_type(f) is _builtin_function and f.__name__ == name
                and _type(f.__self__).__name__ == "module" and f.__self__.__name__ == "builtins"):
            changed.append(name)
    for name in _BUILTIN_TYPES:
        t = found[name]
        if _type(t) is not _type or t.__flags__ & _HEAPTYPE \
                or t.__name__ != name or t.__module__ != "builtins":
            changed.append(name)
    if changed:
        raise AssertionError(
            f"Python's built-in {', '.join(changed)} were replaced, so the tests cannot run "
            f"reliably\n  hint: do not assign to builtins; restart the kernel and run all cells")


def assert_kernel_reports_errors() -> None:
    """Fail if IPython's error reporting was switched off (so a failed test would look
    passed in the notebook).  Outside IPython this does nothing."""
    ipython_module = sys.modules.get("IPython")
    if ipython_module is None:
        return
    try:
        shell = ipython_module.get_ipython()
    except Exception:
        return
    if shell is None:
        return
    problems = []
    if shell.custom_exceptions != ():
        problems.append("a custom exception handler is installed (set_custom_exc)")
    for name in ("showtraceback", "run_cell", "run_cell_async", "_showtraceback",
                 "run_code", "showsyntaxerror"):
        if name in shell.__dict__:
            value = shell.__dict__[name]
            # ipykernel itself re-binds _showtraceback to the class's own method at start-up
            own = getattr(_type(shell), name, None)
            if not (getattr(value, "__func__", None) is own
                    and getattr(value, "__self__", None) is shell):
                problems.append(f"get_ipython().{name} was replaced")
    if problems:
        raise AssertionError(
            "the notebook's error reporting was changed, so tests cannot report failures: "
            + "; ".join(problems)
            + "\n  hint: remove the code that changes get_ipython() and restart the kernel")


def _banned_roots(banned):
    roots = {}
    for name in banned:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        locations = list(spec.submodule_search_locations or [])
        if not locations and spec.origin:
            locations = [spec.origin]
        roots[name] = [loc.rstrip("/") + "/" if not loc.endswith(".py") else loc
                       for loc in locations]
    return roots


class _Watch:
    """A ``sys.setprofile`` hook that records calls into banned packages."""

    def __init__(self, banned):
        self.banned = tuple(banned)
        self.roots = _banned_roots(banned)
        self.hits = []
        # the only frames of this module that run while a student's function is watched
        self.own = set(_code_objects(_call_with_limit.__code__))

    def _banned_module(self, module_name):
        if not module_name:
            return None
        top = module_name.partition(".")[0]
        return top if top in self.banned else None

    def __call__(self, frame, event, arg):
        if self.hits.__len__() > 3:
            return
        if event == "call":
            if frame.f_code in self.own:
                return
            filename = frame.f_code.co_filename
            for name, locations in self.roots.items():
                for loc in locations:
                    if filename.startswith(loc):
                        self.hits.append(f"{name} ({frame.f_code.co_name})")
                        return
            hit = self._banned_module(frame.f_globals.get("__name__", ""))
            if hit:
                self.hits.append(f"{hit} ({frame.f_code.co_name})")
        elif event == "c_call":
            hit = self._banned_module(getattr(arg, "__module__", None) or "")
            if hit:
                self.hits.append(f"{hit} ({getattr(arg, '__name__', '?')})")


def _effective_limit(requested) -> float:
    """The time limit, lowered (never raised) by ``POOLKIT_CHECK_TIME_LIMIT`` seconds, so a
    grading batch can fail endless loops faster."""
    limit = DEFAULT_TIME_LIMIT if requested is None else _float(requested)
    env = os.environ.get("POOLKIT_CHECK_TIME_LIMIT", "")
    try:
        lower = _float(env) if env else limit
    except ValueError:
        lower = limit
    return lower if 0 < lower < limit else limit


def call(fn, *args, case: str = "", hint: str = "", name: str | None = None,
         time_limit: float = DEFAULT_TIME_LIMIT, **kwargs):
    """Call a student's function for a visible test: at most ``time_limit`` seconds, and an
    exception inside it becomes an AssertionError that names the case.  Returns its result
    (read it with :func:`assert_close`/:func:`assert_equal`)."""
    name = name or getattr(fn, "__name__", "your function")
    assert_builtins_intact()
    assert_kernel_reports_errors()
    if not callable(fn):
        _fail(f"{name} is not a function (got {_type(fn).__name__})", case,
              "define it with def in the exercise cell and run that cell")
    return _call_student(fn, args, kwargs, name=name, case=case, hint=hint,
                         time_limit=_effective_limit(time_limit), watch=None)


def _call_student(fn, args, kwargs, *, name, case, hint, time_limit, watch):
    harness = _grading_harness()
    if harness is not None:
        return _call_remote(harness, fn, args, kwargs, name=name, case=case, hint=hint,
                            time_limit=time_limit)
    if watch is not None:
        sys.setprofile(watch)
    try:
        # A correct answer must not lose its points because NumPy warned (nbgrader fails a
        # test cell that writes to stderr): warnings inside the student's call stay silent.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _call_with_limit(fn, args, kwargs, time_limit)
    except _TimeLimit:
        _fail(f"{name} did not finish within {time_limit:g} s (an endless loop?)", case, hint)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        _fail(f"{name} raised {_type(exc).__name__}: {exc}", case, hint)
    finally:
        if watch is not None:
            profiler_intact = sys.getprofile() is watch
            sys.setprofile(None)
    if watch is not None:
        if not profiler_intact:
            _fail(f"{name} switched off the call monitor (sys.setprofile)", case,
                  "write the answer with NumPy only")
        if watch.hits:
            _fail(f"{name} calls {', '.join(watch.hits[:3])}; this exercise must be "
                  f"written with NumPy only", case,
                  "use np.pad, slicing and reductions such as .max/.mean")
    return result


def _call_remote(harness, fn, args, kwargs, *, name, case, hint, time_limit):
    """A call under the grader's harness: ``fn`` reaches the student's kernel through the
    data-only channel, which enforces the time limit (and the NumPy-only kernel the rule)."""
    try:
        with harness.time_limit(time_limit):
            return fn(*args, **kwargs)
    except harness.CallTimeout:
        _fail(f"{name} did not finish within {time_limit:g} s (an endless loop?)", case, hint)
    except harness.StudentRaised as exc:
        _fail(f"{name} raised {exc.type_name}: {exc}", case, hint)
    except harness.KernelLost:
        raise


# --------------------------------------------------------------------------- numpy only


def _module_of(value):
    t = _type(value)
    if t.__name__ == "module":
        return value.__name__
    module = getattr(value, "__module__", None)
    if _type(module) is _str:
        return module
    return getattr(t, "__module__", None)


def _code_objects(code):
    yield code
    for const in code.co_consts:
        if _type(const).__name__ == "code":
            yield from _code_objects(const)


_NAME_LIKE = re.compile(r"[A-Za-z_][\w.]*")

# Ways to reach a banned package without naming it (dynamic imports, other processes,
# the module table) or to blind the call monitor.
_SUSPICIOUS_NAMES = frozenset({
    "__import__", "import_module", "importlib", "exec", "eval", "compile", "globals",
    "vars", "modules", "__builtins__", "builtins", "__subclasses__", "setprofile",
    "settrace", "subprocess", "os", "ctypes", "pickle", "marshal", "system", "popen",
    "Popen", "check_output", "get_ipython", "run_line_magic", "run_cell",
})


def _numpy_only_problems(fn, banned, seen, depth=0):
    problems = []
    if id(fn) in seen or depth > 6:
        return problems
    seen.add(id(fn))
    mod = _module_of(fn)
    if mod and mod.partition(".")[0] in banned:
        return [f"{getattr(fn, '__name__', fn)!s} comes from {mod}"]
    # unwrap partials, bound methods and callable objects
    inner = getattr(fn, "func", None)
    if inner is not None and _type(fn).__name__ == "partial":
        problems += _numpy_only_problems(inner, banned, seen, depth + 1)
        for v in list(fn.args) + list((fn.keywords or {}).values()):
            problems += _numpy_only_problems(v, banned, seen, depth + 1)
        return problems
    if _type(fn).__name__ == "method":
        return _numpy_only_problems(fn.__func__, banned, seen, depth + 1)
    code = getattr(fn, "__code__", None)
    if code is None or _type(code).__name__ != "code":
        call = getattr(_type(fn), "__call__", None)  # noqa: B004 (the class's own code)
        if call is not None and getattr(call, "__code__", None) is not None:
            return _numpy_only_problems(call, banned, seen, depth + 1)
        return problems
    fn_globals = getattr(fn, "__globals__", {}) or {}
    builtins_ns = fn_globals.get("__builtins__", {})
    if _type(builtins_ns).__name__ == "module":
        builtins_ns = builtins_ns.__dict__
    related = []
    for co in _code_objects(code):
        for name in co.co_names:
            if name in banned:
                problems.append(f"it uses the name {name!r}")
            if name in _SUSPICIOUS_NAMES:
                problems.append(f"it uses {name!r}")
            if name in fn_globals:
                related.append(fn_globals[name])
        for const in co.co_consts:
            # only name-like strings ("torch", "poolkit.max_pool2d"): a docstring or a
            # message that mentions torch is not a way to reach it
            if _type(const) is _str and _NAME_LIKE.fullmatch(const):
                for b in banned:
                    if b in const:
                        problems.append(f"it mentions {b!r} in a string")
    for cell in fn.__closure__ or ():
        try:
            related.append(cell.cell_contents)
        except ValueError:
            pass
    related += list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
    for value in related:
        mod = _module_of(value)
        if mod and mod.partition(".")[0] in banned:
            label = getattr(value, "__name__", _type(value).__name__)
            problems.append(f"it uses {label} from {mod}")
        elif getattr(value, "__code__", None) is not None or _type(value).__name__ in (
                "partial", "method"):
            if mod and mod.partition(".")[0] == "numpy":
                continue
            problems += _numpy_only_problems(value, banned, seen, depth + 1)
    return problems


def assert_numpy_only(fn, *, name: str | None = None, banned=DEFAULT_BANNED,
                      hint: str = "write it with NumPy (np.pad, slicing, .max/.mean)") -> None:
    """Fail if ``fn`` (or a helper it calls) uses torch, TensorFlow, Keras, JAX, poolkit,
    scikit-image or SciPy, imports modules dynamically, or reaches around through
    ``globals()``/``sys.modules``.  Reads the code only; see ``numpy_only=True`` in
    :func:`check_against_oracle` for watching the call itself."""
    name = name or getattr(fn, "__name__", "your function")
    if _grading_harness() is not None:
        return   # graded in a kernel where only NumPy is installed
    problems = _numpy_only_problems(fn, tuple(banned), set())
    if problems:
        unique = list(dict.fromkeys(problems))
        _fail(f"{name} must be written with NumPy only, but " + "; ".join(unique[:4]),
              "", hint)


# --------------------------------------------------------------------------- the main check


def check_against_oracle(fn, oracle: str, cases: CaseSet, *, hint: str = "",
                         name: str | None = None, rtol: float = 1e-6, atol: float = 1e-9,
                         numpy_only: bool = False, banned=DEFAULT_BANNED,
                         oracle_kwargs=None, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
    """Call ``fn`` on every case and compare with ``oracle`` computed in a fresh process.

    ``oracle`` is a dotted name importable in a clean interpreter (``"poolkit.max_pool2d"``,
    ``"poolkit.reference.output_size"``); ``oracle_kwargs`` go to the oracle only (e.g.
    ``{"count_include_pad": False}``).  A case where the oracle raises (a config torch
    refuses) passes only if ``fn`` raises the same exception type.  With
    ``numpy_only=True`` the function's code is read first (:func:`assert_numpy_only`) and
    each call is watched for calls into banned packages.  Raises AssertionError at the
    first failing case.  Returns None on purpose: a number left as a test cell's last
    value would be read by nbgrader as a partial score.
    """
    name = name or getattr(fn, "__name__", "your function")
    assert_builtins_intact()
    assert_kernel_reports_errors()
    if not callable(fn):
        _fail(f"{name} is not a function (got {_type(fn).__name__})", "",
              "define it with def in the exercise cell and run that cell")
    if numpy_only:
        assert_numpy_only(fn, name=name, banned=banned)
    limit = _effective_limit(time_limit)
    built = cases.build()
    expected = oracle_results(oracle, cases, oracle_kwargs)
    if expected.__len__() != built.__len__():
        raise RuntimeError("the reference process returned the wrong number of cases")
    checked = 0
    total = expected.__len__()
    while checked < total:
        args, kwargs, note = built[checked]
        want = expected[checked]
        case = describe(args, kwargs, cases.names, note)
        watch = _Watch(banned) if numpy_only and _grading_harness() is None else None
        call_args = _tuple([a.copy() if _is_real_ndarray(a) else a for a in args])
        if want[0] == "error":
            try:
                _call_student(fn, call_args, kwargs, name=name, case=case, hint=hint,
                              time_limit=limit, watch=watch)
            except AssertionError as exc:
                if f"raised {want[1]}:" in _str(exc):
                    checked += 1
                    continue
                raise
            _fail(f"{name} returned a result, but this configuration is invalid: "
                  f"expected {want[1]}", case, hint)
        got = _call_student(fn, call_args, kwargs, name=name, case=case, hint=hint,
                            time_limit=limit, watch=watch)
        reason = _compare(strict_value(got, f"the result of {name}"), want, rtol, atol)
        if reason is not None:
            _fail(reason, case, hint)
        checked += 1
