"""Nothing that ships to students answers a graded exercise (issue 17, item 2).

Students get poolkit (every ``.py`` file of ``poolkit/``) and the release notebooks
(``course/<lesson>/*.ipynb``: the lecture cells and the visible test cells).  For every
autograded exercise, every top-level function of that material whose signature could fit
the exercise's function is tried as the student's answer, and the answer must lose points.

How a candidate is built, BY SOURCE (never by importing the shipped object):

- a poolkit function: its module's whole source, exec'd in a fresh namespace (so its
  helpers come along; imports of sibling poolkit modules are rewritten to a copy of poolkit
  loaded from the same files under the name ``_shipped_poolkit``, whose state is apart from
  the grader's ``poolkit.checks``), then an adapter ``def <exercise_fn>(*args, **kwargs)``;
- a notebook function: the function and the imports, functions and cheap assignments of the
  same notebook's lecture/visible-test cells that it needs, then the adapter.

Two adapters, kept simple: positional pass-through (``return shipped(*args, **kwargs)``)
and by-name pass-through (the call is bound to the exercise's signature; arguments whose
name the shipped function has are passed as keywords, the others positionally).  "Could
fit": the shipped function needs no keyword-only argument, needs at most as many positional
arguments as the exercise's function takes, and takes at least as many as the exercise's
function requires.  An exercise whose solution cell defines several functions (05's
``keras_same_max_pool`` defines ``same_padding`` and ``keras_same_max_pool2d``) gets every
combination of functions of ONE
shipped module or notebook that fit each of them with exactly as many required positional
arguments (combinations across modules are not tried: there would be too many).

The candidate runs exactly as the grader runs it, in-process: the exercise's graded test cells
from the instructor notebook (visible and hidden), through
:func:`poolgrade.execution.test_cells.run_test_cell`, with the student's names bound to the
candidate via a caller (the other exercises' names come from the instructor's solution, as in
tests/integration/test_diagnosis.py), and, when the harness reads the student's cells
(``run_test_cell(sources=...)``), the pasted text as the answer cell.  The call runs outside
the grader's cell budget, as a kernel's would.  A control checks that this machinery gives the
instructor's own answer every point.

The NumPy-only rule is EMULATED, not run in a NumPy-only kernel: under the real grader a cell
that checks it (:func:`~poolgrade.execution.test_cells.needs_numpy_only`) calls the student's
functions in a kernel where torch, TensorFlow, poolkit, ... (``BANNED_IN_NUMPY_ONLY``) cannot
be imported.  Here such a cell fails the candidate when the source a student would have to
paste imports a banned package: the shipped function plus everything it reaches, across
poolkit's modules (poolkit's own modules can be pasted too, so importing poolkit is not by
itself banned), any ``import`` inside those functions included.

KNOWN_LEAKS lists (exercise, shipped function) pairs that are allowed to earn full points,
each as ``xfail(strict=True)``: a fixed leak then XPASSes and fails until it is removed.
It is empty: before poolkit's exact NumPy library moved to the instructor's package and
the lessons were changed, 17 pairs leaked (the issue's table, plus
``explore.pool_image`` for two lesson-01 exercises, ``shapes.keras_output_size``, lesson
04's visible ``torch_stack_shape`` and ``models.torch_adaptive_windows``).
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import importlib.util
import inspect
import itertools
import signal
import sys
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from tests.support import COURSE, ROOT, lesson_names, solution_notebook

try:
    from poolkit.checks.policy import BANNED_IN_NUMPY_ONLY
except ImportError:     # before the policy moved to poolkit
    from poolgrade.sandbox.bwrap import BANNED_IN_NUMPY_ONLY

POOLKIT = ROOT / "poolkit"
COPY = "_shipped_poolkit"           # poolkit loaded from its files under another name
CALL_LIMIT = 5.0                    # seconds per call of a candidate (the grader allows 20)
BANNED = set(BANNED_IN_NUMPY_ONLY) - {"poolkit"}    # poolkit itself can be pasted

# (exercise, shipped function) pairs allowed to earn full points: see the module docstring.
KNOWN_LEAKS: set[tuple[str, str]] = set()


# --------------------------------------------------------------------------- shipped units

@dataclass
class Unit:
    """One module's (or one notebook's) top-level statements and what they define."""

    key: str                        # "poolkit.pooling" or "notebook:<lesson>"
    package: str                    # for relative imports ("" for notebooks)
    statements: list[ast.stmt]
    defines: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self):
        for index, node in enumerate(self.statements):
            for name in bound_names(node):
                self.defines.setdefault(name, []).append(index)

    def functions(self) -> dict[str, ast.FunctionDef]:
        return {node.name: node for node in self.statements
                if isinstance(node, ast.FunctionDef)}


def bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).partition(".")[0] for a in node.names}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def poolkit_units() -> dict[str, Unit]:
    units = {}
    for path in sorted(POOLKIT.rglob("*.py")):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        units[name] = Unit(name, package, ast.parse(path.read_text()).body)
    return units


def notebook_sources(lesson: str) -> list[str]:
    """The release notebook's code cells but its solution cells: lecture and visible tests."""
    notebook = next((COURSE / lesson).glob("*.ipynb"))
    nb = nbformat.read(notebook, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"
            and not cell.metadata.get("nbgrader", {}).get("solution")]


@functools.cache
def notebook_unit(lesson: str) -> Unit:
    statements = []
    for source in notebook_sources(lesson):
        try:
            statements += ast.parse(source).body
        except SyntaxError:     # IPython magics: nothing a student would paste
            continue
    return Unit(f"notebook:{lesson}", "", statements)


def unit_of(key: str) -> Unit:
    if key.startswith("notebook:"):
        return notebook_unit(key.partition(":")[2])
    return poolkit_units()[key]


def resolve(unit: Unit, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = unit.package.split(".")
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


@functools.cache
def module_aliases(key: str) -> dict[str, str]:
    """Names bound anywhere in the unit to a poolkit module (``from . import _engine``)."""
    unit = unit_of(key)
    aliases = {}
    modules = poolkit_units()
    for node in ast.walk(ast.Module(body=unit.statements, type_ignores=[])):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.partition(".")[0] == "poolkit":
                    aliases[alias.asname or "poolkit"] = alias.name if alias.asname else "poolkit"
        elif isinstance(node, ast.ImportFrom):
            source = resolve(unit, node)
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
    return aliases


def dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


@dataclass
class Closure:
    statements: dict[str, list[int]]    # unit key -> statement indexes, in order
    banned: set[str]                    # banned packages the pasted source imports
    costly: bool                        # needs a notebook's computed state (not pasted)


PASTEABLE = {"np", "math", "importlib", "poolkit"}   # what a pasted assignment may use


def cheap(node: ast.stmt) -> bool:
    """An assignment a student could paste without rerunning the lecture: it reads no
    variable of the notebook (``ck = importlib.reload(poolkit.checks)``, constants)."""
    if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return True
    value = node.value if node.value is not None else ast.Constant(None)
    return all(n.id in PASTEABLE or n.id in dir(builtins) for n in ast.walk(value)
               if isinstance(n, ast.Name))


@functools.cache
def closure(key: str, name: str) -> Closure:
    """What a student must paste to get ``name`` of unit ``key`` working (see module doc)."""
    modules = poolkit_units()
    seen, todo = set(), [(key, name)]
    taken: dict[str, set[int]] = {}
    banned, costly = set(), False
    while todo:
        unit_key, wanted = todo.pop()
        if (unit_key, wanted) in seen or unit_key not in modules and \
                not unit_key.startswith("notebook:"):
            continue
        seen.add((unit_key, wanted))
        unit = unit_of(unit_key)
        aliases = module_aliases(unit_key)
        for index in unit.defines.get(wanted, []):
            if index in taken.setdefault(unit_key, set()):
                continue
            node = unit.statements[index]
            if not cheap(node):
                costly = True
                continue
            taken[unit_key].add(index)
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import):
                    for alias in sub.names:
                        top = alias.name.partition(".")[0]
                        if top in BANNED:
                            banned.add(top)
                        elif top == "poolkit":
                            todo.append((alias.name, "__init__"))
                elif isinstance(sub, ast.ImportFrom):
                    source = resolve(unit, sub)
                    top = source.partition(".")[0]
                    if top in BANNED:
                        banned.add(top)
                    elif top == "poolkit":
                        todo += [(source, alias.name) for alias in sub.names]
                elif isinstance(sub, ast.Name):
                    todo.append((unit_key, sub.id))
                elif isinstance(sub, ast.Attribute) and (chain := dotted(sub)):
                    module = aliases.get(chain[0])
                    for attr in chain[1:]:
                        if module is None:
                            break
                        todo.append((module, attr))
                        module = f"{module}.{attr}" if f"{module}.{attr}" in modules else None
    statements = {k: sorted(v) for k, v in taken.items() if v}
    return Closure(statements, banned, costly)


# --------------------------------------------------------------------------- exercises

@dataclass
class Exercise:
    lesson: str
    grade_id: str
    functions: dict[str, ast.FunctionDef]     # what the solution cell defines
    # (grade_id, source, points, prelude) of its tests; prelude: the helpers earlier test
    # cells defined, which the grader shares (harness.helper_preludes)
    cells: list[tuple[str, str, float, str]]

    @property
    def points(self) -> float:
        return sum(cell[2] for cell in self.cells)


@functools.cache
def exercises(lesson: str) -> list[Exercise]:
    from poolgrade.execution import test_cells as harness

    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    meta = [(cell, cell.metadata.get("nbgrader", {})) for cell in nb.cells
            if cell.cell_type == "code"]
    preludes = {grade_id: prelude for grade_id, _, prelude
                in harness.notebook_test_cells(nb, answer_names(lesson))}
    found = []
    for cell, m in meta:
        if not m.get("solution") or m.get("grade"):
            continue
        functions = {node.name: node for node in ast.parse(cell.source).body
                     if isinstance(node, ast.FunctionDef)}
        tests = [(t["grade_id"], c.source, float(t.get("points", 0)), preludes[t["grade_id"]])
                 for c, t in meta
                 if t.get("grade") and t["grade_id"].startswith(f"test_{m['grade_id']}_")]
        if tests and functions:
            found.append(Exercise(lesson, m["grade_id"], functions, tests))
    return found


def positional(node: ast.FunctionDef) -> tuple[int, int, bool, int]:
    """(required positional, accepted positional, takes *args, required keyword-only)."""
    args = node.args
    accepted = len(args.posonlyargs) + len(args.args)
    required_kw = sum(default is None for default in args.kw_defaults)
    return accepted - len(args.defaults), accepted, args.vararg is not None, required_kw


def fits(shipped: ast.FunctionDef, wanted: ast.FunctionDef, exact=False) -> bool:
    """``exact``: the same number of required positional arguments too."""
    need, takes, star, kw_only = positional(shipped)
    w_need, w_takes, _, _ = positional(wanted)
    return kw_only == 0 and need <= w_takes and (star or takes >= w_need) \
        and (not exact or need == w_need)


@dataclass(frozen=True)
class Candidate:
    lesson: str
    exercise: str
    unit: str                               # unit key
    mapping: tuple[tuple[str, str], ...]    # (exercise function, shipped function)

    @property
    def label(self) -> str:
        shipped = "+".join(f"{s}" if e == self.exercise or len(self.mapping) == 1
                           else f"{e}={s}" for e, s in self.mapping)
        where = self.unit.replace("notebook:", "notebook ")
        return f"{where}.{shipped}" if not where.startswith("notebook") else \
            f"{where}:{shipped}"


def shipped_units(lesson: str) -> list[str]:
    return [*poolkit_units(), f"notebook:{lesson}"]


def candidates():
    for lesson in lesson_names():
        for exercise in exercises(lesson):
            for key in shipped_units(lesson):
                shipped = unit_of(key).functions()
                options = []
                several = len(exercise.functions) > 1
                for wanted in exercise.functions.values():
                    options.append([s for s, node in shipped.items()
                                    if fits(node, wanted, exact=several)])
                for choice in itertools.product(*options):
                    mapping = tuple((e, s) for e, s in zip(exercise.functions, choice) if s)
                    yield Candidate(lesson, exercise.grade_id, key, mapping)


def pair(candidate: Candidate) -> tuple[str, str]:
    return candidate.exercise, candidate.label


def params():
    for candidate in candidates():
        marks = [pytest.mark.xfail(strict=True, reason="known leak, issue 17 item 2")] \
            if pair(candidate) in KNOWN_LEAKS else []
        yield pytest.param(candidate, marks=marks,
                           id=f"{candidate.lesson[:2]}-{candidate.exercise}<-{candidate.label}")


# --------------------------------------------------------------------------- building by source

@functools.cache
def shipped_copy():
    """poolkit loaded from its files as ``_shipped_poolkit`` (apart from the grader's)."""
    if COPY not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            COPY, POOLKIT / "__init__.py", submodule_search_locations=[str(POOLKIT)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[COPY] = module
        spec.loader.exec_module(module)
    return sys.modules[COPY]


class ToCopy(ast.NodeTransformer):
    """Imports of poolkit (relative or absolute) go to the copy."""

    def __init__(self, unit: Unit):
        self.unit = unit

    def visit_Import(self, node):
        moved = [alias for alias in node.names if alias.name.partition(".")[0] == "poolkit"]
        if not moved:
            return node
        kept = [alias for alias in node.names if alias not in moved]
        statements = [ast.Import(names=kept)] if kept else []
        for alias in moved:
            target = COPY + alias.name[len("poolkit"):]
            statements.append(ast.Import(names=[ast.alias(target, alias.asname)]))
            if not alias.asname:
                statements.append(ast.Assign(targets=[ast.Name("poolkit", ast.Store())],
                                             value=ast.Name(COPY, ast.Load())))
        return statements

    def visit_ImportFrom(self, node):
        source = resolve(self.unit, node)
        if source.partition(".")[0] == "poolkit":
            node.module, node.level = COPY + source[len("poolkit"):], 0
        return node


@functools.cache
def module_namespace(key: str) -> dict:
    """The module's whole source, its poolkit imports pointed at the copy, exec'd."""
    shipped_copy()
    importlib.import_module(COPY + key[len("poolkit"):])   # dataclasses look their module up
    unit = unit_of(key)
    tree = ToCopy(unit).visit(ast.Module(body=copy.deepcopy(unit.statements),
                                         type_ignores=[]))
    namespace = {"__name__": COPY + key[len("poolkit"):]}
    exec(compile(ast.fix_missing_locations(tree), f"<source of {key}>", "exec"), namespace)
    return namespace


def notebook_namespace(key: str, names: list[str]) -> dict:
    """The functions ``names`` of a notebook, with what they need from it, exec'd."""
    unit = unit_of(key)
    indexes = set()
    for name in names:
        indexes |= set(closure(key, name).statements.get(key, []))
    body = [unit.statements[i] for i in sorted(indexes)]
    shipped_copy()
    tree = ToCopy(unit).visit(ast.Module(body=copy.deepcopy(body), type_ignores=[]))
    namespace = {"__name__": "__student__"}
    exec("import math\nimport numpy as np\n", namespace)
    exec(compile(ast.fix_missing_locations(tree), f"<cells of {key}>", "exec"), namespace)
    return namespace


def adapter(exercise_fn: ast.FunctionDef, shipped_fn, by_name: bool):
    """The student's function: the shipped one under the exercise's name."""
    if not by_name:
        def answer(*args, **kwargs):
            return shipped_fn(*args, **kwargs)
        return answer
    wanted = inspect.Signature([
        inspect.Parameter(a.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for a in exercise_fn.args.posonlyargs + exercise_fn.args.args])
    known = set(inspect.signature(shipped_fn).parameters)

    def answer(*args, **kwargs):
        bound = wanted.bind_partial(*args, **kwargs).arguments
        positional_args = [v for k, v in bound.items() if k not in known]
        return shipped_fn(*positional_args, **{k: v for k, v in bound.items() if k in known})
    return answer


# --------------------------------------------------------------------------- grading

@functools.cache
def instructor_namespace(lesson: str) -> dict:
    from poolgrade.authoring import mistake_catalogue

    return mistake_catalogue.solution_namespace(lesson)


@functools.cache
def answer_names(lesson: str) -> frozenset:
    from poolgrade.execution import test_cells as harness

    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "code"
               and c.metadata.get("nbgrader", {}).get("solution")
               and not c.metadata.get("nbgrader", {}).get("grade")]
    return frozenset(harness.answer_names(sources))


class _Timeout(Exception):
    pass


def caller_for(namespace: dict):
    """The grader's channel, in-process: call the student's function on copies, turn its
    exceptions into StudentRaised and an endless call into CallTimeout.  The call runs
    outside the test cell's budget (``budget.exempt``): a student's code runs in their
    kernel, never under the grader's memory ceiling (a lazy ``import torch`` cut short by
    that ceiling would leave a broken torch to every later test of the worker)."""
    from poolgrade.execution import test_cells as harness
    from poolgrade.sandbox import budget

    def on_alarm(signum, frame):
        raise _Timeout()

    def caller(name, args, kwargs, limit):
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, min(limit, CALL_LIMIT))
        try:
            with budget.exempt(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return copy.deepcopy(namespace[name](*copy.deepcopy(args), **kwargs))
        except _Timeout:
            raise harness.CallTimeout(f"{name} did not return") from None
        except Exception as exc:
            raise harness.StudentRaised(type(exc).__name__, str(exc)) from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return caller


def earned(candidate: Candidate, by_name: bool) -> tuple[float, list[str]]:
    """Points the candidate earns, and why it lost the others (stops at the first loss)."""
    exercise = next(e for e in exercises(candidate.lesson) if e.grade_id == candidate.exercise)
    shipped = dict(candidate.mapping)
    banned = set().union(*(closure(candidate.unit, name).banned for name in shipped.values()))
    if candidate.unit.startswith("notebook:"):
        source = notebook_namespace(candidate.unit, list(shipped.values()))
    else:
        source = module_namespace(candidate.unit)
    namespace = dict(instructor_namespace(candidate.lesson))
    for name, node in exercise.functions.items():
        namespace[name] = adapter(node, source[shipped[name]], by_name)
    # the answer cell as the grader reads it (a check may read the function's source)
    cell = pasted_source(candidate) + "".join(
        f"\n\ndef {name}(*args, **kwargs):\n    return {fn}(*args, **kwargs)\n"
        for name, fn in shipped.items())
    return grade(exercise, namespace, banned, {name: cell for name in shipped})


def pasted_source(candidate: Candidate) -> str:
    unit = unit_of(candidate.unit)
    if candidate.unit.startswith("notebook:"):
        indexes = sorted(set().union(*(closure(candidate.unit, name).statements.get(
            candidate.unit, []) for _, name in candidate.mapping)))
        return "\n\n".join(ast.unparse(unit.statements[i]) for i in indexes)
    return ast.unparse(ast.Module(body=unit.statements, type_ignores=[]))


@functools.cache
def solution_cells(lesson: str) -> dict[str, str]:
    """The instructor notebook's solution cell of each name it defines."""
    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    cells[node.name] = cell.source
    return cells


def grade(exercise: Exercise, namespace: dict, banned: set,
          sources: dict | None = None) -> tuple[float, list[str]]:
    """Run the exercise's test cells as the grader does, the student's names taken from
    ``namespace`` and their cells' source from ``sources`` (over the instructor's); a
    NumPy-only cell fails when ``banned`` is not empty (see module doc)."""
    from poolgrade.execution import test_cells as harness

    extra = {}
    if "sources" in inspect.signature(harness.run_test_cell).parameters:
        extra["sources"] = {**solution_cells(exercise.lesson), **(sources or {})}

    total, losses = 0.0, []
    for grade_id, cell, points, prelude in exercise.cells:
        if banned and harness.needs_numpy_only(cell):
            losses.append(f"{grade_id}: NumPy-only, the source imports {sorted(banned)}")
            break
        outcome = harness.run_test_cell(cell, set(answer_names(exercise.lesson)),
                                        caller_for(namespace), prelude=prelude, **extra)
        if not outcome.passed:
            losses.append(f"{grade_id}: {outcome.ename}: {outcome.evalue[:200]}")
            break
        total += points
    return total, losses


@pytest.mark.slow
@pytest.mark.parametrize("exercise", [pytest.param(e, id=f"{e.lesson[:2]}-{e.grade_id}")
                                      for lesson in lesson_names() for e in exercises(lesson)])
def test_the_instructor_answer_earns_full_points(exercise):
    """The control: the machinery above gives the instructor's own answer every point, so a
    shipped function that loses points lost them to the tests, not to this harness."""
    points, losses = grade(exercise, dict(instructor_namespace(exercise.lesson)), set())
    assert not losses and points == exercise.points, losses


@pytest.mark.slow
@pytest.mark.parametrize("candidate", list(params()))
def test_shipped_function_does_not_answer_the_exercise(candidate):
    exercise = next(e for e in exercises(candidate.lesson) if e.grade_id == candidate.exercise)
    for by_name in (False, True):
        points, losses = earned(candidate, by_name)
        assert losses, (f"{candidate.label} pasted as {candidate.exercise} "
                        f"({'by name' if by_name else 'positionally'}) earns all "
                        f"{exercise.points:g} points: {points:g}")


def test_known_leaks_name_shipped_pairs():
    """A leak fixed by removing the shipped function leaves no test to XPASS: its entry in
    KNOWN_LEAKS must go too."""
    pairs = {pair(candidate) for candidate in candidates()}
    assert KNOWN_LEAKS <= pairs, f"no longer shipped, remove: {sorted(KNOWN_LEAKS - pairs)}"


def answer_lines(lesson: str) -> list[tuple[str, str]]:
    """(exercise, line) of each solution's code between its BEGIN/END SOLUTION markers that
    says something (longer than a short statement such as ``return out``)."""
    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    lines = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution") or meta.get("grade"):
            continue
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text in ("### BEGIN SOLUTION", "### END SOLUTION"):
                inside = text == "### BEGIN SOLUTION"
            elif inside and len(text) > 24 and not text.startswith(("#", '"', "'")):
                lines.append((meta["grade_id"], " ".join(text.split())))
    return lines


@pytest.mark.parametrize("lesson", lesson_names())
def test_hints_hold_no_answer_code(lesson):
    """The staged hints ship in poolkit: no line of the instructor's answer is in them."""
    path = POOLKIT / "hints" / f"{lesson}.toml"
    if not path.exists():
        pytest.skip(f"{path.name} does not ship")
    hints = tomllib.loads(path.read_text())
    text = " ".join(" ".join(str(value).split()) for entry in hints.values()
                    if isinstance(entry, dict) for value in entry.values())
    lines = answer_lines(lesson)
    assert lines, f"{lesson}: no solution code found between the markers"
    found = [(exercise, line) for exercise, line in lines if line in text]
    assert not found, f"answer code in {path.name}: {found}"
