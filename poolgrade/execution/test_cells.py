"""The trusted test harness: a test cell's code runs here, in the grader, never in a kernel.

When a notebook is graded, each autograded test cell is run by :func:`run_test_cell` in a
fresh namespace of the grader's own process.  The student's answers are not objects in that
namespace: every name that the instructor's solution cells define (``max_pool2d_loops``,
...) is bound to a :class:`RemoteFunction`, whose call sends the arguments to the student's
sandboxed kernel as data (:mod:`poolgrade.sandbox.channel`) and gets the result back as data.
So the test's expected values, its comparisons, its hidden cases and its source stay in
this process, and whatever the student's code does to its own interpreter cannot reach them.

A test cell that checks the NumPy-only rule (``numpy_only=True`` or ``assert_numpy_only``),
or may check it as far as its code can be read, calls the student's functions in a second
kernel in which only NumPy is installed, see :func:`needs_numpy_only`.  While a cell
runs, the harness installs a :class:`_Runtime` as :func:`poolkit.checks.runtime.current`, the
checks' only view of the grader: they then pass time limits to the remote call instead of
using a signal, compute expected values in this process (cached, they are the same for
every student), and leave the NumPy-only rule to that kernel.  A check that fails raises
a :class:`~poolkit.checks.failures.CheckFailed`, whose data the :class:`Outcome` keeps.

The test's own code runs here on data the student chose, so each cell runs inside a budget
of this process's memory and CPU time (:mod:`poolgrade.sandbox.budget`): a cell past it
fails with :data:`OVER_BUDGET`, and the grader goes on with what it had.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import gc
import io
import math
import sys
from dataclasses import dataclass, field

from poolgrade.sandbox import budget
from poolkit.checks.failures import CheckFailed, CheckFailure
from poolkit.checks.policy import effective_limit

_limit_stack: list[float] = []
_oracle_cache: dict[str, list] = {}
_namespace: dict = {}           # the running test cell's namespace (see current_names)


class StudentRaised(Exception):
    """The student's function raised ``type_name`` (its message is in the exception)."""

    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name


class CallTimeout(Exception):
    """The student's function did not return within its time limit (it was interrupted)."""


class KernelLost(Exception):
    """The kernel died or ignored an interrupt: it cannot answer any more calls."""


class RemoteFunction:
    """A student's function, called in their kernel through the data-only channel."""

    def __init__(self, name: str, caller):
        self.__name__ = self.__qualname__ = name
        self._caller = caller

    def __call__(self, *args, **kwargs):
        limit = _limit_stack[-1] if _limit_stack else effective_limit()
        # the cell's budget never interrupts a call half-way (the channel stays in step)
        with budget.shielded():
            return self._caller(self.__name__, args, kwargs, limit)

    def __repr__(self):
        return f"<the student's function {self.__name__}>"


@contextlib.contextmanager
def time_limit(seconds: float):
    """Calls of RemoteFunctions inside this block get at most ``seconds`` each."""
    _limit_stack.append(float(seconds))
    try:
        yield
    finally:
        _limit_stack.pop()


class CpuMeter:
    """CPU seconds the student's kernel spent on the calls made inside
    :func:`cpu_accounting`.  The caller that runs a call adds its measurement: the
    difference of :func:`poolgrade.sandbox.kernels.kernel_cpu_seconds` around it, None when
    that could not be read.  ``seconds`` is None unless every call was measured and every
    measurement was possible; ``problem`` then says what went wrong, and a speed test
    fails on it (a kernel that makes its CPU time look negative must not pass)."""

    def __init__(self):
        self._total = 0.0
        self.calls = 0
        self.problem: str | None = None

    def add(self, seconds: float | None) -> None:
        self.calls += 1
        if seconds is None:
            self.problem = self.problem or "the kernel's CPU time could not be read"
        elif not math.isfinite(seconds) or seconds < 0:
            self.problem = (f"the kernel's CPU time changed by {seconds:+.3f} s during a "
                            "call, which is impossible")
        else:
            self._total += seconds

    @property
    def seconds(self) -> float | None:
        return None if self.problem is not None or not self.calls else self._total


_cpu_meters: list[CpuMeter] = []


@contextlib.contextmanager
def cpu_accounting():
    """Calls of RemoteFunctions inside this block add the CPU time of the student's kernel
    (every process it has had, read from its cgroup) to the meter it yields.  A speed test
    compares work done, which a busy grading machine does not inflate as it does wall-clock
    time."""
    meter = CpuMeter()
    _cpu_meters.append(meter)
    try:
        yield meter
    finally:
        _cpu_meters.pop()


def cpu_meter() -> CpuMeter | None:
    """The innermost :func:`cpu_accounting` meter, for the caller that runs a call."""
    return _cpu_meters[-1] if _cpu_meters else None


def current_names() -> dict:
    """The running test cell's namespace: the student's functions as RemoteFunctions (the
    diagnosis in :mod:`poolkit.checks.diagnosis` calls them on its probes)."""
    return _namespace


def cached_oracle(key: str, compute):
    """Expected values by recipe: computed once per grader process, outside the running
    cell's budget (they are the same for every student, so no student pays for them)."""
    if key not in _oracle_cache:
        with budget.exempt():
            _oracle_cache[key] = compute()
    return list(_oracle_cache[key])


def confirm_mistake(spec: dict, mistake: dict, behaviour) -> bool:
    """See :func:`poolgrade.execution.confirm.confirmed`."""
    from poolgrade.execution.confirm import confirmed

    return confirmed(spec, mistake, behaviour)


class _Runtime:
    """The harness as :class:`poolkit.checks.runtime.GradingRuntime` (see that protocol)."""

    CallTimeout = CallTimeout
    StudentRaised = StudentRaised
    KernelLost = KernelLost
    time_limit = staticmethod(time_limit)
    cpu_accounting = staticmethod(cpu_accounting)
    current_names = staticmethod(current_names)
    cached_oracle = staticmethod(cached_oracle)
    confirm_mistake = staticmethod(confirm_mistake)

    def __init__(self, numpy_only_kernel: bool = False, sources: dict[str, str] | None = None):
        self.numpy_only_kernel = numpy_only_kernel
        self._sources = sources or {}

    def function_source(self, name: str) -> str | None:
        return self._sources.get(name)


MAX_CELL_CHARS = 200_000    # a submitted cell longer than this is not read for its defs


def defining_cells(sources: list[str], names: set[str]) -> dict[str, str]:
    """``name`` -> the last of ``sources`` (a submission's code cells, in order) that
    defines it by a top-level ``def``, for each of ``names`` some cell defines.  The cells
    are the student's: one too long, or one that does not parse, defines nothing."""
    found: dict[str, str] = {}
    for source in sources:
        if len(source) > MAX_CELL_CHARS:
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
                found[node.name] = source
    return found



# --------------------------------------------------------------------------- reading the cell


_RULE = "numpy_only"                    # in numpy_only=..., assert_numpy_only
_CHECK_WITH_FLAG = "check_against_oracle"   # takes numpy_only as a keyword


def needs_numpy_only(source: str) -> bool:
    """Whether the test cell's calls must go to the NumPy-only kernel.  Fails closed: only
    a cell that provably leaves the rule off gets the main kernel.

    The rule is on when ``numpy_only`` appears anywhere in the cell's code (a name, an
    attribute, an import, a string, a keyword: ``assert_numpy_only``, ``numpy_only=flag``,
    ``{"numpy_only": True}``) other than as the keyword ``numpy_only=False`` written
    literally, or when ``check_against_oracle`` is called with ``**`` keywords or used
    other than by a direct call (an alias, a ``partial``): its flag cannot be read then.
    A cell that does not parse is read as text (it fails when run anyway)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _RULE in source
    called_directly = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == _RULE:
            if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                return True
        elif _mentions(node, _RULE):
            return True
        if isinstance(node, ast.Call) and _mentions(node.func, _CHECK_WITH_FLAG):
            called_directly.add(id(node.func))
            if any(kw.arg is None for kw in node.keywords):
                return True
    return any(_mentions(node, _CHECK_WITH_FLAG) and id(node) not in called_directly
               for node in ast.walk(tree))


def _mentions(node: ast.AST, word: str) -> bool:
    """Whether ``node`` itself (not its children) names ``word`` or has it in a string."""
    if isinstance(node, ast.Name):
        names = [node.id]
    elif isinstance(node, ast.Attribute):
        names = [node.attr]
    elif isinstance(node, ast.alias):
        names = [node.name, node.asname or ""]
    elif isinstance(node, ast.ImportFrom):
        names = [node.module or ""]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names = [node.name]
    elif isinstance(node, ast.arg):
        names = [node.arg]
    elif isinstance(node, ast.keyword):
        names = [node.arg or ""]
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        names = [node.value]
    else:
        return False
    return any(word in name for name in names)


def defined_names(source: str) -> set[str]:
    """Top-level names a cell defines (functions, classes, assignments, imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).partition(".")[0])
    return names


def answer_names(solution_sources: list[str]) -> set[str]:
    """The names a test cell may take from the student's kernel: what the instructor's
    solution cells define, except modules they import (those come from the grader)."""
    names = set()
    for source in solution_sources:
        names |= defined_names(source)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    names.discard((alias.asname or alias.name).partition(".")[0])
    return names - set(dir(builtins))


# --------------------------------------------------------------------------- running the cell


@dataclass
class Outcome:
    """What a test cell produced: its printed text and, when it failed, the error.

    ``ename``/``evalue`` are what the student reads in the graded notebook; ``failure`` is
    what the grader reads (a timeout is a ``timeout`` status): the check's own
    :class:`~poolkit.checks.failures.CheckFailure`, or one the harness made from the
    channel's exceptions, never parsed from the text.  None for any other failure (a
    test's own ``assert``, a broken test), and when the cell passed."""

    stdout: str = ""
    ename: str | None = None
    evalue: str = ""
    failure: CheckFailure | None = None
    kernel_lost: str | None = None      # set when the kernel must be replaced
    diagnoses: list = field(default_factory=list)   # (exercise, mistake id) it named
    over_budget: str | None = None      # what the cell spent past the grader's budget

    @property
    def passed(self) -> bool:
        return self.ename is None


OVER_BUDGET = "GraderBudgetExceeded"   # the ename of a cell stopped by its budget


def helper_definitions(source: str) -> list[tuple[str, str]]:
    """The top-level ``def`` and ``class`` statements of a test cell's source, as
    ``(name, source)`` pairs.

    A lesson's test cells share their helpers the way the cells of a notebook do in a
    kernel: the grader runs the helpers that earlier test cells of the same notebook defined
    before each cell (``prelude`` of :func:`run_test_cell`), so a hidden test uses its
    visible twin's ``check_head`` without a copy.  Only definitions carry over, never
    values: each cell still starts from a fresh namespace.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    found = []
    for node in tree.body:
        if isinstance(node, kinds):
            segment = ast.get_source_segment(source, node, padded=True)
            decorators = "".join(f"@{ast.get_source_segment(source, d)}\n"
                                 for d in node.decorator_list)
            if segment:
                found.append((node.name, decorators + segment.lstrip()))
    return found


def add_helpers(helpers: dict[str, str], source: str, names) -> None:
    """Add the helpers test cell ``source`` defines to ``helpers`` (name -> source), except
    any named like a student's function (``names``): a helper never hides one."""
    helpers.update((name, text) for name, text in helper_definitions(source)
                   if name not in names)


def helper_preludes(test_sources: list[str], names) -> list[str]:
    """For each of a notebook's test cells (``test_sources``, in order), the ``prelude``
    :func:`run_test_cell` gets: the helpers the cells before it defined."""
    helpers: dict[str, str] = {}
    preludes = []
    for source in test_sources:
        preludes.append("\n\n".join(helpers.values()))
        add_helpers(helpers, source, names)
    return preludes


def notebook_test_cells(nb, names) -> list[tuple[str, str, str]]:
    """``(grade_id, source, prelude)`` of each autograded test cell of ``nb``, in order, as
    the grader runs them (``prelude``: see :func:`helper_preludes`)."""
    from poolgrade import nbmeta

    cells = [c for c in nb.cells if c.cell_type == "code" and nbmeta.is_test_cell(c)]
    preludes = helper_preludes([c.source for c in cells], names)
    return [(nbmeta.grade_id(c), c.source, prelude) for c, prelude in zip(cells, preludes)]


def run_test_cell(source: str, names: set[str], caller,
                  limits: budget.Budget | None = None, numpy_only: bool | None = None,
                  prelude: str = "", sources: dict[str, str] | None = None) -> Outcome:
    """Run a test cell's (trusted) ``source`` with ``names`` bound to RemoteFunctions that
    use ``caller(name, args, kwargs, time_limit)``.  Never raises for a failing test.
    ``numpy_only`` says whether ``caller`` reaches the NumPy-only kernel (default:
    :func:`needs_numpy_only` of the source); a check of the NumPy-only rule in a cell
    whose calls do not fails as a grader error instead of passing.  ``prelude`` (helpers
    that earlier test cells defined, see :func:`helper_definitions`) runs first, in the
    same namespace.  ``sources`` (:func:`defining_cells`) is what the runtime's
    ``function_source`` answers.

    The cell may cost this process at most ``limits`` (default
    :func:`budget.default_budget`): past it the cell fails with :data:`OVER_BUDGET`, and
    what it allocated is freed, so the next cell and the next student get the grader whole.
    """
    global _namespace
    from poolkit.checks import diagnosis, runtime

    namespace = {"__name__": "__grader__", "__builtins__": builtins, "math": math}
    import numpy as np

    namespace["np"] = np
    for name in names:
        namespace[name] = RemoteFunction(name, caller)
    out = io.StringIO()
    outcome = Outcome()
    limits = limits or budget.default_budget()
    diagnosis.take()            # forget what an earlier cell left behind
    # the budget's exception can land anywhere in the cell, even inside a `finally` of the
    # harness's own context managers: what they would restore is restored here
    stdout, depths = sys.stdout, (len(_limit_stack), len(_cpu_meters))
    cell = budget.CellBudget(limits)
    _namespace = namespace
    if numpy_only is None:
        numpy_only = needs_numpy_only(source)
    installed = runtime.installed(_Runtime(numpy_only, sources))
    installed.__enter__()
    try:
        try:
            helpers = compile(prelude, "<test helpers>", "exec")
            code = compile(source, "<test cell>", "exec")
            budget.set_current(cell)
            cell.start()
            try:
                with contextlib.redirect_stdout(out):
                    # the instructor's tests and their helpers, from the gradebook
                    exec(helpers, namespace)  # noqa: S102
                    exec(code, namespace)  # noqa: S102
            finally:
                cell.stop()
        except budget.BudgetExceeded:
            cell.stop()     # it may have arrived during the first stop()
            raise
    except budget.BudgetExceeded:
        outcome.over_budget = cell.over or "more than its share of the grader's CPU time"
    except KernelLost as lost:
        outcome.ename, outcome.evalue = "KernelLost", str(lost)
        outcome.kernel_lost = str(lost)
    except StudentRaised as err:    # called outside a check: the test fails with its error
        outcome.ename, outcome.evalue = err.type_name, str(err)
        outcome.failure = CheckFailure("raised", err.type_name)
    except CallTimeout as err:
        outcome.ename, outcome.evalue = "CallTimeout", str(err)
        outcome.failure = CheckFailure("timeout")
    except CheckFailed as err:
        outcome.ename, outcome.evalue = "AssertionError", str(err)
        outcome.failure = err.failure
    except Exception as err:  # a failing test: AssertionError, mostly
        if _out_of_memory(err):
            outcome.over_budget = f"more than {limits.memory_mb:,} MB of the grader's memory"
        else:
            outcome.ename, outcome.evalue = type(err).__name__, str(err)
    finally:
        budget.set_current(None)
        sys.stdout = stdout
        del _limit_stack[depths[0]:], _cpu_meters[depths[1]:]
        installed.__exit__(None, None, None)
        _namespace = {}
        namespace.clear()       # the cell's arrays go now, not with the next cell
    if outcome.over_budget:
        outcome.ename = OVER_BUDGET
        outcome.evalue = (f"this test was stopped: checking your answer took "
                          f"{outcome.over_budget}, past the grader's budget for one test cell "
                          f"({limits.describe()}). Does your function return sizes or shapes "
                          f"outside the exercise's rules? The test builds arrays from them.")
        gc.collect()            # frames of the interrupted test may hold its arrays in cycles
    outcome.stdout = out.getvalue()
    if not outcome.passed:
        outcome.diagnoses = diagnosis.take()
    return outcome


def _out_of_memory(err: BaseException) -> bool:
    """An allocation in this process failed (the cell's memory budget, mostly): NumPy and
    Python raise MemoryError, torch a RuntimeError from its allocator, TensorFlow its own."""
    return isinstance(err, MemoryError) \
        or isinstance(err, RuntimeError) and "can't allocate memory" in str(err) \
        or type(err).__name__ == "ResourceExhaustedError"
