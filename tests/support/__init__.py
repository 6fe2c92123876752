"""Helpers shared by the test folders: where the course is, its lessons, and the
environment kernels and nbgrader need.  Import them as ``from tests.support import ...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"
VENV_BIN = Path(sys.executable).parent


def lesson_names() -> list[str]:
    """Lesson folders (= nbgrader assignment names) that hold an instructor notebook."""
    return sorted({p.parent.name for p in SOLUTIONS.glob("*/*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts})


def solution_notebook(lesson: str) -> Path:
    """``solutions/<NN-name>/<name>.ipynb`` (the name is the folder without its number)."""
    return SOLUTIONS / lesson / f"{lesson.split('-', 1)[1]}.ipynb"


def course_env(**extra) -> dict:
    """Environment for nbgrader and kernels: the venv's bin first (nbgrader runs alembic),
    TensorFlow quiet before it is imported anywhere."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["TF_ENABLE_ONEDNN_OPTS"] = "0"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update(extra)
    return env
