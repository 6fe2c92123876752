"""The core path: how long each lesson takes by the stated measure, and what the README says.

The measure lives in :mod:`poolgrade.authoring.study_time` (words at 200 per minute, a
minute per lecture code cell, 3 minutes per exercise point, optional sections left out).
Issue 18 caps the six lessons' core path at six hours; the README quotes each lesson's
minutes, and these tests keep the two in step.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from poolgrade.authoring import study_time
from poolgrade.nbmeta import is_grade_cell
from tests.support import COURSE, ROOT, lesson_names

TIMES = {t.lesson: t for t in study_time.course_study_times(COURSE)}


def readme_minutes() -> dict[str, int]:
    """Lesson -> the minutes the README's lessons table gives its core path."""
    found = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*`(\d\d-[a-z-]+)`\s*\|.*\|\s*(\d+) min\s*\|\s*$", line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found


def test_every_lesson_is_measured():
    assert sorted(TIMES) == lesson_names()


def test_the_core_path_takes_six_hours_at_most():
    total = sum(t.minutes for t in TIMES.values())
    assert total <= study_time.CORE_PATH_LIMIT_MINUTES, \
        study_time.format_table(list(TIMES.values()))


@pytest.mark.parametrize("lesson", lesson_names())
def test_the_readme_gives_each_lessons_minutes(lesson):
    quoted = readme_minutes()
    assert lesson in quoted, f"the README's lessons table has no minutes for {lesson}"
    assert quoted[lesson] == round(TIMES[lesson].minutes), (
        f"README says {quoted[lesson]} min for {lesson}; `poolgrade study-time` gives "
        f"{TIMES[lesson].minutes:.0f}")


def test_the_readme_gives_the_total():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    total = round(sum(t.minutes for t in TIMES.values()))
    assert f"{total} minutes" in text, \
        f"the README should give the core path's total, {total} minutes"


@pytest.mark.parametrize("lesson", lesson_names())
def test_optional_material_is_ungraded(lesson):
    """A "Going further" section is optional: nothing in it gives points."""
    notebook = nbformat.read(next((COURSE / lesson).glob("*.ipynb")), as_version=4)
    core = {id(cell) for cell in study_time.core_cells(notebook.cells)}
    graded_optional = [cell.source.splitlines()[0] for cell in notebook.cells
                       if id(cell) not in core and is_grade_cell(cell)]
    assert not graded_optional, f"graded cells in an optional section: {graded_optional}"


def test_the_measure_leaves_out_optional_sections_only():
    def md(text):
        return nbformat.v4.new_markdown_cell(text)

    cells = [md("# Lesson\none two"), md("## Going further (optional)\nthree"),
             md("### a subsection of it\nfour"), md("## Exercises\nfive six"),
             md("## References\nseven"), nbformat.v4.new_code_cell("x = 1")]
    kept = [c.source for c in study_time.core_cells(cells)]
    assert kept == ["# Lesson\none two", "## Exercises\nfive six"]


def test_the_measure_counts_words_cells_and_points(tmp_path):
    graded = nbformat.v4.new_code_cell("assert True")
    graded.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 4,
                                   "grade_id": "t", "locked": True}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(" ".join(["word"] * 400)),
        nbformat.v4.new_code_cell("print(1)"), nbformat.v4.new_code_cell("print(2)"), graded])
    path = tmp_path / "lesson" / "lesson.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    measured = study_time.measure(path)
    assert (measured.words, measured.code_cells, measured.points) == (400, 2, 4)
    assert measured.minutes == pytest.approx(400 / 200 + 2 * 1 + 4 * 3)
