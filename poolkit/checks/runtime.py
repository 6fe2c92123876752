"""The checks' one door to a trusted grader.

The same test cells run in two places.  In a student's kernel the checks call the student's
functions directly and guard the calls themselves.  Under the grader (the instructor's
``poolgrade`` package) the student's functions live in another, sandboxed process, and only
the grader can time a call, count its CPU, compute an instructor's answer or confirm a
diagnosis.  While it runs one test cell, the grader installs a :class:`GradingRuntime` here
(:func:`installed`); the checks ask :func:`current` and use nothing else of the grader's.

poolkit never imports the grader: this module is the whole interface between them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol


class GradingRuntime(Protocol):
    """What a grader offers the checks for the duration of one test cell."""

    #: raised by a call that ran past its time limit
    CallTimeout: type[BaseException]
    #: raised by a call in which the student's function raised (``.type_name``: its type)
    StudentRaised: type[BaseException]
    #: raised when the student's kernel died; the check lets it propagate
    KernelLost: type[BaseException]
    #: whether this cell's calls go to a kernel in which only NumPy is installed (a check
    #: of the NumPy-only rule refuses to run when they do not)
    numpy_only_kernel: bool

    def time_limit(self, seconds: float) -> contextlib.AbstractContextManager:
        """Calls of the student's functions inside the block may take ``seconds`` each."""

    def cpu_accounting(self) -> contextlib.AbstractContextManager:
        """A meter (``.seconds``, ``.calls``, ``.problem``) of the student's CPU time spent
        by calls inside the block."""

    def current_names(self) -> dict[str, Callable]:
        """The student's functions this test cell may call, by name."""

    def cached_oracle(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, computed once per grader for the same ``key``: expected values are
        the same for every student and stay outside a student's budget."""

    def function_source(self, name: str) -> str | None:
        """The text of the student's last submitted code cell that defines ``name`` at
        its top level (None: there is none), read from the notebook, not the kernel."""

    def confirm_mistake(self, spec: dict, mistake: dict,
                        behaviour: Callable[[tuple, dict], Any]) -> bool:
        """True when the student's function, called as ``behaviour(args, kwargs)``, behaves
        like the known ``mistake`` on fresh inputs that no student can read."""


_current: GradingRuntime | None = None


def current() -> GradingRuntime | None:
    """The grader's runtime while it runs a test cell; None in a student's kernel."""
    return _current


@contextlib.contextmanager
def installed(runtime: GradingRuntime) -> Iterator[GradingRuntime]:
    """Make ``runtime`` the current one inside the block (the grader calls this)."""
    global _current
    previous, _current = _current, runtime
    try:
        yield runtime
    finally:
        _current = previous
