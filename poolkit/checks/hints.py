"""Staged hints: a failure teaches first, and the rule comes only when asked for.

A failing check shows the case, what differs and the test's own hint (which points at the
idea or the lesson section, never at the formula).  The exercise's *rule* (the formula or
the algorithm) lives in ``poolkit/hints/<NN-name>.toml``, one table per exercise::

    [output_size]
    section = "Section 2, the output-size formula"
    rule = "..."

and reaches the student only when they ask for it with ``ck.hint("output_size")``, or
after :data:`RULE_AFTER` failed tries of that exercise in the same kernel.  Under the
grader's harness (feedback after the deadline) the rule is shown with the first failure.

What counts as a try (:func:`_fingerprint`): a failing version of the function whose
*shape* is new, i.e. whose sequence of operations (with every load of a constant or a
local variable counted as the same "load", and every operator as the same operator)
or whose global and attribute names differ from every version tried before.  So running
an unchanged cell again is no try, and neither is changing only numbers, variables or
operators (``return 1``, ``return 2``, ``return 3`` are one try; ``size + 1`` and
``size - 2`` too).  A version that reads none of its parameters (``return 1`` in a
function of ``size``) is no try at all: it does not attempt the exercise.  A function
without parameters (lesson 01's ``bug_counterexample``) is judged by its shape only.

With the opt-in tries log on (:mod:`~poolkit.checks.tries_log`, for a pilot that counts
tries), every check outcome is also appended there.

The failure counts live in this module, which ``importlib.reload(poolkit.checks)`` does not
re-execute, so they survive the reload at the top of every test cell.
"""

from __future__ import annotations

import inspect
import tomllib
from functools import cache
from importlib import resources

from . import tries_log
from ._literals import _dict

RULE_AFTER = 3      # failed checks of one exercise before its rule is shown unasked

_failures: dict[str, int] = _dict()
_current: list[str] = [""]     # the exercise whose check is running (set by call/check)
_quiet: list[int] = [0]        # > 0 while a failure is expected (an invalid configuration)
_last_outcome: dict[str, str] = _dict()    # exercise -> "pass" or "fail", its latest check
_tried: dict[str, set] = _dict()           # exercise -> versions of the function that failed
_version: list = [None]                    # the running check's version of the function
_trivial: list[bool] = [False]             # that version reads none of its parameters
_logged_version: list = [None]             # its digest for the tries log (when that is on)


@cache
def _table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for entry in sorted(resources.files("poolkit.hints").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            for exercise, fields in tomllib.loads(entry.read_text(encoding="utf-8")).items():
                table[exercise] = {**fields, "lesson": entry.name.removesuffix(".toml"),
                                   "exercise": exercise}
                # An exercise (a grade_id) whose functions have other names lists them in
                # ``functions = [...]``, so a failing check of one of them finds the rule.
                for function in fields.get("functions", ()):
                    table.setdefault(function, table[exercise])
    return table


def known_exercises() -> list[str]:
    """The exercises that have a staged hint, in alphabetical order."""
    return sorted(_table())


def exercise_of(name: str) -> tuple[str, str] | None:
    """The lesson and the exercise (its table's name) that the function ``name`` belongs
    to, or None when no exercise has that function."""
    entry = _table().get(name)
    return None if entry is None else (entry["lesson"], entry.get("exercise", name))


def course_exercises() -> list[tuple[str, str]]:
    """Every exercise with a staged hint, as (lesson, exercise), in course order (the order
    of the lessons, then of the tables in each lesson's hints file)."""
    return [(entry["lesson"], name) for name, entry in _table().items()
            if entry.get("exercise", name) == name]


def rule_text(exercise: str) -> str | None:
    """The rule of ``exercise`` (None when it has none)."""
    entry = _table().get(exercise)
    return None if entry is None else entry.get("rule")


def hint(exercise: str) -> None:
    """Print where to reread and the rule for ``exercise`` (an exercise's function name,
    e.g. ``ck.hint("output_size")``).  Try the exercise before asking: the rule is the answer
    in words."""
    entry = _table().get(exercise)
    if entry is None:
        names = ", ".join(known_exercises())
        raise ValueError(f"no hint for {exercise!r}; exercises with hints: {names}")
    lines = [f"{exercise} ({entry['lesson']})"]
    if entry.get("section"):
        lines.append(f"  reread: {entry['section']}")
    if entry.get("rule"):
        lines.append(f"  rule: {entry['rule']}")
    print("\n".join(lines))


def set_current(exercise: str, fn=None) -> None:
    """Record which exercise the running check belongs to: its function's name, or a
    display name such as ``"pool2d_vectorized(mode='max')"`` (read up to the parenthesis),
    and which version of the student's function ``fn`` it calls."""
    _current[0] = exercise.partition("(")[0].strip()
    _version[0] = _fingerprint(fn)
    _trivial[0] = _is_trivial(fn)
    _logged_version[0] = tries_log.version_digest(fn) if tries_log.log_path() else None


# Loads whose operand (a constant, a local or a closure variable) does not change what a
# version computes, only with which numbers: they all read as one operation.
_LOADS = {"LOAD_CONST": 1, "LOAD_FAST": 1, "LOAD_FAST_CHECK": 1, "LOAD_FAST_AND_CLEAR": 1,
          "LOAD_DEREF": 1, "LOAD_CLOSURE": 1, "LOAD_SMALL_INT": 1, "LOAD_FAST_LOAD_FAST": 2,
          "LOAD_FAST_BORROW": 1, "LOAD_FAST_BORROW_LOAD_FAST_BORROW": 2}


def _code_shape(code) -> tuple:
    """The operations of ``code`` without their operands (see the module docstring), its
    global and attribute names, and the same for the code objects it holds."""
    import dis

    ops = []
    for instruction in dis.get_instructions(code):
        name = instruction.opname
        if name in _LOADS:
            ops += ["load"] * _LOADS[name]
        elif name.startswith("STORE_FAST") or name == "STORE_DEREF":
            ops.append("store")
        else:
            ops.append(name)
    inner = tuple(_code_shape(c) for c in code.co_consts if hasattr(c, "co_code"))
    return tuple(ops), code.co_names, inner


def _own_code(f):
    code = getattr(f, "__code__", None)
    return code if hasattr(code, "co_code") else None


def _called(fn) -> list:
    """The functions ``fn`` calls by a global name (one level: a test's wrapper around the
    student's function brings the student's function along)."""
    space = getattr(fn, "__globals__", {})
    code = _own_code(fn)
    return [space.get(name) for name in code.co_names
            if callable(space.get(name)) and _own_code(space.get(name)) is not None]


def _fingerprint(fn):
    """A key that changes when the student changes the shape of ``fn`` or of a function it
    calls by a global name; None when ``fn`` has no code to read (the grader's stand-in)."""
    code = _own_code(fn)
    if code is None:
        return None
    return _code_shape(code), tuple(_code_shape(_own_code(f)) for f in _called(fn))


def _reads_a_parameter(code) -> bool:
    """Whether ``code`` reads one of its parameters (True when it has none)."""
    import dis

    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    params = set(code.co_varnames[:count])
    if not params:
        return True
    if params & set(code.co_cellvars):       # a parameter a nested function reads
        return True
    for instruction in dis.get_instructions(code):
        if instruction.opname in _LOADS and instruction.opname != "LOAD_CONST":
            value = instruction.argval
            names = value if isinstance(value, tuple) else (value,)
            if params & set(names):
                return True
    return False


def _is_trivial(fn) -> bool:
    """A version that does not attempt the exercise: ``fn``, or a function it calls by a
    global name, reads none of its parameters (``return 1``)."""
    code = _own_code(fn)
    if code is None:
        return False
    return not all(_reads_a_parameter(_own_code(f)) for f in [fn, *_called(fn)])


def staged_lines(exercise: str | None, *, grading: bool) -> list[str]:
    """Lines a failure adds after its own hint: a pointer to ``ck.hint`` at first, the rule
    once the exercise has failed :data:`RULE_AFTER` times (at once under the harness)."""
    exercise = exercise or _current[0]
    if _quiet[0] or not exercise or exercise not in _table():
        return []
    _last_outcome[exercise] = "fail"
    _log(exercise, "fail")
    # A try is a version of a new shape that attempts the exercise (module docstring).
    tried = _tried.setdefault(exercise, set())
    if _trivial[0]:
        pass
    elif _version[0] is None or _version[0] not in tried:
        if _version[0] is not None:
            tried.add(_version[0])
        _failures[exercise] = _failures.get(exercise, 0) + 1
    count = _failures.get(exercise, 0)
    rule = rule_text(exercise)
    if rule and (grading or count >= RULE_AFTER):
        return [f"  rule: {rule}"]
    return [f"  stuck? ck.hint({exercise!r}) shows the rule"]


class expected_failure:
    """Within this block a failure is the expected outcome (the oracle raised too), so it
    neither counts as a try nor shows a hint."""

    def __enter__(self):
        _quiet[0] += 1

    def __exit__(self, *exc_info):
        _quiet[0] -= 1
        return False


def _log(exercise: str, outcome: str) -> None:
    """Append the outcome to the opt-in tries log, when the running check's version of the
    function belongs to ``exercise`` and attempts it."""
    if _trivial[0] or exercise_of(exercise) is None:
        return
    if exercise_of(exercise) == exercise_of(_current[0]):
        tries_log.record(_current[0], _logged_version[0], outcome)


def record_pass(exercise: str | None = None) -> None:
    """Note that a check of ``exercise`` (default: the running one) passed."""
    exercise = exercise or _current[0]
    if exercise and not _quiet[0]:
        _last_outcome[exercise] = "pass"
        _log(exercise, "pass")


def compare_with_yours(exercise: str, reference) -> None:
    """Print ``reference``'s source to compare with your ``exercise``, once your function
    has passed its visible tests in this kernel (so a "Run All" does not show the answer
    before you have written yours)."""
    if _last_outcome.get(exercise) != "pass":
        print(f"Pass the visible tests of {exercise} first, then run this cell again to "
              f"compare your function with the reference.")
        return
    print(inspect.getsource(reference))


def reset() -> None:
    """Forget the failure counts and outcomes (tests use it)."""
    _failures.clear()
    _last_outcome.clear()
    _tried.clear()
