"""Every instructor notebook runs top to bottom, cleanly, in the venv's kernel.

Clean means: no error output, nothing on stderr (which is where warnings go), and no
warning text in any output.  Each notebook runs in its own folder, as a student would run
it, with the opt-in tries log on: the solution's first version of every exercise passes
every check it meets, so the log must say so.  How long the lessons take is measured by
``benchmarks/bench_course.py``, not here: a time limit in a test fails on a busy machine,
not on a slow lesson.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from poolgrade.authoring import tries
from poolkit.checks import hints
from poolkit.checks.tries_log import LOG_VARIABLE
from tests.support import SOLUTIONS, lesson_names, solution_notebook

pytestmark = pytest.mark.slow

CELL_TIMEOUT = 600   # seconds: only catches a cell that hangs
WARNING_MARKERS = ("Warning:", "WARNING", "DeprecationWarning", "FutureWarning", "UserWarning")


def _problems(nb) -> list[str]:
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {index}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                problems.append(f"cell {index} wrote to stderr: {out.text[:300]!r}")
            text = out.get("text", "") or out.get("data", {}).get("text/plain", "")
            if any(marker in text for marker in WARNING_MARKERS):
                problems.append(f"cell {index} printed a warning: {text[:300]!r}")
    return problems


def test_lessons_are_discovered():
    names = lesson_names()
    assert "01-max-vs-average" in names and "03-stride-and-shape-math" in names, names
    for name in names:
        assert solution_notebook(name).exists(), (
            f"solutions/{name} must hold {solution_notebook(name).name} (folder name without "
            f"the number)")


@pytest.mark.parametrize("lesson", lesson_names())
def test_solution_notebook_runs_clean(lesson, tf_quiet_env, tmp_path, monkeypatch):
    log = tmp_path / "tries.jsonl"
    monkeypatch.setenv(LOG_VARIABLE, str(log))
    path = solution_notebook(lesson)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(SOLUTIONS / lesson)}},
    )
    client.execute()
    problems = _problems(nb)
    assert not problems, f"{path.relative_to(SOLUTIONS.parent)}:\n" + "\n".join(problems)
    read = tries.read_log(log)
    assert read.skipped is None and read.rejected_lines == 0, read
    rows = tries.tally([read])
    exercises = [name for each, name in hints.course_exercises() if each == lesson]
    assert [row.exercise for row in rows] == exercises, "the tries log missed an exercise"
    assert all(row.first_version_right == 1 for row in rows), rows
