"""A failed check as data: what kind of failure, which exception, which case.

Every failure a check raises is a :class:`CheckFailed` (an ``AssertionError``, so test
cells and nbgrader see an ordinary failing assertion) whose message is what the student
reads and whose :attr:`~CheckFailed.failure` is what code reads: the checks themselves (a
case where the student's function must raise a given type), the diagnosis, and the grader
(a call past its time limit is a ``timeout`` in grades.csv).  Nothing is ever recovered by
parsing the message, whose words may come from the student's own exception.
"""

from __future__ import annotations

from dataclasses import dataclass

# What went wrong, one word each:
KINDS = (
    "wrong",            # a result (its value, shape or type) differs from the expected one
    "raised",           # the student's function raised (``raised_type`` names the type)
    "not_written",      # the function still raises the template's bare NotImplementedError
    "timeout",          # a call ran past its time limit and was stopped
    "too_slow",         # a speed test: more CPU time than allowed in every try
    "numpy_only",       # the function uses (or may reach) a package the exercise bans
    "not_a_function",   # the name is bound to something that cannot be called
    "unmeasurable",     # a speed test could not measure the function's CPU time
)


@dataclass(frozen=True)
class CheckFailure:
    """One failed check.  ``kind`` is one of :data:`KINDS`; ``raised_type`` is the name of
    the exception type the student's function raised (for ``raised`` and ``not_written``,
    else None) and ``raised_message`` its message; ``case`` and ``hint`` as the message shows
    them; ``mistake`` the id of the known mistake the diagnosis named, or None."""

    kind: str
    raised_type: str | None = None
    case: str = ""
    hint: str = ""
    mistake: str | None = None
    raised_message: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of check failure {self.kind!r}; one of {KINDS}")


class CheckFailed(AssertionError):
    """The AssertionError a check raises: ``str(exc)`` for the student, ``exc.failure`` (a
    :class:`CheckFailure`) for code."""

    def __init__(self, message: str, failure: CheckFailure):
        super().__init__(message)
        self.failure = failure
