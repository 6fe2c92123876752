"""What a failed test cell becomes in grades.csv is decided from data, never from text.

A test cell is run as :class:`~poolgrade.execution.notebook.GradingExecute` runs it (the
harness in this process, the cell's output, the events that make the CSV's status); the
student's kernel is replaced by a caller that answers as the data-only channel would.
The student's function may raise any exception with any message: only a call that the
channel stopped at its time limit is a ``timeout``.
"""

from __future__ import annotations

import time

import pytest
from nbformat.v4 import new_code_cell

from poolgrade.execution import test_cells as harness
from poolgrade.execution.notebook import GradingExecute
from poolgrade.model import worst_status
from poolkit.checks import policy

CHECKED_CALL = "from poolkit import checks as ck\nck.call(f, 1, case='one')"
BARE_CALL = "assert f(1) == 2"


def graded(source: str, caller):
    """Run ``source`` as an autograded test cell of a notebook whose answer is ``f``;
    returns the cell (its outputs, as nbgrader scores them) and the CSV status."""
    executor = GradingExecute()
    executor.events, executor.failed_cells = [], {}
    executor.deadline = time.monotonic() + 600
    executor._names, executor._caller = {"f"}, caller
    cell = new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "test_f", "points": 1}})
    executor._run_test_cell(cell, 0)
    return cell, worst_status(executor.events)


def student_raises(type_name, message):
    def caller(name, args, kwargs, limit):
        raise harness.StudentRaised(type_name, message)
    return caller


def channel_times_out(name, args, kwargs, limit):
    raise harness.CallTimeout(f"did not finish within {limit:g} s")


def error_of(cell):
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors, "the test cell passed; it must fail"
    return errors[0]


@pytest.mark.parametrize("source", [CHECKED_CALL, BARE_CALL])
def test_an_exception_whose_message_reads_like_a_timeout_is_a_failed_test(source):
    cell, status = graded(source, student_raises("ValueError", "did not finish within 20 s"))
    error = error_of(cell)
    assert "did not finish within 20 s" in error.evalue     # the student still reads it
    assert status == "ok"


def test_an_exception_named_like_the_channels_timeout_is_a_failed_test():
    cell, status = graded(BARE_CALL, student_raises("CallTimeout", "did not finish"))
    assert error_of(cell).ename == "CallTimeout"
    assert status == "ok"


@pytest.mark.parametrize("source", [CHECKED_CALL, BARE_CALL])
def test_a_call_stopped_at_its_time_limit_is_a_timeout(source, monkeypatch):
    monkeypatch.setenv(policy.TIME_LIMIT_ENV, "3")
    cell, status = graded(source, channel_times_out)
    assert "did not finish within 3 s" in error_of(cell).evalue
    assert status == "timeout"


def test_the_outcome_keeps_the_checks_failure():
    outcome = harness.run_test_cell(CHECKED_CALL, {"f"},
                                    student_raises("ValueError", "did not finish within 20 s"))
    assert outcome.ename == "AssertionError"
    assert (outcome.failure.kind, outcome.failure.raised_type) == ("raised", "ValueError")
    assert outcome.failure.case == "one"
    timed_out = harness.run_test_cell(CHECKED_CALL, {"f"}, channel_times_out)
    assert timed_out.failure.kind == "timeout"
    passed = harness.run_test_cell(CHECKED_CALL, {"f"}, lambda *call: 2)
    assert passed.passed and passed.failure is None


def test_the_graders_numpy_only_kernel_bans_what_the_visible_check_bans():
    from poolgrade.sandbox import bwrap
    from poolkit.checks import numpy_only

    assert bwrap.BANNED_IN_NUMPY_ONLY is policy.BANNED_IN_NUMPY_ONLY
    default = numpy_only.assert_numpy_only.__kwdefaults__["banned"]
    assert default is bwrap.BANNED_IN_NUMPY_ONLY


@pytest.mark.parametrize("env,limit", [("1000", 20.0), ("2", 2.0), ("nonsense", 20.0)])
def test_the_harness_call_limit_can_only_be_lowered(monkeypatch, env, limit):
    seen = []

    def caller(name, args, kwargs, given):
        seen.append(given)
        return 2

    monkeypatch.setenv(policy.TIME_LIMIT_ENV, env)
    assert harness.run_test_cell(BARE_CALL, {"f"}, caller).passed
    graded(BARE_CALL, caller)
    assert seen == [limit, limit]


def test_a_numpy_only_check_in_a_cell_not_sent_to_the_numpy_only_kernel_fails():
    """The backstop behind the grader's reading of the cell: had it missed the rule, the
    check would have passed a function it never ran where only NumPy exists."""
    cell = "from poolkit import checks as ck\nck.assert_numpy_only(f)"
    misread = harness.run_test_cell(cell, {"f"}, lambda *call: 2, numpy_only=False)
    assert misread.ename == "RuntimeError" and "grader error" in misread.evalue
    assert harness.run_test_cell(cell, {"f"}, lambda *call: 2, numpy_only=True).passed
    assert harness.run_test_cell(cell, {"f"}, lambda *call: 2).passed   # read from the cell
