"""The loops rule: an exercise that asks for Python loops is not answered by a vectorized call.

:func:`assert_loops` reads the *source* of the student's function (never its behaviour: a
speed measurement cannot tell a slow vectorized answer from a loop) and requires

* two loops nested in the function's own body (``for``/``while``, or a comprehension inside
  a loop), as a loop over output rows and columns needs;
* none of NumPy's window views (``sliding_window_view``, ``as_strided``, ``stride_tricks``),
  which produce every window at once.

Where the source comes from:

* in a student's kernel, from the function itself (``inspect.getsource``: IPython keeps
  every cell's text, so a function defined in a cell has one);
* under the grader, the student's function is a stand-in that calls their kernel, so the
  source must come from the grader: the runtime's ``function_source(name)`` (see
  :class:`poolkit.checks.runtime.GradingRuntime`), the text of the submitted cell that
  defines ``name``.  When it cannot give one, the check fails: the rule is never left
  unchecked.

What it does not see: which range a loop runs over (a loop over the window offsets, as in
lesson 01's vectorized exercise, is a loop too), and loops placed in a helper function
that the graded function calls (the loops must be in the graded function).
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from ._literals import _type
from .environment import _grading_harness
from .results import _fail

#: names that build every window at once: using one is vectorizing, not looping
WINDOW_VIEWS = ("sliding_window_view", "as_strided", "stride_tricks")

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def function_source(fn, name: str) -> str | None:
    """The source text of the student's ``name`` (``fn`` in their kernel), or None when
    neither the kernel nor the grader can give it."""
    harness = _grading_harness()
    if harness is not None:
        source_of = getattr(harness, "function_source", None)
        return "" if source_of is None else (source_of(name) or "")
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _definition(tree: ast.AST, name: str):
    """The last top-level ``def name`` of ``tree`` (the one a cell leaves bound)."""
    found = None
    for node in getattr(tree, "body", ()):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            found = node
    return found


def loop_depth(node: ast.AST) -> int:
    """How deeply loops nest inside ``node`` (a comprehension counts as one loop per
    ``for`` clause); nested function definitions are not looked into."""
    deepest = 0
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        own = 1 if isinstance(child, _LOOPS) else 0
        if isinstance(child, _COMPREHENSIONS):
            own = child.generators.__len__()
        deepest = max(deepest, own + loop_depth(child))
    return deepest


def loop_problems(source: str, name: str) -> list[str]:
    """What keeps ``source``'s ``def name`` from being a loop version (empty: nothing)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return ["its source could not be read as Python"]
    definition = _definition(tree, name)
    if definition is None:
        return [f"no `def {name}` was found in its cell"]
    problems = []
    used = {n.id for n in ast.walk(definition) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(definition) if isinstance(n, ast.Attribute)}
    used |= {a.name.rpartition(".")[2] for n in ast.walk(definition)
             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    used |= {n.module.rpartition(".")[2] for n in ast.walk(definition)
             if isinstance(n, ast.ImportFrom) and n.module}
    views = [v for v in WINDOW_VIEWS if v in used]
    if views:
        problems.append(f"it uses {', '.join(views)}, which builds every window at once")
    if loop_depth(definition) < 2:
        problems.append("it has no loop nested in a loop")
    return problems


def assert_loops(fn, *, name: str | None = None, exercise: str | None = None,
                 hint: str = "loop over the output rows, and inside over the columns "
                             "(Section 3)") -> None:
    """Fail unless the student's ``fn`` is written with two nested Python loops in its own
    body and without NumPy's window views (see the module's docstring for what is read)."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    name = name or getattr(fn, "__name__", "your function")
    source = function_source(fn, name)
    # (kind "wrong": failures.KINDS has no kind of its own for a broken loops rule)
    if _type(source) is not str or not source:
        _fail(f"{name}'s source could not be read, so its loops cannot be checked", "",
              "define it with def in the exercise cell and run that cell",
              exercise, diagnose_it=False, kind="wrong")
    problems = loop_problems(source, name)
    if problems:
        _fail(f"{name} must be written with loops over the output positions, but "
              + "; ".join(problems), "", hint, exercise, diagnose_it=False, kind="wrong")
