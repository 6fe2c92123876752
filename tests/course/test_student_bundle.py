"""The student bundle (``poolgrade bundle``): the course without the instructor's material.

The fast tests build the bundle's folder and read it; the slow one unpacks the archive in a
fresh folder, installs only poolkit from it with the bundle's own ``make setup`` (into a new
venv that cannot import poolgrade) and validates a lesson there, where no ``solutions/``
exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

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


def test_bundle_holds_the_release_and_poolkit_as_it_is(tree):
    files = _files(tree)
    release = {f"course/{p}" for p in _files(COURSE)}
    assert release and release <= files, sorted(release - files)
    assert {"Makefile", "README.md", "requirements.lock", "poolkit/pyproject.toml",
            "poolkit/__init__.py", "poolkit/checks/__init__.py"} <= files
    assert any(f.startswith("poolkit/hints/") and f.endswith(".toml") for f in files)
    # the known mistakes' results, so failures in the student's kernel can name them
    assert any(f.startswith("poolkit/mistakes/") and f.endswith(".json") for f in files)
    for path in release:
        assert (tree / path).read_bytes() == (ROOT / path).read_bytes(), path
    # poolkit is copied, not rewritten: every source file of the repository's, unchanged
    # (build leftovers aside: a non-editable install of ./poolkit writes poolkit/build/)
    kit = {p for p in _files(ROOT / "poolkit") if not p.endswith(".pyc")
           and not any(part == "build" or part.endswith(".egg-info") for part in p.split("/"))}
    assert {f"poolkit/{p}" for p in kit} == {f for f in files if f.startswith("poolkit/")}
    for path in kit:
        assert (tree / "poolkit" / path).read_bytes() == (ROOT / "poolkit" / path).read_bytes()


def test_bundle_installs_poolkit_alone(tree):
    assert not (tree / "pyproject.toml").exists()    # no package but poolkit to install
    makefile = (tree / "Makefile").read_text()
    assert "-e './poolkit[course]'" in makefile and "-c requirements.lock" in makefile
    assert '"torch==2.13.0"' in (tree / "poolkit" / "pyproject.toml").read_text()


def test_bundle_has_no_instructor_material(tree):
    files = _files(tree)
    assert not [f for f in files if f.split("/")[0] in ("solutions", "tests", "tools", ".git")]
    assert not [f for f in files if "poolgrade" in f or ".egg-info" in f]
    assert not [f for f in files if f.endswith(("answers.py", "nbgrader_config.py"))]
    assert bundle.leaks(tree) == []


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


@pytest.mark.parametrize("source, finding", [
    ("import poolgrade.answers\n", "imports poolgrade.answers"),
    ("from poolgrade.execution import test_cells\n", "imports poolgrade.execution"),
    ("import importlib\ngrader = importlib.import_module('poolgrade')\n",
     "names poolgrade in 'poolgrade'"),
    ("ORACLE = 'poolgrade.answers:03-stride-and-shape-math.output_size'\n",
     "names poolgrade in 'poolgrade.answers:03-"),
])
def test_the_leak_check_refuses_poolkit_code_that_reaches_the_grader(tree, tmp_path, source,
                                                                    finding):
    planted = tmp_path / "planted"
    shutil.copytree(tree, planted)
    (planted / "poolkit" / "checks" / "reach.py").write_text(source)
    found = bundle.leaks(planted)
    assert [f for f in found if f.startswith("poolkit/checks/reach.py: " + finding)], found


def test_the_leak_check_refuses_the_grader_in_data_and_folders(tree, tmp_path):
    planted = tmp_path / "planted"
    shutil.copytree(tree, planted)
    (planted / "poolkit" / "mistakes" / "99-x.json").write_text(
        '{"oracle": "poolgrade.answers:99-x.f"}')
    shutil.copytree(ROOT / "poolgrade" / "batch", planted / "poolgrade",
                    ignore=shutil.ignore_patterns("__pycache__"))
    found = "\n".join(bundle.leaks(planted))
    assert "poolkit/mistakes/99-x.json: names poolgrade" in found
    assert "poolgrade: part of the instructor's package" in found


def test_the_leak_check_reads_prose_about_the_grader_as_prose():
    # poolkit's docstrings explain how the grader calls it; that is no way to reach it
    source = '"""Run by poolgrade.execution.test_cells."""\n# poolgrade calls this\nX = 1\n'
    assert bundle.grader_references(source) == []


def _make(bundle_dir, *args, env):
    return subprocess.run(["make", "-C", str(bundle_dir), *args], env=env,
                          capture_output=True, text=True, timeout=1200)


def _course_stack_without_our_packages(dest: Path) -> Path:
    """A folder of links to this venv's installed packages, without poolkit and poolgrade
    (nor any ``.pth`` file, which could bring them back): the course's stack, offline."""
    dest.mkdir()
    paths = sysconfig.get_paths()
    for folder in dict.fromkeys((paths["purelib"], paths["platlib"])):
        for entry in sorted(os.listdir(folder)):
            ours = entry.lower().startswith(("poolkit", "poolgrade", "__editable__"))
            if not ours and not entry.endswith(".pth") and not (dest / entry).exists():
                (dest / entry).symlink_to(os.path.join(folder, entry))
    return dest


def _fresh_venv(home: Path, stack: Path) -> Path:
    """``home/.venv``, new, whose only packages are ``stack``'s (no pip of its own: the
    stack's pip installs into it, with the stack's setuptools as the build backend)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home / ".venv")],
                   check=True, capture_output=True)
    python = home / ".venv" / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True, text=True)
    (Path(site.stdout.strip()) / "course_stack.pth").write_text(f"{stack}\n")
    return python


@pytest.mark.slow
def test_unpacked_bundle_installs_only_poolkit_and_validates_a_lesson(tmp_path):
    from tests.integration.test_nbgrader_roundtrip import solved

    archive = tmp_path / "dist" / f"{bundle.NAME}.tar.gz"
    subprocess.run([sys.executable, "-m", "poolgrade.authoring.bundle", "--out", str(archive)],
                   check=True, capture_output=True, text=True)
    fresh = tmp_path / "student"
    fresh.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(fresh, filter="data")
    home = fresh / bundle.NAME
    # The student's machine: none of the course repository's venv on PATH, no Jupyter or
    # pip settings of ours.  The bundle's own `make setup` then installs poolkit into a new
    # venv; the course's stack (torch, nbgrader...) comes from this venv's packages without
    # poolkit and poolgrade, and pip may not download anything.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "POOLKIT", "PYTHON", "JUPYTER", "PIP_"))}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK":
            "1", "PIP_NO_BUILD_ISOLATION": "0"}   # pip reads "0" here as "no isolation"
    python = _fresh_venv(home, _course_stack_without_our_packages(tmp_path / "stack"))
    setup = _make(home, "setup", env=env)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-3000:]
    probe = subprocess.run(
        [str(python), "-c", "import poolkit, poolkit.checks as ck; print(poolkit.__file__); "
         "import importlib.util as u; print(u.find_spec('poolgrade'))"],
        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [str(home / "poolkit" / "__init__.py"), "None"]
    grader = subprocess.run([str(python), "-c", "import poolgrade"], capture_output=True,
                            text=True, env=env, cwd=tmp_path)
    assert "No module named 'poolgrade'" in grader.stderr, grader.stderr

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
