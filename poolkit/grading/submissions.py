"""Finding submissions (a folder or a zip in nbgrader's layout) and reading their notebooks.

nbgrader's layout is ``<submissions>/<student>/<assignment>/<notebook>.ipynb``. Reading is
where bad input is caught: a file that is not JSON, JSON that is not a notebook, a notebook
saved under another name, or none at all. Each becomes an :class:`Event` with a reason the
instructor can act on, instead of the silent 0 nbgrader would record.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass

from .model import Event

SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", "__MACOSX"}


@dataclass
class Submission:
    student: str
    folder: str          # <submissions>/<student>/<assignment>
    digest: str = ""     # hash of every file in the folder


def find_submissions(root: str, assignment: str) -> list[Submission]:
    """Every ``<root>/<student>/<assignment>/`` folder, sorted by student id."""
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"No submissions folder at {root}. Pass --submissions with a folder laid out as "
            f"<student>/{assignment}/<notebook>.ipynb, or a zip of one.")
    found = []
    for student in sorted(os.listdir(root)):
        folder = os.path.join(root, student, assignment)
        if student.startswith(".") or student in SKIP_DIRS or not os.path.isdir(folder):
            continue
        found.append(Submission(student, folder, folder_digest(folder)))
    return found


def folder_digest(folder: str) -> str:
    """sha256 of the relative paths and contents of every file under ``folder``."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            digest.update(os.path.relpath(full, folder).encode() + b"\0")
            if os.path.islink(full) or not os.path.isfile(full):
                # a link counts by where it points (it is never followed), a socket or
                # fifo by its name
                digest.update(b"link:" + os.readlink(full).encode() if os.path.islink(full)
                              else b"special")
            else:
                with open(full, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def unpack_zip(path: str, assignment: str, into: str) -> str:
    """Extract a zip of submissions into ``into``; returns the folder that holds the
    ``<student>/<assignment>/`` folders (the zip may or may not wrap them in ``submitted/``)."""
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            target = os.path.realpath(os.path.join(into, member.filename))
            if not target.startswith(os.path.realpath(into) + os.sep):
                raise ValueError(f"{path}: refusing the entry {member.filename!r}, which would "
                                 "be written outside the extraction folder")
        archive.extractall(into)
    for dirpath, dirnames, _ in os.walk(into):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        if any(os.path.isdir(os.path.join(dirpath, d, assignment)) for d in dirnames):
            return dirpath
    raise FileNotFoundError(f"{path} holds no <student>/{assignment}/ folder: zip the "
                            f"submitted/ folder that nbgrader collects into.")


def read_notebooks(folder: str, expected: list[str]):
    """Read the expected notebooks of one submission.

    Returns ``(notebooks, events)`` where ``notebooks`` maps each expected name to a
    NotebookNode, or to None when it is missing or unreadable (an event says which).
    """
    import nbformat

    events: list[Event] = []
    notebooks: dict[str, object] = {}
    present = sorted(f[:-6] for f in os.listdir(folder)
                     if f.endswith(".ipynb") and os.path.isfile(os.path.join(folder, f)))
    strays = [name for name in present if name not in expected]
    for name in expected:
        filename = f"{name}.ipynb"
        if name not in present:
            if len(expected) == 1 and len(strays) == 1:
                filename = f"{strays[0]}.ipynb"
                events.append(Event("notebook_renamed", f"graded '{filename}' in place of the "
                                    f"missing '{name}.ipynb'", notebook=name))
            else:
                found = ", ".join(f"{s}.ipynb" for s in strays) or "no notebook at all"
                events.append(Event("missing_notebook", f"'{name}.ipynb' is not in the "
                                    f"submission (found {found})", notebook=name))
                notebooks[name] = None
                continue
        path = os.path.join(folder, filename)
        nb, problem = _read_one(path, nbformat)
        if problem:
            events.append(Event("invalid_notebook", f"'{filename}' {problem}", notebook=name))
        notebooks[name] = nb
    return notebooks, events


def _read_one(path: str, nbformat):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        return None, f"cannot be read: {err.strerror}"
    if not raw.strip():
        return None, "is empty (0 bytes of notebook)"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"is not UTF-8 text (byte {err.start}): the file is probably damaged"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return None, (f"is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
                      "it was probably edited outside Jupyter or cut short")
    if not isinstance(data, dict) or not isinstance(data.get("cells", None), list):
        return None, "is JSON but not a notebook (no list of cells)"
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as err:  # nbformat raises several types for broken notebooks
        return None, f"is not a notebook nbformat can read: {str(err).splitlines()[0][:200]}"
    return nb, None
