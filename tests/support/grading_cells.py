"""A lesson's test cells run in-process, as the grader's harness runs them: the instructor
notebook's cells for one exercise, the cells a student's answers come from, and a caller
that stands in for the sandboxed kernel's channel."""

from __future__ import annotations

import copy
import warnings

import nbformat

from poolgrade.execution import test_cells as harness
from poolkit.checks import guards
from tests.support import solution_notebook


def with_source(base: dict, source: str) -> dict:
    """A copy of ``base`` with ``source`` (a student's answer) run in it."""
    namespace = dict(base)
    exec(source, namespace)
    return namespace


def solution_sources(lesson: str) -> list[str]:
    """The instructor notebook's answer cells (solution, not graded), in order."""
    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("solution")
            and not c.metadata.get("nbgrader", {}).get("grade")]


def grading_cells(lesson: str, exercise: str) -> list[tuple[str, str, str]]:
    """(grade_id, source, prelude) of the exercise's test cells in the instructor notebook;
    ``prelude`` holds the helpers earlier test cells defined, as the grader shares them."""
    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    names = harness.answer_names(solution_sources(lesson))
    return [cell for cell in harness.notebook_test_cells(nb, names)
            if cell[0].startswith(f"test_{exercise}_")]


def remote_caller(namespace: dict):
    """What the grader's channel does, in-process: call the student's function, turn its
    exceptions into StudentRaised (results are plain data either way), and stop a call past
    its time limit with CallTimeout, as the sandboxed kernel's interrupt does."""
    def caller(name, args, kwargs, limit):
        try:
            with warnings.catch_warnings():     # the kernel keeps a student's warnings too
                warnings.simplefilter("ignore")
                # the student's kernel's own alarm (main thread only, as there)
                result = guards._call_with_limit(namespace[name], copy.deepcopy(args),
                                                 kwargs, limit)
            return copy.deepcopy(result)
        except guards._TimeLimit:
            raise harness.CallTimeout(f"did not finish within {limit:g} s") from None
        except Exception as exc:
            raise harness.StudentRaised(type(exc).__name__, str(exc)) from None
    return caller
