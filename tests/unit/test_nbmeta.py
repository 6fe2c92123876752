"""Reading nbgrader cell metadata (:mod:`poolgrade.nbmeta`): nbgrader's rules, and never an
exception on what a student may have done to the metadata."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from poolgrade import nbmeta


def cell(kind="code", **meta):
    make = new_code_cell if kind == "code" else new_markdown_cell
    return make("x = 1", metadata={"nbgrader": meta} if meta else {})


def test_cell_kinds_follow_nbgrader():
    test = cell(grade=True, solution=False, grade_id="test_a", points=2, locked=True)
    answer = cell(grade=False, solution=True, grade_id="a", locked=False)
    written = cell("markdown", grade=True, solution=True, grade_id="why", points=1.5)
    plain = cell()
    assert [nbmeta.is_test_cell(c) for c in (test, answer, written, plain)] == \
        [True, False, False, False]
    assert [nbmeta.is_answer_only(c) for c in (test, answer, written, plain)] == \
        [False, True, False, False]
    assert [nbmeta.grade_id(c) for c in (test, answer, written, plain)] == \
        ["test_a", "a", "why", None]
    assert [nbmeta.points(c) for c in (test, answer, written, plain)] == [2.0, 0.0, 1.5, 0.0]
    # a graded markdown cell is not a test cell, even without solution
    assert not nbmeta.is_test_cell(cell("markdown", grade=True, grade_id="m"))


def test_locked_is_nbgrader_rule():
    from nbgrader.utils import is_locked

    cases = [cell(grade=True, locked=False, grade_id="g"),
             cell(solution=True, locked=True, grade_id="s"),
             cell(locked=True, grade_id="l"), cell(locked=False, grade_id="u"), cell()]
    assert [nbmeta.locked(c) for c in cases] == [bool(is_locked(c)) for c in cases] \
        == [True, False, True, False, False]


@pytest.mark.parametrize("edited", ["a string", 3, None, ["grade"]])
def test_metadata_that_is_not_a_mapping_reads_as_an_ordinary_cell(edited):
    c = new_code_cell("x = 1", metadata={"nbgrader": edited})
    assert nbmeta.grade_id(c) is None and not nbmeta.is_test_cell(c)
    assert not nbmeta.is_grade_cell(c) and not nbmeta.locked(c) and nbmeta.points(c) == 0
    plain_dict = {"cell_type": "code", "metadata": {"nbgrader": edited}, "source": ""}
    assert nbmeta.grade_id(plain_dict) is None
