"""Build the student bundle: what an instructor hands out where there is no JupyterHub.

    .venv/bin/poolgrade bundle                 # -> dist/pooling-course-student.tar.gz
    .venv/bin/poolgrade bundle --dir OUT       # the unpacked folder instead

The bundle holds the release notebooks (``course/``), the students' package ``poolkit/``
exactly as it is in the repository (with its own ``pyproject.toml``), the lock and a
two-command setup (``student_bundle/`` next to this module: a Makefile and a README) that
installs ``./poolkit[course]`` and nothing else.  It holds no solutions, no hidden tests,
no instructor answers (``solutions/*/answers.py``), no grader (``poolgrade``), no tests and
no git history.  :func:`leaks` lists anything that breaks that rule; the build refuses to
write a bundle with a leak.
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
TEMPLATES = Path(__file__).resolve().parent / "student_bundle"
NAME = "pooling-course-student"
# Text that only the instructor's material contains.
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "=== BEGIN MARK SCHEME ===")
# A test cell that names an instructor answer as its oracle is a hidden test.
NOTEBOOK_MARKERS = ('"poolgrade.answers:',)
# The instructor's package: nothing students install may import it or name it in code.
GRADER = "poolgrade"


def _ignore(directory: str, names: list[str]) -> set[str]:
    """Build leftovers, never part of a checkout's meaning."""
    return {n for n in names if n in ("__pycache__", ".ipynb_checkpoints", "build")
            or n.endswith((".pyc", ".egg-info"))}


def build_tree(dest: Path) -> Path:
    """Write the bundle's folder at ``dest`` (which must not exist); returns it."""
    shutil.copytree(ROOT / "course", dest / "course", ignore=_ignore)
    shutil.copytree(ROOT / "poolkit", dest / "poolkit", ignore=_ignore)
    shutil.copy2(ROOT / "requirements.lock", dest / "requirements.lock")
    for template in ("Makefile", "README.md"):
        shutil.copy2(TEMPLATES / template, dest / template)
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


def _docstrings(tree: ast.AST) -> set[int]:
    """``id()`` of every docstring node (prose may explain how poolgrade uses a module)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def grader_references(source: str) -> list[str]:
    """What Python ``source`` uses of the grader: imports of ``poolgrade`` and strings that
    name it (``importlib.import_module("poolgrade...")``, ``"poolgrade.answers:..."``).
    Comments and docstrings do not count.  Source that does not parse is judged by its
    text."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [f"names {GRADER}"] if GRADER in source else []
    found = []
    prose = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names
                      if a.name.split(".")[0] == GRADER]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module \
                and node.module.split(".")[0] == GRADER:
            found.append(f"imports {node.module}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and GRADER in node.value and id(node) not in prose:
            found.append(f"names {GRADER} in {node.value[:60]!r}")
    return found


def _strings(value) -> list[str]:
    """Every string in parsed JSON or TOML data (keys and values)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*_strings(k), *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _data_references(path: Path, text: str) -> list[str]:
    """Strings in a JSON or TOML file that name the grader (comments do not count)."""
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except ValueError:
        return [f"names {GRADER}"] if GRADER in text else []
    return [f"names {GRADER} in {s[:60]!r}" for s in _strings(data) if GRADER in s]


def _notebook_code(text: str) -> str:
    """The code cells of a notebook's JSON, one after another (IPython magics dropped)."""
    try:
        cells = json.loads(text).get("cells", [])
    except ValueError:
        return text
    lines = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            lines += [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


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
        if path.name.startswith(GRADER) or path.name.endswith(".egg-info"):
            problems.append(f"{rel}: part of the instructor's package or a build of it")
        if not path.is_file() or path.suffix not in (".py", ".ipynb", ".md", ".toml", ".json"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        markers = MARKERS + (NOTEBOOK_MARKERS if path.suffix == ".ipynb" else ())
        problems += [f"{rel}: contains {m!r}" for m in markers if m in text]
        # what students install or run must work without the grader, and must not reach it
        if path.suffix == ".py":
            references = grader_references(text)
        elif path.suffix == ".ipynb":
            references = grader_references(_notebook_code(text))
        elif path.suffix in (".json", ".toml"):
            references = _data_references(path, text)
        else:
            references = []
        problems += [f"{rel}: {ref}" for ref in references]
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
