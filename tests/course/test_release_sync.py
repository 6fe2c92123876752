"""course/ is exactly what nbgrader generates from solutions/, notebooks are committed
clean, every lesson follows the course's nbgrader conventions, and nbgrader_config.py
carries the settings a real course needs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import nbformat
import pytest

from tests.support import COURSE, ROOT, SOLUTIONS, course_env, lesson_names, solution_notebook

LESSONS = lesson_names()
release = None


def _release_module():
    global release
    if release is None:
        from poolgrade.authoring import release as release  # noqa: PLW0621
    return release


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


# --------------------------------------------------------------------------- the config


def _load_config():
    """Load nbgrader_config.py the way nbgrader does, in a fresh process (it sets env vars)."""
    code = (
        "import json, os, sys\n"
        "from traitlets.config.loader import PyFileConfigLoader\n"
        f"cfg = PyFileConfigLoader('nbgrader_config.py', path={str(ROOT)!r}).load_config()\n"
        "out = {\n"
        " 'source': cfg.CourseDirectory.source_directory,\n"
        " 'release': cfg.CourseDirectory.release_directory,\n"
        " 'course_id': cfg.CourseDirectory.course_id,\n"
        " 'add_missing': cfg.OverwriteCells.add_missing_cells,\n"
        " 'timeout': cfg.Execute.timeout,\n"
               " 'feedback': [c.__name__ for c in cfg.GenerateFeedback.preprocessors],\n"
        " 'autograde': [c.__name__ for c in cfg.Autograde.autograde_preprocessors],\n"
        " 'sanitize': [c.__name__ for c in cfg.Autograde.sanitize_preprocessors],\n"
        " 'env': {k: os.environ.get(k)\n"
        "         for k in ('TF_ENABLE_ONEDNN_OPTS', 'TF_CPP_MIN_LOG_LEVEL')},\n"
        "}\n"
        "print(json.dumps(out))\n"
    )
    env = {k: v for k, v in course_env().items() if not k.startswith("TF_")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True)
    import json
    return json.loads(proc.stdout)


def test_nbgrader_config_has_what_a_course_needs():
    cfg = _load_config()
    assert cfg["source"] == "solutions" and cfg["release"] == "course"
    assert cfg["course_id"]
    assert cfg["add_missing"] is True, "deleted test cells must come back"
    assert 10 <= cfg["timeout"] <= 120, "a per-cell timeout stops endless loops"
    assert cfg["feedback"] == ["GetGrades", "ClearHiddenTestsInTests", "InertMarkdown",
                               "CSSHTMLHeaderPreprocessor"], "hidden tests stay out of feedback"
    assert cfg["autograde"][0] == "GradingExecute", "tests run in the grader, kernels sandboxed"
    assert cfg["autograde"][-1] == "InertMarkdown", "student markdown shown inert, after scoring"
    assert {"SaveAutoGrades", "LimitOutput", "IgnorePattern"} <= set(cfg["autograde"])
    sanitize = cfg["sanitize"]
    assert sanitize.index("RepairCellMetadata") + 1 == sanitize.index("OverwriteCells"), sanitize
    assert cfg["env"] == {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}, (
        "the grader imports TensorFlow for lesson 05's tests: it must be quiet")
    from poolgrade.sandbox.kernels import KERNEL_OPTIONS

    assert "--HistoryManager.hist_file=:memory:" in KERNEL_OPTIONS, "no history file per kernel"


# --------------------------------------------------------------------------- clean notebooks


ALL_NOTEBOOKS = sorted(
    [p for p in SOLUTIONS.glob("*/*.ipynb")] + [p for p in COURSE.glob("*/*.ipynb")])


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    rel = _release_module()
    problems = []
    extra_nb_meta = set(nb.metadata) - set(rel.NOTEBOOK_METADATA)
    if extra_nb_meta:
        problems.append(f"notebook metadata {sorted(extra_nb_meta)}")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.outputs:
            problems.append(f"cell {i} has outputs")
        if cell.cell_type == "code" and cell.execution_count is not None:
            problems.append(f"cell {i} has an execution count")
        extra = set(cell.metadata) - set(rel.CELL_METADATA)
        if extra:
            problems.append(f"cell {i} metadata {sorted(extra)}")
    assert not problems, f"{path.relative_to(ROOT)} is not clean: " + "; ".join(problems) + (
        "\n  fix: clear outputs and metadata, then run poolgrade release <lesson>")


# --------------------------------------------------------------------------- conventions


def exercises(nb) -> dict[str, dict]:
    """Exercise id -> {"solution": cell index, "tests": [(grade_id, points, source)]}."""
    found = {}
    for i, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            found[meta["grade_id"]] = {"solution": i, "tests": []}
    for i, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            match = [e for e in found if meta["grade_id"].startswith(f"test_{e}_")]
            owner = max(match, key=len) if match else None
            if owner is not None:
                found[owner]["tests"].append((meta["grade_id"], meta.get("points", 0),
                                              cell.source, i))
    return found


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_follows_grade_id_conventions(lesson):
    path = solution_notebook(lesson)
    assert path.exists(), f"expected {path.relative_to(ROOT)}"
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    ids = [_nbgrader(c)["grade_id"] for c in nb.cells if _nbgrader(c).get("grade_id")]
    assert len(ids) == len(set(ids)), f"duplicate grade_ids: {sorted(ids)}"
    found = exercises(nb)
    assert len(found) >= 3, f"{lesson}: {len(found)} autograded exercises, need at least 3"
    problems = []
    auto_points = manual_points = 0.0
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and meta.get("solution"):
            manual_points += meta.get("points", 0)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            auto_points += meta.get("points", 0)
            if not re.fullmatch(r"test_[a-z0-9_]+_[a-z0-9]+", meta["grade_id"]):
                problems.append(
                    f"test cell id {meta['grade_id']!r} is not test_<exercise>_<suffix>")
            if not any(meta["grade_id"].startswith(f"test_{e}_") for e in found):
                problems.append(f"test cell {meta['grade_id']!r} belongs to no exercise")
            if not meta.get("locked"):
                problems.append(f"test cell {meta['grade_id']!r} is not locked")
            if not re.search(r"importlib\.reload\(poolkit\.checks\)", cell.source):
                problems.append(f"test cell {meta['grade_id']!r} does not reload poolkit.checks"
                                " (ck = importlib.reload(poolkit.checks) undoes patches)")
    for ex, info in found.items():
        src = nb.cells[info["solution"]].source
        if not re.fullmatch(r"[a-z][a-z0-9_]*", ex):
            problems.append(f"exercise id {ex!r} must be a lowercase identifier")
        if "### BEGIN SOLUTION" not in src or "### END SOLUTION" not in src:
            problems.append(f"{ex}: solution cell lacks ### BEGIN/END SOLUTION")
        tests = info["tests"]
        if not tests:
            problems.append(f"{ex}: no test cell test_{ex}_<suffix>")
            continue
        if any(points <= 0 for _, points, _, _ in tests):
            problems.append(f"{ex}: a test cell has no points")
        if any(i < info["solution"] for _, _, _, i in tests):
            problems.append(f"{ex}: a test cell comes before the solution cell")
        hidden = [s for _, _, s, _ in tests if "### BEGIN HIDDEN TESTS" in s]
        if not hidden:
            problems.append(f"{ex}: no hidden tests")
        for _, _, s, _ in tests:
            if s.count("### BEGIN HIDDEN TESTS") != s.count("### END HIDDEN TESTS"):
                problems.append(f"{ex}: unbalanced hidden-test markers")
        visible = [re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", s, flags=re.S)
                   for _, _, s, _ in tests]
        if not any("assert" in v or "ck." in v or "check" in v for v in visible):
            problems.append(f"{ex}: no visible test a student can run")
    if auto_points <= manual_points:
        problems.append(
            f"most points must be autograded ({auto_points} auto vs {manual_points} manual)")
    assert not problems, f"{lesson}:\n  " + "\n  ".join(problems)


NUMPY_ONLY_LESSONS = ["01-max-vs-average", "03-stride-and-shape-math"]


@pytest.mark.parametrize("lesson", [n for n in NUMPY_ONLY_LESSONS if n in LESSONS])
def test_numpy_lessons_do_not_import_frameworks(lesson):
    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"^\s*(import|from)\s+(torch|tensorflow|keras)\b", code, re.M)


# --------------------------------------------------------------------------- in sync


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_course_release_matches_generate_assignment(lesson):
    assert (COURSE / lesson).is_dir(), (
        f"course/{lesson} is missing: run .venv/bin/poolgrade release {lesson}")
    diff = _release_module().check(lesson)
    assert not diff, (f"course/ differs from nbgrader generate_assignment: {diff}\n"
                      f"  fix: .venv/bin/poolgrade release {lesson}")


def test_release_tool_normalizes_noise():
    rel = _release_module()
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3"}, "widgets": {"state": {}},
                   "language_info": {"name": "python", "version": "3.11.7"}}
    result = nbformat.v4.new_output("execute_result", {"text/plain": "2"})
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=3, outputs=[result])
    cell.metadata = {"scrolled": True, "execution": {"iopub.status.busy": "x"},
                     "nbgrader": {"grade": False}}
    nb.cells = [cell]
    assert rel.normalize_notebook(nb) is True
    assert nb.metadata == {"kernelspec": {"name": "python3"}, "language_info": {"name": "python"}}
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None
    assert nb.cells[0].metadata == {"nbgrader": {"grade": False}}
    assert rel.normalize_notebook(nb) is False


def test_lessons_listed_by_tool_match_discovery():
    assert _release_module().lessons() == LESSONS
    assert os.path.isdir(SOLUTIONS)
