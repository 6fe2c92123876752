"""Every instructor notebook runs top to bottom, cleanly and quickly, in the venv's kernel.

Clean means: no error output, nothing on stderr (which is where warnings go), and no
warning text in any output.  Each notebook runs in its own folder, as a student would run
it, and must finish within 60 s including the kernel's start-up.
"""

from __future__ import annotations

import time

import nbformat
import pytest
from conftest import SOLUTIONS, lesson_names, solution_notebook
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

TIME_LIMIT = 60.0
COURSE_TIME_LIMIT = 240.0
_elapsed: dict[str, float] = {}   # lesson -> seconds, filled by the runs below
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
def test_solution_notebook_runs_clean(lesson, tf_quiet_env):
    path = solution_notebook(lesson)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=TIME_LIMIT, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(SOLUTIONS / lesson)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    _elapsed[lesson] = elapsed
    problems = _problems(nb)
    assert not problems, f"{path.relative_to(SOLUTIONS.parent)}:\n" + "\n".join(problems)
    assert elapsed < TIME_LIMIT, f"{lesson} took {elapsed:.1f} s (limit {TIME_LIMIT:.0f} s)"
    print(f"{lesson}: {elapsed:.1f} s")


def test_whole_course_under_four_minutes():
    """Runs after the notebooks above (file order); skipped when they ran elsewhere (xdist)."""
    missing = set(lesson_names()) - set(_elapsed)
    if missing:
        pytest.skip(f"notebooks not run in this process: {sorted(missing)}")
    total = sum(_elapsed.values())
    assert total < COURSE_TIME_LIMIT, (
        f"the course takes {total:.0f} s (limit {COURSE_TIME_LIMIT:.0f} s): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in sorted(_elapsed.items())))
