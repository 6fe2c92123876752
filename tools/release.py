"""Regenerate the student release of one lesson (or all) with nbgrader.

    .venv/bin/python tools/release.py 02-max-vs-average
    .venv/bin/python tools/release.py --all
    .venv/bin/python tools/release.py --all --check     # exit 1 if course/ is out of date

``course/<NN-name>/`` is exactly what ``nbgrader generate_assignment`` makes from
``solutions/<NN-name>/``, followed by :func:`normalize_notebook` (outputs, execution counts
and editor metadata removed; nbgrader's own cell metadata and checksums kept).  The
generation runs in a temporary copy of the course directory, so the real one never gets a
half-written release or a gradebook.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"

# Metadata that may stay: the notebook's kernel, and per cell nbgrader's own keys (its
# checksums and lock flags are what autograding relies on) plus tags.
NOTEBOOK_METADATA = ("kernelspec", "language_info")
CELL_METADATA = ("nbgrader", "deletable", "editable", "tags")


def lessons() -> list[str]:
    """Lesson folders (nbgrader assignment names) that hold a notebook, sorted."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def nbgrader_env() -> dict:
    """Environment for nbgrader: the venv's bin/ first (nbgrader runs alembic), TF quiet."""
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def normalize_notebook(nb) -> bool:
    """Strip outputs and editor noise in place; returns True if anything changed."""
    changed = False
    for key in list(nb.metadata):
        if key not in NOTEBOOK_METADATA:
            del nb.metadata[key]
            changed = True
    if "language_info" in nb.metadata and set(nb.metadata.language_info) != {"name"}:
        nb.metadata.language_info = {"name": nb.metadata.language_info.get("name", "python")}
        changed = True
    for cell in nb.cells:
        for key in list(cell.metadata):
            if key not in CELL_METADATA:
                del cell.metadata[key]
                changed = True
        if cell.cell_type == "code":
            if cell.get("outputs"):
                cell.outputs = []
                changed = True
            if cell.get("execution_count") is not None:
                cell.execution_count = None
                changed = True
        if "attachments" in cell and not cell.attachments:
            del cell["attachments"]
            changed = True
    return changed


def normalize_file(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    normalize_notebook(nb)
    nbformat.write(nb, path)


def generate(lesson: str, dest_parent: Path) -> Path:
    """Run generate_assignment for ``lesson`` in a scratch course directory and put the
    normalized release at ``dest_parent/<lesson>``; returns that path."""
    source = SOLUTIONS / lesson
    if not any(source.glob("*.ipynb")):
        raise SystemExit(f"no notebook in {source}; lessons are: {', '.join(lessons())}")
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        work = Path(tmp)
        shutil.copy2(ROOT / "nbgrader_config.py", work / "nbgrader_config.py")
        shutil.copytree(source, work / "solutions" / lesson,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", lesson,
             "--force", "--no-db"],
            cwd=work, env=nbgrader_env(), capture_output=True, text=True)
        log = proc.stdout + proc.stderr
        if proc.returncode != 0 or "ERROR" in log or "Exception while loading config" in log:
            raise RuntimeError(f"nbgrader generate_assignment {lesson} failed:\n{log}")
        released = work / "course" / lesson
        for nb_path in released.glob("*.ipynb"):
            normalize_file(nb_path)
        target = dest_parent / lesson
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(released, target)
    return target


def differences(a: Path, b: Path) -> list[str]:
    """Files that differ between two release folders (relative names)."""
    cmp = filecmp.dircmp(a, b)
    out = []

    def walk(c, prefix=""):
        out.extend(prefix + n for n in c.left_only + c.right_only + c.diff_files + c.funny_files)
        for name, sub in c.subdirs.items():
            walk(sub, prefix + name + "/")

    walk(cmp)
    # dircmp compares shallowly by stat first; confirm byte for byte
    for name in list(out):
        pa, pb = a / name, b / name
        if pa.is_file() and pb.is_file() and pa.read_bytes() == pb.read_bytes():
            out.remove(name)
    return sorted(out)


def check(lesson: str) -> list[str]:
    """Differences between ``course/<lesson>`` and a fresh generation (empty = in sync)."""
    with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
        fresh = generate(lesson, Path(tmp))
        current = COURSE / lesson
        if not current.exists():
            return [f"course/{lesson} is missing"]
        return [f"course/{lesson}/{name}" for name in differences(fresh, current)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson folders, e.g. 02-max-vs-average")
    parser.add_argument("--all", action="store_true", help="every lesson in solutions/")
    parser.add_argument("--check", action="store_true",
                        help="only compare course/ with a fresh generation")
    args = parser.parse_args(argv)
    names = lessons() if args.all else [n.strip("/").split("/")[-1] for n in args.lessons]
    if not names:
        parser.error("name a lesson or pass --all")
    status = 0
    for name in names:
        if args.check:
            diff = check(name)
            print(f"{name}: " + ("in sync" if not diff else "OUT OF DATE: " + ", ".join(diff)))
            status |= bool(diff)
        else:
            COURSE.mkdir(exist_ok=True)
            generate(name, COURSE)
            print(f"{name}: released to course/{name}")
    return status


if __name__ == "__main__":
    sys.exit(main())
