"""A lesson's test cells share their helpers under the grader, as cells share them in a
kernel: a hidden test calls the ``check_*`` its visible twin defined, with no copy.

Each cell runs as :class:`~poolgrade.execution.notebook.GradingExecute` runs it (the
harness in this process), with the student's kernel replaced by a caller that answers as
the data-only channel would.
"""

from __future__ import annotations

import time

from nbformat.v4 import new_code_cell

from poolgrade.execution import test_cells as harness
from poolgrade.execution.notebook import GradingExecute

VISIBLE = '''import numpy as np
LIMIT = 3

def check_double(values):
    for v in values:
        assert f(v) == 2 * v, f"f({v}) should be {2 * v}"

check_double([1, 2])
'''
HIDDEN = "check_double([5, -7, 0])\n"


def executor_for(answer):
    """A GradingExecute whose student's ``f`` is ``answer`` (called as data)."""
    executor = GradingExecute()
    executor.events, executor.failed_cells = [], {}
    executor.deadline = time.monotonic() + 600
    executor._names = {"f"}
    executor._caller = lambda name, args, kwargs, limit: answer(*args, **kwargs)
    return executor


def run(executor, source, index):
    cell = new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": f"test_{index}", "points": 1}})
    executor._run_test_cell(cell, index)
    return [o for o in cell.outputs if o.output_type == "error"]


def test_a_hidden_cell_uses_the_helper_its_visible_twin_defined():
    executor = executor_for(lambda v: 2 * v)
    assert run(executor, VISIBLE, 0) == []
    assert run(executor, HIDDEN, 1) == []


def test_the_shared_helper_still_fails_a_wrong_answer():
    # right on the visible values, wrong on a negative one: only the hidden test sees it
    executor = executor_for(lambda v: 2 * abs(v))
    assert run(executor, VISIBLE, 0) == []
    errors = run(executor, HIDDEN, 1)
    assert errors and "f(-7) should be -14" in errors[0].evalue


def test_only_definitions_carry_over_not_values():
    executor = executor_for(lambda v: 2 * v)
    run(executor, VISIBLE, 0)
    errors = run(executor, "assert LIMIT == 3\n", 1)
    assert errors and errors[0].ename == "NameError"


def test_a_helper_never_hides_the_students_function():
    """A test cell that defines a function with an answer's name does not replace the
    student's function in later cells."""
    executor = executor_for(lambda v: 2 * v)
    run(executor, "def f(v):\n    return 2 * v\n", 0)
    wrong = executor_for(lambda v: 0)
    wrong._test_helpers = executor._test_helpers
    errors = run(wrong, "assert f(4) == 8, 'the student f was called'\n", 1)
    assert errors and "the student f was called" in errors[0].evalue


def test_helper_definitions_keep_decorators_and_skip_statements():
    source = ("import functools\nx = 1\n@functools.cache\ndef g(n):\n    return n + x\n"
              "class Box:\n    pass\nprint(g(1))\n")
    found = dict(harness.helper_definitions(source))
    assert sorted(found) == ["Box", "g"]
    assert found["g"].startswith("@functools.cache\ndef g(n):")
    assert harness.helper_definitions("def broken(:\n") == []


# ------------------------------------------------------------------ the submission's sources
LOOPS = '''def f(x):
    out = []
    for row in x:
        for v in row:
            out.append(v)
    return out
'''
VECTORIZED = "def f(x):\n    return list(x.ravel())\n"
CHECK_LOOPS = ("from poolkit.checks.loops import assert_loops\n"
               "assert_loops(f, name='f')\n")


def loops_verdict(student_cells):
    """Errors of a test cell that checks ``f`` for loops, after ``student_cells``."""
    from nbformat.v4 import new_notebook

    executor = executor_for(lambda x: x)
    test = new_code_cell(CHECK_LOOPS, metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "test_f", "points": 1}})
    cells = [new_code_cell(s) for s in student_cells]
    executor.nb = new_notebook(cells=cells + [test])
    executor._run_test_cell(test, len(cells))
    return [o for o in test.outputs if o.output_type == "error"]


def test_the_loops_rule_reads_the_submitted_cell_under_the_grader():
    assert loops_verdict([LOOPS]) == []
    errors = loops_verdict([VECTORIZED])
    assert errors and "must be written with loops" in errors[0].evalue


def test_the_last_definition_counts_and_a_missing_one_fails_closed():
    assert loops_verdict([LOOPS, VECTORIZED])          # redefined without loops: fails
    assert loops_verdict([VECTORIZED, LOOPS]) == []
    errors = loops_verdict(["x = 1\n", "def f(:\n"])    # nothing defines f
    assert errors and "could not be read" in errors[0].evalue


def test_defining_cells_skips_cells_it_must_not_parse():
    deep = "x = " + "(" * 200_000 + ")" * 200_000 + "\ndef f():\n    pass\n"
    assert harness.defining_cells([deep, "def g():\n    pass\n"], {"f", "g"}) == {
        "g": "def g():\n    pass\n"}
