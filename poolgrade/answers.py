"""The instructor's answer functions, ``solutions/<NN-name>/answers.py``, for hidden tests.

A hidden test names its oracle ``"poolgrade.answers:<NN-name>.<function>"``;
:mod:`poolkit.checks` resolves a ``"module:attribute"`` name by importing the module and
reading the attribute, which lands in this module's :func:`__getattr__`.  The answers stay
with the instructor's material: poolkit, which students import, neither ships nor knows them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path


def course_root() -> Path:
    """The course directory: ``POOLKIT_COURSE_ROOT``, else the checkout poolgrade runs from."""
    return Path(os.environ.get("POOLKIT_COURSE_ROOT") or Path(__file__).resolve().parents[1])


def instructor_answers(lesson: str):
    """The module ``solutions/<lesson>/answers.py`` (loaded once per process)."""
    path = course_root() / "solutions" / lesson / "answers.py"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: hidden tests need the instructor's answers (run them from "
            f"the course repository, or set POOLKIT_COURSE_ROOT to it)")
    name = f"_poolgrade_answers_{lesson.replace('-', '_')}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def __getattr__(name: str):
    """``"<NN-name>.<function>"``: that lesson's answer function."""
    lesson, dot, function = name.rpartition(".")
    if not dot or not lesson[:2].isdigit():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(instructor_answers(lesson), function)
