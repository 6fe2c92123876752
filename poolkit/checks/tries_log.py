"""An opt-in log of check outcomes, so that a pilot can count how many tries an exercise
takes (``poolgrade tries`` reads the logs).

Nothing is logged unless the environment variable :data:`LOG_VARIABLE` names a file, which
an instructor running a pilot sets for the students who agreed to take part (on the demo
hub: in the spawner's environment).  Then every visible check of a graded exercise in the
student's own kernel appends one JSON line to that file::

    {"format": 1, "exercise": "output_size", "version": "9c1e04d2b7aa",
     "outcome": "fail", "time": "2026-12-08T10:02:03Z"}

``version`` is a digest of the compiled function (and of the functions it calls by a global
name), without its line numbers: any edit of the code makes a new version, running the same
cell again does not.  The log holds no source code, no values and no name: which student a
log belongs to is where the instructor collected it from.

Not logged: anything under the grader (the grades are decided there, not from this log),
checks whose failure is the expected outcome, and versions that read none of their
parameters (``return 1`` does not attempt the exercise).  A student can edit their own log;
that changes a pilot's statistics, never a grade.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import sys

LOG_VARIABLE = "POOLKIT_TRIES_LOG"
FORMAT = 1
OUTCOMES = ("pass", "fail")

_broken: list[str] = []     # the path that could not be written (warned once, then skipped)


def version_digest(fn) -> str | None:
    """A short digest of ``fn``'s code and of the functions it calls by a global name (one
    level, as :func:`poolkit.checks.hints._fingerprint` reads them); None when ``fn`` has no
    Python code (the grader's stand-in for a student's function)."""
    from .hints import _called, _own_code

    code = _own_code(fn)
    if code is None:
        return None
    digest = hashlib.sha256()
    for each in [code, *(_own_code(f) for f in _called(fn))]:
        digest.update(repr(_code_identity(each)).encode())
    return digest.hexdigest()[:12]


def _code_identity(code) -> tuple:
    """What ``code`` computes, without where it was written (file name, line numbers)."""
    consts = tuple(_code_identity(c) if hasattr(c, "co_code") else repr(c)
                   for c in code.co_consts)
    return code.co_code, consts, code.co_names, code.co_varnames


def log_path() -> str | None:
    """The file the log goes to, or None when logging is off."""
    return os.environ.get(LOG_VARIABLE) or None


def record(exercise: str, version: str | None, outcome: str) -> None:
    """Append one check's ``outcome`` ("pass" or "fail") of ``exercise`` for the function
    ``version`` (:func:`version_digest`), when logging is on.  A log that cannot be written
    is reported once and then skipped: the check itself goes on."""
    path = log_path()
    if path is None or version is None or path in _broken:
        return
    from .runtime import current

    if current() is not None:       # under the grader
        return
    line = json.dumps({"format": FORMAT, "exercise": exercise, "version": version,
                       "outcome": outcome,
                       "time": datetime.datetime.now(datetime.UTC)
                       .strftime("%Y-%m-%dT%H:%M:%SZ")})
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except OSError as err:
        _broken.append(path)
        print(f"poolkit: cannot write the tries log {path} ({err.strerror}); the checks go on "
              f"without it. Ask your instructor, or unset {LOG_VARIABLE}.", file=sys.stderr)
