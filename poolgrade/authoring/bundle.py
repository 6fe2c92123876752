"""Build the student bundle: what an instructor hands out where there is no JupyterHub.

    .venv/bin/python poolgrade bundle                 # -> dist/pooling-course-student.tar.gz
    .venv/bin/python poolgrade bundle --dir OUT       # the unpacked folder instead

The bundle holds the release notebooks (``course/``), the part of poolkit the lessons
import, the environment files and a two-command setup (``tools/student_bundle/``: a
Makefile and a README).  It holds no solutions, no hidden tests, no instructor answers
(``solutions/*/answers.py``), no grader (``poolkit/grading``, ``poolkit grade``), no tests
and no git history.  :func:`leaks` lists anything that breaks that rule; the build refuses
to write a bundle with a leak.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]   # the course repository
TEMPLATES = ROOT / "tools" / "student_bundle"
NAME = "pooling-course-student"
# poolkit parts that only instructors use: the grader and its command line.
INSTRUCTOR_ONLY = ("grading", "cli.py")
# What students install: the course's stack without the instructor's tools (grading on
# Dask, Voila pages, the jupytext sources).
STUDENT_EXTRAS = ("torch", "tensorflow", "keras", "jupyterlab", "nbgrader")
# Text that only the instructor's material contains.
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "=== BEGIN MARK SCHEME ===")
# A test cell that names an instructor answer as its oracle is a hidden test.
NOTEBOOK_MARKERS = ('"poolgrade.answers:',)


def _ignore(directory: str, names: list[str]) -> set[str]:
    here = Path(directory)
    skipped = {n for n in names if n in ("__pycache__", ".ipynb_checkpoints")
               or n.endswith(".pyc")}
    if here.name == "poolkit":
        skipped |= {n for n in names if n in INSTRUCTOR_ONLY}
    return skipped


def student_pyproject() -> str:
    """The course's pyproject.toml reduced to what a student installs (``.[course]``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    course = [req for req in project["optional-dependencies"]["course"]
              if req.split(";")[0].strip().lower().startswith(STUDENT_EXTRAS)]
    course.append("ipykernel")

    def strings(items):
        return "[\n" + "".join(f"    {json.dumps(item)},\n" for item in items) + "]"

    return (
        "# The pooling course for students (built by the instructor's poolgrade bundle).\n"
        "[build-system]\nrequires = [\"setuptools>=68\"]\n"
        "build-backend = \"setuptools.build_meta\"\n\n"
        f"[project]\nname = \"poolkit\"\nversion = \"{project['version']}\"\n"
        f"description = {json.dumps(project['description'])}\n"
        f"requires-python = {json.dumps(project['requires-python'])}\n"
        f"dependencies = {strings(project['dependencies'])}\n\n"
        "[project.optional-dependencies]\n"
        "# torch is pinned to the CPU build the course was tested with.\n"
        f"course = {strings(course)}\n\n"
        "[tool.setuptools.packages.find]\ninclude = [\"poolkit*\"]\n\n"
        "[tool.setuptools.package-data]\npoolkit = [\"hints/*.toml\", \"mistakes/*.json\"]\n"
    )


def build_tree(dest: Path) -> Path:
    """Write the bundle's folder at ``dest`` (which must not exist); returns it."""
    shutil.copytree(ROOT / "course", dest / "course", ignore=_ignore)
    shutil.copytree(ROOT / "poolkit", dest / "poolkit", ignore=_ignore)
    shutil.copy2(ROOT / "requirements.lock", dest / "requirements.lock")
    for template in ("Makefile", "README.md"):
        shutil.copy2(TEMPLATES / template, dest / template)
    (dest / "pyproject.toml").write_text(student_pyproject(), encoding="utf-8")
    problems = leaks(dest)
    if problems:
        shutil.rmtree(dest)
        raise SystemExit("the bundle would leak instructor material:\n  " + "\n  ".join(problems))
    return dest


def _function_bodies(source: str) -> dict[str, str]:
    """``{dumped body: function name}`` for every function in ``source`` (docstrings
    dropped, so a copy is found whatever its documentation says)."""
    bodies = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            if body:
                bodies[ast.dump(ast.Module(body=body, type_ignores=[]))] = node.name
    return bodies


def leaks(tree: Path) -> list[str]:
    """Everything in ``tree`` a student must not get."""
    problems = []
    answers: dict[str, str] = {}
    for path in sorted((ROOT / "solutions").glob("*/answers.py")):
        answers |= _function_bodies(path.read_text(encoding="utf-8"))
    for path in sorted(tree.rglob("*")):
        rel = path.relative_to(tree)
        if rel.parts[0] in (".git", "solutions", "tests", "tools", "source", "submitted"):
            problems.append(f"{rel}: instructor-only folder")
            continue
        if path.name == "answers.py" or path.name == "nbgrader_config.py":
            problems.append(f"{rel}: instructor-only file")
        if not path.is_file() or path.suffix not in (".py", ".ipynb", ".md", ".toml"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        markers = MARKERS + (NOTEBOOK_MARKERS if path.suffix == ".ipynb" else ())
        problems += [f"{rel}: contains {m!r}" for m in markers if m in text]
        if path.suffix == ".py":
            copied = set(_function_bodies(text)) & set(answers)
            problems += [f"{rel}: holds the instructor answer {answers[body]}()"
                         for body in sorted(copied)]
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="write the unpacked folder here instead")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / f"{NAME}.tar.gz",
                        help="the archive to write (default: dist/%(default)s)")
    args = parser.parse_args(argv)
    if args.dir is not None:
        if args.dir.exists():
            parser.error(f"{args.dir} exists; give a new folder")
        build_tree(args.dir)
        print(f"wrote {args.dir}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tree = build_tree(Path(tmp) / NAME)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(args.out, "w:gz") as archive:
            archive.add(tree, arcname=NAME)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
