"""Describing cases, reading results strictly and comparing them.

:func:`strict_value` turns a result into plain Python data without running any of its own
code, :func:`_compare` compares two such values in plain Python, and :func:`_fail` raises the
AssertionError that names the case and the hint.
"""

from __future__ import annotations

from ._literals import _HEAPTYPE, _bool, _float, _int, _list, _none, _tuple, _type
from .environment import _grading_harness, assert_builtins_intact, assert_kernel_reports_errors
from .failures import CheckFailed, CheckFailure
from .hints import record_pass, staged_lines

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
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
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


def _fail(reason: str, case: str, hint: str, exercise: str | None = None, *,
          diagnose_it: bool = True, kind: str = "wrong", raised_type: str | None = None,
          raised_message: str | None = None):
    """Raise the failure a student reads: what differs, the case, the known mistake it
    shows (:mod:`~poolkit.checks.diagnosis`) or else the test's hint, then the staged rule
    (:mod:`~poolkit.checks.hints`).  At most about five lines.  ``diagnose_it=False`` for
    failures that probing cannot explain (a call that timed out would only time out
    again).  ``kind``, ``raised_type`` and ``raised_message`` say what failed as data
    (:class:`~poolkit.checks.failures.CheckFailure`), which the exception carries."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    from .diagnosis import diagnose, message_lines
    from .hints import _current

    lines = [reason]
    if case:
        lines.append(f"  case: {case}")
    # A certain diagnosis names the mistake and the section; it replaces the generic hint.
    mistake = diagnose(exercise or _current[0]) if diagnose_it else None
    if mistake is not None:
        # the student's function raised, so it had no output to speak of
        lines += message_lines(mistake, raised=kind in ("raised", "not_written"))
    elif hint:
        lines.append(f"  hint: {hint}")
    lines += staged_lines(exercise, grading=_grading_harness() is not None)
    failure = CheckFailure(kind, raised_type, case, hint,
                           None if mistake is None else mistake["id"], raised_message)
    raise CheckFailed("\n".join(lines), failure)


def assert_close(actual, expected, *, case: str = "", hint: str = "",
                 rtol: float = 1e-6, atol: float = 1e-9, exercise: str | None = None) -> None:
    """Fail unless ``actual`` matches ``expected`` (same shape, values within tolerance).

    Both sides are read with :func:`strict_value`, so ``actual`` must be a real
    ``numpy.ndarray`` (or plain number/tuple).  ``expected`` computed in the kernel is only
    as trustworthy as the kernel: hidden tests should prefer :func:`check_against_oracle`.
    ``exercise`` names the exercise for its staged hint (default: the function last passed
    to :func:`~poolkit.checks.call`).
    """
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    assert_builtins_intact()
    assert_kernel_reports_errors()
    reason = _compare(strict_value(actual), strict_value(expected, "the expected value"),
                      rtol, atol)
    if reason is not None:
        _fail(reason, case, hint, exercise)
    record_pass(exercise)


def require(condition, reason: str, *, case: str = "", hint: str = "",
            exercise: str | None = None) -> None:
    """Fail with ``reason`` (and the case, the hint, the staged rule) unless ``condition``
    is true: a check of a test's own, in the same format as every other failure.
    ``condition`` must be a real ``bool`` (compute it in the test, never take it from the
    student's code)."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    if condition.__class__ is not _bool:
        raise TypeError(f"require() needs a bool condition, got {_type(condition).__name__}")
    if not condition:
        _fail(reason, case, hint, exercise)
    record_pass(exercise)


def require_int(value, low: int, high: int, what: str, *, case: str = "", hint: str = "",
                exercise: str | None = None) -> int:
    """Fail unless ``value`` is a plain ``int`` from ``low`` to ``high`` (both included), with
    a message that gives the allowed range; returns ``value``.

    For a size that a student's function returned and the test then builds arrays or layers
    from (a kernel size, a padding, a channel count): checked before anything is built, it
    cannot make the test allocate gigabytes, and the student learns what is allowed."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    if _type(value) is not _int or not low <= value <= high:
        shown = _fmt(value)
        if shown.__len__() > 60:
            shown = shown[:60] + "..."
        if _type(value) is not _int:
            shown += f" (a {_type(value).__name__})"
        _fail(f"{what} must be an int from {low:,} to {high:,}, got {shown}", case, hint,
              exercise, diagnose_it=False)
    record_pass(exercise)
    return value


def assert_equal(actual, expected, *, case: str = "", hint: str = "",
                 exercise: str | None = None) -> None:
    """Fail unless ``actual`` equals ``expected`` exactly (ints, tuples, arrays, bools)."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    assert_close(actual, expected, case=case, hint=hint, rtol=0.0, atol=0.0,
                 exercise=exercise)
