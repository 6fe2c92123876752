"""Build the instructor notebooks from their sources, then the student release, with nbgrader.

    .venv/bin/poolgrade release 01-max-vs-average
    .venv/bin/poolgrade release --all
    .venv/bin/poolgrade release --all --notebooks  # only solutions/*/*.ipynb from the .py
    .venv/bin/poolgrade release --all --check      # exit 1 if anything is out of date
    .venv/bin/poolgrade release 01-max-vs-average --to-source   # .ipynb -> .py

Each lesson's source of truth is ``solutions/<NN-name>/<name>.py``, a jupytext percent
script (``# %%`` code cells, ``# %% [markdown]`` cells, nbgrader's cell metadata in the
``# %% nbgrader={...}`` lines, kernelspec and language_info in the jupytext header).
:func:`build_notebook` turns it into ``solutions/<NN-name>/<name>.ipynb``: it puts the
shared test-cell header (:data:`TEST_HEADERS`, chosen by the ``poolkit: test_header:`` key
of the script's header) at the top of every autograded test cell, gives every cell a stable
id (:func:`cell_id`) and strips editor metadata.  ``--to-source`` goes the other
way, for a notebook edited in JupyterLab.

``course/<NN-name>/`` is exactly what ``nbgrader generate_assignment`` makes from
``solutions/<NN-name>/`` (less the lesson's .py source, which holds the solutions),
followed by :func:`normalize_notebook` (outputs, execution counts and editor metadata
removed; nbgrader's own cell metadata and checksums kept).  The generation runs in a
temporary copy of the course directory, so the real one never gets a half-written release
or a gradebook.
"""

from __future__ import annotations

import argparse
import ast
import copy
import filecmp
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

from poolgrade.nbmeta import grade_id, is_test_cell

ROOT = Path(__file__).resolve().parents[2]   # the course repository
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"

# Metadata that may stay: the notebook's kernel, and per cell nbgrader's own keys (its
# checksums and lock flags are what autograding relies on) plus tags.
NOTEBOOK_METADATA = ("kernelspec", "language_info")
CELL_METADATA = ("nbgrader", "deletable", "editable", "tags")

# The lines every autograded test cell starts with, written here once instead of in each
# test cell of the .py sources.  A lesson names its kind in the jupytext header of its .py
# (``poolkit: test_header: default``); the build writes the header, one blank line, then
# the cell's code from the .py.  Three kinds because lessons 04 and 05 import more.
TEST_HEADERS = {
    "default": (
        "import importlib, poolkit.checks\n"
        "ck = importlib.reload(poolkit.checks)  # fresh copy from disk\n"
    ),
    "numpy": (
        "import importlib\n"
        "\n"
        "import numpy as np\n"
        "import poolkit.checks\n"
        "\n"
        "ck = importlib.reload(poolkit.checks)  # a fresh copy: undoes any patching of the checks\n"
    ),
    "torch": (
        "import importlib\n"
        "\n"
        "import numpy as np\n"
        "import poolkit.checks\n"
        "import torch\n"
        "import torch.nn as nn\n"
        "import torch.nn.functional as F\n"
        "\n"
        "ck = importlib.reload(poolkit.checks)  # a fresh copy: undoes any patching of the checks\n"
    ),
}
# A test cell with hidden tests is empty in the release but for its header (and the helpers
# those tests use); this line tells the student what the cell is for.
HIDDEN_NOTE = "# Hidden tests: more cases of the same rules, run when your notebook is graded.\n"
JUPYTEXT_FORMAT = "py:percent"
# What the .py's jupytext header keeps of the notebook's metadata (no jupytext version, so
# upgrading jupytext does not touch the sources).
SOURCE_METADATA_FILTER = ("kernelspec,language_info,poolkit,"
                          "-jupytext.text_representation.jupytext_version")


def lessons() -> list[str]:
    """Lesson folders (nbgrader assignment names) that hold a notebook or its .py source."""
    return sorted({p.parent.name for pattern in ("*/*.ipynb", "*/*.py")
                   for p in SOLUTIONS.glob(pattern)
                   if ".ipynb_checkpoints" not in p.parts
                   and p.stem == p.parent.name.split("-", 1)[-1]})


def notebook_path(lesson: str) -> Path:
    """``solutions/<NN-name>/<name>.ipynb`` (the name is the folder without its number)."""
    return SOLUTIONS / lesson / f"{lesson.split('-', 1)[-1]}.ipynb"


def source_path(lesson: str) -> Path:
    """``solutions/<NN-name>/<name>.py``: the jupytext source of the lesson's notebook."""
    return notebook_path(lesson).with_suffix(".py")


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


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


# --------------------------------------------------------------------------- .py <-> .ipynb


def cell_id(cell, taken: set[str]) -> str:
    """A cell id that does not change when other cells are added or edited: the grade_id
    of an nbgrader cell, else 8 hex digits of the SHA-1 of the cell's type and source
    (``-2``, ``-3``, ... appended to repeats).  Adds the id to ``taken``."""
    base = grade_id(cell)
    if not base:
        base = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
    base = re.sub(r"[^A-Za-z0-9_-]", "-", base)[:56]
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}-{n}"
    taken.add(found)
    return found


def build_notebook(text: str, name: str = "<source>"):
    """The instructor notebook that a jupytext percent source ``text`` describes."""
    nb = jupytext.reads(text, fmt=JUPYTEXT_FORMAT)
    kind = nb.metadata.get("poolkit", {}).get("test_header")
    if kind not in TEST_HEADERS:
        raise ValueError(
            f"{name}: its jupytext header must name the test-cell header, e.g.\n"
            f"#   poolkit:\n#     test_header: default\n(one of {', '.join(TEST_HEADERS)}; "
            f"found {kind!r})")
    header = TEST_HEADERS[kind]
    taken: set[str] = set()
    for cell in nb.cells:
        if is_test_cell(cell):
            note = HIDDEN_NOTE if holds_only_hidden_tests(cell.source) else ""
            cell.source = header + "\n" + note + cell.source
        cell.id = cell_id(cell, taken)
    normalize_notebook(nb)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def holds_only_hidden_tests(source: str) -> bool:
    """True when a test cell's checks are all hidden: besides its hidden block it holds only
    imports and the definitions those tests use."""
    if "### BEGIN HIDDEN TESTS" not in source:
        return False
    rest = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", source, flags=re.S)
    try:
        tree = ast.parse(rest)
    except SyntaxError:
        return False
    return all(isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
               for node in tree.body)


def notebook_text(nb) -> str:
    """``nb`` as nbformat.write stores it."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def source_from_notebook(nb, name: str = "<notebook>") -> str:
    """The jupytext percent source of an instructor notebook (the inverse of
    :func:`build_notebook`): test-cell headers and editor metadata left out."""
    nb = copy.deepcopy(nb)
    normalize_notebook(nb)
    tests = [cell for cell in nb.cells if is_test_cell(cell)]
    kinds = [kind for kind, header in TEST_HEADERS.items()
             if tests and all(cell.source.startswith(header + "\n") for cell in tests)]
    if tests and not kinds:
        bad = [grade_id(cell) for cell in tests
               if not any(cell.source.startswith(h + "\n") for h in TEST_HEADERS.values())]
        raise ValueError(
            f"{name}: every test cell must start with the same header from TEST_HEADERS in "
            f"poolgrade release, followed by a blank line; these do not: {bad or 'mixed kinds'}")
    kind = kinds[0] if kinds else "default"
    for cell in tests:
        cell.source = cell.source[len(TEST_HEADERS[kind]) + 1:].removeprefix(HIDDEN_NOTE)
    nb.metadata["poolkit"] = {"test_header": kind}
    nb.metadata["jupytext"] = {"notebook_metadata_filter": SOURCE_METADATA_FILTER}
    return jupytext.writes(nb, fmt=JUPYTEXT_FORMAT)


def _cell_summary(nb) -> list[tuple]:
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


def notebook_differences(lesson: str) -> list[str]:
    """How ``solutions/<lesson>/<name>.ipynb`` differs from what its .py builds (empty = in
    sync): cells by type, source and nbgrader metadata first, then anything else."""
    source, target = source_path(lesson), notebook_path(lesson)
    if not source.exists():
        return [f"{rel(source)} is missing (create it from the notebook with "
                f"poolgrade release {lesson} --to-source)"]
    built = build_notebook(source.read_text(encoding="utf-8"), rel(source))
    if not target.exists():
        return [f"{rel(target)} is missing"]
    current_text = target.read_text(encoding="utf-8")
    if current_text == notebook_text(built):
        return []
    try:
        current = nbformat.reads(current_text, as_version=4)
    except Exception as exc:  # not a notebook at all
        return [f"{rel(target)} is not a valid notebook ({exc})"]
    problems = []
    want, have = _cell_summary(built), _cell_summary(current)
    if len(want) != len(have):
        problems.append(f"{len(have)} cells, the source has {len(want)}")
    for index, (w, h) in enumerate(zip(want, have)):
        what = [label for label, a, b in zip(("type", "source", "nbgrader metadata"), w, h)
                if a != b]
        if what:
            problems.append(f"cell {index} {' and '.join(what)}")
    if not problems:
        problems.append("cell ids, metadata, outputs or formatting")
    return [f"{rel(target)} ({'; '.join(problems[:5])}"
            + (f"; {len(problems) - 5} more" if len(problems) > 5 else "") + ")"]


def build_lesson_notebook(lesson: str) -> bool:
    """Write ``solutions/<lesson>/<name>.ipynb`` from its .py; True if the file changed."""
    source, target = source_path(lesson), notebook_path(lesson)
    if not source.exists():
        raise SystemExit(f"{rel(source)} is missing: the lesson's source is a jupytext "
                         f"script (create it from a notebook with "
                         f"poolgrade release {lesson} --to-source)")
    text = notebook_text(build_notebook(source.read_text(encoding="utf-8"), rel(source)))
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return False
    target.write_text(text, encoding="utf-8")
    return True


def write_lesson_source(lesson: str, force: bool = False) -> bool:
    """Write ``solutions/<lesson>/<name>.py`` from its .ipynb; True if the file changed.
    Refuses (unless ``force``) when the .py was changed after the notebook: that edit
    would be lost."""
    source, target = source_path(lesson), notebook_path(lesson)
    if not target.exists():
        raise SystemExit(f"{rel(target)} is missing")
    text = source_from_notebook(nbformat.read(target, as_version=4), rel(target))
    if source.exists() and source.read_text(encoding="utf-8") == text:
        return False
    if source.exists() and not force and source.stat().st_mtime > target.stat().st_mtime:
        raise SystemExit(f"{rel(source)} was changed after {rel(target)}: writing it from the "
                         f"notebook would undo that. Build the notebook from it instead "
                         f"(make notebooks), or pass --force to overwrite the .py.")
    source.write_text(text, encoding="utf-8")
    return True


def generate(lesson: str, dest_parent: Path) -> Path:
    """Run generate_assignment for ``lesson`` in a scratch course directory and put the
    normalized release at ``dest_parent/<lesson>``; returns that path."""
    source = SOLUTIONS / lesson
    if not any(source.glob("*.ipynb")):
        raise SystemExit(f"no notebook in {source}; lessons are: {', '.join(lessons())}")
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        work = Path(tmp)
        shutil.copy2(ROOT / "nbgrader_config.py", work / "nbgrader_config.py")
        # The lesson's .py source holds the solutions and hidden tests: never release it.
        shutil.copytree(source, work / "solutions" / lesson,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__",
                                                      source_path(lesson).name))
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


def check_release(lesson: str) -> list[str]:
    """Differences between ``course/<lesson>`` and a fresh generation (empty = in sync)."""
    with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
        fresh = generate(lesson, Path(tmp))
        current = COURSE / lesson
        if not current.exists():
            return [f"course/{lesson} is missing"]
        return [f"course/{lesson}/{name}" for name in differences(fresh, current)]


def check(lesson: str) -> list[str]:
    """What is out of date for ``lesson`` (empty = in sync): its notebook against its .py
    source, then ``course/<lesson>`` against a fresh generation from that notebook."""
    return notebook_differences(lesson) + check_release(lesson)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson folders, e.g. 01-max-vs-average")
    parser.add_argument("--all", action="store_true", help="every lesson in solutions/")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="only compare the notebooks with their .py sources and course/ "
                           "with a fresh generation")
    mode.add_argument("--notebooks", action="store_true",
                      help="only build solutions/<lesson>/<name>.ipynb from its .py source")
    mode.add_argument("--to-source", action="store_true",
                      help="write solutions/<lesson>/<name>.py from its .ipynb (after "
                           "editing the notebook in JupyterLab)")
    parser.add_argument("--force", action="store_true",
                        help="with --to-source: overwrite a .py changed after its notebook")
    args = parser.parse_args(argv)
    names = lessons() if args.all else [n.strip("/").split("/")[-1] for n in args.lessons]
    if not names:
        parser.error("name a lesson or pass --all")
    try:
        return _run(args, names)
    except ValueError as exc:  # a source or notebook that breaks the conventions
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args, names: list[str]) -> int:
    status = 0
    for name in names:
        if args.check:
            diff = check(name)
            print(f"{name}: " + ("in sync" if not diff else "OUT OF DATE: " + ", ".join(diff)))
            status |= bool(diff)
        elif args.to_source:
            changed = write_lesson_source(name, force=args.force)
            print(f"{name}: {rel(source_path(name))} "
                  + ("written from the notebook" if changed else "unchanged"))
        else:
            changed = build_lesson_notebook(name)
            print(f"{name}: {rel(notebook_path(name))} "
                  + ("built from " + source_path(name).name if changed else "up to date"))
            if not args.notebooks:
                COURSE.mkdir(exist_ok=True)
                generate(name, COURSE)
                print(f"{name}: released to course/{name}")
    if args.check and status:
        print("fix: make release (builds solutions/*/*.ipynb from the .py sources, then "
              "course/); if you edited a notebook in JupyterLab instead, first "
              ".venv/bin/poolgrade release <lesson> --to-source")
    return status


if __name__ == "__main__":
    sys.exit(main())
