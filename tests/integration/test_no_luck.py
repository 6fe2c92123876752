"""Hidden tests that luck cannot pass.

Every wrong answer of an exercise (its known mistakes from ``solutions/<lesson>/mistakes.py``,
then ``tests/wrong_answers/<lesson>.py``) fails each hidden test cell of that exercise, under
the grader's harness, with the seeds the notebook uses and with other seeds in their place:
a wrong answer that passes on some draws would earn hidden points by chance.  The solution
passes every reseeded cell, so a failure here is the wrong answer's and not the reseeding's.
"""

from __future__ import annotations

import functools
import re

import pytest

from poolgrade.authoring import mistake_catalogue as mistakes_tool
from poolgrade.execution import test_cells as harness
from tests.support import lesson_names
from tests.support.grading_cells import grading_cells, remote_caller, solution_sources, with_source

SEED_OFFSETS = (0, 1, 17, 4242)     # 0 is the notebook's own draw
SEEDED = re.compile(r"(\bseed=|default_rng\()(\d+)")


def reseeded(source: str, offset: int) -> str:
    """``source`` with every literal seed moved by ``offset``."""
    return SEEDED.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + offset}", source)


def hidden_cells(lesson: str, exercise: str) -> list[tuple[str, str, str]]:
    return [cell for cell in grading_cells(lesson, exercise) if cell[0].endswith("_hidden")]


def draws(lesson: str, exercise: str):
    """(grade_id, offset, source, prelude) for each hidden cell and each seed offset; a cell
    without a literal seed is one draw."""
    for gid, source, prelude in hidden_cells(lesson, exercise):
        offsets = SEED_OFFSETS if SEEDED.search(source) else (0,)
        for offset in offsets:
            yield gid, offset, reseeded(source, offset), prelude


def wrong_answers():
    for lesson in lesson_names():
        for exercise, options in mistakes_tool.wrong_answers(lesson).items():
            if not hidden_cells(lesson, exercise):
                continue        # a written answer: no test cell to pass by luck
            for label, source in options:
                yield pytest.param(lesson, exercise, label, source,
                                   id=f"{lesson[:2]}-{exercise}-{label[:40]}")


def exercises_with_hidden_cells():
    for lesson in lesson_names():
        for exercise in mistakes_tool.wrong_answers(lesson):
            if hidden_cells(lesson, exercise):
                yield pytest.param(lesson, exercise, id=f"{lesson[:2]}-{exercise}")


@functools.cache
def solution_namespace(lesson: str) -> dict:
    """The instructor's answers of ``lesson``, built once (callers copy before changing)."""
    return mistakes_tool.solution_namespace(lesson)


def graded_draws(lesson: str, exercise: str, submitted: str | None):
    """(grade_id, seed offset, outcome) of every draw of the exercise's hidden cells, with
    ``submitted`` (a student's answer cell; None: the solution's) run under the harness."""
    namespace = solution_namespace(lesson)
    answers = solution_sources(lesson)
    if submitted is not None:
        namespace = with_source(namespace, submitted)
        answers = answers + [submitted]
    names = harness.answer_names(solution_sources(lesson))
    sources = harness.defining_cells(answers, names)
    caller = remote_caller(namespace)
    for gid, offset, cell, prelude in draws(lesson, exercise):
        yield gid, offset, harness.run_test_cell(cell, names, caller, prelude=prelude,
                                                 sources=sources)


@pytest.mark.parametrize("lesson, exercise", list(exercises_with_hidden_cells()))
def test_the_solution_passes_every_reseeded_hidden_cell(lesson, exercise):
    failed = [f"{gid} (seed offset {offset}): {outcome.evalue}"
              for gid, offset, outcome in graded_draws(lesson, exercise, None)
              if not outcome.passed]
    assert not failed, "\n".join(failed)


def hidden_outcomes(lesson: str, exercise: str, source: str) -> dict[str, dict[int, bool]]:
    """grade_id -> seed offset -> whether ``source`` as the student's answer passes."""
    outcomes: dict[str, dict[int, bool]] = {}
    for gid, offset, outcome in graded_draws(lesson, exercise, source):
        outcomes.setdefault(gid, {})[offset] = outcome.passed
    return outcomes


def decided_by_the_draw(outcomes: dict[str, dict[int, bool]]) -> list[str]:
    """The cells whose verdict changes with the seed: passed on some draws, failed on others."""
    return [f"{gid}: passes with seed offsets {[o for o, p in by_offset.items() if p]}, "
            f"fails with {[o for o, p in by_offset.items() if not p]}"
            for gid, by_offset in outcomes.items() if len(set(by_offset.values())) > 1]


@pytest.mark.parametrize("lesson, exercise, label, source", list(wrong_answers()))
def test_a_wrong_answer_gets_the_same_verdict_on_every_seed(lesson, exercise, label, source):
    """A hidden cell that fails the wrong answer on one draw fails it on every draw.  (A cell
    it passes on every draw is not aimed at it: such an answer breaks a rule the grader's
    NumPy-only kernel or the visible test enforces, which the round trip checks.)"""
    lucky = decided_by_the_draw(hidden_outcomes(lesson, exercise, source))
    assert not lucky, f"{label!r} can pass by luck:\n" + "\n".join(lucky)


def test_a_wrong_answer_that_only_some_draws_catch_is_found():
    """The check above can fail: a vectorized pooling that goes wrong only on inputs nine
    rows high passes lesson 01's hidden cell with its own seed (no such input is drawn) and
    fails it with the others."""
    lucky_source = (
        "_right = pool2d_vectorized\n"
        "def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode='max'):\n"
        "    out = _right(x, kernel_size, stride, padding, mode)\n"
        "    return out + 1.0 if x.shape[-2] == 9 else out\n")
    outcomes = hidden_outcomes("01-max-vs-average", "pool2d_vectorized", lucky_source)
    assert decided_by_the_draw(outcomes), outcomes


def test_a_call_past_its_limit_is_stopped_as_the_grader_stops_it():
    """The in-process caller interrupts a call past its limit (CallTimeout), as the sandboxed
    kernel's interrupt does, even when the student's code catches every Exception; so a
    too-slow wrong answer fails in seconds here instead of running to its end."""
    source = ("import time\n"
              "def slow(n):\n"
              "    end = time.monotonic() + 5\n"      # returns after 5 s unless stopped
              "    while time.monotonic() < end:\n"
              "        try:\n"
              "            n += 1\n"
              "        except Exception:\n"
              "            pass\n"
              "    return n\n")
    caller = remote_caller(with_source({}, source))
    with pytest.raises(harness.CallTimeout, match="within 0.2 s"):
        caller("slow", (0,), {}, 0.2)


def test_reseeding_moves_every_literal_seed():
    source = "ck.pool_cases(seed=2021, n=3)\nrng = np.random.default_rng(7)\n"
    assert reseeded(source, 17) == ("ck.pool_cases(seed=2038, n=3)\n"
                                    "rng = np.random.default_rng(24)\n")
    assert reseeded(source, 0) == source
