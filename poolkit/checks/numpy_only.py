"""The NumPy-only rule: watching a student's call with ``sys.setprofile`` (:class:`_Watch`)
and reading the function's code for banned packages (:func:`assert_numpy_only`).
"""

from __future__ import annotations

import importlib.util
import re

from ._literals import _str, _type
from .environment import _grading_harness
from .guards import _call_with_limit
from .policy import BANNED_IN_NUMPY_ONLY
from .results import _fail

# --------------------------------------------------------------------------- watching the call


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
        # the only frames of poolkit.checks (whose files lie under poolkit/, a banned root)
        # that run while a student's function is watched: guards._call_with_limit and
        # its alarm handler
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


# --------------------------------------------------------------------------- reading the code


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
                continue   # the module itself need not be named a second time
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


def require_numpy_only_kernel(harness) -> None:
    """Under the grader, the NumPy-only rule is the kernel's: refuse to check it in a cell
    whose calls go to another kernel (the grader misread the cell), rather than pass."""
    if not getattr(harness, "numpy_only_kernel", False):
        raise RuntimeError("the grader runs this test cell in a kernel where packages other "
                           "than NumPy are installed, so the NumPy-only rule cannot be "
                           "checked here; this is a grader error, please report it")


def assert_numpy_only(fn, *, name: str | None = None, banned=BANNED_IN_NUMPY_ONLY,
                      hint: str = "write it with NumPy (np.pad, slicing, .max/.mean)") -> None:
    """Fail if ``fn`` (or a helper it calls) uses a package of ``banned`` (default:
    :data:`~poolkit.checks.policy.BANNED_IN_NUMPY_ONLY`: torch, TensorFlow, Keras, JAX,
    poolkit, scikit-image, SciPy, ...), imports modules dynamically, or reaches around through
    ``globals()``/``sys.modules``.  Reads the code only; see ``numpy_only=True`` in
    :func:`check_against_oracle` for watching the call itself."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    name = name or getattr(fn, "__name__", "your function")
    if _grading_harness() is not None:
        require_numpy_only_kernel(_grading_harness())
        return   # graded in a kernel where only NumPy is installed
    problems = _numpy_only_problems(fn, tuple(banned), set())
    if problems:
        unique = list(dict.fromkeys(problems))
        _fail(f"{name} must be written with NumPy only, but " + "; ".join(unique[:4]),
              "", hint, kind="numpy_only")
