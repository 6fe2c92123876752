"""Each instructor notebook is built from a jupytext percent script beside it.

``solutions/<NN-name>/<name>.py`` is the source of truth; ``poolgrade release`` builds
``solutions/<NN-name>/<name>.ipynb`` from it (``make notebooks``, and ``make release`` does
it first).  These tests check that every committed notebook is what its source builds, that
nothing is lost on the way (.ipynb -> .py -> .ipynb gives back every cell, its nbgrader
metadata and the kernelspec), that the shared test-cell header lives in one place only, and
that the sources, which hold the solutions and hidden tests, never reach students.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import nbformat
import pytest

from tests.support import COURSE, ROOT, course_env, lesson_names

LESSONS = lesson_names()
FIX = "fix: make notebooks (or .venv/bin/poolgrade release {lesson} --notebooks)"
_release = None


def release():
    global _release
    if _release is None:
        from poolgrade.authoring import release as _release  # noqa: PLW0621
    return _release


def _source_text(lesson: str) -> str:
    return release().source_path(lesson).read_text(encoding="utf-8")


def _cells(nb) -> list[tuple]:
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


# --------------------------------------------------------------------------- in sync


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_has_a_source(lesson):
    path = release().source_path(lesson)
    assert path.exists(), (
        f"{path.relative_to(ROOT)} is missing: the .py is the lesson's source of truth.\n"
        f"  create it from the notebook: .venv/bin/poolgrade release {lesson} --to-source")


@pytest.mark.parametrize("lesson", LESSONS)
def test_notebook_is_what_its_source_builds(lesson):
    diff = release().notebook_differences(lesson)
    assert not diff, (
        f"the notebook differs from what its .py builds: {'; '.join(diff)}\n"
        f"  {FIX.format(lesson=lesson)}\n"
        f"  (if you edited the .ipynb in JupyterLab, first copy your edits to the .py with "
        f".venv/bin/poolgrade release {lesson} --to-source)")


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("lesson", LESSONS)
def test_round_trip_keeps_every_cell_and_the_kernelspec(lesson):
    """.ipynb -> .py -> .ipynb gives back the same cells (type, source, all metadata,
    nbgrader's included) and notebook metadata; .py -> .ipynb -> .py gives back the file."""
    rel = release()
    nb = nbformat.read(rel.notebook_path(lesson), as_version=4)
    text = rel.source_from_notebook(nb, lesson)
    back = rel.build_notebook(text, lesson)
    assert len(back.cells) == len(nb.cells)
    for index, (a, b) in enumerate(zip(nb.cells, back.cells)):
        assert (a.cell_type, a.source) == (b.cell_type, b.source), f"cell {index}"
        assert a.metadata == b.metadata, f"cell {index} metadata"
        assert a.id == b.id, f"cell {index} id"
    assert back.metadata == nb.metadata
    assert back.metadata["kernelspec"]["name"] == "python3"
    assert back.metadata["language_info"] == {"name": "python"}
    assert rel.source_from_notebook(rel.build_notebook(_source_text(lesson)), lesson) == \
        _source_text(lesson), "the .py is not in the form poolgrade release --to-source writes"


def test_round_trip_of_every_cell_kind():
    """A synthetic notebook with what lessons use: markdown, a plain code cell, a solution
    cell, a locked test cell with hidden tests and a body that starts with a blank line, a
    manually graded answer, tags, and a second cell with the same source."""
    rel = release()
    header = rel.TEST_HEADERS["torch"]

    def meta(**kw):
        base = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                "task": False}
        return {"nbgrader": {**base, **kw}}

    cells = [
        nbformat.v4.new_markdown_cell(
            "# Title\n\nSome *text*, `code` and $x^2$.\n\n# %% not a cell"),
        nbformat.v4.new_code_cell("import numpy as np\n%matplotlib inline"),
        nbformat.v4.new_code_cell(
            "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
            metadata=meta(grade_id="f", solution=True)),
        nbformat.v4.new_code_cell(
            header + "\n\ndef helper():\n    return 1\n\n\nck.assert_equal(f(1), 1)\n"
            "### BEGIN HIDDEN TESTS\nck.assert_equal(f(2), 2)\n### END HIDDEN TESTS",
            metadata=meta(grade_id="test_f_visible", grade=True, locked=True, points=2)),
        nbformat.v4.new_markdown_cell(
            "YOUR ANSWER", metadata={**meta(grade_id="why", grade=True, solution=True,
                                            points=1), "tags": ["answer"]}),
        nbformat.v4.new_code_cell("print(1)"),
        nbformat.v4.new_code_cell("print(1)"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    text = rel.source_from_notebook(nb)
    assert "test_header: torch" in text
    assert "importlib.reload" not in text, "the .py must not carry the test-cell header"
    assert any(line.startswith("# %% nbgrader={") and '"grade_id": "test_f_visible"' in line
               for line in text.splitlines()), "nbgrader metadata belongs in the cell header"
    back = rel.build_notebook(text)
    assert _cells(back) == _cells(nb)
    assert [c.metadata for c in back.cells] == [c.metadata for c in nb.cells]
    assert back.metadata == nb.metadata
    ids = [c.id for c in back.cells]
    assert ids[2:4] == ["f", "test_f_visible"] and len(set(ids)) == len(ids), ids


def test_cell_ids_do_not_move_when_a_cell_is_added():
    rel = release()
    nb = rel.build_notebook(_source_text(LESSONS[0]))
    grown = copy.deepcopy(nb)
    grown.cells.insert(1, nbformat.v4.new_markdown_cell("A new paragraph."))
    again = rel.build_notebook(rel.source_from_notebook(grown))
    assert [c.id for c in again.cells[:1] + again.cells[2:]] == [c.id for c in nb.cells]


# --------------------------------------------------------------------------- the header


@pytest.mark.parametrize("lesson", LESSONS)
def test_test_cells_get_the_shared_header_from_one_place(lesson):
    rel = release()
    text = _source_text(lesson)
    assert "importlib.reload(poolkit.checks)" not in text, (
        f"{rel.source_path(lesson).name} repeats the test-cell header; it is inserted by "
        "the build (TEST_HEADERS in poolgrade release): leave it out of the .py")
    nb = rel.build_notebook(text)
    kind = [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.startswith("#     test_header:")]
    assert len(kind) == 1 and kind[0] in rel.TEST_HEADERS, kind
    tests = [c for c in nb.cells if rel.is_test_cell(c)]
    assert tests, "a lesson without autograded test cells"
    for cell in tests:
        assert cell.source.startswith(rel.TEST_HEADERS[kind[0]] + "\n"), \
            cell.metadata["nbgrader"]["grade_id"]


def test_source_without_a_header_kind_is_refused():
    rel = release()
    text = _source_text(LESSONS[0]).replace("test_header:", "test_heading:", 1)
    with pytest.raises(ValueError, match="test_header"):
        rel.build_notebook(text, "lesson.py")


def test_to_source_refuses_a_test_cell_without_the_header():
    rel = release()
    nb = rel.build_notebook(_source_text(LESSONS[0]))
    cell = next(c for c in nb.cells if rel.is_test_cell(c))
    cell.source = "ck = None\n" + cell.source
    with pytest.raises(ValueError, match=cell.metadata["nbgrader"]["grade_id"]):
        rel.source_from_notebook(nb, "lesson.ipynb")


def test_build_reports_what_differs(tmp_path, monkeypatch):
    """An edited notebook is reported by cell, with the command that fixes it."""
    rel = release()
    lesson = LESSONS[0]
    folder = tmp_path / lesson
    folder.mkdir()
    source = rel.source_path(lesson)
    (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(rel, "SOLUTIONS", tmp_path)
    assert rel.build_lesson_notebook(lesson) is True
    assert rel.build_lesson_notebook(lesson) is False
    assert rel.notebook_differences(lesson) == []
    target = rel.notebook_path(lesson)
    nb = nbformat.read(target, as_version=4)
    nb.cells[1].source += "\nprint('edited')"
    nbformat.write(nb, target)
    diff = rel.notebook_differences(lesson)
    assert len(diff) == 1 and "cell 1 source" in diff[0], diff
    assert rel.build_lesson_notebook(lesson) is True and rel.notebook_differences(lesson) == []


def test_to_source_does_not_undo_an_edited_source(tmp_path, monkeypatch):
    rel = release()
    lesson = LESSONS[0]
    original = _source_text(lesson)
    (tmp_path / lesson).mkdir()
    monkeypatch.setattr(rel, "SOLUTIONS", tmp_path)
    source, target = rel.source_path(lesson), rel.notebook_path(lesson)
    source.write_text(original, encoding="utf-8")
    rel.build_lesson_notebook(lesson)
    assert rel.write_lesson_source(lesson) is False          # in sync: nothing to do
    source.write_text(original + "\n# %%\nprint('new cell')\n", encoding="utf-8")
    newer = target.stat().st_mtime + 5
    os.utime(source, (newer, newer))
    with pytest.raises(SystemExit, match="make notebooks"):
        rel.write_lesson_source(lesson)
    assert "new cell" in source.read_text(encoding="utf-8")
    assert rel.main([lesson, "--to-source", "--force"]) == 0
    assert "new cell" not in source.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- never released


@pytest.mark.parametrize("lesson", LESSONS)
def test_source_is_not_in_the_student_release(lesson):
    name = release().source_path(lesson).name
    assert not (COURSE / lesson / name).exists(), (
        f"course/{lesson}/{name} holds the solutions and hidden tests: delete it and run "
        f"make release LESSON={lesson}")


def test_nbgrader_never_copies_lesson_sources():
    """nbgrader copies every non-notebook file of solutions/<lesson>/ into the release
    (generate_assignment) and into each student's autograde folder, which the grading
    sandbox can read: the sources must match CourseDirectory.ignore."""
    code = (
        "import json\n"
        "from traitlets.config.loader import PyFileConfigLoader\n"
        f"cfg = PyFileConfigLoader('nbgrader_config.py', path={str(ROOT)!r}).load_config()\n"
        "print(json.dumps(list(cfg.CourseDirectory.ignore)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=course_env(), check=True)
    ignore = json.loads(proc.stdout)
    from nbgrader.utils import is_ignored

    copied = [str(release().source_path(lesson).relative_to(ROOT)) for lesson in LESSONS
              if not is_ignored(str(release().source_path(lesson)), ignore)]
    assert not copied, (
        f"nbgrader would hand these to students and to the grading sandbox: {copied}\n"
        "  fix: add \"*.py\" to c.CourseDirectory.ignore in nbgrader_config.py")
