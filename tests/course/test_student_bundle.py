"""The student bundle (``poolgrade bundle``): the course without the instructor's material.

The fast tests build the bundle's folder and read it; the slow one unpacks the archive in a
fresh folder, runs the bundle's own setup (a new venv from its pyproject and lock) and
validates a lesson there, where no ``solutions/`` exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tomllib

import nbformat
import pytest

from poolgrade.authoring import bundle
from tests.support import COURSE, ROOT, solution_notebook

LESSON = "03-stride-and-shape-math"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return bundle.build_tree(tmp_path_factory.mktemp("bundle") / bundle.NAME)


def _files(root):
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_bundle_holds_the_release_and_the_lessons_library(tree):
    files = _files(tree)
    release = {f"course/{p}" for p in _files(COURSE)}
    assert release and release <= files, sorted(release - files)
    assert {"Makefile", "README.md", "pyproject.toml", "requirements.lock",
            "poolkit/__init__.py", "poolkit/checks/__init__.py"} <= files
    assert any(f.startswith("poolkit/hints/") and f.endswith(".toml") for f in files)
    # the known mistakes' results, so failures in the student's kernel can name them
    assert any(f.startswith("poolkit/mistakes/") and f.endswith(".json") for f in files)
    assert '"mistakes/*.json"' in (tree / "pyproject.toml").read_text()
    for path in release:
        assert (tree / path).read_bytes() == (ROOT / path).read_bytes(), path


def test_bundle_has_no_instructor_material(tree):
    files = _files(tree)
    assert not [f for f in files if f.split("/")[0] in ("solutions", "tests", "tools", ".git")]
    assert not [f for f in files if f.startswith(("poolkit/grading/", "poolkit/cli.py"))]
    assert not [f for f in files if f.endswith(("answers.py", "nbgrader_config.py"))]
    assert bundle.leaks(tree) == []
    text = (tree / "pyproject.toml").read_text()
    tomllib.loads(text)
    assert '"torch==2.13.0"' in text
    assert "jupyterhub" not in text and "[project.scripts]" not in text


def test_the_leak_check_catches_instructor_material(tree, tmp_path):
    planted = tmp_path / "planted"
    shutil.copytree(tree, planted)
    lesson = solution_notebook(LESSON)
    shutil.copy2(lesson, planted / "course" / "solution-copy.ipynb")
    (planted / "poolkit" / "answers.py").write_text("def anything():\n    pass\n")
    answers = sorted((ROOT / "solutions").glob("*/answers.py"))
    if answers:
        shutil.copy2(answers[0], planted / "poolkit" / "helpers.py")
    found = "\n".join(bundle.leaks(planted))
    assert "solution-copy.ipynb: contains '### BEGIN SOLUTION'" in found
    assert "poolkit/answers.py: instructor-only file" in found
    if answers:
        assert "poolkit/helpers.py: holds the instructor answer" in found


def _make(bundle_dir, *args, env):
    return subprocess.run(["make", "-C", str(bundle_dir), *args], env=env,
                          capture_output=True, text=True, timeout=1200)


@pytest.mark.slow
def test_unpacked_bundle_sets_up_and_validates_a_lesson(tmp_path):
    from tests.integration.test_nbgrader_roundtrip import solved

    archive = tmp_path / "dist" / f"{bundle.NAME}.tar.gz"
    subprocess.run([os.sys.executable, "-m", "poolgrade.authoring.bundle", "--out", str(archive)],
                   check=True, capture_output=True, text=True)
    fresh = tmp_path / "student"
    fresh.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(fresh, filter="data")
    home = fresh / bundle.NAME
    # The student's machine: none of the course repository's venv on PATH.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "POOLKIT"))}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    setup = _make(home, "setup", env=env)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-3000:]
    python = home / ".venv" / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import poolkit, poolkit.checks as ck; print(poolkit.__file__); "
         "import importlib.util as u; print(u.find_spec('poolgrade'))"],
        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [str(home / "poolkit" / "__init__.py"), "None"]

    name = solution_notebook(LESSON).name
    student_nb = home / "course" / LESSON / name
    untouched = _make(home, "validate", f"LESSON={LESSON}", env=env)
    assert "VALIDATION FAILED" in untouched.stdout + untouched.stderr, untouched.stdout[-2000:]

    release_nb = nbformat.read(student_nb, as_version=4)
    solution = nbformat.read(solution_notebook(LESSON), as_version=4)
    answered = solved(release_nb, solution)
    for cell in answered.cells:     # the written answers (graded by hand, never by validate)
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "My written answer."
    nbformat.write(answered, student_nb)
    passed = _make(home, "validate", f"LESSON={LESSON}", env=env)
    out = passed.stdout + passed.stderr
    assert passed.returncode == 0 and "Success! Your notebook passes all the tests." in out, \
        out[-3000:]

    # A known mistake is named in the student's own install, where no solutions/ exists.
    from tests.integration.test_nbgrader_roundtrip import cell_index, mistakes_tool

    (exercise, _), mistake = next(iter(mistakes_tool.known_mistakes(LESSON).items()))
    answered.cells[cell_index(answered, exercise)].source = mistake["source"]
    nbformat.write(answered, student_nb)
    failed = _make(home, "validate", f"LESSON={LESSON}", env=env)
    out = failed.stdout + failed.stderr
    # nbgrader validate cuts long lines: the start of the diagnosis is enough
    assert f"your output equals {mistake['matches']}"[:60] in out, out[-3000:]
