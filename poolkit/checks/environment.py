"""Where the checks run: a student's kernel, which must still be able to run them (builtins
intact, error reporting on), or the trusted grader, through :mod:`poolkit.checks.runtime`.
"""

from __future__ import annotations

import sys

from ._literals import _HEAPTYPE, _builtin_function, _type


def _grading_harness():
    """The trusted grader's runtime while it runs this test cell, else None (in a student's
    kernel).  Under the grader a student's functions run in another process, so the
    in-kernel guards (time limits, call monitor, NumPy-only reading) have nothing to guard."""
    from .runtime import current

    return current()


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
