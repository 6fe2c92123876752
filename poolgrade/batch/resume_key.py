"""The resume key: what a stored grade depends on, hashed.

``poolgrade grade`` skips a student whose key is unchanged since the last run (see
:mod:`poolgrade.batch.engine`).  So the key must change whenever anything that can change a
grade changes:

- the submission itself (its files' digest, from :mod:`poolgrade.batch.submissions`);
- the assignment as the gradebook has it (its cells' checksums and points);
- the grader's and the checks' code and data: every file of the ``poolgrade`` and
  ``poolkit`` packages (the checks, hints, known mistakes, oracles, ...);
- the lesson's instructor folder: the source notebook with its hidden tests, the jupytext
  source, ``answers.py`` (the hidden tests' oracles) and ``mistakes.py``; both the course's
  source folder and the ``solutions/<assignment>/`` folder :mod:`poolgrade.answers` reads;
- the course's ``nbgrader_config.py`` (its steps and ``c.Execute`` settings);
- the limits, the ``c.Execute`` settings the workers use, and whether kernels ran sandboxed.

:func:`grading_inputs` lists the files and folders for a course; :func:`inputs_digest` hashes
any such list, so a test can point it at copies.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable

# Generated or editor files that never change a grade (``build``: what pip leaves next to a
# package it built).
IGNORED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".git", "build", "dist"}
IGNORED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def package_dirs() -> list[str]:
    """The folders of the ``poolgrade`` and ``poolkit`` packages this process imports."""
    import poolgrade
    import poolkit

    return [os.path.dirname(os.path.abspath(poolgrade.__file__)),
            os.path.dirname(os.path.abspath(poolkit.__file__))]


def grading_inputs(course_root: str, source_dir: str, assignment: str) -> list[str]:
    """Every file or folder that can change a grade of ``assignment`` in the course at
    ``course_root`` whose source folder (nbgrader's, for this assignment) is ``source_dir``.
    Paths that do not exist are kept: their absence is part of the key."""
    from poolgrade.answers import course_root as answers_root

    oracles = os.path.join(str(answers_root()), "solutions", assignment)
    paths = [*package_dirs(), os.path.join(course_root, "nbgrader_config.py"), source_dir]
    if os.path.abspath(oracles) != os.path.abspath(source_dir):
        paths.append(oracles)
    return paths


def inputs_digest(paths: Iterable[str]) -> str:
    """SHA-256 over ``paths`` in the given order (their own names left out): for a folder,
    every file below it (by relative path, links not followed, generated files left out)
    with its content; for a file, its content; for a missing path, the fact that it is
    missing."""
    digest = hashlib.sha256()
    # by position, not by name: a course or checkout that moved keeps its grades
    for position, path in enumerate(paths):
        digest.update(f"\0input {position}\0".encode())
        if os.path.isdir(path):
            for rel in _files_below(path):
                digest.update(b"\0file\0" + rel.encode() + b"\0")
                _update_with_file(digest, os.path.join(path, rel))
        elif os.path.isfile(path):
            _update_with_file(digest, path)
        else:
            digest.update(b"\0missing\0")
    return digest.hexdigest()


def resume_key(submission_digest: str, assignment_fingerprint: str, setup_digest: str, *,
               limits, execute_config: dict, unsandboxed: bool) -> str:
    """The key stored with a grade: a rerun regrades when it differs.  ``setup_digest`` is
    :func:`inputs_digest` of :func:`grading_inputs` (computed once per run); ``limits`` a
    :class:`poolgrade.model.Limits`."""
    text = json.dumps([submission_digest, assignment_fingerprint, setup_digest,
                       dataclasses.asdict(limits), execute_config, unsandboxed],
                      sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _files_below(folder: str) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in IGNORED_DIRS and not d.endswith(IGNORED_SUFFIXES))
        for name in filenames:
            if not name.endswith(IGNORED_SUFFIXES):
                found.append(os.path.relpath(os.path.join(dirpath, name), folder))
    return sorted(found)


def _update_with_file(digest, path: str) -> None:
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:   # unreadable: hashed as such (it will not grade either)
        digest.update(f"\0unreadable {type(err).__name__}\0".encode())
